import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { UploadResult } from '@backupx/contract';
import {
  backupFiles,
  backupMongodb,
  backupMysql,
  backupPostgresql,
  backupSaphana,
  backupSqlite,
  decodeManifest,
  estimateSourceBytes,
  encodeManifest,
  finalFileName,
  masterObjectKey,
  runBackupPipeline,
  uploadIdOf,
  type BackupTarget,
  type Compression,
  type DatabaseConnection,
  type Manifest,
  type RetryPolicy,
  type SourceArtifact,
  type SourceContext,
  storageTypeLabel,
} from '@backupx/engine';
import type { BackupTaskRow } from '../../db/tables.ts';
import { AppError } from '../../lib/errors.ts';
import { toIso, type Clock } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/crypto.ts';
import type { EventBus } from '../events/event-bus.ts';
import { isWithinWindows, parseWindowsLenient } from '../tasks/maintenance-windows.ts';
import {
  removeRecordCopies,
  targetIdsOf,
  type CopyPruner,
  type AgentDiskAccess,
  type OpenedTarget,
  type TargetAccess,
  type TaskReader,
} from './artifacts.ts';
import { localLimitsOf, type LocalLimitsDeps } from './local-limits.ts';
import type { LogHub, LogLevel } from './log-hub.ts';
import type { RepositoryLeases } from './repository-leases.ts';
import { previousSnapshotRecord, runRepositoryBackup } from './repository-records.ts';
import { selectForDeletion } from './retention.ts';
import { isUniqueViolation, type RecordRow, type RunsRepository } from './runs.repository.ts';
import { Semaphore } from './semaphore.ts';

/** Why a run starts; a `dependency` run names its upstream run. */
export type RunTrigger = 'manual' | 'scheduled' | { upstream: string };

export interface RunMetrics {
  /** Returns the function to call once the run ends (running gauge). */
  runStarted(): () => void;
  runFinished(input: {
    status: 'success' | 'failed';
    taskType: string;
    durationSeconds: number;
    bytes: number;
  }): void;
}

export interface BackupRunnerDeps extends LocalLimitsDeps {
  repository: RunsRepository;
  tasks: TaskReader;
  targets: TargetAccess;
  secretBox: SecretBox;
  /** 32-byte key of BXENC1 artifacts (SPEC §3.6). */
  encryptionKey: Buffer;
  events: EventBus;
  hub: LogHub;
  clock: Clock;
  logger: Logger;
  /** Identity of this master process's data directory; records it runs carry it. */
  runnerId: string;
  tempDir: string;
  /** IANA zone for maintenance windows ('' = the process's zone). */
  timeZone: string;
  retryPolicy?: RetryPolicy;
  childEnv: Record<string, string | undefined>;
  metrics?: RunMetrics;
  /** Where runs execute (cluster); without it every run is local with node id 0. */
  placement?: RunPlacement;
  /** Write leases of repositories (repository-mode runs and prunes). */
  repositoryLeases: RepositoryLeases;
  /** Prunes repositories after retention deleted their snapshots. */
  repositoryPruner?: CopyPruner;
}

export type Placement =
  { kind: 'local'; nodeId: number } | { kind: 'remote'; nodeId: number; nodeName: string; online: boolean };

/** Where runs execute: on this master (its local node) or on a remote node's agent. */
export interface RunPlacement extends AgentDiskAccess {
  /** A backup of this task: its node, or the least busy node of its pool. */
  resolve(task: BackupTaskRow): Promise<Placement>;
  /** A restore or cleanup of a record made on this node (0 = this master). */
  ofNode(nodeId: number): Promise<Placement>;
  /** Queues `run_task {taskId, recordId}` for the node's agent. */
  dispatchRun(nodeId: number, taskId: number, recordId: number): Promise<void>;
  /** Queues `restore_record {restoreRecordId}` for the node's agent. */
  dispatchRestore(nodeId: number, restoreId: number): Promise<void>;
}

/** How a run ended, as the engine (local) or the agent's report (remote) tells it. */
export interface RunOutcome {
  status: 'success' | 'failed';
  errorMessage: string;
  patch: Parameters<RunsRepository['updateRecord']>[1];
  uploadResults: UploadResult[];
  storedBytes: number;
}

