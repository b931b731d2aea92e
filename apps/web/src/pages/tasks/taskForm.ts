/**
 * Pure logic of the task form: defaults, conversion between the form and the API body, which
 * step holds which field, and where a server validation error belongs. Kept free of React so it
 * can be unit-tested.
 */
import type { TaskDetail, TaskType, TaskUpsertBody } from '@backupx/contract';

/**
 * How a file task stores its runs: a whole archive each time, an archive of what changed since
 * the last full one, or content-defined chunks in a deduplicating repository (SPEC §3.14).
 */
export type BackupMode = 'full' | 'differential' | 'repository';

/** The modes in the order the form offers them. */
export const backupModes: readonly BackupMode[] = ['full', 'differential', 'repository'];

/** Cron presets offered by the editor (SPEC §5.1), the first is the default of new tasks. */
export const cronPresets = [
  '0 2 * * *',
  '0 0 * * *',
  '0 */6 * * *',
  '0 */12 * * *',
  '0 3 * * 0',
  '0 2 1 * *',
  '*/30 * * * *',
  '0 * * * *',
] as const;

/** Default ports of the database types (SPEC §15.4). */
export const defaultPorts: Partial<Record<TaskType, number>> = {
  mysql: 3306,
  postgresql: 5432,
  saphana: 30015,
  mongodb: 27017,
};

/** Types whose databases `/api/database/discover` can list. */
export const discoverableTypes: readonly TaskType[] = ['mysql', 'postgresql'];

export const isServerDatabase = (type: TaskType): boolean =>
  type === 'mysql' || type === 'postgresql' || type === 'saphana' || type === 'mongodb';

/** Where a task runs: the master itself, one node, or any online node of a pool (SPEC §5.4). */
export type RunOn = 'master' | 'node' | 'pool';

export type HanaBackupType = 'data' | 'log';
export type HanaBackupLevel = 'full' | 'incremental' | 'differential';

export interface TaskFormValues {
  name: string;
  type: TaskType;
  enabled: boolean;
  cronExpr: string;
  runOn: RunOn;
  /** The node of `runOn: 'node'`. */
  nodeId: number | null;
  /** The label of `runOn: 'pool'`. */
  nodePoolTag: string;
  sourcePaths: string[];
  /** One pattern per line. */
  excludePatterns: string;
  dbHost: string;
  dbPort: number | null;
  dbUser: string;
  dbPassword: string;
  /** Joined with commas in the body. */
  dbNames: string[];
  dbPath: string;
  hanaBackupType: HanaBackupType;
  hanaBackupLevel: HanaBackupLevel;
  hanaChannels: number | null;
  hanaRetries: number | null;
  hanaInstanceNumber: string;
  storageTargetIds: number[];
  /** Targets that receive a copy of each successful backup; never one of the primaries. */
  replicationTargetIds: number[];
  /** Upstream tasks: a successful backup of one of them starts this task. */
  dependsOnTaskIds: number[];
  compression: 'zstd' | 'gzip' | 'none';
  /** Only file tasks have a choice; every other type is sent as `full`. */
  backupMode: BackupMode;
  diffFullIntervalDays: number | null;
  retentionDays: number | null;
  maxBackups: number | null;
  keepDaily: number | null;
  keepWeekly: number | null;
  keepMonthly: number | null;
  keepYearly: number | null;
  tags: string[];
  encrypt: boolean;
  slaHoursRpo: number | null;
  alertOnConsecutiveFails: number | null;
  maintenanceWindows: string;
  verifyEnabled: boolean;
  verifyCronExpr: string;
  verifyMode: 'quick' | 'deep';
}

export const defaultTaskValues = (): TaskFormValues => ({
  name: '',
  type: 'file',
  enabled: true,
  cronExpr: cronPresets[0],
  runOn: 'master',
  nodeId: null,
  nodePoolTag: '',
  sourcePaths: [''],
  excludePatterns: '',
  dbHost: '127.0.0.1',
  dbPort: null,
  dbUser: '',
  dbPassword: '',
  dbNames: [],
  dbPath: '',
  hanaBackupType: 'data',
  hanaBackupLevel: 'full',
  hanaChannels: 1,
  hanaRetries: 3,
  hanaInstanceNumber: '',
  storageTargetIds: [],
  replicationTargetIds: [],
  dependsOnTaskIds: [],
  compression: 'zstd',
  backupMode: 'full',
  diffFullIntervalDays: 7,
  retentionDays: 30,
  maxBackups: 10,
  keepDaily: 0,
  keepWeekly: 0,
  keepMonthly: 0,
  keepYearly: 0,
  tags: [],
  encrypt: false,
  slaHoursRpo: 0,
  alertOnConsecutiveFails: 1,
  maintenanceWindows: '',
  verifyEnabled: false,
  verifyCronExpr: '',
  verifyMode: 'quick',
});

