import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

/** Compares two strings in time that depends only on their lengths. */
export const constantTimeEqual = (a: string, b: string): boolean => {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) {
    // Still spend the comparison so the early exit reveals only the length.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
};

export const randomHex = (bytes: number): string => randomBytes(bytes).toString('hex');
export const randomBase64Url = (bytes: number): string => randomBytes(bytes).toString('base64url');

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
export const hmacSha256Hex = (key: string | Buffer, data: string | Buffer): string =>
  createHmac('sha256', key).update(data).digest('hex');

/** Key derivation used by BackupX: SHA-256 of the configured secret string (SPEC §3.6). */
export const deriveEncryptionKey = (secret: string): Buffer =>
  createHash('sha256').update(secret, 'utf8').digest();

/**
 * Secrets at rest (SPEC §4.3): AES-256-GCM, random 12-byte nonce prepended, tag appended,
 * base64url without padding. Compatible with BackupX's stored ciphertexts.
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox needs a 32-byte key');
    this.#key = key;
  }

  seal(plaintext: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return Buffer.concat([nonce, body]).toString('base64url');
  }

  open(sealed: string): string {
    const raw = Buffer.from(sealed, 'base64url');
    if (raw.length < 12 + 16) throw new Error('ciphertext too short');
    const nonce = raw.subarray(0, 12);
    const tag = raw.subarray(raw.length - 16);
    const body = raw.subarray(12, raw.length - 16);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, nonce);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  }
}
