import path from 'node:path';
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
import { windowsError } from './maintenance-windows.ts';
import type { TaskScheduler } from './scheduler.ts';
import {
  isUniqueViolation,
  type TasksRepository,
  type TaskTargetRef,
  type TaskValues,
} from './tasks.repository.ts';

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
  /** Absent until the runs module provides it; then task deletion keeps the stored backups. */
  artifacts?: TaskArtifacts;
}

export type TasksService = ReturnType<typeof createTasksService>;

type Compression = TaskSummary['compression'];
type BackupMode = TaskSummary['backupMode'];
type VerifyMode = TaskSummary['verifyMode'];

/** A task as validated and stored, before it becomes a row. */
interface TaskDraft {
  name: string;
  type: TaskType;
  enabled: boolean;
  cronExpr: string;
  sourcePaths: string[];
  excludePatterns: string[];
  dbHost: string;
  dbPort: number;
  dbUser: string;
  dbName: string;
  dbPath: string;
  dbPasswordCiphertext: string;
  extraConfig: Record<string, unknown>;
  storageTargetIds: number[];
  nodeId: number;
  nodePoolTag: string;
  tags: string[];
  retentionDays: number;
  maxBackups: number;
  compression: Compression;
  encrypt: boolean;
  backupMode: BackupMode;
  diffFullIntervalDays: number;
  keepDaily: number;
  keepWeekly: number;
  keepMonthly: number;
  keepYearly: number;
  verifyEnabled: boolean;
  verifyCronExpr: string;
  verifyMode: VerifyMode;
  slaHoursRpo: number;
  alertOnConsecutiveFails: number;
  replicationTargetIds: number[];
  maintenanceWindows: string;
  dependsOnTaskIds: number[];
}

/** Defaults of a new task (SPEC §1.4, §17.1; compression zstd is ours). */
const defaultDraft = (name: string, type: TaskType): TaskDraft => ({
  name,
  type,
  enabled: true,
  cronExpr: '',
  sourcePaths: [],
  excludePatterns: [],
  dbHost: '',
  dbPort: 0,
  dbUser: '',
  dbName: '',
  dbPath: '',
  dbPasswordCiphertext: '',
  extraConfig: {},
  storageTargetIds: [],
  nodeId: 0,
  nodePoolTag: '',
  tags: [],
  retentionDays: 30,
  maxBackups: 10,
  compression: 'zstd',
  encrypt: false,
  backupMode: 'full',
  diffFullIntervalDays: 7,
  keepDaily: 0,
  keepWeekly: 0,
  keepMonthly: 0,
  keepYearly: 0,
  verifyEnabled: false,
  verifyCronExpr: '',
  verifyMode: 'quick',
  slaHoursRpo: 0,
  alertOnConsecutiveFails: 1,
  replicationTargetIds: [],
  maintenanceWindows: '',
  dependsOnTaskIds: [],
});

const DEPENDENCY_DEPTH_LIMIT = 32;
const EXTRA_CONFIG_MAX_CHARS = 65_536;
const TAGS_MAX_CHARS = 500;
const IDS_CSV_MAX_CHARS = 500;

