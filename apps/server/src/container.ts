import path from 'node:path';
import type { Logger } from 'pino';
import type { MasterConfig } from './config/schema.ts';
import { parseDurationMs } from './config/duration.ts';
import { migrateToLatest, openDatabase, pingDatabase, type OpenedDatabase } from './db/database.ts';
import { toIso, type Clock } from './lib/clock.ts';
import { AppError } from './lib/errors.ts';
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
import { createEventBus } from './modules/events/event-bus.ts';
import { createEventStreamHub } from './modules/events/event-stream.ts';
import { registerEventRoutes } from './modules/events/events.routes.ts';
import { createNotificationsRepository } from './modules/notifications/notifications.repository.ts';
import { createNotificationsService } from './modules/notifications/notifications.service.ts';
import { createNotificationDispatcher } from './modules/notifications/notification-dispatcher.ts';
import { registerNotificationRoutes } from './modules/notifications/notifications.routes.ts';
import { createDashboardRepository } from './modules/dashboard/dashboard.repository.ts';
import { createDashboardService } from './modules/dashboard/dashboard.service.ts';
import { registerDashboardRoutes } from './modules/dashboard/dashboard.routes.ts';
import { createStorageBackend } from '@backupx/engine';
import { createStorageTargetsRepository } from './modules/storage-targets/storage-targets.repository.ts';
import { createOAuthSessionsRepository } from './modules/storage-targets/oauth-sessions.repository.ts';
import { createStorageTargetsService } from './modules/storage-targets/storage-targets.service.ts';
import {
  createGoogleDriveOAuthService,
  type GoogleEndpoints,
} from './modules/storage-targets/google-drive-oauth.service.ts';
import { createRcloneCatalogue } from './modules/storage-targets/rclone-catalogue.ts';
import { createStorageHealthMonitor } from './modules/storage-targets/storage-health-monitor.ts';
import { registerStorageTargetRoutes } from './modules/storage-targets/storage-targets.routes.ts';
import type { RouteRegistry } from './http/route-registry.ts';
import type { RetryPolicy } from '@backupx/engine';
import { createRunsModule } from './modules/runs/runs.module.ts';
import { createRunsRepository } from './modules/runs/runs.repository.ts';
import { LogHub } from './modules/runs/log-hub.ts';
import { createVerificationRepository } from './modules/verification/verification.repository.ts';
import { registerVerificationRoutes } from './modules/verification/verification.routes.ts';
import { createVerificationService } from './modules/verification/verification.service.ts';
import { createPostureReader } from './modules/verification/posture.ts';
import { registerRunRoutes } from './modules/runs/runs.routes.ts';
import { readOrCreateInstanceId } from './bootstrap/instance-id.ts';
import { childProcessEnv } from './config/child-env.ts';
import { createTasksRepository } from './modules/tasks/tasks.repository.ts';
import { createScheduleClaimsRepository } from './modules/tasks/schedule-claims.repository.ts';
import { createTaskScheduler } from './modules/tasks/scheduler.ts';
import { createTasksService } from './modules/tasks/tasks.service.ts';
import { createDatabaseDiscoveryService } from './modules/tasks/database-discovery.service.ts';
import { registerTaskRoutes } from './modules/tasks/tasks.routes.ts';
import { createFilesystemService } from './modules/filesystem/filesystem.service.ts';
import { registerFilesystemRoutes } from './modules/filesystem/filesystem.routes.ts';
import { registerAuthRoutes } from './modules/auth/auth.routes.ts';
import { registerUserRoutes } from './modules/users/users.routes.ts';
import { registerApiKeyRoutes } from './modules/api-keys/api-keys.routes.ts';
import { registerAuditRoutes } from './modules/audit/audit.routes.ts';
import { registerSettingsRoutes } from './modules/settings/settings.routes.ts';
import { registerSystemRoutes } from './modules/system/system.routes.ts';
import { masterAgentKeyPair, openDataKey } from '@backupx/engine';
import { createSignals } from './db/signals.ts';
import { createNodesRepository } from './modules/nodes/nodes.repository.ts';
import { createAgentCommandsRepository } from './modules/nodes/agent-commands.repository.ts';
import { createCommandQueue } from './modules/nodes/command-queue.ts';
import { createNodesService } from './modules/nodes/nodes.service.ts';
import { createTaskTransfer } from './modules/tasks/task-transfer.ts';
import { createReplicationRepository } from './modules/replication/replication.repository.ts';
import { registerReplicationRoutes } from './modules/replication/replication.routes.ts';
import { createReplicationService } from './modules/replication/replication.service.ts';
import { createSlaMonitor } from './modules/sla/sla-monitor.ts';
import { createSlaRepository } from './modules/sla/sla.repository.ts';
import { registerSlaRoutes } from './modules/sla/sla.routes.ts';
import { createSlaService } from './modules/sla/sla.service.ts';
import { createAgentService } from './modules/nodes/agent.service.ts';
import { createInstallTokensService } from './modules/nodes/install-tokens.service.ts';
import { createAgentPackageBuilder } from './modules/nodes/agent-package.ts';
import { registerNodeRoutes } from './modules/nodes/nodes.routes.ts';
import type { RunPlacement } from './modules/runs/backup-runner.ts';
import { createTemplatesRepository } from './modules/templates/templates.repository.ts';
import { createTemplatesService } from './modules/templates/templates.service.ts';
import { registerTemplateRoutes } from './modules/templates/templates.routes.ts';
import { createSearchRepository } from './modules/search/search.repository.ts';
import { createSearchService } from './modules/search/search.service.ts';
import { registerSearchRoutes } from './modules/search/search.routes.ts';

