import type { LogEvent, TransferProgressEvent } from '@backupx/contract';
import { toIso, type Clock } from '../../lib/clock.ts';

export type LogLevel = 'info' | 'warn' | 'error';
type Listener = (event: LogEvent) => void;

interface Stream {
  events: LogEvent[];
  lines: string[];
  listeners: Set<Listener>;
  lastProgressAt: number;
  completed: boolean;
}

/** Non-final progress events closer together than this are dropped (SPEC §3.11). */
const PROGRESS_INTERVAL_MS = 500;
/** A finished stream stays replayable this long (late subscribers, the detail view). */
const KEEP_AFTER_COMPLETION_MS = 10 * 60_000;

/**
 * Live logs of running records (backups and restores each have their own hub): numbered events
 * kept for replay, fanned out to subscribers without ever blocking the run. The full text is also
 * kept so the record's `logContent` can be written at the end.
 */
export class LogHub {
  readonly #streams = new Map<number, Stream>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  #stream(recordId: number): Stream {
    let stream = this.#streams.get(recordId);
    if (stream === undefined) {
      stream = { events: [], lines: [], listeners: new Set(), lastProgressAt: -Infinity, completed: false };
      this.#streams.set(recordId, stream);
    }
    return stream;
  }

  #emit(
    recordId: number,
    stream: Stream,
    event: Omit<LogEvent, 'recordId' | 'sequence' | 'timestamp'>,
  ): void {
    const full: LogEvent = {
      recordId,
      sequence: stream.events.length + 1,
      timestamp: toIso(this.#clock.now()),
      ...event,
    };
    stream.events.push(full);
    for (const listener of stream.listeners) {
      try {
        listener(full);
      } catch {
        // A failing subscriber (closed socket) must never break the run.
      }
    }
  }

  /** Appends a log line (trimmed; empty lines are dropped). */
  log(recordId: number, level: LogLevel, message: string): void {
    const text = message.trim();
    if (text === '') return;
    const stream = this.#stream(recordId);
    if (stream.completed) return;
    const stamp = toIso(this.#clock.now()).slice(11, 19);
    stream.lines.push(`[${stamp}] ${level === 'info' ? '' : `[${level.toUpperCase()}] `}${text}`);
    this.#emit(recordId, stream, { level, message: text, completed: false, status: 'running' });
  }

  progress(recordId: number, progress: TransferProgressEvent, final = false): void {
    const stream = this.#stream(recordId);
    if (stream.completed) return;
    const at = Date.now();
    if (!final && progress.percent < 100 && at - stream.lastProgressAt < PROGRESS_INTERVAL_MS) return;
    stream.lastProgressAt = at;
    const percent =
      progress.totalBytes > 0 ? `${progress.percent.toFixed(1)}%` : `${progress.bytesSent} bytes`;
    this.#emit(recordId, stream, {
      level: 'progress',
      message: `upload progress: ${percent}`,
      completed: false,
      status: 'running',
      progress,
    });
  }

  /** Ends the stream with its final status; subscribers get a `completed` event and are released. */
  complete(recordId: number, status: string): void {
    const stream = this.#stream(recordId);
    if (stream.completed) return;
    this.#emit(recordId, stream, { level: 'info', message: 'stream completed', completed: true, status });
    stream.completed = true;
    stream.listeners.clear();
    setTimeout(() => this.#streams.delete(recordId), KEEP_AFTER_COMPLETION_MS).unref();
  }

  /** The full log text so far. */
  text(recordId: number): string {
    return this.#streams.get(recordId)?.lines.join('\n') ?? '';
  }

  /** Events so far (replay); empty when the hub never saw the record. */
  snapshot(recordId: number): LogEvent[] {
    return [...(this.#streams.get(recordId)?.events ?? [])];
  }

  isLive(recordId: number): boolean {
    const stream = this.#streams.get(recordId);
    return stream !== undefined && !stream.completed;
  }

  /** Replays past events, then delivers new ones until completion. Returns the unsubscribe function. */
  subscribe(recordId: number, listener: Listener): () => void {
    const stream = this.#streams.get(recordId);
    if (stream === undefined) return () => undefined;
    for (const event of stream.events) listener(event);
    if (stream.completed) return () => undefined;
    stream.listeners.add(listener);
    return () => stream.listeners.delete(listener);
  }
}
