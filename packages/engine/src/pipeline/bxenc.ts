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
  let buffer: Buffer = Buffer.alloc(0);
  let sawMagic = false;
  const fail = (message: string, cause?: unknown) =>
    new EngineError('ARTIFACT_DECRYPT_FAILED', 'encrypt', `cannot decrypt the artifact: ${message}`, {
      cause,
    });

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      try {
        if (!sawMagic) {
          if (buffer.length < BXENC_MAGIC.length) return callback();
          if (!buffer.subarray(0, BXENC_MAGIC.length).equals(BXENC_MAGIC))
            throw fail('not a BXENC1 file (bad magic)');
          buffer = buffer.subarray(BXENC_MAGIC.length);
          sawMagic = true;
        }
        while (buffer.length >= NONCE_BYTES + 4) {
          const length = buffer.readUInt32BE(NONCE_BYTES);
          if (length < TAG_BYTES || length > BXENC_FRAME_PLAINTEXT_BYTES + TAG_BYTES)
            throw fail(`invalid frame length ${length}`);
          if (buffer.length < NONCE_BYTES + 4 + length) break;
          const nonce = buffer.subarray(0, NONCE_BYTES);
          const body = buffer.subarray(NONCE_BYTES + 4, NONCE_BYTES + 4 + length);
          const decipher = createDecipheriv('aes-256-gcm', key, nonce);
          decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
          let plaintext: Buffer;
          try {
            plaintext = Buffer.concat([
              decipher.update(body.subarray(0, body.length - TAG_BYTES)),
              decipher.final(),
            ]);
          } catch (error) {
            throw fail('authentication failed (wrong key or corrupted data)', error);
          }
          this.push(plaintext);
          buffer = buffer.subarray(NONCE_BYTES + 4 + length);
        }
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      if (!sawMagic) return callback(fail('not a BXENC1 file (too short)'));
      if (buffer.length > 0) return callback(fail('truncated frame at the end'));
      callback();
    },
  });
};