/** How often RPO breaches are looked for (SPEC §10.2). */
const SLA_CHECK_INTERVAL_MS = 15 * 60_000;

export interface ContainerInput {
  config: Readonly<MasterConfig>;
  logger: Logger;
  clock: Clock;
  version: string;
  cwd: string;
  /** Waits between upload attempts (tests shorten them); default 10 s then 20 s (SPEC §3.9). */
  retryPolicy?: RetryPolicy;
  /** Overrides global fetch for outbound webhooks (tests point it at loopback receivers). */
  fetch?: typeof fetch;
  /** Where Google's OAuth and Drive APIs are (tests point them at a stand-in on 127.0.0.1). */
  googleEndpoints?: Partial<GoogleEndpoints>;
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
  // Background jobs (scheduler, monitors, runners) register how to stop here; close() runs them first.
  const stoppers: (() => Promise<void> | void)[] = [];
  const events = createEventBus({
    clock,
    onListenerError: (error) => logger.warn({ err: String(error) }, 'an event listener failed'),
  });
  // Live events: the SSE stream and the notification channels both listen to the bus.
  const eventStream = createEventStreamHub({
    events,
    clock,
    onDropped: (count) => metrics.observeSseDropped(count),
  });
  stoppers.push(() => eventStream.stop());
  const notificationsRepository = createNotificationsRepository(db);
  const notifications = createNotificationsService({
    notificationsRepository,
    audit,
    secretBox,
    clock,
    ...(input.fetch ? { fetch: input.fetch } : {}),
  });
  const notificationDispatcher = createNotificationDispatcher({
    events,
    notificationsRepository,
    secretBox,
    metrics,
    logger,
    clock,
    fetch: input.fetch ?? fetch,
  });
  stoppers.push(() => notificationDispatcher.stop());

  const storageTargets = createStorageTargetsService({
    storageTargetsRepository: createStorageTargetsRepository(db),
    secretBox,
    audit,
    clock,
    logger,
    createBackend: (type, storageConfig) =>
      createStorageBackend(type, storageConfig, {
        ...(input.fetch ? { fetch: input.fetch } : {}),
        log: (level, message) => logger[level]({ storage: type }, message),
      }),
  });
  const googleDriveOAuth = createGoogleDriveOAuthService({
    storageTargets,
    oauthSessions: createOAuthSessionsRepository(db, systemConfigsRepository),
    secretBox,
    clock,
    ...(input.googleEndpoints ? { endpoints: input.googleEndpoints } : {}),
    ...(input.fetch ? { fetch: input.fetch } : {}),
  });
  const rcloneCatalogue = createRcloneCatalogue({
    onError: (error) => logger.warn({ err: String(error) }, 'rclone backend catalogue unavailable'),
  });
  const storageHealth = createStorageHealthMonitor({ storageTargets, events, logger });
  storageHealth.start();
  stoppers.push(() => storageHealth.stop());