/** Comma-separated tags → list (trimmed, blanks and duplicates dropped). */
export function parseTags(csv: string): string[] {
  return [...new Set(csv.split(',').map((tag) => tag.trim()))].filter((tag) => tag !== '');
}

/** Whether a task's tags contain every selected tag (the tag filter matches all). */
export const matchesAllTags = (taskTags: string, selected: readonly string[]): boolean => {
  if (selected.length === 0) return true;
  const own = new Set(parseTags(taskTags));
  return selected.every((tag) => own.has(tag));
};

export const isAbsolutePath = (value: string): boolean =>
  value.startsWith('/') || /^[A-Za-z]:[\\/]/.test(value);

const text = (value: unknown, fallback: string): string =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : fallback;
const int = (value: unknown, fallback: number): number => {
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isInteger(number) ? number : fallback;
};

/** The form values of a stored task (the password is never returned: it stays empty). */
export function valuesFromDetail(task: TaskDetail): TaskFormValues {
  const extra = task.extraConfig;
  const backupType = text(extra.backupType, 'data');
  const backupLevel = text(extra.backupLevel, 'full');
  return {
    name: task.name,
    type: task.type,
    enabled: task.enabled,
    cronExpr: task.cronExpr,
    runOn: task.nodeId > 0 ? 'node' : task.nodePoolTag.trim() !== '' ? 'pool' : 'master',
    nodeId: task.nodeId > 0 ? task.nodeId : null,
    nodePoolTag: task.nodeId > 0 ? '' : task.nodePoolTag,
    sourcePaths: task.sourcePaths.length > 0 ? [...task.sourcePaths] : [''],
    excludePatterns: task.excludePatterns.join('\n'),
    dbHost: task.dbHost,
    dbPort: task.dbPort > 0 ? task.dbPort : null,
    dbUser: task.dbUser,
    dbPassword: '',
    dbNames: parseTags(task.dbName),
    dbPath: task.dbPath,
    hanaBackupType: backupType === 'log' ? 'log' : 'data',
    hanaBackupLevel: backupLevel === 'incremental' || backupLevel === 'differential' ? backupLevel : 'full',
    hanaChannels: int(extra.backupChannels, 1),
    hanaRetries: int(extra.maxRetries, 3),
    hanaInstanceNumber: text(extra.instanceNumber, ''),
    storageTargetIds: [...task.storageTargetIds],
    replicationTargetIds: withoutPrimaries(task.replicationTargetIds, task.storageTargetIds),
    dependsOnTaskIds: task.dependsOnTaskIds.filter((id) => id !== task.id),
    compression: task.compression,
    backupMode: task.type === 'file' ? task.backupMode : 'full',
    diffFullIntervalDays: task.diffFullIntervalDays,
    retentionDays: task.retentionDays,
    maxBackups: task.maxBackups,
    keepDaily: task.keepDaily,
    keepWeekly: task.keepWeekly,
    keepMonthly: task.keepMonthly,
    keepYearly: task.keepYearly,
    tags: parseTags(task.tags),
    encrypt: task.encrypt,
    slaHoursRpo: task.slaHoursRpo,
    alertOnConsecutiveFails: task.alertOnConsecutiveFails,
    maintenanceWindows: task.maintenanceWindows,
    verifyEnabled: task.verifyEnabled,
    verifyCronExpr: task.verifyCronExpr,
    verifyMode: task.verifyMode,
  };
}

/** The mode a task of `type` is saved with: non-file tasks are always full backups. */
export const effectiveBackupMode = (type: TaskType, mode: BackupMode): BackupMode =>
  type === 'file' ? mode : 'full';

/**
 * Whether the task may have replication targets. A repository run stores chunks shared with
 * earlier runs, not one self-contained file a replica could copy, so the server refuses
 * replication targets for it (BACKUP_TASK_REPOSITORY_REPLICATION_UNSUPPORTED).
 */
export const allowsReplication = (type: TaskType, mode: BackupMode): boolean =>
  effectiveBackupMode(type, mode) !== 'repository';

/** Replication targets without the ones chosen as primaries (a target cannot be both). */
export const withoutPrimaries = (
  replicationIds: readonly number[],
  primaryIds: readonly number[],
): number[] => [...new Set(replicationIds)].filter((id) => !primaryIds.includes(id));

