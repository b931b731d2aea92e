/**
 * Client of the master's live event stream (`GET /api/events/stream`, SPEC §13.5): reads the
 * Server-Sent Events with `fetch` (so the Bearer token can be sent), reconnects with exponential
 * backoff 1 s → 30 s, and stops for good on a 401 (the session is over) or when asked to.
 */
import { apiRoutes, systemEventSchema } from '@backupx/contract';
import type { SystemEvent } from '@backupx/contract';
import { isApiError, openApiStream } from '../api/client.ts';
import { readToken } from '../api/token.ts';
import { createSseParser, reconnectDelayMs } from './sseParser.ts';

export type EventStreamStatus = 'connecting' | 'open' | 'reconnecting' | 'stopped';

export interface EventStreamOptions {
  onEvent: (event: SystemEvent) => void;
  /** Connection state changes; `retryAt` is the epoch ms of the next attempt while reconnecting. */
  onStatus?: (status: EventStreamStatus, retryAt?: number) => void;
  /** Opens the HTTP stream; defaults to the authenticated `openStream` of the API client. */
  open?: (signal: AbortSignal) => Promise<Response>;
  /** Whether a session exists; without one the stream stops instead of retrying. */
  hasSession?: () => boolean;
  /**
   * A stream that has been silent this long is considered dead and reopened. The master sends a
   * heartbeat comment every 25 s, so 65 s tolerates one lost heartbeat.
   */
  idleTimeoutMs?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface EventStreamHandle {
  stop(): void;
}

const defaultOpen = (signal: AbortSignal) =>
  openApiStream(apiRoutes.events.stream, { signal, accept: 'text/event-stream' });

/** Parses the JSON of one `event:` frame; anything that does not match the contract is skipped. */
export function parseSystemEvent(data: string): SystemEvent | null {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return null;
  }
  const parsed = systemEventSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

/** Starts the stream; it runs until {@link EventStreamHandle.stop} or a 401. */
export function startEventStream(options: EventStreamOptions): EventStreamHandle {
  const open = options.open ?? defaultOpen;
  const hasSession = options.hasSession ?? (() => readToken() !== null);
  const idleTimeoutMs = options.idleTimeoutMs ?? 65_000;
  const stopController = new AbortController();
  let stopped = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;

  const setStatus = (status: EventStreamStatus, retryAt?: number) => options.onStatus?.(status, retryAt);

  const finish = () => {
    if (stopped) return;
    stopped = true;
    if (retryTimer !== undefined) clearTimeout(retryTimer);
    stopController.abort();
    setStatus('stopped');
  };

  /** Reads one connection until it ends; true when it delivered at least one frame. */
  const readOnce = async (): Promise<boolean> => {
    const connection = new AbortController();
    const abortConnection = () => connection.abort();
    stopController.signal.addEventListener('abort', abortConnection);
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    const armIdle = () => {
      if (idleTimer !== undefined) clearTimeout(idleTimer);
      idleTimer = setTimeout(() => connection.abort(), idleTimeoutMs);
    };
    let received = false;
    try {
      armIdle();
      const response = await open(connection.signal);
      if (!response.body) return false;
      setStatus('open');
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = createSseParser();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        armIdle();
        for (const frame of parser.push(value)) {
          received = true;
          if (frame.kind !== 'event') continue;
          const event = parseSystemEvent(frame.message.data);
          if (event) options.onEvent(event);
        }
      }
      return received;
    } finally {
      if (idleTimer !== undefined) clearTimeout(idleTimer);
      stopController.signal.removeEventListener('abort', abortConnection);
      connection.abort();
    }
  };

  const run = async () => {
    let attempt = 0;
    while (!stopped) {
      if (!hasSession()) {
        finish();
        return;
      }
      setStatus(attempt === 0 ? 'connecting' : 'reconnecting');
      try {
        // A connection that carried frames was healthy: the next failure starts from 1 s again.
        if (await readOnce()) attempt = 0;
      } catch (error) {
        if (isApiError(error) && error.status === 401) {
          finish();
          return;
        }
        // Network errors, 5xx, idle timeouts: retry below.
      }
      if (stopController.signal.aborted) return;
      const delay = reconnectDelayMs(attempt, options.minDelayMs, options.maxDelayMs);
      attempt += 1;
      setStatus('reconnecting', Date.now() + delay);
      await new Promise<void>((resolve) => {
        retryTimer = setTimeout(resolve, delay);
        stopController.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  };

  void run();
  return { stop: finish };
}