  const runnerId = readOrCreateInstanceId(dataDir);
  const tasksRepository = createTasksRepository(db);
  const filesystem = createFilesystemService();

  // The cluster: nodes, their durable command queue, and the signals that make dispatch instant.
  const ms = (value: string, fallback: number) => parseDurationMs(value) ?? fallback;
  const signals = createSignals(opened, {
    ...(target.dialect === 'postgres' ? { postgresUrl: target.location } : {}),
    onError: (error) => logger.warn({ err: error.message }, 'cluster signal connection lost; reconnecting'),
  });
  stoppers.push(() => signals.close());
  const nodesRepository = createNodesRepository(db);
  const commands = createCommandQueue({
    repository: createAgentCommandsRepository(db, opened.dialect),
    signals,
    clock,
    logger,
    leaseMs: ms(config.cluster.command_timeout, 600_000),
    pendingTimeoutMs: ms(config.cluster.command_timeout, 600_000),
    rpcTimeoutMs: ms(config.cluster.rpc_timeout, 15_000),
  });
  stoppers.push(() => commands.stop());
  const nodes = createNodesService({
    repository: nodesRepository,
    commands,
    filesystem,
    secretBox,
    audit,
    events,
    clock,
    logger,
    version: input.version,
    offlineAfterMs: ms(config.cluster.offline_after, 45_000),
  });
  const localNode = await nodes.registerLocalNode();
  const dashboard = createDashboardService({
    dashboardRepository: createDashboardRepository(db),
    clock,
    nodes,
    nodeNames: (ids) => nodesRepository.namesOf(ids),
    masterVersion: input.version,
  });
  const placementOf = async (nodeId: number) => {
    const node = nodeId > 0 ? await nodesRepository.findById(nodeId) : undefined;
    if (node === undefined || node.isLocal === 1) return { kind: 'local' as const, nodeId: localNode.id };
    return {
      kind: 'remote' as const,
      nodeId: node.id,
      nodeName: node.name,
      online: nodes.effectiveStatus(node) === 'online',
    };
  };
  const placement: RunPlacement = {
    async resolve(task) {
      if (task.nodeId === 0 && task.nodePoolTag.trim() !== '') {
        const chosen = await nodes.pickPoolNode(task.nodePoolTag);
        return placementOf(chosen.id);
      }
      return placementOf(task.nodeId);
    },
    ofNode: placementOf,
    async dispatchRun(nodeId, taskId, recordId) {
      await commands.enqueue(nodeId, 'run_task', { taskId, recordId }, { backupRecordId: recordId });
    },
    async deleteOnNode(nodeId, copy) {
      const node = await nodesRepository.findById(nodeId);
      if (node === undefined || node.isLocal === 1)
        throw new AppError(
          'BACKUP_RECORD_CROSS_NODE_LOCAL_DISK',
          `node #${String(nodeId)} no longer exists; its local copy ${copy.storagePath} cannot be reached`,
        );
      // Only local_disk copies go this way: their config is a path, no secret is queued.
      const { type, config } = await storageTargets.readDecrypted(copy.storageTargetId);
      await commands.enqueue(nodeId, 'delete_storage_object', {
        targetType: type,
        targetConfig: config,
        storagePath: copy.storagePath,
      });
    },
    async dispatchRestore(nodeId, restoreId) {
      await commands.enqueue(
        nodeId,
        'restore_record',
        { restoreRecordId: restoreId },
        { restoreRecordId: restoreId },
      );
    },
  };

