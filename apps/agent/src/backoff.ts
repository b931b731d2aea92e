/**
 * Waiting and retrying. The agent must outlive any master outage (a restart, an upgrade, a
 * network cut): every loop retries with a capped exponential backoff instead of giving up, and
 * every wait ends at once when the agent stops.
 */
import type { AgentLogger } from './logger.ts';
import { messageOf } from './logger.ts';

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** Fraction of random spread (0.2 = ±20 %), so many agents do not hit a restarted master in step. */
  jitter?: number;
  random?: () => number;
}

export interface Backoff {
  /** The delay before the next attempt; grows with each call up to the cap. */
  next(): number;
  /** After a success: the next failure waits the initial delay again. */
  reset(): void;
  readonly attempts: number;
}

/** 1 s, 2 s, 4 s, … capped at 30 s by default. */
export const createBackoff = (options: BackoffOptions = {}): Backoff => {
  const initial = options.initialMs ?? 1000;
  const max = options.maxMs ?? 30_000;
  const factor = options.factor ?? 2;
  const jitter = options.jitter ?? 0;
  const random = options.random ?? Math.random;
  let attempts = 0;
  return {
    next() {
      const base = Math.min(max, initial * factor ** attempts);
      attempts += 1;
      if (jitter === 0) return base;
      const spread = base * jitter * (random() * 2 - 1);
      return Math.max(0, Math.min(max, Math.round(base + spread)));
    },
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
};

/** Resolves after `ms`, or early (with false) when `signal` aborts. Never rejects. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<boolean> =>
  new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve(false);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** True for failures worth retrying (network, timeouts, 5xx, 408, 429); see MasterError. */
export type IsRetryable = (error: unknown) => boolean;

export interface DeliverOptions {
  /** Stops retrying (the agent is shutting down for good). */
  signal: AbortSignal;
  log: AgentLogger;
  /** Shown in the log: "final report of record #12". */
  what: string;
  isRetryable: IsRetryable;
  backoff?: Backoff;
}

/**
 * Calls `send` until it succeeds: used for reports the master must get (a record's final status,
 * a command result). A permanent refusal (a 4xx that will not change) is logged and dropped, as
 * retrying it would loop forever. Returns whether it was delivered.
 */
export const deliver = async (send: () => Promise<void>, options: DeliverOptions): Promise<boolean> => {
  const backoff = options.backoff ?? createBackoff({ jitter: 0.2 });
  for (;;) {
    try {
      await send();
      if (backoff.attempts > 0)
        options.log.info(`${options.what} delivered after ${String(backoff.attempts)} retries`);
      return true;
    } catch (error) {
      if (!options.isRetryable(error)) {
        options.log.error(`${options.what} refused by the master; not retried`, { error: messageOf(error) });
        return false;
      }
      if (options.signal.aborted) {
        options.log.error(`${options.what} could not be delivered before the agent stopped`, {
          error: messageOf(error),
        });
        return false;
      }
      const delay = backoff.next();
      if (backoff.attempts === 1 || backoff.attempts % 10 === 0)
        options.log.warn(`${options.what} failed; retrying`, {
          error: messageOf(error),
          retryInMs: delay,
          attempt: backoff.attempts,
        });
      if (!(await sleep(delay, options.signal))) {
        options.log.error(`${options.what} could not be delivered before the agent stopped`, {
          error: messageOf(error),
        });
        return false;
      }
    }
  }
};
