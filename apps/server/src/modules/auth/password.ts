import { hash, verify } from '@node-rs/bcrypt';

/** bcrypt cost used by BackupX (SPEC §12.3). */
export const BCRYPT_COST = 12;

export const hashPassword = (password: string): Promise<string> => hash(password, { cost: BCRYPT_COST });

// A real hash of a random string: verifying against it costs the same as a real account,
// so a login for an unknown username takes as long as one for a known username.
const timingDecoy = hash('backupx-timing-decoy-' + String(Math.random()), { cost: BCRYPT_COST });

/** Verifies a password; with no stored hash it still spends one bcrypt verification and returns false. */
export const verifyPassword = async (password: string, storedHash: string | null): Promise<boolean> => {
  if (storedHash === null || storedHash === '') {
    await verify(password, await timingDecoy);
    return false;
  }
  try {
    return await verify(password, storedHash);
  } catch {
    return false;
  }
};
