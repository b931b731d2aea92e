import { z } from 'zod';
import { defineRoute } from './route.ts';
import { idParams, idSchema, MAX_ID, deletedSchema, timestampSchema } from './common.ts';

/** Source types of a backup task (SPEC §1.4). */
export const taskTypes = ['file', 'mysql', 'sqlite', 'postgresql', 'saphana', 'mongodb'] as const;
export const taskTypeSchema = z.enum(taskTypes);
export type TaskType = z.infer<typeof taskTypeSchema>;

/** A task type as clients may send it: BackupX's `pgsql` alias means `postgresql`. */
export const taskTypeInputSchema = z
  .enum([...taskTypes, 'pgsql'])
  .transform((type): TaskType => (type === 'pgsql' ? 'postgresql' : type));

/** Types that connect to a database server (host, port, user, database name required). */
export const serverDatabaseTypes: readonly TaskType[] = ['mysql', 'postgresql', 'saphana', 'mongodb'];

export const taskCompressions = ['gzip', 'zstd', 'none'] as const;
export const taskCompressionSchema = z.enum(taskCompressions);
export const taskBackupModes = ['full', 'differential', 'repository'] as const;
export const taskBackupModeSchema = z.enum(taskBackupModes);
export const taskVerifyModeSchema = z.enum(['quick', 'deep']);
export const taskLastStatusSchema = z.enum(['idle', 'running', 'success', 'failed']);

const uintSchema = z.number().int().min(0).max(MAX_ID);
const count = (max: number) => z.number().int().min(0).max(max);
/** BackupX normalises these instead of refusing them: negatives become `floor`. */
const clampedInt = (floor: number, max: number) =>
  z
    .number()
    .int()
    .max(max)
    .transform((value) => Math.max(floor, value));

/**
 * Create/update body (SPEC §2.1). `name` and `type` are required; on create an absent field takes
 * its default, on update an absent field keeps its stored value. Client values always win over
 * defaults (quirk 6): `enabled:false` stays false, `retentionDays:0` means no age limit and
 * `maxBackups:0` means no count limit.
 */
