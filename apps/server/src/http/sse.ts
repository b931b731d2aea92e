import type { FastifyReply } from 'fastify';

/** Frames queued for a client that is not reading before it is dropped (a slow client, not the run). */
const MAX_PENDING_FRAMES = 256;

export interface SseChannel {
  /** Sends `event: <name>` with a JSON payload; drops the frame when the client lags too far. */
  send(event: string, data: unknown): void;
  comment(text: string): void;
  close(): void;
  /** Resolves when the client goes away or `close` is called. */
  readonly closed: Promise<void>;
}

/**
 * Opens a Server-Sent Events response on a hijacked reply (SPEC §3.11, §13.5): the headers
 * proxies need to pass it through unbuffered, and bounded per-client buffering.
 */
export const openSse = (reply: FastifyReply, extraHeaders: Record<string, string> = {}): SseChannel => {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
    ...extraHeaders,
  });
  let pending = 0;
  let ended = false;
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  const finish = () => {
    if (ended) return;
    ended = true;
    resolveClosed();
  };
  raw.on('close', finish);
  raw.on('error', finish);
  const write = (frame: string) => {
    if (ended) return;
    if (pending >= MAX_PENDING_FRAMES) return;
    pending += 1;
    raw.write(frame, () => {
      pending -= 1;
    });
  };
  return {
    send(event, data) {
      write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    comment(text) {
      write(`: ${text}\n\n`);
    },
    close() {
      if (!ended) raw.end();
      finish();
    },
    closed,
  };
};
