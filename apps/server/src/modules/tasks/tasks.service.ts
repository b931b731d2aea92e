import type { Logger } from 'pino';
import {
  MASKED_SECRET,
  serverDatabaseTypes,
  type CronPreview,
  type TaskBatchResult,
  type TaskDetail,
  type TaskSummary,
  type TaskType,
  type TaskUpsertInput,
} from '@backupx/contract';
import { AppError, isAppError } from '../../lib/errors.ts';
import { toIso, type Clock } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/crypto.ts';
import type { BackupTaskRow } from '../../db/tables.ts';
import type { Actor } from '../auth/principal.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { cronError, nextRuns } from './cron.ts';
import {
  DEPENDENCY_DEPTH_LIMIT,
  applyInput,
  changedFields,
  checkShape,
  defaultDraft,
  draftFromRow,
  rowValues,
  type TaskDraft,
} from './task-draft.ts';
import { parseIdList, parseTagList, toDetail, toSummary } from './task-read-models.ts';
import type { TaskScheduler } from './scheduler.ts';
import { isUniqueViolation, type TasksRepository, type TaskTargetRef } from './tasks.repository.ts';

/** Removes the stored backups of a task before it is deleted (implemented by the runs module). */
export interface TaskArtifacts {
  /** Best effort; locked (legal hold) records are never deleted; record rows stay for audit. */
  deleteTaskArtifacts(taskId: number): Promise<{ removedFiles: number; keptLocked: number }>;
}

export interface TasksServiceDeps {
  tasksRepository: TasksRepository;
  scheduler: Pick<TaskScheduler, 'sync' | 'remove' | 'timeZone'>;
  audit: Pick<AuditService, 'record'>;
  secretBox: SecretBox;
  clock: Clock;
  logger: Logger;
  /** The runs module's cleanup; without it, task deletion leaves the stored backups in place. */
  artifacts?: TaskArtifacts;
  /** Whether a node exists and is the master's own (cluster); without it only node 0 is valid. */
  nodeOf?: (id: number) => Promise<{ isLocal: boolean } | undefined>;
  /** Names of the nodes tasks run on (`nodeName` of summaries; '' for this master and unknown ids). */
  nodeNames?: (ids: readonly number[]) => Promise<Map<number, string>>;
}

export type TasksService = ReturnType<typeof createTasksService>;

/** The repository key never leaves the master, so an agent cannot write an encrypted repository. */
const remoteEncryptedRepository = () =>
  new AppError(
    'BACKUP_TASK_REPOSITORY_REMOTE_ENCRYPT_UNSUPPORTED',
    'An encrypted repository-mode task runs on the master only: the repository key never leaves the master. Turn encryption off or choose the master',
  );

