import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { EngineError } from '../errors.ts';
import { openDataKey, sealDataKey, SEALED_KEY_ENVELOPE_BYTES } from './sealed-key.ts';

/**
 * BackupX's file cipher "BXENC1" (SPEC §3.7), readable by BackupX and vice versa:
 *   file  := "BXENC1" { frame }*
 *   frame := nonce[12] || len[uint32 BE] || AES-256-GCM(ciphertext || tag[16])
 * Each frame carries at most 1 MiB of plaintext; no associated data.
 *
 * "BXENC2" (agents, see sealed-key.ts) is the same frames under a per-artifact data key, after a
 * header that carries the data key sealed to the master's X25519 public key:
 *   file  := "BXENC2" envelope[93] { frame }*
 */
export const BXENC_MAGIC = Buffer.from('BXENC1', 'ascii');
/** Magic of BXENC2 artifacts (data key sealed to the master's agent key). */
export const BXENC2_MAGIC = Buffer.from('BXENC2', 'ascii');
/** Bytes before the first BXENC2 frame: magic and envelope. */
export const BXENC2_HEADER_BYTES = BXENC2_MAGIC.length + SEALED_KEY_ENVELOPE_BYTES;
export const BXENC_FRAME_PLAINTEXT_BYTES = 1024 * 1024;
const MAGIC_BYTES = BXENC_MAGIC.length;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

const checkKey = (key: Buffer, what = 'the encryption key') => {
  if (key.length !== 32)
    throw new EngineError('ENCRYPTION_KEY_INVALID', 'encrypt', `${what} must be 32 bytes`);
};

/**
 * Writes `header` then BXENC frames under `key` (shared by BXENC1 and BXENC2). Memory: one
 * frame (1 MiB).
 */
const createFrameEncryptor = (key: Buffer, header: Buffer): Transform => {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let wroteHeader = false;

  /** Pushes one frame as header, ciphertext and tag, without copying them into one buffer. */
  const sealFrame = (stream: Transform, plaintext: Buffer): void => {
    const frameHeader = Buffer.allocUnsafe(NONCE_BYTES + 4);
    randomBytes(NONCE_BYTES).copy(frameHeader, 0);
    frameHeader.writeUInt32BE(plaintext.length + TAG_BYTES, NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, frameHeader.subarray(0, NONCE_BYTES));
    stream.push(frameHeader);
    stream.push(cipher.update(plaintext));
    cipher.final();
    stream.push(cipher.getAuthTag());
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (!wroteHeader) {
        this.push(header);
        wroteHeader = true;
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
      if (!wroteHeader) this.push(header);
      if (pendingBytes > 0)
        sealFrame(this, pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes));
      callback();
    },
  });
};

/** Encrypts a stream into BXENC1 frames under the master's key. Memory: one frame (1 MiB). */
export const createBxencEncryptor = (key: Buffer): Transform => {
  checkKey(key);
  return createFrameEncryptor(key, BXENC_MAGIC);
};

/**
 * Encrypts a stream as BXENC2 for an agent: a fresh data key, sealed to `masterPublicKey` (raw
 * X25519, from `masterAgentKeyPair`), encrypts the frames. The caller keeps `envelope` with the
 * record (it is also in the artifact's header); the data key itself is never exposed.
 */
export const createBxenc2Encryptor = (masterPublicKey: Buffer): { stream: Transform; envelope: Buffer } => {
  const { dataKey, envelope } = sealDataKey(masterPublicKey);
  return { stream: createFrameEncryptor(dataKey, Buffer.concat([BXENC2_MAGIC, envelope])), envelope };
};

/**
 * Keys an encrypted artifact may need; its magic decides which one is used:
 * BXENC1 needs `decryptionKey`, BXENC2 needs `dataKey` or `sealedPrivateKey`.
 */
export interface ArtifactDecryptionKeys {
  /** BXENC1: the master's 32-byte encryption key. */
  decryptionKey?: Buffer;
  /** BXENC2: the master's X25519 private key (`masterAgentKeyPair(encryptionKey).privateKey`). */
  sealedPrivateKey?: KeyObject;
  /**
   * BXENC2: this artifact's 32-byte data key (what the master hands an agent for one restore).
   * Used instead of opening the envelope when given.
   */
  dataKey?: Buffer;
}

