/** Where in a run something failed. */
export type EngineStage =
  'source' | 'archive' | 'compress' | 'encrypt' | 'upload' | 'download' | 'verify' | 'restore' | 'storage';

/**
 * An engine failure: a stable code, the stage, and whether retrying may help.
 * An abort is `ENGINE_CANCELLED`, never a failure of the work itself.
 */
export class EngineError extends Error {
  readonly code: string;
  readonly stage: EngineStage;
  readonly retryable: boolean;

  constructor(
    code: string,
    stage: EngineStage,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'EngineError';
    this.code = code;
    this.stage = stage;
    this.retryable = options.retryable ?? false;
  }
}

/** True for the error an AbortSignal produces (or an EngineError that wraps one). */
export const isAbortError = (error: unknown): boolean =>
  (error instanceof Error &&
    (error.name === 'AbortError' || (error as NodeJS.ErrnoException).code === 'ABORT_ERR')) ||
  (error instanceof EngineError && error.code === 'ENGINE_CANCELLED');

/** Throws ENGINE_CANCELLED when the signal has fired. */
export const throwIfAborted = (signal: AbortSignal | undefined, stage: EngineStage): void => {
  if (signal?.aborted === true)
    throw new EngineError('ENGINE_CANCELLED', stage, 'cancelled', { cause: signal.reason });
};

/** `CODE: message` for a failed system call (the errno code is what users search for), else the message. */
export const describeError = (error: unknown): string => {
  const errno = error as NodeJS.ErrnoException;
  if (typeof errno.code === 'string') return `${errno.code}: ${errno.message}`;
  return error instanceof Error ? error.message : String(error);
};