  const verificationRepository = createVerificationRepository(db);
  const recordReader = createRunsRepository(db);
  const posture = createPostureReader({
    verifications: verificationRepository,
    targetSummaries: (ids) => storageTargets.getSummaries(ids),
    findRecord: (id) => recordReader.findRecord(id),
  });
  const runsModule = createRunsModule({
    db,
    posture,
    tasks: tasksRepository,
    targets: storageTargets,
    secretBox,
    encryptionKey,
    events,
    audit,
    clock,
    logger,
    runnerId,
    tempDir: config.backup.temp_dir,
    maxConcurrent: config.backup.max_concurrent,
    bandwidthLimit: config.backup.bandwidth_limit,
    localNode: () => nodesRepository.findLocal(),
    timeZone: config.backup.timezone,
    childEnv: childProcessEnv(),
    placement,
    ...(input.retryPolicy ? { retryPolicy: input.retryPolicy } : {}),
    metrics: {
      runStarted: () => metrics.backupRunStarted(),
      runFinished: (run) => metrics.observeBackupRun(run),
      restoreFinished: (status) => metrics.observeRestoreRun(status === 'success' ? 'success' : 'failed'),
    },
  });
  await runsModule.start();
  stoppers.push(() => runsModule.stop());
  const replication = createReplicationService({
    repository: createReplicationRepository(db),
    records: runsModule.repository,
    tasks: tasksRepository,
    targets: storageTargets,
    events,
    audit,
    clock,
    logger,
    maxConcurrent: config.backup.max_concurrent,
    onFinished: (status) => metrics.observeReplicationRun(status),
  });
  stoppers.push(() => replication.stop());
  const { runs, backupHub, restoreHub } = runsModule;

  // Verification drills (SPEC §8): on this master, their own log hub and concurrency limit.
  const verifyHub = new LogHub(clock);
  const verification = createVerificationService({
    repository: verificationRepository,
    records: runsModule.repository,
    tasks: tasksRepository,
    targets: storageTargets,
    targetNames: async (ids) =>
      new Map((await storageTargets.getSummaries(ids)).map((target) => [target.id, target.name])),
    secretBox,
    encryptionKey,
    sealedPrivateKey: masterAgentKeyPair(encryptionKey).privateKey,
    childEnv: childProcessEnv(),
    sandboxUrl: (kind) =>
      settings.value(kind === 'mysql' ? 'verify_sandbox_mysql' : 'verify_sandbox_postgresql'),
    isRemoteNode: async (nodeId) => (await placementOf(nodeId)).kind === 'remote',
    hub: verifyHub,
    events,
    audit,
    clock,
    logger,
    tempDir: config.backup.temp_dir,
    runnerId,
    maxConcurrent: config.backup.max_concurrent,
    onFinished: (status) => metrics.observeVerifyRun(status),
  });
  await verification.recoverOrphans();
  stoppers.push(() => verification.stop());

  const sealingKeys = masterAgentKeyPair(encryptionKey);
  const agentProtocol = createAgentService({
    nodes,
    commands,
    repository: runsModule.repository,
    repositoryLeases: runsModule.repositoryLeases,
    tasks: tasksRepository,
    targets: storageTargets,
    backups: runsModule.backups,
    restores: runsModule.restores,
    runs,
    backupHub,
    restoreHub,
    secretBox,
    sealing: {
      publicKey: sealingKeys.publicKey,
      privateKey: sealingKeys.privateKey,
      openDataKey: (envelope) => openDataKey(envelope, sealingKeys.privateKey),
    },
    clock,
    logger,
    version: input.version,
    defaultBandwidthLimit: config.backup.bandwidth_limit,
  });
  const installTokens = createInstallTokensService({
    db,
    nodes,
    rateLimits: rateLimitRepository,
    audit,
    clock,
  });
  const agentPackage = createAgentPackageBuilder({ dataDir, version: input.version, logger });
  const monitorMs = ms(config.cluster.monitor_interval, 15_000);
  nodes.start(monitorMs);
  stoppers.push(() => nodes.stop());
  commands.start(Math.min(monitorMs, 30_000), (command) => agentProtocol.onCommandTimedOut(command));