const DAY_MS = 86_400_000;
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const parseJson = <T>(text: string, fallback: T): T => {
  try {
    return text === '' ? fallback : (JSON.parse(text) as T);
  } catch {
    return fallback;
  }
};
/** `site_20261121T204445.tar.zst` → `site_20261121T204445-r42.tar.zst` (extensions kept). */
export const withRecordSuffix = (fileName: string, recordId: number): string => {
  const dot = fileName.indexOf('.');
  const stem = dot < 0 ? fileName : fileName.slice(0, dot);
  const extensions = dot < 0 ? '' : fileName.slice(dot);
  return `${stem}-r${String(recordId)}${extensions}`;
};

const truncate = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

export const sourcePathsOf = (task: BackupTaskRow): string[] => {
  const paths = parseJson<string[]>(task.sourcePaths, []).filter((p) => p.trim() !== '');
  return paths.length > 0 ? paths : task.sourcePath.trim() === '' ? [] : [task.sourcePath];
};

export const connectionOf = (task: BackupTaskRow, secretBox: SecretBox): DatabaseConnection => ({
  host: task.dbHost,
  port: task.dbPort,
  user: task.dbUser,
  password: task.dbPasswordCiphertext === '' ? '' : secretBox.open(task.dbPasswordCiphertext),
  databases: task.dbName
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== ''),
});

/**
 * Runs backups on this master (SPEC §3.1–3.2): one running record per task (a unique index, so
 * this holds across masters), a global concurrency limit, streaming through the engine to every
 * target at once, then — once the record is committed — retention, events and metrics.
 */
