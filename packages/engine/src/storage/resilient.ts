import type { Readable } from 'node:stream';
import { defaultRetryPolicy, withRetries, type RetryPolicy } from './retry.ts';
import type { PutOptions, PutResult, StorageBackend } from './types.ts';

/**
 * Wraps a backend so every idempotent operation is retried on transient faults (3 attempts,
 * backoff) and every failure names the storage target. `put` consumes a stream, so it is retried
 * only through `putWithRetries`, which can reopen the body.
 */
export const resilientBackend = (
  backend: StorageBackend,
  targetName: string,
  policy: RetryPolicy = defaultRetryPolicy,
): StorageBackend & {
  putWithRetries(key: string, openBody: () => Readable, options?: PutOptions): Promise<PutResult>;
} => {
  const retry = <T>(operation: string, run: () => Promise<T>, signal?: AbortSignal) =>
    withRetries({ target: targetName, operation }, run, { policy, ...(signal ? { signal } : {}) });
  return {
    type: backend.type,
    testConnection: (signal) => retry('connection test', () => backend.testConnection(signal), signal),
    put: (key, body, options) =>
      retry(`upload of ${key}`, () => backend.put(key, body, options), options?.signal).then((r) => r),
    putWithRetries: (key, openBody, options) =>
      retry(`upload of ${key}`, () => backend.put(key, openBody(), options), options?.signal),
    get: (key, options) => retry(`download of ${key}`, () => backend.get(key, options), options?.signal),
    stat: (key, signal) => retry(`stat of ${key}`, () => backend.stat(key, signal), signal),
    list: (prefix, signal) =>
      retry(`listing of ${prefix || '/'}`, () => backend.list(prefix, signal), signal),
    delete: (key, signal) => retry(`delete of ${key}`, () => backend.delete(key, signal), signal),
    usage: (signal) => retry('usage query', () => backend.usage(signal), signal),
    removeEmptyDirs: (prefix) => retry(`cleanup of ${prefix || '/'}`, () => backend.removeEmptyDirs(prefix)),
    close: () => backend.close(),
  };
};
