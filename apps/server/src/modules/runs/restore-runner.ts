import { spawn } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import {
  loadSnapshot,
  openArtifact,
  restoreFiles,
  restoreFromRepository,
  restoreMongodb,
  restoreMysql,
  restorePostgresql,
  restoreSaphana,
  restoreSqlite,
  spoolArtifact,
  type Snapshot,
  type SourceContext,
  type StoredArtifact,
} from '@backupx/engine';
import type { BackupTaskRow } from '../../db/tables.ts';
import { toIso, type Clock } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/crypto.ts';
import type { EventBus } from '../events/event-bus.ts';
import { AppError } from '../../lib/errors.ts';
import {
  copiesOf,
  openFirstReadableCopy,
  partitionCopies,
  type OpenedTarget,
  type TargetAccess,
} from './artifacts.ts';
import { isRepositoryRecord, repositoryStatsOf, snapshotChecksumOf } from './repository-records.ts';
import { connectionOf, sourcePathsOf } from './backup-runner.ts';
import { localLimitsOf, type LocalLimitsDeps } from './local-limits.ts';
import type { LogHub, LogLevel } from './log-hub.ts';
import type { RecordRow, RunsRepository } from './runs.repository.ts';
import { Semaphore } from './semaphore.ts';

export interface RestoreRunnerDeps extends LocalLimitsDeps {
  repository: RunsRepository;
  targets: TargetAccess;
  secretBox: SecretBox;
  encryptionKey: Buffer;
  /** Opens BXENC2 artifacts sealed by agents (derived from the encryption key). */
  sealedPrivateKey?: KeyObject;
  events: EventBus;
  hub: LogHub;
  clock: Clock;
  logger: Logger;
  tempDir: string;
  childEnv: Record<string, string | undefined>;
  onFinished?: (status: string) => void;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Restores on this master (SPEC §7.2): the chain (a differential needs its full baseline), each
 * artifact read from the first readable copy, checked against its SHA-256 while streaming, and
 * nothing committed before the whole chain verified — file restores stage and move into place,
 * database restores spool the verified dump before importing it.
 */
export const createRestoreRunner = (deps: RestoreRunnerDeps) => {
  const { repository, hub, clock } = deps;
  const slots = new Semaphore(deps.maxConcurrent);
  const active = new Map<number, { controller: AbortController; done: Promise<void> }>();

  const keys = {
    decryptionKey: deps.encryptionKey,
    ...(deps.sealedPrivateKey ? { sealedPrivateKey: deps.sealedPrivateKey } : {}),
  };

  const chainOf = async (record: RecordRow): Promise<RecordRow[]> => {
    if (record.backupKind !== 'differential') return [record];
    const base = await repository.findRecord(record.baseRecordId);
    if (base?.status !== 'success' || base.storagePath === '')
      throw new Error(
        `the full baseline #${String(record.baseRecordId)} of this differential backup is missing or unusable`,
      );
    return [base, record];
  };

  const artifactOf = (record: RecordRow) => ({
    fileName: record.fileName,
    objectKey: record.storagePath,
    sha256: record.checksum,
  });

  /** The copies this master can read: never another node's own disk (its node restores those). */
  const reachableCopies = async (record: RecordRow) => {
    const { reachable, onAgentDisk } = await partitionCopies(deps.targets, copiesOf(record));
    if (reachable.length === 0 && onAgentDisk.length > 0)
      throw new AppError(
        'BACKUP_RECORD_CROSS_NODE_LOCAL_DISK',
        `the backup is on the local disk of node #${String(record.nodeId)}, which this master cannot read`,
      );
    return reachable;
  };

  const openVerified = async (record: RecordRow, signal: AbortSignal, bandwidthLimit: string) => {
    const decryption = record.fileName.endsWith('.enc') ? keys : {};
    let artifactName = '';
    const opened = await openFirstReadableCopy(
      deps.targets,
      await reachableCopies(record),
      async (backend, copy) => {
        const reference: StoredArtifact = { ...artifactOf(record), backend, objectKey: copy.storagePath };
        const result = await openArtifact(reference, {
          ...decryption,
          signal,
          ...(bandwidthLimit === '' ? {} : { bandwidthLimit }),
        });
        artifactName = result.artifactName;
        return result.stream;
      },
    );
    return { ...opened, artifactName };
  };

  /**
   * A repository snapshot restored from the first copy that can be read; a copy whose snapshot or
   * index cannot be loaded is skipped before anything is written, a failure while writing is final.
   */
  const restoreRepositoryCopy = async (
    record: RecordRow,
    ctx: SourceContext,
    options: { sourcePaths: string[]; targetPath?: string; selectedPaths?: string[] },
  ) => {
    const encrypted = repositoryStatsOf(record)?.encrypted === true;
    const problems: string[] = [];
    for (const copy of await reachableCopies(record)) {
      let opened: OpenedTarget | undefined;
      const checksum = snapshotChecksumOf(record, copy.storageTargetId);
      const key = encrypted ? { encryptionKey: deps.encryptionKey } : {};
      let snapshot: Snapshot;
      try {
        opened = await deps.targets.openBackend(copy.storageTargetId, { allowDisabled: true });
        ({ snapshot } = await loadSnapshot(opened.backend, copy.storagePath, {
          checksum,
          ...key,
          signal: ctx.signal,
        }));
      } catch (error) {
        await opened?.backend.close().catch(() => undefined);
        problems.push(
          `${opened?.target.name ?? `target #${String(copy.storageTargetId)}`}: ${messageOf(error)}`,
        );
        continue;
      }
      try {
        ctx.log('info', `reading repository snapshot from ${opened.target.name}`);
        return await restoreFromRepository({
          backend: opened.backend,
          snapshotKey: copy.storagePath,
          snapshot,
          checksum,
          ...key,
          signal: ctx.signal,
          log: ctx.log,
          ...options,
        });
      } finally {
        await opened.backend.close().catch(() => undefined);
      }
    }
    throw new Error(problems.length === 0 ? 'the record has no stored copy' : problems.join('; '));
  };

  const restoreDatabase = async (
    task: BackupTaskRow,
    record: RecordRow,
    ctx: SourceContext,
    bandwidthLimit: string,
  ): Promise<void> => {
    const decryption = record.fileName.endsWith('.enc') ? keys : {};
    let spooled = '';
    const opened = await openFirstReadableCopy(
      deps.targets,
      await reachableCopies(record),
      async (backend, copy) => {
        // Spool (verified) first: a database import must not start on an artifact that turns out bad.
        spooled = await spoolArtifact(
          { ...artifactOf(record), backend, objectKey: copy.storagePath },
          ctx.workDir,
          {
            ...decryption,
            signal: ctx.signal,
            ...(bandwidthLimit === '' ? {} : { bandwidthLimit }),
          },
        );
        return createReadStream(spooled);
      },
    );
    const input: Readable = opened.stream;
    try {
      ctx.log('info', `artifact verified (sha256 ${record.checksum || 'not recorded'})`);
      const type = task.type === 'pgsql' ? 'postgresql' : task.type;
      switch (type) {
        case 'mysql':
          await restoreMysql(ctx, connectionOf(task, deps.secretBox), input);
          break;
        case 'postgresql':
          await restorePostgresql(ctx, connectionOf(task, deps.secretBox), input);
          break;
        case 'mongodb':
          await restoreMongodb(ctx, connectionOf(task, deps.secretBox), input);
          break;
        case 'saphana':
          await restoreSaphana(
            ctx,
            connectionOf(task, deps.secretBox),
            input,
            JSON.parse(task.extraConfig || '{}') as Record<string, unknown>,
          );
          break;
        case 'sqlite':
          await restoreSqlite(ctx, task.dbPath, input);
          break;
        default:
          throw new Error(`restore of ${task.type} tasks is not supported`);
      }
    } finally {
      input.destroy();
      await opened.close();
    }
  };

  /** The end of every restore, on this master or on an agent: commit, metrics, events, live log. */
  const finish = async (
    restoreId: number,
    task: Pick<BackupTaskRow, 'id' | 'name'>,
    record: Pick<RecordRow, 'fileName'>,
    outcome: { status: 'success' | 'failed'; errorMessage: string; startedAt: Date },
    remote: boolean,
  ): Promise<boolean> => {
    const { status, errorMessage } = outcome;
    const completedAt = clock.now();
    const durationSeconds = Math.max(
      0,
      Math.round((completedAt.getTime() - outcome.startedAt.getTime()) / 1000),
    );
    const endLine = `restore ${status === 'success' ? 'succeeded' : 'failed'} in ${String(durationSeconds)} s`;
    hub.log(restoreId, status === 'success' ? 'info' : 'error', endLine);
    const committed = await repository.updateRunningRestore(restoreId, {
      status,
      errorMessage: errorMessage.slice(0, 2000),
      durationSeconds,
      completedAt: toIso(completedAt),
      updatedAt: toIso(completedAt),
      ...(remote ? {} : { logContent: hub.text(restoreId) }),
    });
    if (remote && committed)
      await repository.appendLog(
        'restoreRecords',
        restoreId,
        `[${status === 'success' ? 'INFO' : 'ERROR'}] ${endLine}`,
        toIso(completedAt),
      );
    hub.complete(restoreId, status);
    if (!committed) return false;
    deps.onFinished?.(status);
    deps.events.publish(
      status === 'success' ? 'restore_success' : 'restore_failed',
      status === 'success' ? 'BackupX 恢复成功' : 'BackupX 恢复失败',
      [
        `任务：${task.name}`,
        `状态：${status === 'success' ? '成功' : '失败'}`,
        `备份：${record.fileName}`,
        ...(errorMessage === '' ? [] : [`错误：${errorMessage}`]),
      ].join('\n'),
      { restoreId, taskName: task.name, status, error: errorMessage, taskId: task.id },
    );
    return true;
  };

  const execute = async (
    restoreId: number,
    record: RecordRow,
    task: BackupTaskRow,
    options: { targetPath: string; selectedPaths: string[] },
    signal: AbortSignal,
  ) => {
    const log = (level: LogLevel, message: string) => hub.log(restoreId, level, message);
    const startedAt = clock.now();
    let release: (() => void) | undefined;
    let workDir: string | undefined;
    let status: 'success' | 'failed' = 'failed';
    let errorMessage = '';
    try {
      const limits = await localLimitsOf(deps);
      slots.resize(limits.concurrency);
      release = await slots.acquire(signal);
      log('info', `restoring backup #${String(record.id)} (${record.fileName}) of task "${task.name}"`);
      await mkdir(deps.tempDir, { recursive: true, mode: 0o700 });
      workDir = await mkdtemp(path.join(deps.tempDir, 'restore-'));
      const ctx: SourceContext = { signal, log, workDir, now: startedAt, spawn, env: deps.childEnv };
      const chain = await chainOf(record);
      if (task.type === 'file' && isRepositoryRecord(record)) {
        const result = await restoreRepositoryCopy(record, ctx, {
          sourcePaths: sourcePathsOf(task),
          ...(options.targetPath === '' ? {} : { targetPath: options.targetPath }),
          ...(options.selectedPaths.length === 0 ? {} : { selectedPaths: options.selectedPaths }),
        });
        log('info', `restored into ${result.destination}: ${result.summary}`);
      } else if (task.type === 'file') {
        const opened = [];
        try {
          for (const element of chain)
            opened.push(await openVerified(element, signal, limits.bandwidthLimit));
          const result = await restoreFiles(
            ctx,
            opened.map((item) => item.stream),
            {
              sourcePaths: sourcePathsOf(task),
              ...(options.targetPath === '' ? {} : { targetPath: options.targetPath }),
              ...(options.selectedPaths.length === 0 ? {} : { selectedPaths: options.selectedPaths }),
            },
          );
          log('info', `restored into ${result.destination}: ${result.summary}`);
        } finally {
          for (const item of opened) {
            item.stream.destroy();
            await item.close();
          }
        }
      } else {
        await restoreDatabase(task, record, ctx, limits.bandwidthLimit);
      }
      status = 'success';
    } catch (error) {
      errorMessage = signal.aborted ? `cancelled: ${messageOf(signal.reason)}` : messageOf(error);
      log('error', `restore failed: ${errorMessage}`);
    } finally {
      if (workDir !== undefined) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
      release?.();
    }
    await finish(restoreId, task, record, { status, errorMessage, startedAt }, false);
  };

  const heartbeat = setInterval(() => {
    void repository
      .heartbeat('restoreRecords', [...active.keys()], toIso(clock.now()))
      .catch((error: unknown) => deps.logger.warn({ err: messageOf(error) }, 'restore heartbeat failed'));
  }, 10_000);
  heartbeat.unref();

  return {
    /** Ends a restore an agent ran (its report, or the timeout monitor); false if already ended. */
    async finishRemote(
      restoreId: number,
      outcome: { status: 'success' | 'failed'; errorMessage: string },
    ): Promise<boolean> {
      const restore = await repository.findRestore(restoreId);
      if (restore?.status !== 'running') return false;
      return finish(
        restoreId,
        { id: restore.taskId, name: restore.taskName ?? `#${String(restore.taskId)}` },
        { fileName: restore.backupFileName ?? '' },
        { ...outcome, startedAt: new Date(restore.startedAt) },
        true,
      );
    },
    launch(
      restoreId: number,
      record: RecordRow,
      task: BackupTaskRow,
      options: { targetPath: string; selectedPaths: string[] },
    ): void {
      const controller = new AbortController();
      const done = execute(restoreId, record, task, options, controller.signal)
        .catch((error: unknown) => {
          deps.logger.error({ err: messageOf(error), restoreId }, 'restore crashed');
          hub.complete(restoreId, 'failed');
        })
        .finally(() => active.delete(restoreId));
      active.set(restoreId, { controller, done });
    },
    async stop(reason = 'the master is shutting down'): Promise<void> {
      clearInterval(heartbeat);
      const runs = [...active.values()];
      for (const run of runs) run.controller.abort(new Error(reason));
      await Promise.allSettled(runs.map((run) => run.done));
    },
  };
};

export type RestoreRunner = ReturnType<typeof createRestoreRunner>;
