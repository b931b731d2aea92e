import { z } from 'zod';
import { defineRoute } from './route.ts';
import { deletedSchema, idParams, idSchema, timestampSchema } from './common.ts';

/** `skipped`: a scheduled fire that did not run (outside its maintenance window); the message says why. */
export const recordStatuses = ['running', 'success', 'failed', 'skipped'] as const;
export const recordStatusSchema = z.enum(recordStatuses);
export type RecordStatus = z.infer<typeof recordStatusSchema>;

export const backupKinds = ['full', 'differential', 'repository'] as const;
export const backupKindSchema = z.enum(backupKinds);

/** Progress of a running transfer (SPEC §3.11). */
export const transferProgressSchema = z.object({
  bytesSent: z.number(),
  totalBytes: z.number(),
  percent: z.number(),
  speedBps: z.number(),
  targetName: z.string(),
});
export type TransferProgressEvent = z.infer<typeof transferProgressSchema>;

/** One line of a run's live log (SSE `event: log`). `sequence` increases by one per event. */
export const logEventSchema = z.object({
  recordId: z.number().int(),
  sequence: z.number().int(),
  level: z.enum(['info', 'warn', 'error', 'progress']),
  message: z.string(),
  timestamp: timestampSchema,
  completed: z.boolean(),
  status: z.string(),
  progress: transferProgressSchema.optional(),
});
export type LogEvent = z.infer<typeof logEventSchema>;

/** The outcome on one storage target (SPEC §3.9). */
export const uploadResultSchema = z.object({
  storageTargetId: z.number().int(),
  storageTargetName: z.string(),
  status: z.enum(['success', 'failed']),
  storagePath: z.string().optional(),
  fileSize: z.number().optional(),
  transferMode: z.string().optional(),
  error: z.string().optional(),
  /** Extension: SHA-256 of this copy when it differs per target (encrypted repository snapshots). */
  checksum: z.string().optional(),
});
export type UploadResult = z.infer<typeof uploadResultSchema>;

export const recordSummarySchema = z.object({
  id: z.number().int(),
  taskId: z.number().int(),
  taskName: z.string(),
  taskType: z.string(),
  storageTargetId: z.number().int(),
  storageTargetName: z.string(),
  nodeId: z.number().int(),
  status: recordStatusSchema,
  fileName: z.string(),
  fileSize: z.number(),
  checksum: z.string(),
  storagePath: z.string(),
  storageTransferMode: z.string(),
  durationSeconds: z.number(),
  errorMessage: z.string(),
  startedAt: timestampSchema,
  completedAt: timestampSchema.nullable(),
  locked: z.boolean(),
  backupKind: backupKindSchema,
  baseRecordId: z.number().int(),
  /** Whether a file list (manifest) can be browsed. */
  hasContents: z.boolean(),
  /** Deduplication figures of a repository (CDC) run; null for other kinds and before the run ends. */
  repositoryStats: z
    .object({
      /** Bytes of the files backed up, before deduplication and compression. */
      logicalBytes: z.number(),
      /** Bytes this run wrote to the repository of its first successful target (packs, indexes, snapshot). */
      uploadedBytes: z.number(),
      /** Logical bytes found already stored (chunks of earlier runs, or repeated within this run). */
      reusedBytes: z.number(),
      uniqueChunks: z.number().int(),
      newChunks: z.number().int(),
      /** Files whose chunks were taken from the previous snapshot without reading them (unchanged). */
      unchangedFiles: z.number().int(),
      /** Chunks and snapshot encrypted with the master's key (master runs of encrypted tasks). */
      encrypted: z.boolean(),
    })
    .nullable(),
});
export type RecordSummary = z.infer<typeof recordSummarySchema>;
export type RepositoryStats = NonNullable<RecordSummary['repositoryStats']>;

/** One stored copy of a backup, as the 3-2-1 posture sees it. */
export const copyPostureSchema = z.object({
  storageTargetId: z.number().int(),
  storageTargetName: z.string(),
  /** Storage type (`local_disk`, `s3`, `sftp`, …); empty when the target was deleted. */
  storageType: z.string(),
  /** Not on a local disk (of this master or of an agent). */
  offsite: z.boolean(),
  /** End of the newest successful drill of this copy, null when never verified. */
  lastVerifiedAt: timestampSchema.nullable(),
  /** Outcome of the newest finished drill of this copy, null when never drilled. */
  lastVerifyStatus: z.enum(['success', 'failed']).nullable(),
  lastVerificationId: z.number().int().nullable(),
});

export const postureProblems = [
  'no_copy',
  'single_copy',
  'single_provider',
  'no_offsite_copy',
  'unverified',
] as const;

/**
 * 3-2-1 posture of a successful backup (with the live data as the first of three copies): at least
 * two stored copies, on at least two kinds of storage, at least one of them off the machine's disk.
 * `protected` = all that and at least one copy verified by a drill; `unverified` = the layout is
 * right but no drill has passed; `degraded` = the layout is not.
 */
