import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { EngineError } from '../errors.ts';

/** A pass-through that hashes (SHA-256) and counts what flows through it. */
export class DigestTap extends Transform {
  readonly #hash = createHash('sha256');
  #bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    callback(null, chunk);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Lower-hex SHA-256; call after the stream ended. */
  digest(): string {
    return this.#hash.copy().digest('hex');
  }
}

/**
 * Passes bytes through and fails at the end when their SHA-256 differs from `expected`
 * (`BACKUP_CHECKSUM_MISMATCH`, SPEC §3.8). An empty `expected` (legacy records) checks nothing.
 * Consumers must treat the output as provisional until the stream ends without error.
 */
export const createChecksumVerifier = (expected: string): Transform => {
  const hash = createHash('sha256');
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      if (expected === '') return callback();
      const actual = hash.digest('hex');
      if (actual !== expected.toLowerCase()) {
        return callback(
          new EngineError(
            'BACKUP_CHECKSUM_MISMATCH',
            'verify',
            `checksum mismatch: expected ${expected}, got ${actual}`,
          ),
        );
      }
      callback();
    },
  });
};
