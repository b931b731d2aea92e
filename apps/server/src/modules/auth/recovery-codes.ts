import { randomBytes } from 'node:crypto';
import { verify } from '@node-rs/bcrypt';
import { constantTimeEqual, hmacSha256Hex } from '../../lib/crypto.ts';

export const RECOVERY_CODE_COUNT = 10;

/** Ten single-use codes `XXXX-XXXX-XXXX-XXXX` (16 upper-case hex digits, 64 random bits each). */
export const generateRecoveryCodes = (): string[] =>
  Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const hex = randomBytes(8).toString('hex').toUpperCase();
    return `${hex.slice(0, 4)}-${hex.slice(4, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}`;
  });

/** Case, spaces and dashes do not matter when a code is typed. */
export const normaliseRecoveryCode = (code: string): string => code.replace(/[\s-]/g, '').toUpperCase();

/**
 * Stored form: `h1:` + HMAC-SHA-256 under a server key. 64 random bits per code make a slow hash
 * unnecessary, and checking ten bcrypt hashes would add seconds to a login. bcrypt hashes written
 * by BackupX (`$2…`) are still accepted.
 */
export const hashRecoveryCode = (hmacKey: Buffer, code: string): string =>
  `h1:${hmacSha256Hex(hmacKey, normaliseRecoveryCode(code))}`;

/** Returns the index of the stored hash the code matches, or -1. */
export const findRecoveryCode = async (
  hmacKey: Buffer,
  stored: readonly string[],
  code: string,
): Promise<number> => {
  const normalised = normaliseRecoveryCode(code);
  if (!/^[0-9A-F]{16}$/.test(normalised)) return -1;
  const candidate = hashRecoveryCode(hmacKey, normalised);
  for (const [index, entry] of stored.entries()) {
    if (entry.startsWith('h1:')) {
      if (constantTimeEqual(entry, candidate)) return index;
    } else if (entry.startsWith('$2')) {
      const formatted = normalised.match(/.{4}/g)?.join('-') ?? normalised;
      if (await verify(formatted, entry).catch(() => false)) return index;
    }
  }
  return -1;
};
