import { setTimeout as sleep } from 'node:timers/promises';
import { EngineError, isAbortError } from '../errors.ts';

export interface RetryPolicy {
  attempts: number;
  /** Wait before attempt n+1 (index n-1); the last value repeats. */
  delaysMs: readonly number[];
}

/** BackupX's upload policy: 3 attempts, waiting 10 s then 20 s (SPEC §3.9). */
export const defaultRetryPolicy: RetryPolicy = { attempts: 3, delaysMs: [10_000, 20_000] };

/** Error codes of network faults (Node sockets, DNS, undici, Azure's request layer): transient. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'REQUEST_SEND_ERROR',
]);

/** Errors worth retrying: network faults and server-side (5xx, throttling) answers. */
export const isTransientError = (error: unknown): boolean => {
  if (isAbortError(error)) return false;
  if (error instanceof EngineError) return error.retryable;
  const err = error as {
    code?: string;
    $metadata?: { httpStatusCode?: number };
    statusCode?: number;
    status?: number;
  };
  const status = err.$metadata?.httpStatusCode ?? err.statusCode ?? err.status;
  if (typeof status === 'number') return status >= 500 || status === 429 || status === 408;
  return NETWORK_ERROR_CODES.has(err.code ?? '');
};

/**
 * Runs `operation` up to `policy.attempts` times while it fails with a transient error, waiting
 * between attempts (cancellable). The final error names the target and the operation.
 */
export const withRetries = async <T>(
  describe: { target: string; operation: string },
  operation: (attempt: number) => Promise<T>,
  options: {
    policy?: RetryPolicy;
    signal?: AbortSignal;
    onRetry?: (attempt: number, error: unknown) => void;
  } = {},
): Promise<T> => {
  const policy = options.policy ?? defaultRetryPolicy;
  let lastError: unknown;
  for (let attempt = 1; attempt <= policy.attempts; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (error) {
      lastError = error;
      if (isAbortError(error) || options.signal?.aborted === true) {
        throw new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: error });
      }
      if (!isTransientError(error) || attempt === policy.attempts) break;
      options.onRetry?.(attempt, error);
      const delay = policy.delaysMs[Math.min(attempt - 1, policy.delaysMs.length - 1)] ?? 0;
      try {
        await sleep(delay, undefined, { signal: options.signal });
      } catch (abort) {
        throw new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: abort });
      }
    }
  }
  const cause = lastError instanceof Error ? lastError.message : String(lastError);
  throw new EngineError(
    'STORAGE_OPERATION_FAILED',
    'storage',
    `storage target "${describe.target}": ${describe.operation} failed${isTransientError(lastError) ? ` after ${policy.attempts} attempts` : ''}: ${cause}`,
    { cause: lastError, retryable: isTransientError(lastError) },
  );
};
