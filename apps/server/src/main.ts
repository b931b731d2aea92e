import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { loadConfig, type LoadConfigInput } from './config/load.ts';
import type { MasterConfig } from './config/schema.ts';
import { createLogger } from './bootstrap/logger.ts';
import { systemClock } from './lib/clock.ts';
import { findWebRoot } from './http/web-root.ts';
import { buildApp } from './http/app.ts';
import { createContainer, type Container } from './container.ts';
import { VERSION } from './version.ts';

const SHUTDOWN_GRACE_MS = 10_000;
const AUDIT_RETENTION_INTERVAL_MS = 6 * 3_600_000;
const SESSION_GC_INTERVAL_MS = 3_600_000;

export interface RunningMaster {
  app: FastifyInstance;
  container: Container;
  config: Readonly<MasterConfig>;
  url: string;
  stop(): Promise<void>;
}

/** Background loops; every one is safe to run on several masters at once (idempotent deletes). */
const startMaintenance = (container: Container, logger: Logger): (() => void) => {
  const { audit, auth } = container.services;
  const run = (name: string, task: () => Promise<unknown>) => {
    task().catch((error: unknown) =>
      logger.warn({ err: (error as Error).message, task: name }, 'maintenance task failed'),
    );
  };
  run('audit-retention', () => audit.purgeExpired());
  const timers = [
    setInterval(() => run('audit-retention', () => audit.purgeExpired()), AUDIT_RETENTION_INTERVAL_MS),
    setInterval(() => run('session-gc', () => auth.purgeExpiredSessions()), SESSION_GC_INTERVAL_MS),
  ];
  for (const timer of timers) timer.unref();
  return () => {
    for (const timer of timers) clearInterval(timer);
  };
};

/** Starts the master: config → logger → database + services → HTTP. */
export const startMaster = async (input: LoadConfigInput & { cwd: string }): Promise<RunningMaster> => {
  const { config, configFile } = loadConfig(input);
  const logger = createLogger({ level: config.log.level, file: config.log.file, stdout: config.log.stdout });
  const container = await createContainer({
    config,
    logger,
    clock: systemClock,
    version: VERSION,
    cwd: input.cwd,
  });
  if (container.secrets.generated.length > 0) {
    logger.warn(
      { file: container.secrets.file },
      'generated new secrets; back up this file together with the database: without it encrypted data cannot be read',
    );
  }
  if (container.secrets.jwtSecretRotated) {
    logger.warn(
      'the configured JWT secret differs from the previous one: every existing session token is now invalid',
    );
  }
  const webRoot = findWebRoot(config.server.web_root, input.cwd);
  const app = await buildApp({
    logger,
    trustedProxies: config.server.trusted_proxies,
    webRoot,
    metrics: container.services.metrics,
    authenticate: (credential) => container.services.auth.authenticate(credential),
    authenticateAgent: async (token) => ({
      kind: 'agent',
      node: await container.services.nodes.authenticateAgent(token),
    }),
    registerRoutes: container.registerRoutes,
    onClosing: () => container.services.commands.releasePolls(),
  });
  const address = await app.listen({ host: config.server.host, port: config.server.port });
  const stopMaintenance = startMaintenance(container, logger);
  logger.info(
    {
      address,
      configFile,
      database: container.database.displayLocation,
      webRoot: webRoot ?? '(none: API only)',
      version: VERSION,
    },
    'BackupX master started',
  );
  let stopping: Promise<void> | null = null;
  return {
    app,
    container,
    config,
    url: address,
    stop: () => {
      stopping ??= (async () => {
        stopMaintenance();
        const timeout = setTimeout(() => {
          logger.error('graceful shutdown timed out; exiting');
          process.exit(1);
        }, SHUTDOWN_GRACE_MS);
        timeout.unref();
        await app.close();
        await container.close();
        clearTimeout(timeout);
        logger.info('BackupX master stopped');
        logger.flush();
      })();
      return stopping;
    },
  };
};
