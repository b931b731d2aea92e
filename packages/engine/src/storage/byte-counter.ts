import { Transform, type TransformCallback } from 'node:stream';
import { EngineError } from '../errors.ts';

/**
 * Counts the bytes of an upload on their way to a backend, and fails the upload before it is
 * committed when they differ from the announced size (`STORAGE_SIZE_MISMATCH`).
 */
export const byteCounter = (expected: number | undefined): Transform & { bytes: number } => {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      counter.bytes += chunk.length;
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      if (expected !== undefined && expected >= 0 && counter.bytes !== expected) {
        callback(
          new EngineError(
            'STORAGE_SIZE_MISMATCH',
            'storage',
            `expected ${expected} bytes but the source produced ${counter.bytes}`,
          ),
        );
        return;
      }
      callback();
    },
  }) as Transform & { bytes: number };
  counter.bytes = 0;
  return counter;
};
