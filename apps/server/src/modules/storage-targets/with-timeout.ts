/** The error a timed-out operation ends with. */
export class OperationTimeoutError extends Error {
  constructor(what: string, timeoutMs: number) {
    super(`${what} timed out after ${Math.round(timeoutMs / 1000)} s`);
    this.name = 'OperationTimeoutError';
  }
}

/**
 * Runs `work` with an AbortSignal that fires after `timeoutMs`, and stops waiting at that moment
 * even if the work ignores the signal (a backend stuck in a TCP connect must not hold a request or
 * the health monitor).
 */
export const withTimeout = async <T>(
  what: string,
  timeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> => {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new OperationTimeoutError(what, timeoutMs);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
};

/** A readable one-line message for any thrown value (AggregateError from a refused connect has none). */
export const messageOf = (error: unknown): string => {
  if (error instanceof Error) {
    if (error.message !== '') return error.message;
    if (error instanceof AggregateError) {
      const inner = (error.errors as unknown[]).map(messageOf).filter((m) => m !== '');
      if (inner.length > 0) return inner.join('; ');
    }
    const code = (error as NodeJS.ErrnoException).code;
    return code ?? error.name;
  }
  return String(error);
};
