import { isRepositoryRecord, openRepositoryExport, repositoryStatsOf } from './repository-records.ts';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import {
  CONTENTS_ENTRY_CAP,
  type RecordDetail,
  type RecordSummary,
  type RestoreDetail,
  type RestoreSummary,
  type UploadResult,
} from '@backupx/contract';
import {
  agentRecordPrefix,
  decodeManifest,
  partialKeyFor,
  storageTypeLabel,
  uploadIdOf,
} from '@backupx/engine';
import { AppError } from '../../lib/errors.ts';
import { toIso, type Clock } from '../../lib/clock.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { Actor } from '../auth/principal.ts';
import {
  copiesOf,
  openFirstReadableCopy,
  parseUploadResults,
  partitionCopies,
  removeRecordCopies,
  REPOSITORY_PRUNE_FAILED,
  type CopyPruner,
  targetIdsOf,
  withBackend,
  type TargetAccess,
  type TaskReader,
} from './artifacts.ts';
import type { BackupRunner, RunPlacement } from './backup-runner.ts';
import type { LogHub } from './log-hub.ts';
import type { PostureReader } from '../verification/posture.ts';
import type { RestoreRunner } from './restore-runner.ts';
import type { RecordFilter, RecordRow, RestoreRow, RunsRepository } from './runs.repository.ts';

export interface RunsServiceDeps {
  repository: RunsRepository;
  /** Prunes a repository after one of its snapshots was deleted. */
  repositoryPruner?: CopyPruner;
  /** Reads encrypted repository snapshots (downloads of repository records). */
  encryptionKey: Buffer;
  tasks: TaskReader;
  backups: BackupRunner;
  restores: RestoreRunner;
  backupHub: LogHub;
  restoreHub: LogHub;
  targets: TargetAccess;
  audit: AuditService;
  clock: Clock;
  logger: Logger;
  runnerId: string;
  placement?: RunPlacement;
  /** 3-2-1 posture of a successful record (the verification module's reader). */
  posture?: Pick<PostureReader, 'of'>;
}

/** A running record whose runner has not written a heartbeat for this long is dead. */
const STALE_HEARTBEAT_MS = 60_000;
const DAY_MS = 86_400_000;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const toSummary = (row: RecordRow): RecordSummary => ({
  id: row.id,
  taskId: row.taskId,
  taskName: row.taskName ?? `#${String(row.taskId)} (deleted)`,
  taskType: row.taskType ?? '',
  storageTargetId: row.storageTargetId,
  storageTargetName: row.storageTargetName ?? '',
  nodeId: row.nodeId,
  status: row.status as RecordSummary['status'],
  fileName: row.fileName,
  fileSize: row.fileSize,
  checksum: row.checksum,
  storagePath: row.storagePath,
  storageTransferMode: row.storageTransferMode,
  durationSeconds: row.durationSeconds,
  errorMessage: row.errorMessage,
  startedAt: row.startedAt,
  completedAt: row.completedAt,
  locked: row.locked === 1,
  backupKind: row.backupKind as RecordSummary['backupKind'],
  baseRecordId: row.baseRecordId,
  hasContents: row.status === 'success' && (row.hasManifest === 1 || row.backupKind === 'differential'),
  repositoryStats: repositoryStatsOf(row),
});

const toRestoreSummary = (row: RestoreRow): RestoreSummary => ({
  id: row.id,
  backupRecordId: row.backupRecordId,
  taskId: row.taskId,
  taskName: row.taskName ?? `#${String(row.taskId)} (deleted)`,
  nodeId: row.nodeId,
  status: row.status as RestoreSummary['status'],
  targetPath: row.targetPath,
  selectedPaths: JSON.parse(row.selectedPaths || '[]') as string[],
  errorMessage: row.errorMessage,
  durationSeconds: row.durationSeconds,
  startedAt: row.startedAt,
  completedAt: row.completedAt,
  triggeredBy: row.triggeredBy,
  backupFileName: row.backupFileName ?? '',
});