export const taskUpsertInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  type: taskTypeInputSchema,
  /** Default true. */
  enabled: z.boolean().optional(),
  /** 5 fields, or 6 with leading seconds; empty = manual runs only. Default "". */
  cronExpr: z.string().trim().max(64).optional(),
  /** Deprecated single source path; used when `sourcePaths` is absent or empty. */
  sourcePath: z.string().max(500).optional(),
  /** Absolute paths of a file task (blanks dropped). */
  sourcePaths: z.array(z.string().max(500)).max(100).optional(),
  excludePatterns: z.array(z.string().max(500)).max(500).optional(),
  dbHost: z.string().trim().max(255).optional(),
  dbPort: z.number().int().min(0).max(65_535).optional(),
  dbUser: z.string().trim().max(100).optional(),
  /** Empty or `********` on update keeps the stored password. May be empty (trust authentication). */
  dbPassword: z.string().max(1024).optional(),
  /** One name or a comma-separated list. */
  dbName: z.string().trim().max(255).optional(),
  /** SQLite file (absolute path). */
  dbPath: z.string().trim().max(500).optional(),
  /** Type-specific options, e.g. SAP HANA `backupType`, `backupLevel`, `backupChannels`. */
  extraConfig: z.record(z.string(), z.unknown()).optional(),
  /** Deprecated single target; used when `storageTargetIds` is absent or empty. 0 = none. */
  storageTargetId: uintSchema.optional(),
  /** Ordered target list (the first is the primary); at least one target. */
  storageTargetIds: z.array(idSchema).max(32).optional(),
  /** 0 = the master itself (remote nodes arrive with the cluster). */
  nodeId: uintSchema.optional(),
  /** Dynamic node pool label. */
  nodePoolTag: z.string().trim().max(64).optional(),
  /** Comma-separated (or a list); trimmed, blanks and duplicates dropped. */
  tags: z.union([z.string().max(500), z.array(z.string().max(100)).max(50)]).optional(),
  /** Days to keep backups; 0 = no age limit. Default 30. */
  retentionDays: count(100_000).optional(),
  /** Newest backups to keep; 0 = no count limit. Default 10. */
  maxBackups: count(100_000).optional(),
  /** Default `zstd` for new tasks; "" means the default. */
  compression: z.union([taskCompressionSchema, z.literal('')]).optional(),
  encrypt: z.boolean().optional(),
  verifyEnabled: z.boolean().optional(),
  verifyCronExpr: z.string().trim().max(64).optional(),
  /** "" means `quick`. */
  verifyMode: z.union([taskVerifyModeSchema, z.literal('')]).optional(),
  /** Hours without a successful backup before an SLA violation; 0 = not monitored. */
  slaHoursRpo: clampedInt(0, 100_000).optional(),
  /** Consecutive failures before an alert; values below 1 become 1. */
  alertOnConsecutiveFails: clampedInt(1, 1000).optional(),
  keepDaily: clampedInt(0, 10_000).optional(),
  keepWeekly: clampedInt(0, 10_000).optional(),
  keepMonthly: clampedInt(0, 10_000).optional(),
  keepYearly: clampedInt(0, 10_000).optional(),
  /** `differential` for file tasks only; "" means `full`. */
  backupMode: z.union([taskBackupModeSchema, z.literal('')]).optional(),
  /** Force a full backup every N days in differential mode; ≤0 becomes 7. */
  diffFullIntervalDays: z.number().int().max(3650).optional(),
  /** Storage targets that receive a copy of each successful backup (zeros dropped). */
  replicationTargetIds: z.array(uintSchema).max(32).optional(),
  /** SPEC §5.3 grammar, e.g. `days=mon|tue,time=22:00-06:00;days=sat|sun,time=00:00-23:59`. */
  maintenanceWindows: z.string().max(500).optional(),
  /** Upstream tasks whose success starts this one (zeros dropped). */
  dependsOnTaskIds: z.array(uintSchema).max(100).optional(),
});
export type TaskUpsertInput = z.infer<typeof taskUpsertInputSchema>;
export type TaskUpsertBody = z.input<typeof taskUpsertInputSchema>;

/** List, toggle (SPEC §2.2). */
export const taskSummarySchema = z.object({
  id: z.number().int(),
  name: z.string(),
  type: taskTypeSchema,
  enabled: z.boolean(),
  cronExpr: z.string(),
  /** First target (deprecated single-target field). */
  storageTargetId: z.number().int(),
  storageTargetName: z.string(),
  storageTargetIds: z.array(z.number().int()),
  storageTargetNames: z.array(z.string()),
  nodeId: z.number().int(),
  nodeName: z.string(),
  nodePoolTag: z.string(),
  /** Comma-separated. */
  tags: z.string(),
  retentionDays: z.number().int(),
  compression: taskCompressionSchema,
  encrypt: z.boolean(),
  maxBackups: z.number().int(),
  lastRunAt: timestampSchema.nullable(),
  lastStatus: taskLastStatusSchema,
  verifyEnabled: z.boolean(),
  verifyCronExpr: z.string(),
  verifyMode: taskVerifyModeSchema,
  slaHoursRpo: z.number().int(),
  alertOnConsecutiveFails: z.number().int(),
  keepDaily: z.number().int(),
  keepWeekly: z.number().int(),
  keepMonthly: z.number().int(),
  keepYearly: z.number().int(),
  backupMode: taskBackupModeSchema,
  diffFullIntervalDays: z.number().int(),
  replicationTargetIds: z.array(z.number().int()),
  maintenanceWindows: z.string(),
  dependsOnTaskIds: z.array(z.number().int()),
  updatedAt: timestampSchema,
});
export type TaskSummary = z.infer<typeof taskSummarySchema>;

