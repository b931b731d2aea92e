import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { SystemEvent } from '@backupx/contract';
import type { Clock } from '../../lib/clock.ts';
import type { EventBus } from './event-bus.ts';

/** SPEC §13.5: a heartbeat comment every 25 s, at most 32 frames waiting per subscriber. */
export const SSE_HEARTBEAT_MS = 25_000;
export const SSE_BUFFER_FRAMES = 32;

export interface EventStreamDeps {
  events: Pick<EventBus, 'subscribe'>;
  clock: Clock;
  heartbeatMs?: number;
  bufferFrames?: number;
  /** How often open streams check whether their server is shutting down. */
  closingCheckMs?: number;
  /** Called with the number of frames dropped for a subscriber that did not keep up. */
  onDropped?: (count: number) => void;
}

export interface AttachOptions {
  /** Headers already set for this response (CORS, security headers); the SSE ones are added. */
  headers?: OutgoingHttpHeaders;
  /** True once the HTTP server stops listening: the stream then ends so shutdown is not held up. */
  isServerClosing?: () => boolean;
}

export type EventStreamHub = ReturnType<typeof createEventStreamHub>;

/** One SSE frame: `event: <type>` and the event as one line of JSON. */
export const formatEventFrame = (event: SystemEvent): string =>
  `event: ${event.type}\ndata: ${JSON.stringify({
    type: event.type,
    title: event.title,
    body: event.body,
    fields: event.fields,
    timestamp: event.timestamp,
  })}\n\n`;

const unixSeconds = (clock: Clock): number => Math.floor(clock.now().getTime() / 1000);

interface Subscriber {
  send(frame: string): void;
  heartbeat(): void;
  close(): void;
  isServerClosing: () => boolean;
  dropped: number;
}

/**
 * Fans events out to Server-Sent-Event subscribers. Each subscriber holds at most `bufferFrames`
 * frames while its socket is not draining; further frames are dropped and counted, so a slow or
 * stalled client costs bounded memory and never slows the publisher. No replay after reconnect.
 */
export const createEventStreamHub = (deps: EventStreamDeps) => {
  const heartbeatMs = deps.heartbeatMs ?? SSE_HEARTBEAT_MS;
  const bufferFrames = deps.bufferFrames ?? SSE_BUFFER_FRAMES;
  const closingCheckMs = deps.closingCheckMs ?? 500;
  const subscribers = new Set<Subscriber>();
  let droppedTotal = 0;
  let closingWatch: NodeJS.Timeout | undefined;

  const watchClosing = () => {
    if (closingWatch !== undefined || subscribers.size === 0) return;
    closingWatch = setInterval(() => {
      for (const subscriber of subscribers) if (subscriber.isServerClosing()) subscriber.close();
      if (subscribers.size === 0 && closingWatch !== undefined) {
        clearInterval(closingWatch);
        closingWatch = undefined;
      }
    }, closingCheckMs);
    closingWatch.unref();
  };

  const unsubscribeBus = deps.events.subscribe((event) => {
    if (subscribers.size === 0) return;
    const frame = formatEventFrame(event);
    for (const subscriber of subscribers) subscriber.send(frame);
  });

  const attach = (response: ServerResponse, options: AttachOptions = {}): void => {
    const queue: string[] = [];
    let waitingForDrain = false;
    let closed = false;

    /** Writes a frame; false once the socket stops draining (the frame is still sent). */
    const writeNow = (frame: string): boolean => {
      const drained = response.write(frame);
      if (!drained) waitingForDrain = true;
      return drained;
    };
    const flushQueue = () => {
      waitingForDrain = false;
      while (!closed) {
        const frame = queue.shift();
        if (frame === undefined || !writeNow(frame)) return;
      }
    };

    const subscriber: Subscriber = {
      dropped: 0,
      isServerClosing: options.isServerClosing ?? (() => false),
      send(frame) {
        if (closed) return;
        if (!waitingForDrain && queue.length === 0) {
          writeNow(frame);
          return;
        }
        if (queue.length >= bufferFrames) {
          subscriber.dropped += 1;
          droppedTotal += 1;
          deps.onDropped?.(1);
          return;
        }
        queue.push(frame);
      },
      heartbeat() {
        // A client that is not reading gets no heartbeat either; it is behind already.
        if (!closed && !waitingForDrain && queue.length === 0)
          writeNow(`: heartbeat ${unixSeconds(deps.clock)}\n\n`);
      },
      close() {
        if (closed) return;
        cleanup();
        // The connection is not reused after a stream: close it once the end is written (or soon,
        // for a client that stopped reading), so server shutdown does not wait for the client.
        const destroy = () => response.destroy();
        setTimeout(destroy, 1000).unref();
        response.end(destroy);
      },
    };

    const heartbeatTimer = setInterval(() => subscriber.heartbeat(), heartbeatMs);
    heartbeatTimer.unref();

    const cleanup = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeatTimer);
      queue.length = 0;
      subscribers.delete(subscriber);
    };

    response.on('drain', flushQueue);
    response.on('close', cleanup);
    response.on('error', cleanup);
    response.writeHead(200, {
      ...options.headers,
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    response.socket?.setNoDelay(true);
    subscribers.add(subscriber);
    writeNow(`: connected ${unixSeconds(deps.clock)}\n\n`);
    watchClosing();
  };

  return {
    attach,
    /** Open streams. */
    get subscriberCount(): number {
      return subscribers.size;
    },
    /** Frames dropped since start, over every subscriber. */
    get droppedCount(): number {
      return droppedTotal;
    },
    /** Ends every open stream (shutdown). */
    closeAll(): void {
      for (const subscriber of [...subscribers]) subscriber.close();
    },
    /** Stops listening to the bus and ends every stream. */
    stop(): void {
      unsubscribeBus();
      for (const subscriber of [...subscribers]) subscriber.close();
      if (closingWatch !== undefined) clearInterval(closingWatch);
      closingWatch = undefined;
    },
  };
};
