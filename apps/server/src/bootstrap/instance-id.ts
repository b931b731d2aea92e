import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A stable identity of this master's data directory. Records the master runs carry it, so after
 * a crash the restarted master knows which `running` records were its own and are dead.
 */
export const readOrCreateInstanceId = (dataDir: string): string => {
  const file = path.join(dataDir, 'instance-id');
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{16,64}$/.test(id)) return id;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const id = randomBytes(16).toString('hex');
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
};