/** Get, create, update (SPEC §2.2). The password is never returned. */
export const taskDetailSchema = taskSummarySchema.extend({
  sourcePath: z.string(),
  sourcePaths: z.array(z.string()),
  excludePatterns: z.array(z.string()),
  dbHost: z.string(),
  dbPort: z.number().int(),
  dbUser: z.string(),
  dbName: z.string(),
  dbPath: z.string(),
  extraConfig: z.record(z.string(), z.unknown()),
  /** `["dbPassword"]` when a password is stored. */
  maskedFields: z.array(z.string()),
  createdAt: timestampSchema,
});
export type TaskDetail = z.infer<typeof taskDetailSchema>;

/** `tag` repeated (`?tag=a&tag=b`) or comma-separated (`?tag=a,b`): tasks having ALL of them. */
const tagFilterSchema = z
  .union([z.string().max(1000), z.array(z.string().max(1000)).max(50)])
  .transform((value) =>
    [...new Set((Array.isArray(value) ? value : [value]).flatMap((item) => item.split(',')))]
      .map((tag) => tag.trim())
      .filter((tag) => tag !== ''),
  );

export const taskListQuerySchema = z.strictObject({
  tag: tagFilterSchema.optional(),
  type: taskTypeInputSchema.optional(),
});

/**
 * One task in an export file (SPEC §14.4). Everything that defines the task round-trips (quirk 15:
 * BackupX dropped the node pool, backup mode and GFS tiers); references go by name (storage
 * targets, replication targets, node, upstream tasks); the database password is never exported.
 * On import a server database task needs `dbPassword` added to its entry (`""` for none).
 */
export const taskExportEntrySchema = z.object({
  name: z.string().trim().min(1).max(100),
  type: taskTypeInputSchema,
  enabled: z.boolean().default(true),
  cronExpr: z.string().max(64).default(''),
  sourcePath: z.string().max(500).default(''),
  sourcePaths: z.array(z.string().max(500)).max(100).default([]),
  excludePatterns: z.array(z.string().max(500)).max(500).default([]),
  dbHost: z.string().max(255).default(''),
  dbPort: z.number().int().min(0).max(65_535).default(0),
  dbUser: z.string().max(100).default(''),
  dbName: z.string().max(255).default(''),
  dbPath: z.string().max(500).default(''),
  extraConfig: z.record(z.string(), z.unknown()).default({}),
  storageTargetNames: z.array(z.string().max(128)).max(32).default([]),
  replicationTargetNames: z.array(z.string().max(128)).max(32).default([]),
  /** Empty = this master. */
  nodeName: z.string().max(128).default(''),
  nodePoolTag: z.string().max(64).default(''),
  dependsOnTaskNames: z.array(z.string().max(100)).max(100).default([]),
  tags: z.string().max(500).default(''),
  compression: z.union([taskCompressionSchema, z.literal('')]).default(''),
  encrypt: z.boolean().default(false),
  retentionDays: z.number().int().min(0).max(100_000).default(30),
  maxBackups: z.number().int().min(0).max(100_000).default(10),
  verifyEnabled: z.boolean().default(false),
  verifyCronExpr: z.string().max(64).default(''),
  verifyMode: z.union([taskVerifyModeSchema, z.literal('')]).default(''),
  slaHoursRpo: z.number().int().min(0).max(100_000).default(0),
  alertOnConsecutiveFails: z.number().int().min(1).max(1000).default(1),
  maintenanceWindows: z.string().max(500).default(''),
  backupMode: z.enum(taskBackupModes).default('full'),
  diffFullIntervalDays: z.number().int().min(0).max(3650).default(7),
  keepDaily: z.number().int().min(0).max(10_000).default(0),
  keepWeekly: z.number().int().min(0).max(10_000).default(0),
  keepMonthly: z.number().int().min(0).max(10_000).default(0),
  keepYearly: z.number().int().min(0).max(10_000).default(0),
  /** Import only: the database password, re-entered by whoever imports. */
  dbPassword: z.string().max(1024).optional(),
});
export type TaskExportEntry = z.infer<typeof taskExportEntrySchema>;

