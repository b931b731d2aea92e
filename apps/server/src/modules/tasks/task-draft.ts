import path from 'node:path';
import type { TaskSummary, TaskType, TaskUpsertInput } from '@backupx/contract';
import { AppError } from '../../lib/errors.ts';
import type { BackupTaskRow } from '../../db/tables.ts';
import { cronError } from './cron.ts';
import { windowsError } from './maintenance-windows.ts';
import { parseIdList, parseJson, parseTagList, sourcePathsOfRow } from './task-read-models.ts';
import type { TaskValues } from './tasks.repository.ts';

/**
 * A task as the upsert body describes it (SPEC §2.1): defaults, merging a body into the stored
 * task, the checks that need no database, and the row it becomes.
 */

type Compression = TaskSummary['compression'];
type BackupMode = TaskSummary['backupMode'];
type VerifyMode = TaskSummary['verifyMode'];

/** A task as validated and stored, before it becomes a row. */
export interface TaskDraft {
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
export const defaultDraft = (name: string, type: TaskType): TaskDraft => ({
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

export const DEPENDENCY_DEPTH_LIMIT = 32;
const EXTRA_CONFIG_MAX_CHARS = 65_536;
const TAGS_MAX_CHARS = 500;
const IDS_CSV_MAX_CHARS = 500;

const uniqueIds = (ids: readonly number[]): number[] => [...new Set(ids.filter((id) => id > 0))];

const cleanList = (values: readonly string[]): string[] =>
  values.map((value) => value.trim()).filter((value) => value !== '');

const normaliseTags = (value: string | readonly string[]): string[] => [
  ...new Set(typeof value === 'string' ? parseTagList(value) : value.flatMap((tag) => parseTagList(tag))),
];

const isAbsolutePath = (value: string): boolean =>
  path.posix.isAbsolute(value) || /^[A-Za-z]:[\\/]/.test(value);

const invalid = (message: string): AppError => new AppError('BACKUP_TASK_INVALID', message);

export const draftFromRow = (row: BackupTaskRow, targetIds: number[]): TaskDraft => ({
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
export const applyInput = (draft: TaskDraft, input: TaskUpsertInput): TaskDraft => {
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
export const checkShape = (draft: TaskDraft): void => {
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

  // Encryption is allowed on agents: they seal each artifact to the master's key (BXENC2).
  if (draft.nodeId > 0 && draft.nodePoolTag !== '')
    throw invalid('nodeId and nodePoolTag are alternatives: set one of them');

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
    if (draft.type !== 'file')
      throw new AppError(
        'BACKUP_TASK_REPOSITORY_UNSUPPORTED',
        `Repository mode is for file tasks only, not ${draft.type}`,
      );
    // A replica of a snapshot object without its packs would restore nothing.
    if (draft.replicationTargetIds.length > 0)
      throw new AppError(
        'BACKUP_TASK_REPOSITORY_REPLICATION_UNSUPPORTED',
        'A repository-mode task cannot have replication targets: select several storage targets instead (each keeps its own repository)',
      );
    if (draft.encrypt && draft.nodePoolTag !== '')
      throw new AppError(
        'BACKUP_TASK_REPOSITORY_REMOTE_ENCRYPT_UNSUPPORTED',
        'An encrypted repository-mode task runs on the master only: the repository key never leaves the master. Turn encryption off or remove the node pool tag',
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

export const rowValues = (
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

/** Names of the draft fields that differ (for the audit detail; never values). */
export const changedFields = (before: TaskDraft, after: TaskDraft): string[] =>
  (Object.keys(after) as (keyof TaskDraft)[])
    .filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]))
    .map((key) => (key === 'dbPasswordCiphertext' ? 'dbPassword' : key));