export const postureSchema = z.object({
  status: z.enum(['protected', 'unverified', 'degraded']),
  copies: z.number().int(),
  distinctTargets: z.number().int(),
  distinctProviders: z.number().int(),
  offsiteCopies: z.number().int(),
  verifiedCopies: z.number().int(),
  problems: z.array(z.enum(postureProblems)),
  copyDetails: z.array(copyPostureSchema),
});
export type Posture = z.infer<typeof postureSchema>;

export const recordDetailSchema = recordSummarySchema.extend({
  logContent: z.string(),
  /** The live events so far while the run is in progress (empty once it ended). */
  logEvents: z.array(logEventSchema),
  storageUploadResults: z.array(uploadResultSchema),
  /** 3-2-1 posture of a successful backup; null for other statuses. */
  posture: postureSchema.nullable(),
});
export type RecordDetail = z.infer<typeof recordDetailSchema>;

const isoDate = z
  .string()
  .trim()
  .refine((value) => !Number.isNaN(Date.parse(value)), 'must be an RFC 3339 date-time');

export const RECORD_PAGE_SIZE_MAX = 500;

export const recordListQuerySchema = z.strictObject({
  taskId: z.coerce.number().int().min(1).max(4_294_967_295).optional(),
  status: recordStatusSchema.optional(),
  dateFrom: isoDate.optional(),
  dateTo: isoDate.optional(),
  /** 1-based page; the total is in the `X-Total-Count` header. */
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(RECORD_PAGE_SIZE_MAX).default(100),
});

export const contentsEntrySchema = z.object({ path: z.string(), size: z.number(), isDir: z.boolean() });
export const CONTENTS_ENTRY_CAP = 10_000;

export const recordContentsSchema = z.object({
  recordId: z.number().int(),
  total: z.number().int(),
  truncated: z.boolean(),
  basedOnFull: z.number().int().optional(),
  entries: z.array(contentsEntrySchema),
});

export const batchIdsSchema = z.strictObject({ ids: z.array(idSchema).min(1).max(1000) });

export const batchResultSchema = z.array(
  z.object({
    id: z.number().int(),
    name: z.string().optional(),
    success: z.boolean(),
    recordId: z.number().int().optional(),
    error: z.string().optional(),
  }),
);

export const recordRoutes = {
  runTask: defineRoute({
    method: 'POST',
    path: '/api/backup/tasks/:id/run',
    access: 'operator',
    tag: 'records',
    summary: 'Run a task now; returns the new running record (the run continues in the background)',
    params: idParams,
    response: recordDetailSchema,
  }),
  runBatch: defineRoute({
    method: 'POST',
    path: '/api/backup/tasks/batch/run',
    access: 'operator',
    tag: 'records',
    summary: 'Run several tasks now',
    body: batchIdsSchema,
    response: batchResultSchema,
  }),
  list: defineRoute({
    method: 'GET',
    path: '/api/backup/records',
    access: 'viewer',
    tag: 'records',
    summary: 'List backup records, newest first, filtered and paged (total in X-Total-Count)',
    query: recordListQuerySchema,
    invalidInputCode: 'BACKUP_RECORD_FILTER_INVALID',
    response: z.array(recordSummarySchema),
  }),
  get: defineRoute({
    method: 'GET',
    path: '/api/backup/records/:id',
    access: 'viewer',
    tag: 'records',
    summary: 'A backup record with its log and per-target results',
    params: idParams,
    response: recordDetailSchema,
  }),
  logStream: defineRoute({
    method: 'GET',
    path: '/api/backup/records/:id/logs/stream',
    access: 'viewer',
    tag: 'records',
    summary: 'Live log and progress of a record as Server-Sent Events (replays what happened so far)',
    params: idParams,
    responseKind: 'event-stream',
  }),
  download: defineRoute({
    method: 'GET',
    path: '/api/backup/records/:id/download',
    access: 'viewer',
    tag: 'records',
    summary: 'Download the stored artifact as it is stored (compressed/encrypted), streamed',
    params: idParams,
    responseKind: 'octet-stream',
  }),
  contents: defineRoute({
    method: 'GET',
    path: '/api/backup/records/:id/contents',
    access: 'viewer',
    tag: 'records',
    summary: 'The file list of a file backup (from its manifest), capped at 10 000 entries',
    params: idParams,
    response: recordContentsSchema,
  }),
  lock: defineRoute({
    method: 'PUT',
    path: '/api/backup/records/:id/lock',
    access: 'operator',
    tag: 'records',
    summary: 'Put a record under legal hold (locked records are never deleted) or release it',
    params: idParams,
    body: z.strictObject({ locked: z.boolean() }),
    response: recordSummarySchema,
  }),
  delete: defineRoute({
    method: 'DELETE',
    path: '/api/backup/records/:id',
    access: 'operator',
    tag: 'records',
    summary: 'Delete a record and every stored copy of its artifact',
    params: idParams,
    response: deletedSchema,
  }),
  batchDelete: defineRoute({
    method: 'POST',
    path: '/api/backup/records/batch-delete',
    access: 'operator',
    tag: 'records',
    summary: 'Delete several records (locked ones and failures are skipped)',
    body: batchIdsSchema,
    response: z.object({ deleted: z.number().int() }),
  }),
} as const;
