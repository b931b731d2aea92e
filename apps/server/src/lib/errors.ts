import { errorCatalog, type ErrorCode } from '@backupx/contract';

/** What went wrong, independent of HTTP. The HTTP layer maps a code to its status via the catalog. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: { path: string; message: string }[] | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: { path: string; message: string }[]; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details;
  }

  get status(): number {
    return errorCatalog[this.code].status;
  }
}

export const notFound = (code: ErrorCode, message: string): AppError => new AppError(code, message);
export const isAppError = (error: unknown): error is AppError => error instanceof AppError;
