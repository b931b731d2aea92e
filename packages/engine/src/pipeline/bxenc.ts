import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { EngineError } from '../errors.ts';

/**
 * BackupX's file cipher "BXENC1" (SPEC §3.7), readable by BackupX and vice versa:
 *   file  := "BXENC1" { frame }*
 *   frame := nonce[12] || len[uint32 BE] || AES-256-GCM(ciphertext || tag[16])
 * Each frame carries at most 1 MiB of plaintext; no associated data.
 */
export const BXENC_MAGIC = Buffer.from('BXENC1', 'ascii');
export const BXENC_FRAME_PLAINTEXT_BYTES = 1024 * 1024;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

const checkKey = (key: Buffer) => {
  if (key.length !== 32)
    throw new EngineError('ENCRYPTION_KEY_INVALID', 'encrypt', 'the encryption key must be 32 bytes');
};

/** Encrypts a stream into BXENC1 frames. Memory: one frame (1 MiB). */
export const createBxencEncryptor = (key: Buffer): Transform => {
  checkKey(key);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let wroteMagic = false;

  /** Pushes one frame as header, ciphertext and tag, without copying them into one buffer. */
  const sealFrame = (stream: Transform, plaintext: Buffer): void => {
    const header = Buffer.allocUnsafe(NONCE_BYTES + 4);
    randomBytes(NONCE_BYTES).copy(header, 0);
    header.writeUInt32BE(plaintext.length + TAG_BYTES, NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, header.subarray(0, NONCE_BYTES));
    stream.push(header);
    stream.push(cipher.update(plaintext));
    cipher.final();
    stream.push(cipher.getAuthTag());
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (!wroteMagic) {
        this.push(BXENC_MAGIC);
        wroteMagic = true;
      }
      let data = chunk;
      while (data.length > 0) {
        const room = BXENC_FRAME_PLAINTEXT_BYTES - pendingBytes;
        const take = data.subarray(0, room);
        pending.push(take);
        pendingBytes += take.length;
        data = data.subarray(take.length);
        if (pendingBytes === BXENC_FRAME_PLAINTEXT_BYTES) {
          sealFrame(
            this,
            pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes),
          );
          pending = [];
          pendingBytes = 0;
        }
      }
      callback();
    },
    flush(callback: TransformCallback) {
      if (!wroteMagic) this.push(BXENC_MAGIC);
      if (pendingBytes > 0)
        sealFrame(this, pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes));
      callback();
    },
  });
};

/**
 * Decrypts BXENC1. A wrong key, a flipped byte, a bad magic or a truncated frame is an error
 * (`ARTIFACT_DECRYPT_FAILED`); nothing unauthenticated is ever emitted.
 */
export const createBxencDecryptor = (key: Buffer): Transform => {
  checkKey(key);
  // Incoming chunks are kept as a list of views: a 1 MiB frame usually spans two chunks, and
  // joining them (or, worse, re-joining on every chunk) would copy every byte for nothing.
  let parts: Buffer[] = [];
  let buffered = 0;
  let sawMagic = false;
  const fail = (message: string, cause?: unknown) =>
    new EngineError('ARTIFACT_DECRYPT_FAILED', 'encrypt', `cannot decrypt the artifact: ${message}`, {
      cause,
    });
  /** Removes the first `bytes` buffered bytes and returns them as views, without copying. */
  const take = (bytes: number): Buffer[] => {
    buffered -= bytes;
    const taken: Buffer[] = [];
    let left = bytes;
    while (left > 0) {
      const first = parts[0] as Buffer;
      if (first.length > left) {
        taken.push(first.subarray(0, left));
        parts[0] = first.subarray(left);
        break;
      }
      taken.push(first);
      parts.shift();
      left -= first.length;
    }
    return taken;
  };
  const join = (views: Buffer[]): Buffer =>
    views.length === 1 ? (views[0] as Buffer) : Buffer.concat(views);
  /** The first `bytes` buffered bytes, left in place (small reads: magic, frame header). */
  const peek = (bytes: number): Buffer => {
    const first = parts[0] as Buffer;
    if (first.length >= bytes) return first.subarray(0, bytes);
    const joined = Buffer.concat(parts, buffered);
    parts = [joined];
    return joined.subarray(0, bytes);
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (chunk.length > 0) {
        parts.push(chunk);
        buffered += chunk.length;
      }
      try {
        if (!sawMagic) {
          if (buffered < BXENC_MAGIC.length) return callback();
          if (!peek(BXENC_MAGIC.length).equals(BXENC_MAGIC)) throw fail('not a BXENC1 file (bad magic)');
          take(BXENC_MAGIC.length);
          sawMagic = true;
        }
        while (buffered >= NONCE_BYTES + 4) {
          const length = peek(NONCE_BYTES + 4).readUInt32BE(NONCE_BYTES);
          if (length < TAG_BYTES || length > BXENC_FRAME_PLAINTEXT_BYTES + TAG_BYTES)
            throw fail(`invalid frame length ${length}`);
          if (buffered < NONCE_BYTES + 4 + length) break;
          const nonce = join(take(NONCE_BYTES));
          take(4);
          const ciphertext = take(length - TAG_BYTES);
          const tag = join(take(TAG_BYTES));
          const decipher = createDecipheriv('aes-256-gcm', key, nonce);
          decipher.setAuthTag(tag);
          const plaintext: Buffer[] = [];
          try {
            for (const piece of ciphertext) plaintext.push(decipher.update(piece));
            plaintext.push(decipher.final());
          } catch (error) {
            throw fail('authentication failed (wrong key or corrupted data)', error);
          }
          // Only now that the frame is authenticated does any of it go out.
          for (const piece of plaintext) if (piece.length > 0) this.push(piece);
        }
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      if (!sawMagic) return callback(fail('not a BXENC1 file (too short)'));
      if (buffered > 0) return callback(fail('truncated frame at the end'));
      callback();
    },
  });
};