  // SLA / RPO compliance, its monitor and the compliance report (SPEC §10).
  const slaRepository = createSlaRepository(db);
  const sla = createSlaService({
    repository: slaRepository,
    clock,
    nodeNames: (ids) => nodesRepository.namesOf(ids),
  });
  const slaMonitor = createSlaMonitor({ sla, repository: slaRepository, events, clock, logger });
  metrics.setSlaBreachSource(async () => (await sla.compliance()).violated);
  slaMonitor.start(SLA_CHECK_INTERVAL_MS);
  stoppers.push(() => slaMonitor.stop());

  // Backup tasks and their cron schedule; the runs module starts the runs and cleans artifacts.
  const taskScheduler = createTaskScheduler({
    tasksRepository,
    claimsRepository: createScheduleClaimsRepository(db),
    audit,
    clock,
    logger,
    timeZone: config.backup.timezone,
    runnerId,
  });
  taskScheduler.setRunner(runs);
  taskScheduler.setVerifier(verification);
  const tasks = createTasksService({
    tasksRepository,
    scheduler: taskScheduler,
    audit,
    secretBox,
    clock,
    logger,
    artifacts: runs,
    nodeOf: async (id) => {
      const node = await nodesRepository.findById(id);
      return node === undefined ? undefined : { isLocal: node.isLocal === 1 };
    },
    nodeNames: (ids) => nodesRepository.namesOf(ids),
  });
  const taskTransfer = createTaskTransfer({
    tasks,
    repository: tasksRepository,
    nodes: nodesRepository,
    audit,
    clock,
  });
  const databaseDiscovery = createDatabaseDiscoveryService({
    tasksRepository,
    secretBox,
    clock,
    childEnv: childProcessEnv(),
    onNode: async (nodeId, discoverInput) => {
      const node = await nodesRepository.findById(nodeId);
      if (node === undefined)
        throw new AppError('DATABASE_DISCOVERY_FAILED', `node ${nodeId} does not exist`);
      return node.isLocal === 1 ? null : nodes.discoverOnNode(nodeId, discoverInput);
    },
  });
  await taskScheduler.start();
  stoppers.push(() => taskScheduler.stop());

  // Task templates create their tasks through the tasks service; search only reads.
  const templates = createTemplatesService({
    repository: createTemplatesRepository(db),
    tasks,
    audit,
    secretBox,
    clock,
    logger,
  });
  const search = createSearchService({ repository: createSearchRepository(db) });

  const services = {
    audit,
    settings,
    apiKeys,
    auth,
    users,
    system,
    metrics,
    events,
    eventStream,
    notifications,
    notificationDispatcher,
    dashboard,
    storageTargets,
    googleDriveOAuth,
    rcloneCatalogue,
    storageHealth,
    runs,
    backupHub,
    restoreHub,
    tasks,
    taskTransfer,
    taskScheduler,
    databaseDiscovery,
    filesystem,
    nodes,
    commands,
    sla,
    slaMonitor,
    replication,
    verification,
    verifyHub,
    posture,
    agentProtocol,
    installTokens,
    agentPackage,
    sealingKeys,
    templates,
    search,
    externalUrl: config.server.external_url,
    clock,
  };

  const registerRoutes = (registry: RouteRegistry) => {
    registerSystemRoutes(registry, services);
    registerSlaRoutes(registry, services);
    registerReplicationRoutes(registry, services);
    registerVerificationRoutes(registry, services);
    registerAuthRoutes(registry, services);
    registerUserRoutes(registry, services);
    registerApiKeyRoutes(registry, services);
    registerAuditRoutes(registry, services);
    registerSettingsRoutes(registry, services);
    registerEventRoutes(registry, services);
    registerNotificationRoutes(registry, services);
    registerDashboardRoutes(registry, services);
    registerStorageTargetRoutes(registry, services);
    registerRunRoutes(registry, services);
    registerTaskRoutes(registry, services);
    registerFilesystemRoutes(registry, services);
    registerNodeRoutes(registry, services);
    registerTemplateRoutes(registry, services);
    registerSearchRoutes(registry, services);
  };

  return {
    database: opened,
    secrets,
    services,
    registerRoutes,
    async close(): Promise<void> {
      for (const stop of stoppers.reverse()) await stop();
      await audit.flush();
      await opened.close();
    },
  };
};

export type Container = Awaited<ReturnType<typeof createContainer>>;
