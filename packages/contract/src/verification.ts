import { z } from 'zod';
import { defineRoute } from './route.ts';
import { idParams, idSchema, timestampSchema } from './common.ts';
import { logEventSchema } from './records.ts';

/**
 * Verification drills (SPEC §8). `quick` reads the whole artifact: SHA-256 against the record,
 * then the structure of what it holds. `deep` really restores it — files into a scratch directory
 * compared entry by entry with the manifest, SQLite opened and integrity-checked, MariaDB/PostgreSQL
 * dumps imported into throw-away databases whose tables are counted and then dropped — and records
 * how long that restore took (the measured RTO).
 */
export const verifyModes = ['quick', 'deep'] as const;
export const verifyModeSchema = z.enum(verifyModes);
export type VerifyMode = z.infer<typeof verifyModeSchema>;

export const verificationStatusSchema = z.enum(['running', 'success', 'failed']);

/** One thing a drill checked, and what it found. */
export const verificationCheckSchema = z.object({
  /** Stable name: `checksum`, `structure`, `restore`, `manifest`, `integrity`, `row_counts`, `cleanup`. */
  name: z.string(),
  ok: z.boolean(),
  detail: z.string(),
});
export type VerificationCheck = z.infer<typeof verificationCheckSchema>;

/** Rows of one table of a deep database drill, counted in the scratch copy. */
export const tableRowCountSchema = z.object({
  database: z.string(),
  table: z.string(),
  rows: z.number().int(),
});
export type TableRowCount = z.infer<typeof tableRowCountSchema>;

export const verificationSummarySchema = z.object({
  id: z.number().int(),
  backupRecordId: z.number().int(),
  taskId: z.number().int(),
  taskName: z.string(),
  nodeId: z.number().int(),
  mode: verifyModeSchema,
  status: verificationStatusSchema,
  summary: z.string(),
  errorMessage: z.string(),
  durationSeconds: z.number(),
  startedAt: timestampSchema,
  completedAt: timestampSchema.nullable(),
  triggeredBy: z.string(),
  backupFileName: z.string(),
  /** The copy that was read (every copy of a record can be verified). */
  storageTargetId: z.number().int(),
  storageTargetName: z.string(),
  /** Measured time of the deep drill's restore in seconds (null for quick drills and failures before it). */
  rtoSeconds: z.number().nullable(),
  checks: z.array(verificationCheckSchema),
  tableCounts: z.array(tableRowCountSchema),
});
export type VerificationSummary = z.infer<typeof verificationSummarySchema>;

export const verificationDetailSchema = verificationSummarySchema.extend({
  logContent: z.string(),
  logEvents: z.array(logEventSchema),
});
export type VerificationDetail = z.infer<typeof verificationDetailSchema>;

/** `mode` empty or absent = `quick`; anything else than quick/deep is `VERIFY_MODE_INVALID`. */
export const verifyTaskBodySchema = z.strictObject({ mode: z.string().max(20).optional() });
export const verifyRecordBodySchema = z.strictObject({
  mode: z.string().max(20).optional(),
  /** Which copy to read; absent = the first copy this master can read. */
  storageTargetId: idSchema.optional(),
});

const isoDate = z
  .string()
  .trim()
  .refine((value) => !Number.isNaN(Date.parse(value)), 'must be an RFC 3339 date-time');
const optionalId = z.coerce.number().int().min(1).max(4_294_967_295).optional();

export const verificationListQuerySchema = z.strictObject({
  taskId: optionalId,
  backupRecordId: optionalId,
  status: verificationStatusSchema.optional(),
  mode: verifyModeSchema.optional(),
  dateFrom: isoDate.optional(),
  dateTo: isoDate.optional(),
});

export const verificationRoutes = {
  verifyTask: defineRoute({
    method: 'POST',
    path: '/api/backup/tasks/:id/verify',
    access: 'operator',
    tag: 'verification',
    summary: "Drill the task's newest successful backup (runs in the background)",
    params: idParams,
    body: verifyTaskBodySchema.optional(),
    invalidInputCode: 'VERIFY_MODE_INVALID',
    response: verificationDetailSchema,
  }),
  verifyRecord: defineRoute({
    method: 'POST',
    path: '/api/backup/records/:id/verify',
    access: 'operator',
    tag: 'verification',
    summary: 'Drill one successful backup, optionally one chosen copy (runs in the background)',
    params: idParams,
    body: verifyRecordBodySchema.optional(),
    invalidInputCode: 'VERIFY_MODE_INVALID',
    response: verificationDetailSchema,
  }),
  list: defineRoute({
    method: 'GET',
    path: '/api/verify/records',
    access: 'viewer',
    tag: 'verification',
    summary: 'Verification records, newest first (at most 500), with filters',
    query: verificationListQuerySchema,
    invalidInputCode: 'INVALID_INPUT',
    response: z.array(verificationSummarySchema),
  }),
  get: defineRoute({
    method: 'GET',
    path: '/api/verify/records/:id',
    access: 'viewer',
    tag: 'verification',
    summary: 'A verification record with its checks, row counts and log',
    params: idParams,
    response: verificationDetailSchema,
  }),
  logStream: defineRoute({
    method: 'GET',
    path: '/api/verify/records/:id/logs/stream',
    access: 'viewer',
    tag: 'verification',
    summary: 'Live log of a verification drill as Server-Sent Events',
    params: idParams,
    responseKind: 'event-stream',
  }),
} as const;
