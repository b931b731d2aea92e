import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { hmacSha256Hex, randomBase64Url } from '../lib/crypto.ts';
import type { SystemConfigsRepository } from '../modules/settings/system-configs.repository.ts';

/**
 * Where the master's two secrets live (decision documented in docs/operations.md):
 * - configured values (`security.jwt_secret`, `security.encryption_key`, or their env) win;
 * - otherwise a file `secrets.json` (mode 0600) beside the data, generated on first start.
 * The database never holds a secret, only a fingerprint of each, so a stolen database dump does
 * not decrypt the secrets stored in it, and a master started with the wrong key refuses to run
 * instead of writing data no other master can read.
 */
export interface MasterSecrets {
  jwtSecret: string;
  encryptionKey: string;
  /** Which secrets were generated on this start (first start). */
  generated: ('jwtSecret' | 'encryptionKey')[];
  /** True when a newly configured JWT secret replaced the previous one (every session token is void). */
  jwtSecretRotated: boolean;
  file: string;
}

export class SecretsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretsError';
  }
}

const fileSchema = z.object({
  jwtSecret: z.string().min(16).optional(),
  encryptionKey: z.string().min(16).optional(),
});

const fingerprint = (secret: string, purpose: string): string =>
  hmacSha256Hex(secret, `backupx-secret-check-v1:${purpose}`);

export const readSecretsFile = (file: string): z.infer<typeof fileSchema> => {
  if (!existsSync(file)) return {};
  try {
    return fileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    throw new SecretsError(
      `The secrets file ${file} is unreadable or malformed: ${(error as Error).message}`,
    );
  }
};

const writeSecretsFile = (file: string, content: z.infer<typeof fileSchema>) => {
  // Like the SQLite data directory: private to the service user (matters when only secrets live here).
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(content, null, 2) + '\n', { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
};

export interface ResolveSecretsInput {
  configured: { jwtSecret: string; encryptionKey: string };
  file: string;
  systemConfigs: Pick<SystemConfigsRepository, 'insertIfAbsent' | 'upsertMany'>;
  now: string;
}

export const resolveSecrets = async (input: ResolveSecretsInput): Promise<MasterSecrets> => {
  const stored = readSecretsFile(input.file);
  const generated: MasterSecrets['generated'] = [];
  const pick = (
    configured: string,
    fromFile: string | undefined,
    name: 'jwtSecret' | 'encryptionKey',
  ): string => {
    if (configured !== '') return configured;
    if (fromFile !== undefined) return fromFile;
    generated.push(name);
    return randomBase64Url(48);
  };
  const jwtSecret = pick(input.configured.jwtSecret, stored.jwtSecret, 'jwtSecret');
  const encryptionKey = pick(input.configured.encryptionKey, stored.encryptionKey, 'encryptionKey');

  // A configured JWT secret may replace the previous one on purpose (rotation signs everyone out);
  // the encryption key may not: data sealed with the old key would become unreadable.
  const checks: { key: string; value: string; label: string; mayRotate: boolean }[] = [
    {
      key: 'security.encryption_key_check',
      value: fingerprint(encryptionKey, 'encryption_key'),
      label: 'encryption key (security.encryption_key / BACKUPX_SECURITY_ENCRYPTION_KEY)',
      mayRotate: false,
    },
    {
      key: 'security.jwt_secret_check',
      value: fingerprint(jwtSecret, 'jwt_secret'),
      label: 'JWT secret (security.jwt_secret / BACKUPX_SECURITY_JWT_SECRET)',
      mayRotate: input.configured.jwtSecret !== '',
    },
  ];
  let jwtSecretRotated = false;
  for (const { key, value, label, mayRotate } of checks) {
    const existing = await input.systemConfigs.insertIfAbsent(key, value, input.now);
    if (existing !== value && mayRotate) {
      await input.systemConfigs.upsertMany([{ key, value, encrypted: false }], input.now);
      jwtSecretRotated = true;
    } else if (existing !== value) {
      throw new SecretsError(
        `This database was set up with a different ${label}. Start this master with the same secret as the ` +
          `others sharing the database (copy their ${path.basename(input.file)} or set the value); ` +
          `refusing to start so nothing is written that the other masters cannot read.`,
      );
    }
  }
  // Only generated secrets go to the file; configured ones stay where the operator keeps them.
  if (generated.length > 0) {
    const values = { jwtSecret, encryptionKey };
    writeSecretsFile(input.file, {
      ...stored,
      ...Object.fromEntries(generated.map((name) => [name, values[name]])),
    });
  }
  return { jwtSecret, encryptionKey, generated, jwtSecretRotated, file: input.file };
};