/** Tasks that can be upstream of the task being edited (null: a new task): all others, by name. */
export function upstreamTaskOptions(
  tasks: readonly { id: number; name: string }[],
  selfId: number | null,
): { value: number; label: string }[] {
  return tasks
    .filter((task) => task.id !== selfId)
    .map((task) => ({ value: task.id, label: task.name }))
    .sort((a, b) => a.label.localeCompare(b.label));
}

/**
 * Storage targets offered as replication targets: the enabled ones that are not a selected
 * primary, plus a disabled one the stored task still names (shown disabled, so it can be removed).
 */
export function replicationTargetOptions(
  targets: readonly { id: number; name: string; enabled: boolean }[],
  primaryIds: readonly number[],
  storedIds: readonly number[] = [],
): { value: number; label: string; disabled: boolean }[] {
  return targets
    .filter((target) => (target.enabled || storedIds.includes(target.id)) && !primaryIds.includes(target.id))
    .map((target) => ({ value: target.id, label: target.name, disabled: !target.enabled }));
}

const lines = (value: string): string[] =>
  value
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');

const count = (value: number | null, fallback: number): number => (value === null ? fallback : value);

/**
 * The create/update body. Only the fields of the chosen type are sent with content; the others
 * are cleared so a type change leaves no stale source behind. On edit an empty password is left
 * out (the server keeps the stored one).
 */
export function bodyFromValues(values: TaskFormValues, mode: 'create' | 'edit'): TaskUpsertBody {
  const type = values.type;
  const isFile = type === 'file';
  const isServer = isServerDatabase(type);
  const backupMode = effectiveBackupMode(type, values.backupMode);
  const body: TaskUpsertBody = {
    name: values.name.trim(),
    type,
    enabled: values.enabled,
    cronExpr: values.cronExpr.trim(),
    sourcePaths: isFile ? values.sourcePaths.map((path) => path.trim()).filter((path) => path !== '') : [],
    excludePatterns: isFile ? lines(values.excludePatterns) : [],
    dbHost: isServer ? values.dbHost.trim() : '',
    dbPort: isServer ? count(values.dbPort, defaultPorts[type] ?? 0) : 0,
    dbUser: isServer ? values.dbUser.trim() : '',
    dbName: isServer
      ? values.dbNames
          .map((name) => name.trim())
          .filter((name) => name !== '')
          .join(',')
      : '',
    dbPath: type === 'sqlite' ? values.dbPath.trim() : '',
    extraConfig:
      type === 'saphana'
        ? {
            backupType: values.hanaBackupType,
            backupLevel: values.hanaBackupType === 'log' ? 'full' : values.hanaBackupLevel,
            backupChannels: count(values.hanaChannels, 1),
            maxRetries: count(values.hanaRetries, 3),
            ...(values.hanaInstanceNumber.trim() === ''
              ? {}
              : { instanceNumber: values.hanaInstanceNumber.trim() }),
          }
        : {},
    storageTargetIds: [...values.storageTargetIds],
    // Always sent (possibly empty), so clearing the selection clears the stored list; a
    // repository task cannot have any.
    replicationTargetIds: allowsReplication(type, backupMode)
      ? withoutPrimaries(values.replicationTargetIds, values.storageTargetIds)
      : [],
    dependsOnTaskIds: [...new Set(values.dependsOnTaskIds)],
    // Both are always sent, so switching back to the master clears a stored node or pool.
    nodeId: values.runOn === 'node' ? (values.nodeId ?? 0) : 0,
    nodePoolTag: values.runOn === 'pool' ? values.nodePoolTag.trim() : '',
    compression: values.compression,
    backupMode,
    diffFullIntervalDays: count(values.diffFullIntervalDays, 7),
    retentionDays: count(values.retentionDays, 0),
    maxBackups: count(values.maxBackups, 0),
    keepDaily: count(values.keepDaily, 0),
    keepWeekly: count(values.keepWeekly, 0),
    keepMonthly: count(values.keepMonthly, 0),
    keepYearly: count(values.keepYearly, 0),
    tags: values.tags.map((tag) => tag.trim()).filter((tag) => tag !== ''),
    encrypt: values.encrypt,
    slaHoursRpo: count(values.slaHoursRpo, 0),
    alertOnConsecutiveFails: count(values.alertOnConsecutiveFails, 1),
    maintenanceWindows: values.maintenanceWindows.trim(),
    verifyEnabled: values.verifyEnabled,
    verifyCronExpr: values.verifyCronExpr.trim(),
    verifyMode: values.verifyMode,
  };
  const password = values.dbPassword;
  if (isServer && (mode === 'create' || password !== '')) body.dbPassword = password;
  return body;
}