const parseJson = <T>(text: string, fallback: T): T => {
  if (text.trim() === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

export const parseIdList = (csv: string): number[] =>
  csv
    .split(',')
    .map((part) => Number(part.trim()))
    .filter((id) => Number.isInteger(id) && id > 0);

export const parseTagList = (csv: string): string[] =>
  csv
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '');

const uniqueIds = (ids: readonly number[]): number[] => [...new Set(ids.filter((id) => id > 0))];

const cleanList = (values: readonly string[]): string[] =>
  values.map((value) => value.trim()).filter((value) => value !== '');

const normaliseTags = (value: string | readonly string[]): string[] => [
  ...new Set(typeof value === 'string' ? parseTagList(value) : value.flatMap((tag) => parseTagList(tag))),
];

const sourcePathsOfRow = (row: BackupTaskRow): string[] => {
  const paths = cleanList(
    parseJson<unknown[]>(row.sourcePaths, []).filter((p): p is string => typeof p === 'string'),
  );
  return paths.length > 0 ? paths : cleanList([row.sourcePath]);
};

const isAbsolutePath = (value: string): boolean =>
  path.posix.isAbsolute(value) || /^[A-Za-z]:[\\/]/.test(value);

const invalid = (message: string): AppError => new AppError('BACKUP_TASK_INVALID', message);

const draftFromRow = (row: BackupTaskRow, targetIds: number[]): TaskDraft => ({
  name: row.name,
  type: (row.type === 'pgsql' ? 'postgresql' : row.type) as TaskType,
  enabled: row.enabled === 1,
  cronExpr: row.cronExpr,
  sourcePaths: sourcePathsOfRow(row),
  excludePatterns: parseJson<string[]>(row.excludePatterns, []),
  dbHost: row.dbHost,
  dbPort: row.dbPort,
  dbUser: row.dbUser,
  dbName: row.dbName,
  dbPath: row.dbPath,
  dbPasswordCiphertext: row.dbPasswordCiphertext,
  extraConfig: parseJson<Record<string, unknown>>(row.extraConfig, {}),
  storageTargetIds: targetIds,
  nodeId: row.nodeId,
  nodePoolTag: row.nodePoolTag,
  tags: parseTagList(row.tags),
  retentionDays: row.retentionDays,
  maxBackups: row.maxBackups,
  compression: row.compression as Compression,
  encrypt: row.encrypt === 1,
  backupMode: row.backupMode as BackupMode,
  diffFullIntervalDays: row.diffFullIntervalDays,
  keepDaily: row.keepDaily,
  keepWeekly: row.keepWeekly,
  keepMonthly: row.keepMonthly,
  keepYearly: row.keepYearly,
  verifyEnabled: row.verifyEnabled === 1,
  verifyCronExpr: row.verifyCronExpr,
  verifyMode: row.verifyMode as VerifyMode,
  slaHoursRpo: row.slaHoursRpo,
  alertOnConsecutiveFails: row.alertOnConsecutiveFails,
  replicationTargetIds: parseIdList(row.replicationTargetIds),
  maintenanceWindows: row.maintenanceWindows,
  dependsOnTaskIds: parseIdList(row.dependsOnTaskIds),
});

/**
 * Applies the fields the client sent. On create the draft holds the defaults, on update the
 * stored values, so an absent field keeps them and a sent one always wins (quirk 6).
 */
const applyInput = (draft: TaskDraft, input: TaskUpsertInput): TaskDraft => {
  const next: TaskDraft = { ...draft, name: input.name, type: input.type };
  if (input.enabled !== undefined) next.enabled = input.enabled;
  if (input.cronExpr !== undefined) next.cronExpr = input.cronExpr.split(/\s+/).join(' ');
  if (input.sourcePaths !== undefined || input.sourcePath !== undefined) {
    const paths = [...new Set(cleanList(input.sourcePaths ?? []))];
    next.sourcePaths = paths.length > 0 ? paths : cleanList([input.sourcePath ?? '']);
  }
  if (input.excludePatterns !== undefined) next.excludePatterns = cleanList(input.excludePatterns);
  if (input.dbHost !== undefined) next.dbHost = input.dbHost;
  if (input.dbPort !== undefined) next.dbPort = input.dbPort;
  if (input.dbUser !== undefined) next.dbUser = input.dbUser;
  if (input.dbName !== undefined) next.dbName = input.dbName;
  if (input.dbPath !== undefined) next.dbPath = input.dbPath;
  if (input.extraConfig !== undefined) next.extraConfig = input.extraConfig;
  if (input.storageTargetIds !== undefined || input.storageTargetId !== undefined) {
    const ids = uniqueIds(input.storageTargetIds ?? []);
    next.storageTargetIds = ids.length > 0 ? ids : uniqueIds([input.storageTargetId ?? 0]);
  }
  if (input.nodeId !== undefined) next.nodeId = input.nodeId;
  if (input.nodePoolTag !== undefined) next.nodePoolTag = input.nodePoolTag;
  if (input.tags !== undefined) next.tags = normaliseTags(input.tags);
  if (input.retentionDays !== undefined) next.retentionDays = input.retentionDays;
  if (input.maxBackups !== undefined) next.maxBackups = input.maxBackups;
  if (input.compression !== undefined && input.compression !== '') next.compression = input.compression;
  if (input.encrypt !== undefined) next.encrypt = input.encrypt;
  if (input.verifyEnabled !== undefined) next.verifyEnabled = input.verifyEnabled;
  if (input.verifyCronExpr !== undefined) next.verifyCronExpr = input.verifyCronExpr.split(/\s+/).join(' ');
  if (input.verifyMode !== undefined) next.verifyMode = input.verifyMode === '' ? 'quick' : input.verifyMode;
  if (input.slaHoursRpo !== undefined) next.slaHoursRpo = input.slaHoursRpo;
  if (input.alertOnConsecutiveFails !== undefined)
    next.alertOnConsecutiveFails = input.alertOnConsecutiveFails;
  if (input.keepDaily !== undefined) next.keepDaily = input.keepDaily;
  if (input.keepWeekly !== undefined) next.keepWeekly = input.keepWeekly;
  if (input.keepMonthly !== undefined) next.keepMonthly = input.keepMonthly;
  if (input.keepYearly !== undefined) next.keepYearly = input.keepYearly;
  if (input.backupMode !== undefined) next.backupMode = input.backupMode === '' ? 'full' : input.backupMode;
  if (input.diffFullIntervalDays !== undefined)
    next.diffFullIntervalDays = input.diffFullIntervalDays <= 0 ? 7 : input.diffFullIntervalDays;
  if (input.replicationTargetIds !== undefined)
    next.replicationTargetIds = uniqueIds(input.replicationTargetIds);
  if (input.maintenanceWindows !== undefined) next.maintenanceWindows = input.maintenanceWindows.trim();
  if (input.dependsOnTaskIds !== undefined) next.dependsOnTaskIds = uniqueIds(input.dependsOnTaskIds);
  return next;
};

/** Checks that need no database. */
const checkShape = (draft: TaskDraft): void => {
  if (draft.cronExpr !== '') {
    const problem = cronError(draft.cronExpr);
    if (problem !== null) throw invalid(`cronExpr: ${problem}`);
  }
  if (draft.verifyEnabled && draft.verifyCronExpr === '')
    throw invalid('verifyCronExpr is required when verifyEnabled is true');
  if (draft.verifyCronExpr !== '') {
    const problem = cronError(draft.verifyCronExpr);
    if (problem !== null) throw invalid(`verifyCronExpr: ${problem}`);
  }

  switch (draft.type) {
    case 'file': {
      if (draft.sourcePaths.length === 0) throw invalid('a file task needs at least one source path');
      const relative = draft.sourcePaths.find((source) => !isAbsolutePath(source));
      if (relative !== undefined) throw invalid(`source path "${relative}" must be absolute`);
      break;
    }
    case 'sqlite':
      if (draft.dbPath === '') throw invalid('dbPath (the SQLite file) is required for sqlite tasks');
      if (!isAbsolutePath(draft.dbPath)) throw invalid(`dbPath "${draft.dbPath}" must be absolute`);
      break;
    case 'mysql':
    case 'postgresql':
    case 'saphana':
    case 'mongodb': {
      const missing = [
        draft.dbHost === '' ? 'dbHost' : '',
        draft.dbPort <= 0 ? 'dbPort' : '',
        draft.dbUser === '' ? 'dbUser' : '',
        draft.dbName.split(',').every((name) => name.trim() === '') ? 'dbName' : '',
      ].filter((field) => field !== '');
      if (missing.length > 0) throw invalid(`${draft.type} tasks need ${missing.join(', ')}`);
      break;
    }
  }

  const windowsProblem = windowsError(draft.maintenanceWindows);
  if (windowsProblem !== null) throw invalid(`maintenanceWindows: ${windowsProblem}`);

  if (draft.nodeId > 0) throw invalid(`node ${draft.nodeId} does not exist`);
  if (draft.nodePoolTag !== '' && draft.encrypt)
    throw new AppError(
      'BACKUP_TASK_REMOTE_ENCRYPT_UNSUPPORTED',
      'Encrypted backups run on the master only: remove the node pool tag or turn encryption off',
    );

  if (draft.backupMode === 'differential') {
    if (draft.type !== 'file')
      throw new AppError(
        'BACKUP_TASK_DIFF_UNSUPPORTED',
        `Differential mode is for file tasks only, not ${draft.type}`,
      );
    if (draft.nodePoolTag !== '')
      throw new AppError(
        'BACKUP_TASK_DIFF_REMOTE_UNSUPPORTED',
        'Differential backups run on the master only: remove the node pool tag',
      );
  }
  if (draft.backupMode === 'repository') {
    throw new AppError(
      'BACKUP_TASK_REPOSITORY_UNSUPPORTED',
      draft.type === 'file'
        ? 'Repository (deduplicated) mode is not available yet; use full or differential'
        : `Repository mode is for file tasks only, not ${draft.type}`,
    );
  }

  if (draft.tags.join(',').length > TAGS_MAX_CHARS)
    throw invalid(`tags must fit in ${TAGS_MAX_CHARS} characters`);
  if (JSON.stringify(draft.extraConfig).length > EXTRA_CONFIG_MAX_CHARS)
    throw invalid(`extraConfig must fit in ${EXTRA_CONFIG_MAX_CHARS} characters of JSON`);
  if (JSON.stringify(draft.sourcePaths).length > 65_536) throw invalid('sourcePaths are too long');
  if (draft.replicationTargetIds.join(',').length > IDS_CSV_MAX_CHARS)
    throw invalid('too many replicationTargetIds');
  if (draft.dependsOnTaskIds.join(',').length > IDS_CSV_MAX_CHARS) throw invalid('too many dependsOnTaskIds');
};

const rowValues = (
  draft: TaskDraft,
  updatedAt: string,
): Omit<TaskValues, 'createdAt' | 'lastRunAt' | 'lastStatus'> => ({
  name: draft.name,
  type: draft.type,
  enabled: draft.enabled ? 1 : 0,
  cronExpr: draft.cronExpr,
  sourcePath: draft.sourcePaths[0] ?? '',
  sourcePaths: JSON.stringify(draft.sourcePaths),
  excludePatterns: JSON.stringify(draft.excludePatterns),
  dbHost: draft.dbHost,
  dbPort: draft.dbPort,
  dbUser: draft.dbUser,
  dbName: draft.dbName,
  dbPath: draft.dbPath,
  dbPasswordCiphertext: draft.dbPasswordCiphertext,
  extraConfig: Object.keys(draft.extraConfig).length === 0 ? '' : JSON.stringify(draft.extraConfig),
  storageTargetId: draft.storageTargetIds[0] ?? 0,
  nodeId: draft.nodeId,
  nodePoolTag: draft.nodePoolTag,
  tags: draft.tags.join(','),
  retentionDays: draft.retentionDays,
  compression: draft.compression,
  encrypt: draft.encrypt ? 1 : 0,
  maxBackups: draft.maxBackups,
  backupMode: draft.backupMode,
  diffFullIntervalDays: draft.diffFullIntervalDays,
  keepDaily: draft.keepDaily,
  keepWeekly: draft.keepWeekly,
  keepMonthly: draft.keepMonthly,
  keepYearly: draft.keepYearly,
  verifyEnabled: draft.verifyEnabled ? 1 : 0,
  verifyCronExpr: draft.verifyCronExpr,
  verifyMode: draft.verifyMode,
  slaHoursRpo: draft.slaHoursRpo,
  alertOnConsecutiveFails: draft.alertOnConsecutiveFails,
  replicationTargetIds: draft.replicationTargetIds.join(','),
  maintenanceWindows: draft.maintenanceWindows,
  dependsOnTaskIds: draft.dependsOnTaskIds.join(','),
  updatedAt,
});

const toSummary = (row: BackupTaskRow, targets: readonly TaskTargetRef[]): TaskSummary => ({
  id: row.id,
  name: row.name,
  type: (row.type === 'pgsql' ? 'postgresql' : row.type) as TaskType,
  enabled: row.enabled === 1,
  cronExpr: row.cronExpr,
  storageTargetId: targets[0]?.storageTargetId ?? row.storageTargetId,
  storageTargetName: targets[0]?.name ?? '',
  storageTargetIds: targets.map((target) => target.storageTargetId),
  storageTargetNames: targets.map((target) => target.name),
  nodeId: row.nodeId,
  nodeName: '',
  nodePoolTag: row.nodePoolTag,
  tags: row.tags,
  retentionDays: row.retentionDays,
  compression: row.compression as Compression,
  encrypt: row.encrypt === 1,
  maxBackups: row.maxBackups,
  lastRunAt: row.lastRunAt,
  lastStatus: row.lastStatus as TaskSummary['lastStatus'],
  verifyEnabled: row.verifyEnabled === 1,
  verifyCronExpr: row.verifyCronExpr,
  verifyMode: row.verifyMode as VerifyMode,
  slaHoursRpo: row.slaHoursRpo,
  alertOnConsecutiveFails: row.alertOnConsecutiveFails,
  keepDaily: row.keepDaily,
  keepWeekly: row.keepWeekly,
  keepMonthly: row.keepMonthly,
  keepYearly: row.keepYearly,
  backupMode: row.backupMode as BackupMode,
  diffFullIntervalDays: row.diffFullIntervalDays,
  replicationTargetIds: parseIdList(row.replicationTargetIds),
  maintenanceWindows: row.maintenanceWindows,
  dependsOnTaskIds: parseIdList(row.dependsOnTaskIds),
  updatedAt: row.updatedAt,
});

const toDetail = (row: BackupTaskRow, targets: readonly TaskTargetRef[]): TaskDetail => {
  const sourcePaths = sourcePathsOfRow(row);
  return {
    ...toSummary(row, targets),
    sourcePath: sourcePaths[0] ?? '',
    sourcePaths,
    excludePatterns: parseJson<string[]>(row.excludePatterns, []),
    dbHost: row.dbHost,
    dbPort: row.dbPort,
    dbUser: row.dbUser,
    dbName: row.dbName,
    dbPath: row.dbPath,
    extraConfig: parseJson<Record<string, unknown>>(row.extraConfig, {}),
    maskedFields: row.dbPasswordCiphertext === '' ? [] : ['dbPassword'],
    createdAt: row.createdAt,
  };
};

/** Names of the draft fields that differ (for the audit detail; never values). */
const changedFields = (before: TaskDraft, after: TaskDraft): string[] =>
  (Object.keys(after) as (keyof TaskDraft)[])
    .filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]))
    .map((key) => (key === 'dbPasswordCiphertext' ? 'dbPassword' : key));

export const createTasksService = (deps: TasksServiceDeps) => {
  const { tasksRepository, scheduler, audit, secretBox, clock, logger } = deps;

  const requireRow = async (id: number): Promise<BackupTaskRow> => {
    const row = await tasksRepository.findById(id);
    if (!row) throw new AppError('BACKUP_TASK_NOT_FOUND', `Backup task ${id} does not exist`);
    return row;
  };

  const targetsOf = async (taskId: number): Promise<TaskTargetRef[]> => tasksRepository.targetsOf([taskId]);

  const detailOf = async (row: BackupTaskRow): Promise<TaskDetail> => toDetail(row, await targetsOf(row.id));

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
    await tasksRepository.delete(row.id, toIso(clock.now()));
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
      return matching.map((row) => toSummary(row, byTask.get(row.id) ?? []));
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
      return toSummary(updated, await targetsOf(id));
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
