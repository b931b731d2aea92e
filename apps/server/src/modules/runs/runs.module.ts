import { createRepositoryPruner } from './repository-records.ts';
import { createLeasesRepository, createRepositoryLeases } from './repository-leases.ts';
import type { Logger } from 'pino';
import { masterAgentKeyPair, type RetryPolicy } from '@backupx/engine';
import type { Clock } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/crypto.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { TargetAccess, TaskReader } from './artifacts.ts';
import { createBackupRunner, type RunMetrics, type RunPlacement } from './backup-runner.ts';
import type { LocalLimitsDeps } from './local-limits.ts';
import { LogHub } from './log-hub.ts';
import { createRestoreRunner } from './restore-runner.ts';
import { createRunsRepository } from './runs.repository.ts';
import { createRunsService, type RunsServiceDeps } from './runs.service.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';

export interface RunsModuleDeps {
  db: Kysely<Database>;
  tasks: TaskReader;
  targets: TargetAccess;
  secretBox: SecretBox;
  encryptionKey: Buffer;
  events: EventBus;
  audit: AuditService;
  clock: Clock;
  logger: Logger;
  runnerId: string;
  tempDir: string;
  maxConcurrent: number;
  /** `backup.bandwidth_limit`: this master's transfers, unless its node sets its own. */
  bandwidthLimit: string;
  localNode?: LocalLimitsDeps['localNode'];
  timeZone: string;
  childEnv: Record<string, string | undefined>;
  retryPolicy?: RetryPolicy;
  metrics?: RunMetrics & { restoreFinished?: (status: string) => void };
  placement?: RunPlacement;
  posture?: RunsServiceDeps['posture'];
}

/** How often runs of dead masters (stale heartbeats) are looked for. */
const ORPHAN_SWEEP_MS = 30_000;

/** Backups, restores and their records: builds the pieces and the background sweep. */
export const createRunsModule = (deps: RunsModuleDeps) => {
  const repository = createRunsRepository(deps.db);
  const repositoryLeases = createRepositoryLeases({
    leases: createLeasesRepository(deps.db),
    clock: deps.clock,
  });
  const backupHub = new LogHub(deps.clock);
  const restoreHub = new LogHub(deps.clock);
  const repositoryPruner = createRepositoryPruner(
    repositoryLeases,
    deps.encryptionKey,
    `master:${deps.runnerId}`,
  );
  const shared = {
    repository,
    repositoryLeases,
    repositoryPruner,
    targets: deps.targets,
    secretBox: deps.secretBox,
    encryptionKey: deps.encryptionKey,
    events: deps.events,
    clock: deps.clock,
    logger: deps.logger,
    tempDir: deps.tempDir,
    maxConcurrent: deps.maxConcurrent,
    bandwidthLimit: deps.bandwidthLimit,
    ...(deps.localNode ? { localNode: deps.localNode } : {}),
    childEnv: deps.childEnv,
  };
  const backups = createBackupRunner({
    ...shared,
    tasks: deps.tasks,
    hub: backupHub,
    runnerId: deps.runnerId,
    timeZone: deps.timeZone,
    ...(deps.retryPolicy ? { retryPolicy: deps.retryPolicy } : {}),
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(deps.placement ? { placement: deps.placement } : {}),
  });
  const restores = createRestoreRunner({
    ...shared,
    sealedPrivateKey: masterAgentKeyPair(deps.encryptionKey).privateKey,
    hub: restoreHub,
    ...(deps.metrics?.restoreFinished ? { onFinished: deps.metrics.restoreFinished } : {}),
  });
  const runs = createRunsService({
    repository,
    repositoryPruner,
    encryptionKey: deps.encryptionKey,
    tasks: deps.tasks,
    backups,
    restores,
    backupHub,
    restoreHub,
    targets: deps.targets,
    audit: deps.audit,
    clock: deps.clock,
    logger: deps.logger,
    runnerId: deps.runnerId,
    ...(deps.placement ? { placement: deps.placement } : {}),
    ...(deps.posture ? { posture: deps.posture } : {}),
  });

  let sweep: NodeJS.Timeout | undefined;
  return {
    runs,
    repositoryLeases,
    backups,
    restores,
    repository,
    backupHub,
    restoreHub,
    /** Fails what this master's previous life left running, then sweeps for dead masters' runs. */
    async start(): Promise<void> {
      await runs.recoverOrphans(true);
      sweep = setInterval(() => {
        runs
          .recoverOrphans(false)
          .catch((error: unknown) => deps.logger.warn({ err: String(error) }, 'orphan sweep failed'));
      }, ORPHAN_SWEEP_MS);
      sweep.unref();
    },
    async stop(): Promise<void> {
      if (sweep) clearInterval(sweep);
      await backups.stop();
      await restores.stop();
    },
  };
};