/** Fields of each step of the form drawer (0 basics, 1 source, 2 storage & policy). */
const stepFields: readonly (readonly string[])[] = [
  ['name', 'type', 'enabled', 'cronExpr', 'runOn', 'nodeId', 'nodePoolTag'],
  [
    'sourcePaths',
    'sourcePath',
    'excludePatterns',
    'dbHost',
    'dbPort',
    'dbUser',
    'dbPassword',
    'dbNames',
    'dbPath',
    'hanaBackupType',
    'hanaBackupLevel',
    'hanaChannels',
    'hanaRetries',
    'hanaInstanceNumber',
  ],
];

/** The step that shows a field (the storage & policy step holds everything else). */
export function stepOfField(field: string): number {
  const index = stepFields.findIndex((fields) => fields.includes(field));
  return index === -1 ? 2 : index;
}

export interface FieldError {
  name: (string | number)[];
  message: string;
}

/** Body names that the form shows under another name. */
const formNameOf: Record<string, string> = {
  dbName: 'dbNames',
  sourcePath: 'sourcePaths',
  storageTargetId: 'storageTargetIds',
  extraConfig: 'hanaBackupType',
};

const formFieldNames = new Set<string>(Object.keys(defaultTaskValues()));

const byCode: Record<string, string> = {
  BACKUP_TASK_NAME_EXISTS: 'name',
  BACKUP_TASK_DEPENDENCY_INVALID: 'dependsOnTaskIds',
  BACKUP_STORAGE_TARGET_INVALID: 'storageTargetIds',
  BACKUP_TASK_DIFF_UNSUPPORTED: 'backupMode',
  BACKUP_TASK_DIFF_REMOTE_UNSUPPORTED: 'backupMode',
  BACKUP_TASK_REPOSITORY_UNSUPPORTED: 'backupMode',
  BACKUP_TASK_REPOSITORY_REMOTE_UNSUPPORTED: 'backupMode',
  // The form clears replication targets for repository tasks, so the mode is what to change.
  BACKUP_TASK_REPOSITORY_REPLICATION_UNSUPPORTED: 'backupMode',
  BACKUP_TASK_REMOTE_ENCRYPT_UNSUPPORTED: 'encrypt',
  NODE_NOT_FOUND: 'nodeId',
  NODE_POOL_EMPTY: 'nodePoolTag',
};

/**
 * Where a server error belongs on the form: zod `details` by path, well-known codes by field,
 * and the `field: problem` / "needs dbHost, dbUser" messages of BACKUP_TASK_INVALID.
 * Returns an empty list when the error names no field (the caller shows it as a message).
 */
export function taskFieldErrors(error: {
  code: string;
  message: string;
  details?: { path: string; message: string }[] | undefined;
}): FieldError[] {
  const result: FieldError[] = [];
  const add = (bodyName: string, message: string, index?: number) => {
    const name = formNameOf[bodyName] ?? bodyName;
    if (!formFieldNames.has(name)) return;
    const path: (string | number)[] = [name];
    if (name === 'sourcePaths' && index !== undefined) path.push(index);
    result.push({ name: path, message });
  };

  for (const detail of error.details ?? []) {
    const [head = '', second] = detail.path.split('.');
    const index = second !== undefined && /^\d+$/.test(second) ? Number(second) : undefined;
    add(head, detail.message, index);
  }
  if (result.length > 0) return result;

  // The same code covers primaries and replication targets: the message tells which.
  const field =
    error.code === 'BACKUP_STORAGE_TARGET_INVALID' &&
    /replication target|cannot also be a replication/i.test(error.message)
      ? 'replicationTargetIds'
      : byCode[error.code];
  if (field) {
    add(field, error.message);
    return result;
  }
  if (error.code !== 'BACKUP_TASK_INVALID') return result;

  const prefixed = /^([A-Za-z]+):\s*(.+)$/s.exec(error.message);
  if (prefixed?.[1] && prefixed[2] && formFieldNames.has(formNameOf[prefixed[1]] ?? prefixed[1])) {
    add(prefixed[1], prefixed[2]);
    return result;
  }
  const needs = /tasks need (.+)$/.exec(error.message);
  if (needs?.[1]) {
    for (const name of needs[1].split(',').map((part) => part.trim())) add(name, error.message);
    return result;
  }
  if (/source path/i.test(error.message)) add('sourcePaths', error.message);
  else if (/\bdbPath\b/.test(error.message)) add('dbPath', error.message);
  else if (/^tags\b/.test(error.message)) add('tags', error.message);
  else if (/^verifyCronExpr\b/.test(error.message)) add('verifyCronExpr', error.message);
  return result;
}
