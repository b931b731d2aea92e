import { z } from 'zod';
import { defineRoute } from './route.ts';
import { idParams, timestampSchema } from './common.ts';
import { logEventSchema, recordStatusSchema } from './records.ts';

export const restoreSummarySchema = z.object({
  id: z.number().int(),
  backupRecordId: z.number().int(),
  taskId: z.number().int(),
  taskName: z.string(),
  nodeId: z.number().int(),
  status: recordStatusSchema,
  /** Restore-to directory; empty = the original place. */
  targetPath: z.string(),
  selectedPaths: z.array(z.string()),
  errorMessage: z.string(),
  durationSeconds: z.number(),
  startedAt: timestampSchema,
  completedAt: timestampSchema.nullable(),
  triggeredBy: z.string(),
  backupFileName: z.string(),
});
export type RestoreSummary = z.infer<typeof restoreSummarySchema>;

export const restoreDetailSchema = restoreSummarySchema.extend({
  logContent: z.string(),
  logEvents: z.array(logEventSchema),
});
export type RestoreDetail = z.infer<typeof restoreDetailSchema>;

export const restoreStartSchema = z.strictObject({
  /** Archive paths (as the contents browser lists them) to restore with their descendants. */
  selectedPaths: z.array(z.string().trim().min(1).max(4096)).max(10_000).optional(),
  /** Absolute directory to restore into instead of the original place (file backups). */
  targetPath: z.string().trim().max(500).optional(),
});

const isoDate = z
  .string()
  .trim()
  .refine((value) => !Number.isNaN(Date.parse(value)), 'must be an RFC 3339 date-time');

export const restoreListQuerySchema = z.strictObject({
  taskId: z.coerce.number().int().min(1).max(4_294_967_295).optional(),
  backupRecordId: z.coerce.number().int().min(1).max(4_294_967_295).optional(),
  status: recordStatusSchema.optional(),
  dateFrom: isoDate.optional(),
  dateTo: isoDate.optional(),
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(500).default(100),
});

export const restoreRoutes = {
  start: defineRoute({
    method: 'POST',
    path: '/api/backup/records/:id/restore',
    access: 'operator',
    tag: 'restores',
    summary:
      'Restore a successful backup (asynchronous): to the original place, or a chosen directory, optionally only some paths',
    params: idParams,
    body: restoreStartSchema.optional(),
    response: restoreDetailSchema,
  }),
  list: defineRoute({
    method: 'GET',
    path: '/api/restore/records',
    access: 'viewer',
    tag: 'restores',
    summary: 'List restore records, newest first (total in X-Total-Count)',
    query: restoreListQuerySchema,
    invalidInputCode: 'RESTORE_FILTER_INVALID',
    response: z.array(restoreSummarySchema),
  }),
  get: defineRoute({
    method: 'GET',
    path: '/api/restore/records/:id',
    access: 'viewer',
    tag: 'restores',
    summary: 'A restore record with its log',
    params: idParams,
    response: restoreDetailSchema,
  }),
  logStream: defineRoute({
    method: 'GET',
    path: '/api/restore/records/:id/logs/stream',
    access: 'viewer',
    tag: 'restores',
    summary: 'Live log of a restore as Server-Sent Events',
    params: idParams,
    responseKind: 'event-stream',
  }),
} as const;