export const createTasksService = (deps: TasksServiceDeps) => {
  const { tasksRepository, scheduler, audit, secretBox, clock, logger } = deps;

  const requireRow = async (id: number): Promise<BackupTaskRow> => {
    const row = await tasksRepository.findById(id);
    if (!row) throw new AppError('BACKUP_TASK_NOT_FOUND', `Backup task ${id} does not exist`);
    return row;
  };

  const targetsOf = async (taskId: number): Promise<TaskTargetRef[]> => tasksRepository.targetsOf([taskId]);

  const nodeNamesOf = async (ids: readonly number[]): Promise<Map<number, string>> =>
    (await deps.nodeNames?.(ids)) ?? new Map<number, string>();

  const detailOf = async (row: BackupTaskRow): Promise<TaskDetail> =>
    toDetail(row, await targetsOf(row.id), (await nodeNamesOf([row.nodeId])).get(row.nodeId));

  /** Password rules: empty or `********` keeps the stored one; types without a server keep none. */
  const applyPassword = (draft: TaskDraft, password: string | undefined): TaskDraft => {
    if (!serverDatabaseTypes.includes(draft.type)) return { ...draft, dbPasswordCiphertext: '' };
    if (password === undefined || password === '' || password === MASKED_SECRET) return draft;
    return { ...draft, dbPasswordCiphertext: secretBox.seal(password) };
  };

  /** Checks against other rows: targets, upstream tasks, name. */
  const checkReferences = async (draft: TaskDraft, selfId: number | undefined): Promise<void> => {
    if (draft.storageTargetIds.length === 0)
      throw new AppError('BACKUP_STORAGE_TARGET_INVALID', 'A task needs at least one storage target');
    const known = await tasksRepository.storageTargetNames([
      ...draft.storageTargetIds,
      ...draft.replicationTargetIds,
    ]);
    const missingTarget = draft.storageTargetIds.find((id) => !known.has(id));
    if (missingTarget !== undefined)
      throw new AppError('BACKUP_STORAGE_TARGET_INVALID', `Storage target ${missingTarget} does not exist`);
    const missingReplica = draft.replicationTargetIds.find((id) => !known.has(id));
    if (missingReplica !== undefined)
      throw new AppError(
        'BACKUP_STORAGE_TARGET_INVALID',
        `Replication target ${missingReplica} does not exist`,
      );
    const primaryReplica = draft.replicationTargetIds.find((id) => draft.storageTargetIds.includes(id));
    if (primaryReplica !== undefined)
      throw new AppError(
        'BACKUP_STORAGE_TARGET_INVALID',
        `Storage target ${primaryReplica} is already a primary target; it cannot also be a replication target`,
      );

    if (draft.dependsOnTaskIds.length > 0) {
      if (selfId !== undefined && draft.dependsOnTaskIds.includes(selfId))
        throw new AppError('BACKUP_TASK_DEPENDENCY_INVALID', 'A task cannot depend on itself');
      const lists = await tasksRepository.dependencyLists();
      const unknown = draft.dependsOnTaskIds.find((id) => !lists.has(id));
      if (unknown !== undefined)
        throw new AppError('BACKUP_TASK_DEPENDENCY_INVALID', `Upstream task ${unknown} does not exist`);
      if (selfId !== undefined) {
        // Walk the upstream chains: reaching this task again closes a cycle.
        const reachesSelf = (id: number, depth: number, seen: Set<number>): boolean => {
          if (id === selfId || depth > DEPENDENCY_DEPTH_LIMIT) return true;
          if (seen.has(id)) return false;
          seen.add(id);
          return parseIdList(lists.get(id) ?? '').some((upstream) => reachesSelf(upstream, depth + 1, seen));
        };
        const closing = draft.dependsOnTaskIds.find((id) => reachesSelf(id, 1, new Set()));
        if (closing !== undefined)
          throw new AppError(
            'BACKUP_TASK_DEPENDENCY_INVALID',
            `Depending on task ${closing} would close a cycle (or a chain deeper than ${DEPENDENCY_DEPTH_LIMIT})`,
          );
      }
    }

    if (draft.nodeId > 0) {
      const node = await deps.nodeOf?.(draft.nodeId);
      if (node === undefined)
        throw new AppError('BACKUP_TASK_INVALID', `node ${draft.nodeId} does not exist`);
      if (!node.isLocal && draft.backupMode === 'differential')
        throw new AppError(
          'BACKUP_TASK_DIFF_REMOTE_UNSUPPORTED',
          'Differential backups run on the master only: choose the master or turn differential mode off',
        );
      if (!node.isLocal && draft.backupMode === 'repository' && draft.encrypt)
        throw remoteEncryptedRepository();
    }

    const holder = await tasksRepository.findIdByName(draft.name);
    if (holder !== undefined && holder !== selfId)
      throw new AppError('BACKUP_TASK_NAME_EXISTS', `A task named "${draft.name}" already exists`);
  };

  const syncSchedule = async (taskId: number): Promise<void> => {
    try {
      await scheduler.sync(taskId);
    } catch (error) {
      logger.error({ taskId, err: (error as Error).message }, 'could not schedule task');
      throw new AppError('BACKUP_TASK_SCHEDULE_FAILED', `The schedule of task ${taskId} could not be set`, {
        cause: error,
      });
    }
  };

  const nameClash = (name: string) =>
    new AppError('BACKUP_TASK_NAME_EXISTS', `A task named "${name}" already exists`);

  const setEnabled = async (actor: Actor, row: BackupTaskRow, enabled: boolean): Promise<BackupTaskRow> => {
    if ((row.enabled === 1) === enabled) return row;
    const updated = await tasksRepository.setEnabled(row.id, enabled, toIso(clock.now()));
    if (!updated) throw new AppError('BACKUP_TASK_NOT_FOUND', `Backup task ${row.id} does not exist`);
    await audit.record(actor, {
      category: 'backup_task',
      action: enabled ? 'enable' : 'disable',
      targetType: 'backup_task',
      targetId: row.id,
      targetName: row.name,
      detail: `${enabled ? 'Enabled' : 'Disabled'} task ${row.name}`,
    });
    await syncSchedule(row.id);
    return updated;
  };

  const remove = async (actor: Actor, row: BackupTaskRow): Promise<void> => {
    if (await tasksRepository.hasRunningRecord(row.id))
      throw new AppError(
        'BACKUP_TASK_ALREADY_RUNNING',
        `Task "${row.name}" is running; cancel or wait for it first`,
      );
    scheduler.remove(row.id);
    let artifactNote = 'stored backups not touched (no cleanup available)';
    if (deps.artifacts) {
      try {
        const { removedFiles, keptLocked } = await deps.artifacts.deleteTaskArtifacts(row.id);
        artifactNote = `${removedFiles} stored file(s) removed, ${keptLocked} locked record(s) kept`;
      } catch (error) {
        logger.warn({ taskId: row.id, err: (error as Error).message }, 'task artifact cleanup failed');
        artifactNote = `stored backup cleanup failed: ${(error as Error).message}`;
      }
    }
    const records = await tasksRepository.recordCount(row.id);
    try {
      await tasksRepository.delete(row.id, toIso(clock.now()));
    } catch (error) {
      // The task stays, so its schedule must too.
      await scheduler.sync(row.id).catch(() => undefined);
      throw error;
    }
    await audit.record(actor, {
      category: 'backup_task',
      action: 'delete',
      targetType: 'backup_task',
      targetId: row.id,
      targetName: row.name,
      detail: `Deleted task ${row.name}; ${records} backup record(s) kept for audit; ${artifactNote}`,
    });
  };

  const batch = async (
    ids: readonly number[],
    each: (row: BackupTaskRow) => Promise<void>,
  ): Promise<TaskBatchResult> => {
    const results: TaskBatchResult = [];
    for (const id of ids) {
      if (id === 0) continue;
      const row = await tasksRepository.findById(id);
      if (!row) {
        results.push({ id, success: false, error: `Backup task ${id} does not exist` });
        continue;
      }
      try {
        await each(row);
        results.push({ id, name: row.name, success: true });
      } catch (error) {
        if (!isAppError(error)) throw error;
        results.push({ id, name: row.name, success: false, error: error.message });
      }
    }
    return results;
  };

  return {
    async list(filter: { tags?: readonly string[]; type?: TaskType } = {}): Promise<TaskSummary[]> {
      const rows = await tasksRepository.list(filter.type === undefined ? {} : { type: filter.type });
      const wanted = filter.tags ?? [];
      const matching =
        wanted.length === 0
          ? rows
          : rows.filter((row) => {
              const tags = new Set(parseTagList(row.tags));
              return wanted.every((tag) => tags.has(tag));
            });
      const targets = await tasksRepository.targetsOf(matching.map((row) => row.id));
      const byTask = Map.groupBy(targets, (target) => target.taskId);
      const nodeNames = await nodeNamesOf(matching.map((row) => row.nodeId));
      return matching.map((row) => toSummary(row, byTask.get(row.id) ?? [], nodeNames.get(row.nodeId)));
    },

    async tags(): Promise<string[]> {
      const all = new Set((await tasksRepository.allTags()).flatMap(parseTagList));
      return [...all].sort((a, b) => a.localeCompare(b));
    },

    async get(id: number): Promise<TaskDetail> {
      return detailOf(await requireRow(id));
    },

    async create(actor: Actor, input: TaskUpsertInput): Promise<TaskDetail> {
      const draft = applyPassword(applyInput(defaultDraft(input.name, input.type), input), input.dbPassword);
      checkShape(draft);
      await checkReferences(draft, undefined);
      const now = toIso(clock.now());
      let row: BackupTaskRow;
      try {
        row = await tasksRepository.insert(
          { ...rowValues(draft, now), createdAt: now, lastRunAt: null, lastStatus: 'idle' },
          draft.storageTargetIds,
        );
      } catch (error) {
        if (isUniqueViolation(error)) throw nameClash(draft.name);
        throw error;
      }
      await audit.record(actor, {
        category: 'backup_task',
        action: 'create',
        targetType: 'backup_task',
        targetId: row.id,
        targetName: row.name,
        detail: `Created ${row.type} task ${row.name}${row.cronExpr === '' ? ' (manual)' : ` scheduled "${row.cronExpr}"`}`,
      });
      await syncSchedule(row.id);
      return detailOf(row);
    },

    async update(actor: Actor, id: number, input: TaskUpsertInput): Promise<TaskDetail> {
      const current = await requireRow(id);
      const before = draftFromRow(
        current,
        (await targetsOf(id)).map((target) => target.storageTargetId),
      );
      const draft = applyPassword(applyInput(before, input), input.dbPassword);
      checkShape(draft);
      await checkReferences(draft, id);
      let row: BackupTaskRow | undefined;
      try {
        // lastRunAt, lastStatus and createdAt are not part of the values: they stay.
        row = await tasksRepository.update(id, rowValues(draft, toIso(clock.now())), draft.storageTargetIds);
      } catch (error) {
        if (isUniqueViolation(error)) throw nameClash(draft.name);
        throw error;
      }
      if (!row) throw new AppError('BACKUP_TASK_NOT_FOUND', `Backup task ${id} does not exist`);
      const changed = changedFields(before, draft);
      await audit.record(actor, {
        category: 'backup_task',
        action: 'update',
        targetType: 'backup_task',
        targetId: id,
        targetName: row.name,
        detail: `Updated task ${row.name}${changed.length === 0 ? ' (no changes)' : ` (${changed.join(', ')})`}`,
      });
      await syncSchedule(id);
      return detailOf(row);
    },

    async delete(actor: Actor, id: number): Promise<void> {
      await remove(actor, await requireRow(id));
    },

    async toggle(actor: Actor, id: number, enabled?: boolean): Promise<TaskSummary> {
      const row = await requireRow(id);
      const updated = await setEnabled(actor, row, enabled ?? row.enabled !== 1);
      return toSummary(
        updated,
        await targetsOf(id),
        (await nodeNamesOf([updated.nodeId])).get(updated.nodeId),
      );
    },

    async batchToggle(actor: Actor, ids: readonly number[], enabled: boolean): Promise<TaskBatchResult> {
      const results = await batch(ids, async (row) => {
        await setEnabled(actor, row, enabled);
      });
      const succeeded = results.filter((result) => result.success);
      await audit.record(actor, {
        category: 'backup_task',
        action: 'batch_toggle',
        targetType: 'backup_task',
        detail: `${enabled ? 'Enabled' : 'Disabled'} ${succeeded.length} of ${results.length} task(s)${
          succeeded.length > 0 ? `: ${succeeded.map((result) => result.name ?? result.id).join(', ')}` : ''
        }`,
      });
      return results;
    },

    async batchDelete(actor: Actor, ids: readonly number[]): Promise<TaskBatchResult> {
      const results = await batch(ids, (row) => remove(actor, row));
      const succeeded = results.filter((result) => result.success);
      await audit.record(actor, {
        category: 'backup_task',
        action: 'batch_delete',
        targetType: 'backup_task',
        detail: `Deleted ${succeeded.length} of ${results.length} task(s)${
          succeeded.length > 0 ? `: ${succeeded.map((result) => result.name ?? result.id).join(', ')}` : ''
        }`,
      });
      return results;
    },

    /** Checks a cron expression and lists its next five fire times in the schedule's zone. */
    previewCron(cronExpr: string): CronPreview {
      const expr = cronExpr.trim();
      const timeZone = scheduler.timeZone;
      if (expr === '') return { valid: true, nextRuns: [], timeZone };
      const problem = cronError(expr);
      if (problem !== null) return { valid: false, error: problem, nextRuns: [], timeZone };
      return { valid: true, nextRuns: nextRuns(expr, timeZone, 5, clock.now()).map(toIso), timeZone };
    },
  };
};