export const taskExportFileSchema = z.object({
  version: z.literal('v1'),
  exportedAt: timestampSchema,
  taskCount: z.number().int(),
  tasks: z.array(taskExportEntrySchema),
  notice: z.string(),
});

export const taskImportInputSchema = z.object({
  version: z.string().max(16).optional(),
  tasks: z.array(taskExportEntrySchema).min(1).max(1000),
});

export const taskImportResultSchema = z.array(
  z.object({
    name: z.string(),
    taskId: z.number().int().optional(),
    success: z.boolean(),
    error: z.string().optional(),
    /** A task of that name exists already: left as it is. */
    skipped: z.boolean().optional(),
  }),
);

export const taskBatchResultSchema = z.array(
  z.object({
    id: z.number().int(),
    name: z.string().optional(),
    success: z.boolean(),
    error: z.string().optional(),
  }),
);
export type TaskBatchResult = z.infer<typeof taskBatchResultSchema>;

/** Batch ids; 0 entries are skipped as in BackupX. */
const batchIdsSchema = z.array(uintSchema).min(1).max(1000);

export const cronPreviewSchema = z.object({
  valid: z.boolean(),
  error: z.string().optional(),
  /** Next fire times (UTC, RFC 3339); empty when invalid or when the expression is empty. */
  nextRuns: z.array(timestampSchema),
  /** The IANA zone the schedule is evaluated in (`backup.timezone`, else the master's zone). */
  timeZone: z.string(),
});
export type CronPreview = z.infer<typeof cronPreviewSchema>;

export const databaseDiscoverInputSchema = z.strictObject({
  type: z
    .enum(['mysql', 'postgresql', 'pgsql'])
    .transform((type) => (type === 'pgsql' ? 'postgresql' : type)),
  host: z.string().trim().min(1).max(255),
  port: z.number().int().min(1).max(65_535),
  user: z.string().trim().min(1).max(100),
  /** Empty (or `********`) with `taskId`: the task's stored password, for the task's own server only. */
  password: z.string().max(1024).default(''),
  taskId: idSchema.optional(),
  /** 0 = the master (remote nodes arrive with the cluster). */
  nodeId: uintSchema.optional(),
});

export const fsListEntrySchema = z.object({
  name: z.string(),
  path: z.string(),
  isDir: z.boolean(),
  /** Bytes for files, 0 for directories. */
  size: z.number(),
});

export const fsListSchema = z.object({
  path: z.string(),
  /** null at `/`. */
  parent: z.string().nullable(),
  /** Directories first, then by name. */
  entries: z.array(fsListEntrySchema),
  /** True when the directory had more entries than the listing limit. */
  truncated: z.boolean(),
});
export type FsList = z.infer<typeof fsListSchema>;

