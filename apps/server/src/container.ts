import path from 'node:path';
import type { Logger } from 'pino';
import type { MasterConfig } from './config/schema.ts';
import { parseDurationMs } from './config/duration.ts';
import { migrateToLatest, openDatabase, pingDatabase, type OpenedDatabase } from './db/database.ts';
import { toIso, type Clock } from './lib/clock.ts';
import { SecretBox, deriveEncryptionKey, hmacSha256Hex } from './lib/crypto.ts';
import { resolveSecrets, type MasterSecrets } from './bootstrap/secrets.ts';
import { createUsersRepository } from './modules/users/users.repository.ts';
import { createSessionsRepository } from './modules/auth/sessions.repository.ts';
import { createRateLimitRepository } from './modules/auth/rate-limit.repository.ts';
import { createSystemConfigsRepository } from './modules/settings/system-configs.repository.ts';
import { createApiKeysRepository } from './modules/api-keys/api-keys.repository.ts';
import { createAuditRepository } from './modules/audit/audit.repository.ts';
import { createAuditService } from './modules/audit/audit.service.ts';
import { createSettingsService } from './modules/settings/settings.service.ts';
import { createApiKeysService } from './modules/api-keys/api-keys.service.ts';
import { createAuthService } from './modules/auth/auth.service.ts';
import { createUsersService } from './modules/users/users.service.ts';
import { createSystemService } from './modules/system/system.service.ts';
import { createMetrics } from './modules/system/metrics.ts';
import type { RouteRegistry } from './http/route-registry.ts';
import { registerAuthRoutes } from './modules/auth/auth.routes.ts';
import { registerUserRoutes } from './modules/users/users.routes.ts';
import { registerApiKeyRoutes } from './modules/api-keys/api-keys.routes.ts';
import { registerAuditRoutes } from './modules/audit/audit.routes.ts';
import { registerSettingsRoutes } from './modules/settings/settings.routes.ts';
import { registerSystemRoutes } from './modules/system/system.routes.ts';

export interface ContainerInput {
  config: Readonly<MasterConfig>;
  logger: Logger;
  clock: Clock;
  version: string;
  cwd: string;
  /** Overrides global fetch for outbound webhooks (tests point it at loopback receivers). */
  fetch?: typeof fetch;
}

/** Where generated secrets live when `security.secrets_file` is not set. */
export const defaultSecretsFile = (config: Readonly<MasterConfig>, cwd: string): string => {
  if (config.security.secrets_file !== '') return path.resolve(cwd, config.security.secrets_file);
  if (config.database.url === '')
    return path.join(path.dirname(path.resolve(cwd, config.database.path)), 'secrets.json');
  return path.resolve(cwd, 'data', 'secrets.json');
};

/** The database a config selects: PostgreSQL for a postgres:// URL (in `url` or `path`), else SQLite. */
export const databaseTargetOf = (config: Readonly<MasterConfig>, cwd: string) => {
  const url =
    config.database.url !== ''
      ? config.database.url
      : /^postgres(ql)?:\/\//.test(config.database.path)
        ? config.database.path
        : '';
  return url !== ''
    ? { dialect: 'postgres' as const, location: url }
    : { dialect: 'sqlite' as const, location: path.resolve(cwd, config.database.path) };
};

/** The one composition root: opens and migrates the database, then builds repositories and services. */
export const createContainer = async (input: ContainerInput) => {
  const { config, logger, clock } = input;
  const target = databaseTargetOf(config, input.cwd);
  const opened: OpenedDatabase = openDatabase(target, (error) =>
    logger.warn({ err: error.message }, 'database connection lost; it will be replaced on next use'),
  );
  try {
    await migrateToLatest(opened);
  } catch (error) {
    await opened.close();
    throw error;
  }
  const db = opened.db;

  const usersRepository = createUsersRepository(db);
  const sessionsRepository = createSessionsRepository(db);
  const rateLimitRepository = createRateLimitRepository(db);
  const systemConfigsRepository = createSystemConfigsRepository(db);
  const apiKeysRepository = createApiKeysRepository(db);
  const auditRepository = createAuditRepository(db);

  let secrets: MasterSecrets;
  try {
    secrets = await resolveSecrets({
      configured: { jwtSecret: config.security.jwt_secret, encryptionKey: config.security.encryption_key },
      file: defaultSecretsFile(config, input.cwd),
      systemConfigs: systemConfigsRepository,
      now: toIso(clock.now()),
    });
  } catch (error) {
    await opened.close();
    throw error;
  }
  const encryptionKey = deriveEncryptionKey(secrets.encryptionKey);
  const secretBox = new SecretBox(encryptionKey);
  const recoveryCodeKey = Buffer.from(hmacSha256Hex(encryptionKey, 'backupx-recovery-codes-v1'), 'hex');

  const audit = createAuditService({
    auditRepository,
    systemConfigsRepository,
    secretBox,
    clock,
    logger,
    ...(input.fetch ? { fetch: input.fetch } : {}),
  });
  const settings = createSettingsService({ systemConfigsRepository, secretBox, audit, clock });
  const apiKeys = createApiKeysService({ apiKeysRepository, audit, clock });
  const auth = createAuthService({
    usersRepository,
    sessionsRepository,
    rateLimitRepository,
    apiKeys,
    audit,
    secretBox,
    recoveryCodeKey,
    jwtSecret: secrets.jwtSecret,
    jwtTtlMs: parseDurationMs(config.security.jwt_expire) ?? 86_400_000,
    clock,
  });
  const users = createUsersService({ usersRepository, sessionsRepository, audit, clock });
  const dataDir =
    target.dialect === 'sqlite'
      ? path.dirname(target.location)
      : path.dirname(defaultSecretsFile(config, input.cwd));
  const system = createSystemService({
    version: input.version,
    mode: config.server.mode,
    startedAt: clock.now(),
    databaseDialect: opened.dialect,
    databaseLocation: opened.displayLocation,
    dataDir,
    ping: () => pingDatabase(db),
    clock,
  });
  const metrics = createMetrics(input.version);

  const services = { audit, settings, apiKeys, auth, users, system, metrics, clock };

  const registerRoutes = (registry: RouteRegistry) => {
    registerSystemRoutes(registry, services);
    registerAuthRoutes(registry, services);
    registerUserRoutes(registry, services);
    registerApiKeyRoutes(registry, services);
    registerAuditRoutes(registry, services);
    registerSettingsRoutes(registry, services);
  };

  return {
    database: opened,
    secrets,
    services,
    registerRoutes,
    async close(): Promise<void> {
      await audit.flush();
      await opened.close();
    },
  };
};

export type Container = Awaited<ReturnType<typeof createContainer>>;