/** True when at least one decryption key is present. */
export const hasDecryptionKey = (keys: ArtifactDecryptionKeys): boolean =>
  keys.decryptionKey !== undefined || keys.sealedPrivateKey !== undefined || keys.dataKey !== undefined;

/**
 * Decrypts BXENC1 or BXENC2, whichever the magic says, with the matching key from `keys`. A
 * missing key for that format is `ARTIFACT_KEY_MISSING`; a wrong key, a flipped byte (frames or
 * envelope), a bad magic or a truncated file is `ARTIFACT_DECRYPT_FAILED`. Nothing
 * unauthenticated is ever emitted.
 */
export const createArtifactDecryptor = (keys: ArtifactDecryptionKeys): Transform => {
  if (keys.decryptionKey !== undefined) checkKey(keys.decryptionKey);
  if (keys.dataKey !== undefined) checkKey(keys.dataKey, 'the data key');
  // Incoming chunks are kept as a list of views: a 1 MiB frame usually spans two chunks, and
  // joining them (or, worse, re-joining on every chunk) would copy every byte for nothing.
  let parts: Buffer[] = [];
  let buffered = 0;
  let format: 'BXENC1' | 'BXENC2' | undefined;
  /** The frame key, once the header has been read. */
  let frameKey: Buffer | undefined;
  const fail = (message: string, cause?: unknown) =>
    new EngineError('ARTIFACT_DECRYPT_FAILED', 'encrypt', `cannot decrypt the artifact: ${message}`, {
      cause,
    });
  const missing = (message: string) => new EngineError('ARTIFACT_KEY_MISSING', 'encrypt', message);
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
  /** The first `bytes` buffered bytes, left in place (small reads: magic, headers). */
  const peek = (bytes: number): Buffer => {
    const first = parts[0] as Buffer;
    if (first.length >= bytes) return first.subarray(0, bytes);
    const joined = Buffer.concat(parts, buffered);
    parts = [joined];
    return joined.subarray(0, bytes);
  };

  /** Reads the magic and, for BXENC2, the envelope; returns false while more input is needed. */
  const readHeader = (): boolean => {
    if (format === undefined) {
      if (buffered < MAGIC_BYTES) return false;
      const magic = peek(MAGIC_BYTES);
      if (magic.equals(BXENC_MAGIC)) {
        if (keys.decryptionKey === undefined)
          throw missing(
            'this artifact is BXENC1 (encrypted with the master key): it needs the master encryption key',
          );
        format = 'BXENC1';
        frameKey = keys.decryptionKey;
      } else if (magic.equals(BXENC2_MAGIC)) {
        if (keys.dataKey === undefined && keys.sealedPrivateKey === undefined)
          throw missing(
            'this artifact is BXENC2 (written by an agent, its data key sealed to the master): ' +
              "it needs the master's agent private key (sealedPrivateKey) or the artifact's data key, " +
              'not the BXENC1 encryption key',
          );
        format = 'BXENC2';
      } else throw fail('not a BXENC1 or BXENC2 file (bad magic)');
      take(MAGIC_BYTES);
    }
    if (frameKey === undefined) {
      if (buffered < SEALED_KEY_ENVELOPE_BYTES) return false;
      const envelope = join(take(SEALED_KEY_ENVELOPE_BYTES));
      frameKey = keys.dataKey ?? openDataKey(envelope, keys.sealedPrivateKey as KeyObject);
    }
    return true;
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (chunk.length > 0) {
        parts.push(chunk);
        buffered += chunk.length;
      }
      try {
        if (!readHeader()) return callback();
        const key = frameKey as Buffer;
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
      if (format === undefined) return callback(fail('not a BXENC1 or BXENC2 file (too short)'));
      if (frameKey === undefined) return callback(fail('truncated BXENC2 header'));
      if (buffered > 0) return callback(fail('truncated frame at the end'));
      callback();
    },
  });
};

/**
 * Decrypts BXENC1 with the master's key. A wrong key, a flipped byte, a bad magic or a truncated
 * frame is an error (`ARTIFACT_DECRYPT_FAILED`); a BXENC2 artifact is `ARTIFACT_KEY_MISSING`
 * (use `createArtifactDecryptor` with its keys); nothing unauthenticated is ever emitted.
 */
export const createBxencDecryptor = (key: Buffer): Transform => {
  checkKey(key);
  return createArtifactDecryptor({ decryptionKey: key });
};