export const createBackupRunner = (deps: BackupRunnerDeps) => {
  const { repository, hub, clock } = deps;
  const slots = new Semaphore(deps.maxConcurrent);
  const active = new Map<number, { controller: AbortController; done: Promise<void> }>();

  const heartbeat = setInterval(() => {
    void repository
      .heartbeat('backupRecords', [...active.keys()], toIso(clock.now()))
      .catch((error: unknown) => deps.logger.warn({ err: messageOf(error) }, 'record heartbeat failed'));
  }, 10_000);
  heartbeat.unref();

  const checkWindow = (task: BackupTaskRow, now: Date): string | null => {
    if (task.maintenanceWindows.trim() === '') return null;
    const windows = parseWindowsLenient(task.maintenanceWindows);
    return isWithinWindows(windows, now, deps.timeZone)
      ? null
      : `now is outside the maintenance windows of the task (${task.maintenanceWindows})`;
  };

  const loadTask = async (taskId: number): Promise<BackupTaskRow> => {
    const task = await deps.tasks.findById(taskId);
    if (task === undefined)
      throw new AppError('BACKUP_TASK_NOT_FOUND', `Backup task ${String(taskId)} not found`);
    return task;
  };

  /** Creates the running record; the unique index refuses a second running record of the task. */
  const begin = async (
    task: BackupTaskRow,
    targetIds: number[],
    nodeId: number,
    remote: boolean,
  ): Promise<{ recordId: number; startedAt: Date }> => {
    const startedAt = clock.now();
    try {
      const recordId = await repository.insertRecord({
        taskId: task.id,
        storageTargetId: targetIds[0] ?? 0,
        status: 'running',
        runnerId: remote ? `node:${String(nodeId)}` : deps.runnerId,
        startedAt: toIso(startedAt),
        nodeId,
        remote,
      });
      await repository.setTaskRunState(task.id, toIso(startedAt), 'running');
      return { recordId, startedAt };
    } catch (error) {
      if (isUniqueViolation(error))
        throw new AppError('BACKUP_TASK_ALREADY_RUNNING', `Task "${task.name}" is already running`);
      throw error;
    }
  };

  const openSource = async (
    task: BackupTaskRow,
    ctx: SourceContext,
    recordId: number,
  ): Promise<{ artifact: SourceArtifact; baseRecordId: number }> => {
    const log = (level: LogLevel, message: string) => hub.log(recordId, level, message);
    switch (storageTypeLabel(task.type)) {
      case 'file': {
        let baseline: Manifest | undefined;
        let baseRecordId = 0;
        if (task.backupMode === 'differential') {
          const candidates = await repository.successfulRecords(task.id);
          const full = candidates.find((record) => record.backupKind === 'full');
          const intervalDays = task.diffFullIntervalDays > 0 ? task.diffFullIntervalDays : 7;
          if (full === undefined) log('info', 'no full backup yet: writing a full archive');
          else if (Date.parse(full.startedAt) < ctx.now.getTime() - intervalDays * DAY_MS)
            log(
              'info',
              `the last full backup is older than ${String(intervalDays)} days: writing a full archive`,
            );
          else {
            const manifest = decodeManifest(await repository.manifestOf(full.id));
            if (manifest.entries.length === 0)
              log('info', 'the last full backup has no manifest: writing a full archive');
            else {
              baseline = manifest;
              baseRecordId = full.id;
              log('info', `differential against full backup #${String(full.id)}`);
            }
          }
        }
        const artifact = await backupFiles(ctx, {
          taskName: task.name,
          sourcePaths: sourcePathsOf(task),
          excludePatterns: parseJson<string[]>(task.excludePatterns, []),
          ...(baseline === undefined ? {} : { baseline }),
        });
        return { artifact, baseRecordId };
      }
      case 'mysql':
        return {
          artifact: await backupMysql(ctx, connectionOf(task, deps.secretBox), task.name),
          baseRecordId: 0,
        };
      case 'postgresql':
        return {
          artifact: await backupPostgresql(ctx, connectionOf(task, deps.secretBox), task.name),
          baseRecordId: 0,
        };
      case 'mongodb':
        return {
          artifact: await backupMongodb(ctx, connectionOf(task, deps.secretBox), task.name),
          baseRecordId: 0,
        };
      case 'saphana':
        return {
          artifact: await backupSaphana(
            ctx,
            connectionOf(task, deps.secretBox),
            task.name,
            parseJson<Record<string, unknown>>(task.extraConfig, {}),
          ),
          baseRecordId: 0,
        };
      case 'sqlite':
        return { artifact: await backupSqlite(ctx, task.dbPath, task.name), baseRecordId: 0 };
      default:
        throw new Error(`unsupported task type ${task.type}`);
    }
  };

  /** Opens each target; one that cannot be opened (disabled, bad config) fails alone. */
  const openTargets = async (
    targetIds: number[],
    recordId: number,
    expectedBytes: number,
  ): Promise<{ opened: OpenedTarget[]; failed: UploadResult[]; usedBytes: Map<number, number> }> => {
    const opened: OpenedTarget[] = [];
    const failed: UploadResult[] = [];
    let used: Map<number, number> | undefined;
    try {
      used = await deps.targets.usedBytesByTarget();
    } catch (error) {
      hub.log(recordId, 'warn', `could not read storage usage, quotas are not checked: ${messageOf(error)}`);
    }
    for (const targetId of targetIds) {
      try {
        const target = await deps.targets.openBackend(targetId);
        const quota = target.target.quotaBytes;
        const usedBytes = used?.get(targetId) ?? 0;
        if (quota > 0 && usedBytes + expectedBytes > quota) {
          await target.backend.close().catch(() => undefined);
          failed.push({
            storageTargetId: targetId,
            storageTargetName: target.target.name,
            status: 'failed',
            error: `exceeds quota: ${String(usedBytes)} bytes used + about ${String(expectedBytes)} bytes > quota ${String(quota)} bytes`,
          });
          continue;
        }
        opened.push(target);
      } catch (error) {
        failed.push({
          storageTargetId: targetId,
          storageTargetName: `#${String(targetId)}`,
          status: 'failed',
          error: messageOf(error),
        });
      }
    }
    return { opened, failed, usedBytes: used ?? new Map<number, number>() };
  };

  const notify = async (
    task: BackupTaskRow,
    record: RecordRow,
    note: (level: LogLevel, message: string) => void,
  ): Promise<void> => {
    const success = record.status === 'success';
    if (!success) {
      const threshold = Math.max(1, task.alertOnConsecutiveFails);
      if (threshold > 1) {
        const latest = await repository.latestStatuses(task.id, threshold);
        // Alert when the task has fewer runs than the threshold or the newest N all failed (SPEC §3.3).
        if (latest.length >= threshold && latest.some((status) => status !== 'failed')) {
          note('info', `failure alert held back: fewer than ${String(threshold)} consecutive failures`);
          return;
        }
      }
    }
    const lines = [
      `任务：${task.name}`,
      `状态：${success ? '成功' : '失败'}`,
      `开始时间：${record.startedAt}`,
      `耗时：${String(record.durationSeconds)} 秒`,
      ...(record.fileName === ''
        ? []
        : [`文件：${record.fileName}`, `大小：${String(record.fileSize)} 字节`]),
      ...(success ? [] : [`错误：${record.errorMessage}`]),
    ];
    deps.events.publish(
      success ? 'backup_success' : 'backup_failed',
      success ? 'BackupX 备份成功通知' : 'BackupX 备份失败通知',
      lines.join('\n'),
      {
        taskId: task.id,
        taskName: task.name,
        status: success ? '成功' : '失败',
        recordId: record.id,
        durationSeconds: record.durationSeconds,
        ...(record.fileName === '' ? {} : { fileName: record.fileName, fileSize: record.fileSize }),
        ...(success ? {} : { error: record.errorMessage }),
      },
    );
  };

  /** Retention after the record is committed (quirk 18), deleting every copy (quirk 7). */
  const applyRetention = async (
    task: BackupTaskRow,
    recordId: number,
    note: (level: LogLevel, message: string) => void,
  ): Promise<void> => {
    const records = await repository.successfulRecords(task.id);
    const doomed = selectForDeletion(
      records.map((record) => ({
        id: record.id,
        time: new Date(record.completedAt ?? record.startedAt),
        locked: record.locked === 1,
        backupKind: record.backupKind,
        baseRecordId: record.baseRecordId,
      })),
      task,
      clock.now(),
    );
    for (const id of doomed) {
      const record = records.find((candidate) => candidate.id === id);
      if (record === undefined) continue;
      const problems = await removeRecordCopies(deps.targets, deps.placement, record, deps.repositoryPruner);
      if (problems.length > 0) {
        note('warn', `retention kept record #${String(id)} for a later retry: ${problems.join('; ')}`);
        continue;
      }
      await repository.deleteRecord(id);
      note('info', `retention removed backup #${String(id)} (${record.fileName})`);
    }
  };

  /**
   * Starts the enabled tasks that depend on this one (SPEC §5.5), after a success only: a chain
   * A → B → C stops at the first failure. Agent runs end here too, so they trigger their dependents
   * (BackupX only did it for master runs). A dependent that cannot start (running, outside its
   * window, node offline) is noted in this run's log.
   */
  const startDependents = async (
    task: BackupTaskRow,
    recordId: number,
    note: (level: LogLevel, message: string) => void,
  ): Promise<void> => {
    for (const dependent of await repository.enabledDependentsOf(task.id)) {
      try {
        const started = await start(dependent.id, {
          upstream: `task "${task.name}" (record #${String(recordId)})`,
        });
        note('info', `started dependent task "${dependent.name}" (record #${String(started)})`);
      } catch (error) {
        note('warn', `dependent task "${dependent.name}" not started: ${messageOf(error)}`);
      }
    }
  };

  /**
   * The one end of every run, local or on an agent (quirk 3): commit the record, then task state,
   * metrics, retention, events (notifications, SSE) and the end of the live log. A remote run's
   * log lives in the database (appended as the agent reports), a local one's in the hub.
   */
  const finalise = async (
    task: BackupTaskRow,
    recordId: number,
    startedAt: Date,
    outcome: RunOutcome,
    remote: boolean,
  ): Promise<boolean> => {
    const { status, errorMessage, patch, uploadResults, storedBytes } = outcome;
    const completedAt = clock.now();
    const durationSeconds = Math.max(0, Math.round((completedAt.getTime() - startedAt.getTime()) / 1000));
    const endLine = `backup ${status === 'success' ? 'succeeded' : 'failed'} in ${String(durationSeconds)} s`;
    hub.log(recordId, status === 'success' ? 'info' : 'error', endLine);
    const committed = await repository.updateRunningRecord(recordId, {
      ...patch,
      status,
      errorMessage: truncate(errorMessage, 2000),
      storageUploadResults: JSON.stringify(uploadResults),
      durationSeconds,
      completedAt: toIso(completedAt),
      updatedAt: toIso(completedAt),
      ...(remote ? {} : { logContent: hub.text(recordId) }),
    });
    // A late or repeated report of a run that already ended changes nothing.
    if (!committed) {
      hub.complete(recordId, status);
      return false;
    }
    const remoteLog: string[] = [];
    const note = (level: LogLevel, message: string) => {
      hub.log(recordId, level, message);
      if (remote) remoteLog.push(`[${level.toUpperCase()}] ${message}`);
    };
    if (remote) remoteLog.push(`[${status === 'success' ? 'INFO' : 'ERROR'}] ${endLine}`);
    await repository.setTaskRunState(task.id, toIso(startedAt), status);
    deps.metrics?.runFinished({
      status,
      taskType: storageTypeLabel(task.type),
      durationSeconds,
      bytes: status === 'success' ? storedBytes : 0,
    });
    if (status === 'success') {
      try {
        await applyRetention(task, recordId, note);
      } catch (error) {
        note('warn', `retention failed: ${messageOf(error)}`);
      }
    }
    const record = await repository.findRecord(recordId);
    if (record !== undefined) await notify(task, record, note);
    if (status === 'success') await startDependents(task, recordId, note);
    if (remote)
      await repository.appendLog('backupRecords', recordId, remoteLog.join('\n'), toIso(clock.now()));
    else await repository.updateRecord(recordId, { logContent: hub.text(recordId) });
    hub.complete(recordId, status);
    return true;
  };

  /** A repository-mode run (SPEC §3.14): deduplicated into each target's repository under its lease. */
  const executeRepository = async (
    task: BackupTaskRow,
    recordId: number,
    startedAt: Date,
    opened: readonly OpenedTarget[],
    usedBytes: ReadonlyMap<number, number>,
    signal: AbortSignal,
  ) => {
    const log = (level: LogLevel, message: string) => hub.log(recordId, level, message);
    const previous = await previousSnapshotRecord(repository, task.id);
    const compression = (
      ['zstd', 'gzip', 'none'].includes(task.compression) ? task.compression : 'zstd'
    ) as Compression;
    const sourceTotal = { bytes: 0 };
    void estimateSourceBytes(sourcePathsOf(task), signal).then((bytes) => {
      if (bytes !== null) sourceTotal.bytes = bytes;
    });
    const began = Date.now();
    log(
      'info',
      `deduplicating repository mode${previous === undefined ? '' : ` (previous snapshot: record #${String(previous.id)})`}`,
    );
    const outcome = await runRepositoryBackup({
      task,
      recordId,
      startedAt,
      sourcePaths: sourcePathsOf(task),
      excludePatterns: parseJson<string[]>(task.excludePatterns, []),
      compression,
      ...(task.encrypt === 1 ? { encryptionKey: deps.encryptionKey } : {}),
      opened,
      usedBytes,
      ...(previous === undefined ? {} : { previous }),
      holder: `master:${deps.runnerId}:record:${String(recordId)}`,
      leases: deps.repositoryLeases,
      signal,
      log,
      onProgress: ({ bytesRead, bytesUploaded }) => {
        const seconds = Math.max(0.001, (Date.now() - began) / 1000);
        hub.progress(recordId, {
          bytesSent: bytesUploaded,
          totalBytes: sourceTotal.bytes,
          percent:
            sourceTotal.bytes > 0 ? Math.min(99, Math.round((bytesRead / sourceTotal.bytes) * 1000) / 10) : 0,
          speedBps: Math.round(bytesRead / seconds),
          targetName: opened[0]?.target.name ?? '',
        });
      },
    });
    const { stats } = outcome;
    log(
      'info',
      `repository: ${String(stats.logicalBytes)} bytes backed up, ${String(stats.newChunks)} new of ${String(stats.uniqueChunks)} chunks, ${String(stats.uploadedBytes)} bytes uploaded, ${String(stats.reusedBytes)} bytes already stored, ${String(stats.unchangedFiles)} unchanged files not read`,
    );
    hub.progress(
      recordId,
      {
        bytesSent: stats.uploadedBytes,
        totalBytes: stats.uploadedBytes,
        percent: 100,
        speedBps: 0,
        targetName: opened[0]?.target.name ?? '',
      },
      true,
    );
    return outcome;
  };

  const execute = async (
    task: BackupTaskRow,
    targetIds: number[],
    recordId: number,
    startedAt: Date,
    signal: AbortSignal,
  ) => {
    const log = (level: LogLevel, message: string) => hub.log(recordId, level, message);
    let release: (() => void) | undefined;
    let endRunning: (() => void) | undefined;
    let workDir: string | undefined;
    const opened: OpenedTarget[] = [];
    let status: 'success' | 'failed' = 'failed';
    let errorMessage = '';
    const patch: Parameters<RunsRepository['updateRecord']>[1] = {};
    let uploadResults: UploadResult[] = [];
    let storedBytes = 0;
    try {
      const limits = await localLimitsOf(deps);
      slots.resize(limits.concurrency);
      if (slots.busy) log('info', 'waiting for a free backup slot (max concurrency of this master)');
      release = await slots.acquire(signal);
      endRunning = deps.metrics?.runStarted();
      log('info', `backup of task "${task.name}" (${task.type}) started`);
      if (limits.bandwidthLimit !== '') log('info', `bandwidth limited to ${limits.bandwidthLimit}`);
      await mkdir(deps.tempDir, { recursive: true, mode: 0o700 });
      workDir = await mkdtemp(path.join(deps.tempDir, 'backupx-run-'));
      const ctx: SourceContext = { signal, log, workDir, now: startedAt, spawn, env: deps.childEnv };
      const previous = (await repository.successfulRecords(task.id))[0];
      const targetSet = await openTargets(targetIds, recordId, previous?.fileSize ?? 0);
      opened.push(...targetSet.opened);
      uploadResults = [...targetSet.failed];
      for (const failure of targetSet.failed)
        log('error', `${failure.storageTargetName}: ${failure.error ?? 'failed'}`);
      if (opened.length === 0)
        throw new Error(
          targetSet.failed.map((f) => `${f.storageTargetName}: ${f.error ?? ''}`).join('; ') ||
            'no storage target',
        );

      if (task.backupMode === 'repository' && storageTypeLabel(task.type) === 'file') {
        const outcome = await executeRepository(
          task,
          recordId,
          startedAt,
          opened,
          targetSet.usedBytes,
          signal,
        );
        uploadResults = [...outcome.uploadResults, ...uploadResults].sort(
          (a, b) => targetIds.indexOf(a.storageTargetId) - targetIds.indexOf(b.storageTargetId),
        );
        const primary = uploadResults.find((item) => item.status === 'success');
        if (primary === undefined)
          throw new Error(
            uploadResults.map((item) => `${item.storageTargetName}: ${item.error ?? 'failed'}`).join('; '),
          );
        for (const failure of uploadResults.filter((item) => item.status === 'failed'))
          log('warn', `${failure.storageTargetName} did not get a snapshot: ${failure.error ?? ''}`);
        status = 'success';
        storedBytes = outcome.stats.uploadedBytes;
        Object.assign(patch, {
          fileName: outcome.result.fileName,
          fileSize: outcome.result.logicalBytes,
          checksum: primary.checksum ?? '',
          storagePath: outcome.result.snapshotKey,
          storageTargetId: primary.storageTargetId,
          backupKind: 'repository',
          baseRecordId: 0,
          manifest: encodeManifest(outcome.manifest),
          repositoryStats: JSON.stringify(outcome.stats),
        });
      } else {
        const { artifact, baseRecordId } = await openSource(task, ctx, recordId);
        const compression = (
          ['zstd', 'gzip', 'none'].includes(task.compression) ? task.compression : 'zstd'
        ) as Compression;
        const encrypted = task.encrypt === 1;
        let fileName = finalFileName(artifact.fileName, compression, encrypted);
        let objectKey = masterObjectKey(storageTypeLabel(task.type), startedAt, fileName);
        // Names carry the second of the run: a second run within it would replace the first's
        // object, and deleting either record would delete both. The record id makes it unique.
        if (await repository.storagePathInUse(objectKey, recordId)) {
          fileName = withRecordSuffix(fileName, recordId);
          objectKey = masterObjectKey(storageTypeLabel(task.type), startedAt, fileName);
        }
        // Written before any byte is uploaded: if this process dies, recovery knows what to remove.
        await repository.updateRecord(recordId, { fileName, storagePath: objectKey });
        const targets: BackupTarget[] = opened.map(({ target, backend }) => ({ name: target.name, backend }));
        // Progress: file backups count raw archive bytes against the size of the source tree
        // (summed beside the run); other sources count stored bytes against the last run's size.
        const sourceTotal = { bytes: 0 };
        let rawBytes = 0;
        if (storageTypeLabel(task.type) === 'file') {
          void estimateSourceBytes(sourcePathsOf(task), signal).then((bytes) => {
            if (bytes !== null) sourceTotal.bytes = bytes;
          });
          artifact.stream.on('data', (chunk: Buffer) => {
            rawBytes += chunk.length;
          });
        }
        const estimate = previous?.fileSize ?? 0;
        const result = await runBackupPipeline({
          artifact,
          compression,
          ...(encrypted ? { encryptionKey: deps.encryptionKey } : {}),
          targets,
          objectKeyFor: () => objectKey,
          signal,
          log,
          metadata: { taskId: String(task.id), recordId: String(recordId) },
          uploadId: uploadIdOf(recordId),
          ...(limits.bandwidthLimit === '' ? {} : { bandwidthLimit: limits.bandwidthLimit }),
          ...(deps.retryPolicy ? { retryPolicy: deps.retryPolicy } : {}),
          onProgress: (progress) => {
            const total = progress.totalBytes ?? estimate;
            const fraction =
              sourceTotal.bytes > 0
                ? Math.min(1, rawBytes / sourceTotal.bytes)
                : total > 0
                  ? progress.bytesSent / total
                  : 0;
            // The stored size, extrapolated from how much of the source is done when that is known.
            const totalBytes =
              sourceTotal.bytes > 0 && fraction > 0 ? Math.round(progress.bytesSent / fraction) : total;
            hub.progress(recordId, {
              bytesSent: progress.bytesSent,
              totalBytes,
              percent: Math.min(99, Math.round(fraction * 1000) / 10),
              speedBps: progress.speedBps,
              targetName: progress.targetName,
            });
          },
        });
        // The hard quota, now that the real size is known: a copy that does not fit is removed.
        for (const [index, outcome] of result.targets.entries()) {
          const opened_ = opened[index];
          if (outcome.status !== 'success' || opened_ === undefined) continue;
          const { quotaBytes, id } = opened_.target;
          const usedBytes = targetSet.usedBytes.get(id) ?? 0;
          if (quotaBytes > 0 && usedBytes + result.sizeBytes > quotaBytes) {
            await opened_.backend.delete(result.objectKey).catch(() => undefined);
            result.targets[index] = {
              name: outcome.name,
              status: 'failed',
              error: `exceeds quota: ${String(usedBytes)} bytes used + ${String(result.sizeBytes)} bytes > quota ${String(quotaBytes)} bytes; the copy was removed`,
            };
          }
        }
        uploadResults = [
          ...result.targets.map((outcome, index): UploadResult => {
            const target = opened[index]?.target;
            return {
              storageTargetId: target?.id ?? 0,
              storageTargetName: outcome.name,
              status: outcome.status,
              ...(outcome.status === 'success'
                ? { storagePath: result.objectKey, fileSize: result.sizeBytes, transferMode: '' }
                : { error: outcome.error ?? 'failed' }),
            };
          }),
          ...uploadResults,
        ];
        // Keep the configured order in the stored results.
        uploadResults.sort(
          (a, b) => targetIds.indexOf(a.storageTargetId) - targetIds.indexOf(b.storageTargetId),
        );
        const primary = uploadResults.find((item) => item.status === 'success');
        if (primary === undefined)
          throw new Error(
            uploadResults.map((item) => `${item.storageTargetName}: ${item.error ?? 'failed'}`).join('; '),
          );
        hub.progress(
          recordId,
          {
            bytesSent: result.sizeBytes,
            totalBytes: result.sizeBytes,
            percent: 100,
            speedBps: 0,
            targetName: primary.storageTargetName,
          },
          true,
        );
        if (result.summary !== undefined) log('info', result.summary);
        const failures = uploadResults.filter((item) => item.status === 'failed');
        for (const failure of failures)
          log('warn', `${failure.storageTargetName} did not get a copy: ${failure.error ?? ''}`);
        status = 'success';
        storedBytes = result.sizeBytes;
        Object.assign(patch, {
          fileName: result.fileName,
          fileSize: result.sizeBytes,
          checksum: result.sha256,
          storagePath: result.objectKey,
          storageTargetId: primary.storageTargetId,
          backupKind: result.backupKind,
          baseRecordId: result.backupKind === 'differential' ? baseRecordId : 0,
          manifest: result.manifest === undefined ? '' : encodeManifest(result.manifest),
        });
      }
    } catch (error) {
      status = 'failed';
      errorMessage = signal.aborted ? `cancelled: ${messageOf(signal.reason)}` : messageOf(error);
      log('error', `backup failed: ${errorMessage}`);
    } finally {
      for (const { backend } of opened) await backend.close().catch(() => undefined);
      if (workDir !== undefined) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
      release?.();
      endRunning?.();
    }

    await finalise(
      task,
      recordId,
      startedAt,
      { status, errorMessage, patch, uploadResults, storedBytes },
      false,
    );
  };

  const launch = (task: BackupTaskRow, targetIds: number[], recordId: number, startedAt: Date): void => {
    const controller = new AbortController();
    const done = execute(task, targetIds, recordId, startedAt, controller.signal)
      .catch((error: unknown) => {
        deps.logger.error({ err: messageOf(error), recordId }, 'backup run crashed');
        hub.complete(recordId, 'failed');
      })
      .finally(() => active.delete(recordId));
    active.set(recordId, { controller, done });
  };

  /** Starts a run (manual, scheduled or after its upstream) and returns its record id once it exists. */
  const start = async (taskId: number, trigger: RunTrigger): Promise<number> => {
    const task = await loadTask(taskId);
    const outside = checkWindow(task, clock.now());
    if (outside !== null) throw new AppError('BACKUP_TASK_OUTSIDE_WINDOW', outside);
    const targetIds = await targetIdsOf(deps.tasks, task.id);
    const place = (await deps.placement?.resolve(task)) ?? { kind: 'local' as const, nodeId: 0 };
    const remote = place.kind === 'remote';
    // Refused before anything is written: an offline node leaves no record behind.
    if (place.kind === 'remote' && !place.online)
      throw new AppError('NODE_OFFLINE', `node "${place.nodeName}" is offline; the run was not started`);
    const { recordId, startedAt } = await begin(task, targetIds, place.nodeId, remote);
    const triggerLine =
      typeof trigger === 'object' ? `run after upstream ${trigger.upstream}` : `${trigger} run`;
    if (place.kind === 'local') {
      hub.log(recordId, 'info', triggerLine);
      launch(task, targetIds, recordId, startedAt);
      return recordId;
    }
    const failRemote = async (message: string) => {
      await repository.appendLog('backupRecords', recordId, `[INFO] ${triggerLine}`, toIso(clock.now()));
      await finalise(
        task,
        recordId,
        startedAt,
        { status: 'failed', errorMessage: message, patch: {}, uploadResults: [], storedBytes: 0 },
        true,
      );
    };
    try {
      await deps.placement?.dispatchRun(place.nodeId, task.id, recordId);
    } catch (error) {
      await failRemote(`the run could not be queued for node "${place.nodeName}": ${messageOf(error)}`);
      throw error;
    }
    const line = `${triggerLine}: dispatched to node "${place.nodeName}"`;
    hub.log(recordId, 'info', line);
    await repository.appendLog('backupRecords', recordId, `[INFO] ${line}`, toIso(clock.now()));
    return recordId;
  };

  return {
    start,

    /** Why a scheduled fire of this task must not run now (SPEC §5.2 step 1), or null. */
    async scheduledSkipReason(taskId: number): Promise<string | null> {
      const task = await loadTask(taskId);
      let place: Placement | undefined;
      try {
        place = await deps.placement?.resolve(task);
      } catch (error) {
        // A pool with no online node: nothing can run it now.
        if (error instanceof AppError && error.code === 'NODE_POOL_EMPTY') return error.message;
        throw error;
      }
      if (place?.kind !== 'remote' || place.online) return null;
      return `node "${place.nodeName}" offline`;
    },

    /** Writes a `skipped` record saying why a scheduled fire did not run. */
    async recordSkipped(taskId: number, reason: string): Promise<void> {
      const task = await loadTask(taskId);
      const now = toIso(clock.now());
      const targetIds = await targetIdsOf(deps.tasks, task.id);
      await repository.insertRecord({
        taskId: task.id,
        storageTargetId: targetIds[0] ?? 0,
        status: 'skipped',
        runnerId: deps.runnerId,
        startedAt: now,
        completedAt: now,
        errorMessage: truncate(`scheduled run skipped: ${reason}`, 2000),
      });
    },

    isActive: (recordId: number): boolean => active.has(recordId),

    /** Finalises a run an agent executed (its report, or the timeout monitor); false if already ended. */
    async finaliseRemote(recordId: number, outcome: RunOutcome): Promise<boolean> {
      const record = await repository.findRecord(recordId);
      if (record?.status !== 'running') return false;
      const task = await deps.tasks.findById(record.taskId);
      if (task === undefined) {
        return repository.updateRunningRecord(recordId, {
          status: 'failed',
          errorMessage: 'the task was deleted while its run was on an agent',
          completedAt: toIso(clock.now()),
          updatedAt: toIso(clock.now()),
        });
      }
      return finalise(task, recordId, new Date(record.startedAt), outcome, true);
    },

    /** Cancels every run of this process and waits for them to record their end. */
    async stop(reason = 'the master is shutting down'): Promise<void> {
      clearInterval(heartbeat);
      const runs = [...active.values()];
      for (const run of runs) run.controller.abort(new Error(reason));
      await Promise.allSettled(runs.map((run) => run.done));
    },
  };
};

export type BackupRunner = ReturnType<typeof createBackupRunner>;