export const taskRoutes = {
  list: defineRoute({
    method: 'GET',
    path: '/api/backup/tasks',
    access: 'viewer',
    tag: 'tasks',
    summary: 'List backup tasks (recently updated first), optionally filtered by tags (all) and type',
    query: taskListQuerySchema,
    response: z.array(taskSummarySchema),
  }),
  tags: defineRoute({
    method: 'GET',
    path: '/api/backup/tasks/tags',
    access: 'viewer',
    tag: 'tasks',
    summary: 'Distinct tags across all tasks',
    response: z.array(z.string()),
  }),
  exportJson: defineRoute({
    method: 'GET',
    path: '/api/backup/tasks/export',
    access: 'viewer',
    tag: 'tasks',
    summary: 'Download tasks as JSON (`?ids=1,2`, default all); references by name, no passwords',
    query: z.strictObject({
      ids: z
        .string()
        .max(10_000)
        .regex(/^\s*(\d{1,15}\s*(,\s*\d{1,15}\s*)*)?$/, 'a comma-separated list of task ids')
        .optional(),
    }),
    invalidInputCode: 'BACKUP_TASK_INVALID',
    responseKind: 'raw-json',
    response: taskExportFileSchema,
  }),
  importJson: defineRoute({
    method: 'POST',
    path: '/api/backup/tasks/import',
    access: 'operator',
    tag: 'tasks',
    summary:
      'Create tasks from an export file: existing names are skipped, references resolved by name, dependencies last',
    body: taskImportInputSchema,
    invalidInputCode: 'TASK_IMPORT_INVALID',
    response: taskImportResultSchema,
  }),
  get: defineRoute({
    method: 'GET',
    path: '/api/backup/tasks/:id',
    access: 'viewer',
    tag: 'tasks',
    summary: 'Task detail (password masked)',
    params: idParams,
    response: taskDetailSchema,
  }),
  create: defineRoute({
    method: 'POST',
    path: '/api/backup/tasks',
    access: 'operator',
    tag: 'tasks',
    summary: 'Create a backup task',
    body: taskUpsertInputSchema,
    invalidInputCode: 'BACKUP_TASK_INVALID',
    response: taskDetailSchema,
  }),
  update: defineRoute({
    method: 'PUT',
    path: '/api/backup/tasks/:id',
    access: 'operator',
    tag: 'tasks',
    summary: 'Update a backup task (absent fields keep their values)',
    params: idParams,
    body: taskUpsertInputSchema,
    invalidInputCode: 'BACKUP_TASK_INVALID',
    response: taskDetailSchema,
  }),
  delete: defineRoute({
    method: 'DELETE',
    path: '/api/backup/tasks/:id',
    access: 'operator',
    tag: 'tasks',
    summary: 'Delete a task and its stored backups (locked ones stay); records stay for audit',
    params: idParams,
    response: deletedSchema,
  }),
  toggle: defineRoute({
    method: 'PUT',
    path: '/api/backup/tasks/:id/toggle',
    access: 'operator',
    tag: 'tasks',
    summary: 'Enable or disable a task; without `enabled` the current value flips',
    params: idParams,
    body: z.strictObject({ enabled: z.boolean().optional() }).optional(),
    response: taskSummarySchema,
  }),
  batchToggle: defineRoute({
    method: 'POST',
    path: '/api/backup/tasks/batch/toggle',
    access: 'operator',
    tag: 'tasks',
    summary: 'Enable or disable several tasks',
    body: z.strictObject({ ids: batchIdsSchema, enabled: z.boolean() }),
    response: taskBatchResultSchema,
  }),
  batchDelete: defineRoute({
    method: 'POST',
    path: '/api/backup/tasks/batch/delete',
    access: 'operator',
    tag: 'tasks',
    summary: 'Delete several tasks',
    body: z.strictObject({ ids: batchIdsSchema }),
    response: taskBatchResultSchema,
  }),
  cronPreview: defineRoute({
    method: 'POST',
    path: '/api/backup/tasks/cron/preview',
    access: 'viewer',
    tag: 'tasks',
    summary: 'Check a cron expression and show its next five fire times',
    body: z.strictObject({ cronExpr: z.string().max(64) }),
    response: cronPreviewSchema,
  }),
  discoverDatabases: defineRoute({
    method: 'POST',
    path: '/api/database/discover',
    access: 'viewer',
    tag: 'tasks',
    summary: 'List the databases of a MySQL or PostgreSQL server',
    body: databaseDiscoverInputSchema,
    response: z.object({ databases: z.array(z.string()) }),
  }),
  listDirectory: defineRoute({
    method: 'GET',
    path: '/api/system/fs/list',
    access: 'operator',
    tag: 'tasks',
    summary: "List one directory of the master's file system (directory picker)",
    query: z.strictObject({ path: z.string().max(4096).optional() }),
    response: fsListSchema,
  }),
} as const;