const pageOf = (query: { page: number; pageSize: number }) => ({
  limit: query.pageSize,
  offset: (query.page - 1) * query.pageSize,
});

export const createRunsService = (deps: RunsServiceDeps) => {
  const { repository, audit, clock } = deps;

  const findRecord = async (id: number): Promise<RecordRow> => {
    const row = await repository.findRecord(id);
    if (row === undefined)
      throw new AppError('BACKUP_RECORD_NOT_FOUND', `Backup record ${String(id)} not found`);
    return row;
  };

  const detailOf = async (id: number): Promise<RecordDetail> => {
    const row = await findRecord(id);
    const live = deps.backupHub.isLive(id);
    return {
      ...toSummary(row),
      logContent: live ? deps.backupHub.text(id) : row.logContent,
      logEvents: live ? deps.backupHub.snapshot(id) : [],
      storageUploadResults: parseUploadResults(row.storageUploadResults),
      posture: (await deps.posture?.of(row)) ?? null,
    };
  };

  const restoreDetailOf = async (id: number): Promise<RestoreDetail> => {
    const row = await repository.findRestore(id);
    if (row === undefined)
      throw new AppError('RESTORE_RECORD_NOT_FOUND', `Restore record ${String(id)} not found`);
    const live = deps.restoreHub.isLive(id);
    return {
      ...toRestoreSummary(row),
      logContent: live ? deps.restoreHub.text(id) : row.logContent,
      logEvents: live ? deps.restoreHub.snapshot(id) : [],
    };
  };

  /** Deletes every copy, then the row; refuses locked, running and depended-on records. */
  const deleteOne = async (id: number): Promise<RecordRow> => {
    const row = await findRecord(id);
    if (row.locked === 1)
      throw new AppError('BACKUP_RECORD_LOCKED', `Backup record ${String(id)} is locked (legal hold)`);
    if (row.status === 'running')
      throw new AppError('BACKUP_RECORD_RUNNING', `Backup record ${String(id)} is still running`);
    if (row.backupKind === 'full') {
      const dependents = await repository.countDependentDifferentials(id);
      if (dependents > 0)
        throw new AppError(
          'BACKUP_RECORD_HAS_DEPENDENTS',
          `${String(dependents)} differential backup(s) depend on record ${String(id)}; delete them first`,
        );
    }
    const problems = await removeRecordCopies(deps.targets, deps.placement, row, deps.repositoryPruner);
    if (problems.some((problem) => problem.includes(REPOSITORY_PRUNE_FAILED)))
      throw new AppError(
        'BACKUP_REPOSITORY_PRUNE_FAILED',
        `The snapshot was deleted but its repository could not be pruned, the record is kept for a retry: ${problems.join('; ')}`,
      );
    if (problems.length > 0)
      throw new AppError(
        'BACKUP_ARTIFACT_UNAVAILABLE',
        `Some copies could not be deleted, the record is kept: ${problems.join('; ')}`,
      );
    await repository.deleteRecord(id);
    return row;
  };

  /**
   * Removes what a dead run left behind: the final object (the record never committed) and the
   * `.<name>.backupx-*.partial` siblings, on every target of the task.
   */
  const removeLeftovers = async (row: RecordRow): Promise<string[]> => {
    const remote = row.runnerId.startsWith('node:');
    if (row.storagePath === '' && !remote) return [];
    const targetIds = new Set([
      ...(await targetIdsOf(deps.tasks, row.taskId)),
      ...parseUploadResults(row.storageUploadResults).map((result) => result.storageTargetId),
    ]);
    const problems: string[] = [];
    for (const targetId of targetIds) {
      try {
        await withBackend(deps.targets, targetId, async ({ backend }) => {
          if (row.storagePath !== '') {
            await backend.delete(row.storagePath);
            await backend.delete(partialKeyFor(row.storagePath, uploadIdOf(row.id)));
          }
          // An agent writes only inside its record's namespace, which may not be reported yet.
          if (remote)
            for (const prefix of recordNamespaces(row))
              for (const object of await backend.list(prefix)) await backend.delete(object.key);
        });
      } catch (error) {
        problems.push(`target #${String(targetId)}: ${messageOf(error)}`);
      }
    }
    return problems;
  };

  /** `BackupX/<type>/<YYMMDD>/records/<id>/` for each UTC day from the record's start until now. */
  const recordNamespaces = (row: RecordRow): string[] => {
    const type = storageTypeLabel(row.taskType ?? '');
    const prefixes = new Set<string>();
    // The agent dates the key by its own clock: look a day either side of the record's start.
    const end = clock.now().getTime() + DAY_MS;
    for (let time = Date.parse(row.startedAt) - DAY_MS; time <= end; time += DAY_MS)
      prefixes.add(agentRecordPrefix(type, new Date(time), row.id));
    return [...prefixes];
  };

  /** Fails runs of dead processes: this process's previous life (at start) or stale heartbeats. */
  const recoverOrphans = async (includeOwnPrevious: boolean): Promise<number> => {
    const staleBefore = toIso(new Date(clock.now().getTime() - STALE_HEARTBEAT_MS));
    const ownId = includeOwnPrevious ? deps.runnerId : '\u0000none';
    const orphans = (await repository.orphanedRecords(ownId, staleBefore)).filter(
      (row) => !deps.backups.isActive(row.id),
    );
    for (const row of orphans) {
      const problems = await removeLeftovers(row);
      const now = toIso(clock.now());
      const message =
        'the master process running this backup stopped before it finished; partial uploads were removed' +
        (problems.length > 0 ? ` except: ${problems.join('; ')}` : '');
      await repository.updateRecord(row.id, {
        status: 'failed',
        errorMessage: message.slice(0, 2000),
        completedAt: now,
        updatedAt: now,
        logContent: `${row.logContent}${row.logContent === '' ? '' : '\n'}[ERROR] ${message}`,
      });
      await repository.setTaskRunState(row.taskId, row.startedAt, 'failed');
      deps.logger.warn({ recordId: row.id }, 'failed a backup record left running by a dead process');
    }
    for (const row of await repository.orphanedRestores(ownId, staleBefore)) {
      const now = toIso(clock.now());
      await repository.updateRestore(row.id, {
        status: 'failed',
        errorMessage: 'the master process running this restore stopped before it finished',
        completedAt: now,
        updatedAt: now,
      });
    }
    return orphans.length;
  };

  return {
    /**
     * An agent's run ended without a report (its command timed out, or it said it failed without
     * reporting the record): the record fails, and what the agent may have left half-written on
     * storage the master can reach is removed.
     */
    async failRemoteRun(
      recordId: number,
      message: string,
      uploadResults: UploadResult[] = [],
    ): Promise<void> {
      const row = await repository.findRecord(recordId);
      if (row?.status !== 'running') return;
      const problems = await removeLeftovers(row);
      await deps.backups.finaliseRemote(recordId, {
        status: 'failed',
        errorMessage:
          message +
          (problems.length > 0 ? `; partial uploads could not all be removed: ${problems.join('; ')}` : ''),
        patch: {},
        uploadResults,
        storedBytes: 0,
      });
    },
    async failRemoteRestore(restoreId: number, message: string): Promise<void> {
      await repository.appendLog('restoreRecords', restoreId, `[ERROR] ${message}`, toIso(clock.now()));
      await deps.restores.finishRemote(restoreId, { status: 'failed', errorMessage: message });
    },

    async runTask(actor: Actor, taskId: number): Promise<RecordDetail> {
      const recordId = await deps.backups.start(taskId, 'manual');
      const detail = await detailOf(recordId);
      await audit.record(actor, {
        category: 'backup_task',
        action: 'run',
        targetType: 'backup_task',
        targetId: taskId,
        targetName: detail.taskName,
        detail: `record #${String(recordId)}`,
      });
      return detail;
    },

    async runBatch(actor: Actor, ids: number[]) {
      const results = [];
      for (const id of ids) {
        try {
          const detail = await this.runTask(actor, id);
          results.push({ id, name: detail.taskName, success: true, recordId: detail.id });
        } catch (error) {
          results.push({ id, success: false, error: messageOf(error) });
        }
      }
      return results;
    },

    /** For the scheduler: errors are logged there. */
    async runScheduled(taskId: number): Promise<void> {
      await deps.backups.start(taskId, 'scheduled');
    },
    recordSkipped: (taskId: number, reason: string) => deps.backups.recordSkipped(taskId, reason),
    scheduledSkipReason: (taskId: number) => deps.backups.scheduledSkipReason(taskId),

    async list(query: Omit<RecordFilter, 'limit' | 'offset'> & { page: number; pageSize: number }) {
      if (
        query.dateFrom !== undefined &&
        query.dateTo !== undefined &&
        Date.parse(query.dateFrom) > Date.parse(query.dateTo)
      )
        throw new AppError('BACKUP_RECORD_FILTER_INVALID', 'dateFrom is after dateTo');
      const { rows, total } = await repository.listRecords({
        taskId: query.taskId,
        status: query.status,
        dateFrom: query.dateFrom === undefined ? undefined : toIso(new Date(query.dateFrom)),
        dateTo: query.dateTo === undefined ? undefined : toIso(new Date(query.dateTo)),
        ...pageOf(query),
      });
      return { items: rows.map(toSummary), total };
    },

    get: detailOf,

    async contents(id: number) {
      const row = await findRecord(id);
      let manifest =
        row.status === 'success' ? decodeManifest(await repository.manifestOf(row.id)) : { entries: [] };
      // A differential lists the whole tree its chain restores; older ones recorded nothing, and
      // their full baseline's list is the closest there is.
      if (manifest.entries.length === 0 && row.status === 'success' && row.backupKind === 'differential')
        manifest = decodeManifest(await repository.manifestOf(row.baseRecordId));
      if (manifest.entries.length === 0)
        throw new AppError(
          'BACKUP_CONTENTS_UNAVAILABLE',
          'This backup has no file list (database backups and failed runs have none)',
        );
      const sorted = [...manifest.entries].sort((a, b) => (a.p < b.p ? -1 : a.p > b.p ? 1 : 0));
      return {
        recordId: id,
        total: sorted.length,
        truncated: sorted.length > CONTENTS_ENTRY_CAP,
        ...(row.backupKind === 'differential' ? { basedOnFull: row.baseRecordId } : {}),
        entries: sorted
          .slice(0, CONTENTS_ENTRY_CAP)
          .map((entry) => ({ path: entry.p, size: entry.s, isDir: entry.d === true })),
      };
    },

    /** The stored object from the first readable copy, streamed. */
    async download(
      id: number,
    ): Promise<{ stream: Readable; fileName: string; sizeBytes: number; close: () => Promise<void> }> {
      const row = await findRecord(id);
      if (row.status !== 'success')
        throw new AppError(
          'BACKUP_RECORD_NOT_SUCCESSFUL',
          `Backup record ${String(id)} has no artifact (status ${row.status})`,
        );
      const { reachable, onAgentDisk } = await partitionCopies(deps.targets, copiesOf(row));
      if (reachable.length === 0 && onAgentDisk.length > 0)
        throw new AppError(
          'BACKUP_RECORD_CROSS_NODE_LOCAL_DISK',
          `Backup record ${String(id)} is on the local disk of node #${String(row.nodeId)}; only its agent can read it (restore it on that node)`,
        );
      if (isRepositoryRecord(row)) {
        // A snapshot alone restores nothing: the download is the snapshot as a plain tar.
        try {
          const exported = await openRepositoryExport(deps.targets, reachable, row, deps.encryptionKey);
          return { ...exported, fileName: `backupx-record-${String(id)}.tar` };
        } catch (error) {
          throw new AppError(
            'BACKUP_ARTIFACT_UNAVAILABLE',
            `No copy of record ${String(id)} could be read: ${messageOf(error)}`,
          );
        }
      }
      try {
        const opened = await openFirstReadableCopy(deps.targets, reachable, (backend, copy) =>
          backend.get(copy.storagePath),
        );
        return {
          stream: opened.stream,
          fileName: row.fileName || path.posix.basename(row.storagePath),
          sizeBytes: row.fileSize,
          close: opened.close,
        };
      } catch (error) {
        throw new AppError(
          'BACKUP_ARTIFACT_UNAVAILABLE',
          `No copy of record ${String(id)} could be read: ${messageOf(error)}`,
        );
      }
    },

    async lock(actor: Actor, id: number, locked: boolean): Promise<RecordSummary> {
      const row = await findRecord(id);
      await repository.updateRecord(id, { locked: locked ? 1 : 0, updatedAt: toIso(clock.now()) });
      await audit.record(actor, {
        category: 'backup_record',
        action: locked ? 'lock' : 'unlock',
        targetType: 'backup_record',
        targetId: id,
        targetName: row.fileName,
      });
      return toSummary({ ...row, locked: locked ? 1 : 0 });
    },

    async delete(actor: Actor, id: number): Promise<void> {
      const row = await deleteOne(id);
      await audit.record(actor, {
        category: 'backup_record',
        action: 'delete',
        targetType: 'backup_record',
        targetId: id,
        targetName: row.fileName,
        detail: `copies: ${String(copiesOf(row).length)}`,
      });
    },

    async batchDelete(actor: Actor, ids: number[]): Promise<number> {
      let deleted = 0;
      for (const id of [...new Set(ids)]) {
        try {
          await deleteOne(id);
          deleted += 1;
        } catch {
          // Batch delete skips what it cannot delete (locked, running, unreachable), SPEC §6.5.
        }
      }
      await audit.record(actor, {
        category: 'backup_record',
        action: 'batch_delete',
        targetType: 'backup_record',
        detail: `deleted ${String(deleted)} of ${String(ids.length)}`,
      });
      return deleted;
    },

    /** For task deletion: every copy of every unlocked record; rows stay for the audit trail. */
    async deleteTaskArtifacts(taskId: number): Promise<{ removedFiles: number; keptLocked: number }> {
      let removedFiles = 0;
      let keptLocked = 0;
      for (const row of await repository.recordsOfTask(taskId)) {
        if (row.status !== 'success') continue;
        if (row.locked === 1) {
          keptLocked += 1;
          continue;
        }
        const copies = copiesOf(row);
        const problems = await removeRecordCopies(deps.targets, deps.placement, row, deps.repositoryPruner);
        removedFiles += copies.length - problems.length;
        if (problems.length > 0)
          deps.logger.warn({ recordId: row.id, problems }, 'could not delete some copies of a deleted task');
      }
      return { removedFiles, keptLocked };
    },

    async startRestore(
      actor: Actor,
      recordId: number,
      body: { selectedPaths?: string[] | undefined; targetPath?: string | undefined },
    ): Promise<RestoreDetail> {
      const record = await findRecord(recordId);
      if (record.status !== 'success')
        throw new AppError(
          'RESTORE_SOURCE_INVALID',
          `Only successful backups can be restored (record ${String(recordId)} is ${record.status})`,
        );
      const task = await deps.tasks.findById(record.taskId);
      if (task === undefined)
        throw new AppError(
          'BACKUP_TASK_NOT_FOUND',
          `The task of record ${String(recordId)} no longer exists`,
        );
      const selectedPaths = [...new Set(body.selectedPaths ?? [])];
      const targetPath = (body.targetPath ?? '').trim();
      if (selectedPaths.length > 0 && task.type !== 'file')
        throw new AppError(
          'RESTORE_SELECTIVE_UNSUPPORTED',
          'Selective restore is available for file backups only',
        );
      if (targetPath !== '' && task.type !== 'file')
        throw new AppError(
          'RESTORE_TARGET_UNSUPPORTED',
          'Restoring to another directory is available for file backups only',
        );
      if (targetPath !== '' && (!path.isAbsolute(targetPath) || targetPath.split('/').includes('..')))
        throw new AppError(
          'RESTORE_TARGET_INVALID',
          'The restore directory must be an absolute path without ".."',
        );
      const startedAt = toIso(clock.now());
      // A backup is restored where it was made (SPEC §7.2): the record's node, else the task's.
      const place = (await deps.placement?.ofNode(record.nodeId > 0 ? record.nodeId : task.nodeId)) ?? {
        kind: 'local' as const,
        nodeId: 0,
      };
      if (place.kind === 'remote' && !place.online)
        throw new AppError(
          'NODE_OFFLINE',
          `node "${place.nodeName}" is offline; the restore was not started`,
        );
      const restoreId = await repository.insertRestore({
        backupRecordId: recordId,
        taskId: task.id,
        targetPath,
        selectedPaths: JSON.stringify(selectedPaths),
        triggeredBy: actor.username,
        runnerId: place.kind === 'remote' ? `node:${String(place.nodeId)}` : deps.runnerId,
        startedAt,
        nodeId: place.nodeId,
        remote: place.kind === 'remote',
      });
      if (place.kind === 'local')
        deps.restores.launch(restoreId, record, task, { targetPath, selectedPaths });
      else {
        const fail = async (message: string) => {
          await repository.appendLog('restoreRecords', restoreId, `[ERROR] ${message}`, toIso(clock.now()));
          await deps.restores.finishRemote(restoreId, { status: 'failed', errorMessage: message });
        };
        try {
          await deps.placement?.dispatchRestore(place.nodeId, restoreId);
        } catch (error) {
          await fail(`the restore could not be queued for node "${place.nodeName}": ${messageOf(error)}`);
          throw error;
        }
        const line = `restore dispatched to node "${place.nodeName}"`;
        deps.restoreHub.log(restoreId, 'info', line);
        await repository.appendLog('restoreRecords', restoreId, `[INFO] ${line}`, toIso(clock.now()));
      }
      await audit.record(actor, {
        category: 'backup_record',
        action: 'restore',
        targetType: 'backup_record',
        targetId: recordId,
        targetName: record.fileName,
        detail: `restore #${String(restoreId)}${targetPath === '' ? '' : ` to ${targetPath}`}${selectedPaths.length === 0 ? '' : `, ${String(selectedPaths.length)} selected path(s)`}`,
      });
      return restoreDetailOf(restoreId);
    },

    async listRestores(query: Omit<RecordFilter, 'limit' | 'offset'> & { page: number; pageSize: number }) {
      const { rows, total } = await repository.listRestores({
        taskId: query.taskId,
        backupRecordId: query.backupRecordId,
        status: query.status,
        dateFrom: query.dateFrom === undefined ? undefined : toIso(new Date(query.dateFrom)),
        dateTo: query.dateTo === undefined ? undefined : toIso(new Date(query.dateTo)),
        ...pageOf(query),
      });
      return { items: rows.map(toRestoreSummary), total };
    },
    getRestore: restoreDetailOf,
    async restoreExists(id: number): Promise<boolean> {
      return (await repository.findRestore(id)) !== undefined;
    },
    recoverOrphans,
  };
};

export type RunsService = ReturnType<typeof createRunsService>;
