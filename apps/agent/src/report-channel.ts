/**
 * Live reporting of one run (a backup record or a restore) to the master: log lines are buffered
 * and sent in batches about every 500 ms (one request per batch, not per line — a chatty dump
 * tool would otherwise make hundreds of requests a second), progress at most about every second,
 * and the final report is retried until the master accepts it.
 *
 * While the master is unreachable, lines stay buffered up to a cap; beyond it the oldest lines
 * are dropped and the master is told how many, so an outage during a long backup cannot exhaust
 * the agent's memory. The cap is below the protocol's 1 MiB `logAppend` limit, so one batch
 * always fits one request.
 */
import { createBackoff, deliver, type Backoff, type IsRetryable } from './backoff.ts';
import type { AgentLogger } from './logger.ts';
import { messageOf } from './logger.ts';

export const LOG_FLUSH_INTERVAL_MS = 500;
export const PROGRESS_INTERVAL_MS = 1000;
export const MAX_BUFFERED_LOG_BYTES = 512 * 1024;
const MAX_LINE_BYTES = 16 * 1024;

export interface ReportBatch<P> {
  logAppend?: string;
  progress?: P;
}

export interface ReportChannelOptions<P, F extends { logAppend?: string }> {
  /** Sends one live batch (log lines and/or progress). */
  sendBatch: (batch: ReportBatch<P>, signal: AbortSignal) => Promise<void>;
  /** Sends the final report (status, results); `logAppend` already holds the remaining lines. */
  sendFinal: (update: F, signal: AbortSignal) => Promise<void>;
  isRetryable: IsRetryable;
  /** Aborts delivery for good (the agent's shutdown deadline). */
  signal: AbortSignal;
  log: AgentLogger;
  /** "record #12" — for the agent's own log. */
  label: string;
  flushIntervalMs?: number;
  progressIntervalMs?: number;
  maxBufferedBytes?: number;
  now?: () => number;
  /** Backoff of the final report's retries (default 1 s doubling to 30 s). */
  finalBackoff?: Backoff;
}

export interface ReportChannel<P, F> {
  /** Queues one log line (a trailing newline is added). */
  line(text: string): void;
  /** Records the latest progress; only the newest is sent. */
  progress(progress: P): void;
  /** Sends what is buffered now (tests, and before the final report). */
  flush(): Promise<void>;
  /** Stops the timer, then delivers `final` with every remaining line, retrying until accepted. */
  finish(final: F): Promise<boolean>;
  /** Bytes of log text waiting to be sent. */
  readonly bufferedBytes: number;
}

export const createReportChannel = <P, F extends { logAppend?: string }>(
  options: ReportChannelOptions<P, F>,
): ReportChannel<P, F> => {
  const flushInterval = options.flushIntervalMs ?? LOG_FLUSH_INTERVAL_MS;
  const progressInterval = options.progressIntervalMs ?? PROGRESS_INTERVAL_MS;
  const cap = options.maxBufferedBytes ?? MAX_BUFFERED_LOG_BYTES;
  const now = options.now ?? (() => Date.now());
  let lines: string[] = [];
  let bytes = 0;
  let dropped = 0;
  let pendingProgress: P | undefined;
  let lastProgressAt = -Infinity;
  let inFlight: Promise<void> | null = null;
  let finished = false;
  let failing = false;
  // While the master is unreachable, live batches back off like every other retry.
  const liveBackoff = createBackoff({ jitter: 0.2 });
  let nextAttemptAt = 0;

  /** Keeps the buffer under the cap by dropping the oldest lines. */
  const trim = () => {
    while (bytes > cap && lines.length > 0) {
      const oldest = lines.shift() ?? '';
      bytes -= Buffer.byteLength(oldest);
      dropped += 1;
    }
  };

  interface Taken {
    lines: string[];
    dropped: number;
  }

  const take = (): Taken => {
    const taken = { lines, dropped };
    lines = [];
    bytes = 0;
    dropped = 0;
    return taken;
  };

  const textOf = (taken: Taken): string | undefined => {
    if (taken.lines.length === 0 && taken.dropped === 0) return undefined;
    const notice =
      taken.dropped > 0
        ? `[agent] ${String(taken.dropped)} log line(s) dropped: the master could not be reached to receive them\n`
        : '';
    return notice + taken.lines.join('');
  };

  /** Puts unsent lines back in front of newer ones (the order of the log is kept). */
  const putBack = (taken: Taken) => {
    lines = [...taken.lines, ...lines];
    dropped += taken.dropped;
    bytes = lines.reduce((total, line) => total + Buffer.byteLength(line), 0);
    trim();
  };

  const flushOnce = async (): Promise<void> => {
    const taken = take();
    const logAppend = textOf(taken);
    const progressDue = pendingProgress !== undefined && now() - lastProgressAt >= progressInterval;
    const progress = progressDue ? pendingProgress : undefined;
    if (logAppend === undefined && progress === undefined) return;
    if (progressDue) pendingProgress = undefined;
    try {
      await options.sendBatch(
        {
          ...(logAppend === undefined ? {} : { logAppend }),
          ...(progress === undefined ? {} : { progress }),
        },
        options.signal,
      );
      if (progress !== undefined) lastProgressAt = now();
      if (failing) options.log.info(`live log of ${options.label} is reaching the master again`);
      failing = false;
      liveBackoff.reset();
      nextAttemptAt = 0;
    } catch (error) {
      if (!options.isRetryable(error)) {
        // A refusal will not change on retry (the record was finished elsewhere, bad input):
        // drop this batch rather than resend it forever.
        options.log.warn(`the master refused live log lines of ${options.label}; they are dropped`, {
          error: messageOf(error),
        });
        return;
      }
      if (!failing)
        options.log.warn(`cannot send live log of ${options.label}; keeping it for later`, {
          error: messageOf(error),
        });
      failing = true;
      nextAttemptAt = Date.now() + liveBackoff.next();
      putBack(taken);
      if (progress !== undefined) pendingProgress ??= progress;
    }
  };

  const flush = (): Promise<void> => {
    // One batch at a time, so lines arrive in order.
    inFlight ??= flushOnce().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };

  const timer = setInterval(() => {
    if (inFlight === null && !finished && Date.now() >= nextAttemptAt) void flush();
  }, flushInterval);
  timer.unref();

  return {
    line(text) {
      if (finished) return;
      let line = text.endsWith('\n') ? text : `${text}\n`;
      if (Buffer.byteLength(line) > MAX_LINE_BYTES)
        line = `${line.slice(0, MAX_LINE_BYTES / 4)}… (line cut)\n`;
      lines.push(line);
      bytes += Buffer.byteLength(line);
      trim();
    },
    progress(progress) {
      if (!finished) pendingProgress = progress;
    },
    flush,
    async finish(final) {
      finished = true;
      clearInterval(timer);
      if (inFlight !== null) await inFlight;
      const rest = textOf(take()) ?? '';
      const update: F = { ...final, logAppend: rest + (final.logAppend ?? '') };
      if (update.logAppend === '') delete update.logAppend;
      return deliver(() => options.sendFinal(update, options.signal), {
        signal: options.signal,
        log: options.log,
        what: `final report of ${options.label}`,
        isRetryable: options.isRetryable,
        backoff: options.finalBackoff ?? createBackoff({ jitter: 0.2 }),
      });
    },
    get bufferedBytes() {
      return bytes;
    },
  };
};
