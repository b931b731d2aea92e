import { z } from 'zod';
import { defineRoute } from './route.ts';
import { idParams, idSchema, timestampSchema } from './common.ts';

/** A copy of a backup to another storage target, under the same key (SPEC §9). */
export const replicationRecordSchema = z.object({
  id: z.number().int(),
  backupRecordId: z.number().int(),
  taskId: z.number().int(),
  sourceTargetId: z.number().int(),
  sourceTargetName: z.string(),
  destTargetId: z.number().int(),
  destTargetName: z.string(),
  status: z.enum(['running', 'success', 'failed']),
  storagePath: z.string(),
  fileSize: z.number(),
  /** SHA-256 of the copy, checked against the backup's own before it counts (BackupX left it empty). */
  checksum: z.string(),
  errorMessage: z.string(),
  durationSeconds: z.number(),
  /** `system` for automatic copies, else the user. */
  triggeredBy: z.string(),
  startedAt: timestampSchema,
  completedAt: timestampSchema.nullable(),
});
export type ReplicationRecord = z.infer<typeof replicationRecordSchema>;

const isoDate = z
  .string()
  .trim()
  .refine((value) => !Number.isNaN(Date.parse(value)), 'must be an RFC 3339 date-time');
const optionalId = z.coerce.number().int().min(1).max(4_294_967_295).optional();

export const replicationListQuerySchema = z.strictObject({
  taskId: optionalId,
  backupRecordId: optionalId,
  destTargetId: optionalId,
  status: z.enum(['running', 'success', 'failed']).optional(),
  dateFrom: isoDate.optional(),
  dateTo: isoDate.optional(),
});

export const replicationRoutes = {
  list: defineRoute({
    method: 'GET',
    path: '/api/replication/records',
    access: 'viewer',
    tag: 'replication',
    summary: 'Replication records, newest first (at most 500), with filters',
    query: replicationListQuerySchema,
    invalidInputCode: 'INVALID_INPUT',
    response: z.array(replicationRecordSchema),
  }),
  get: defineRoute({
    method: 'GET',
    path: '/api/replication/records/:id',
    access: 'viewer',
    tag: 'replication',
    summary: 'One replication record',
    params: idParams,
    response: replicationRecordSchema,
  }),
  replicate: defineRoute({
    method: 'POST',
    path: '/api/backup/records/:id/replicate',
    access: 'operator',
    tag: 'replication',
    summary: 'Copy a successful backup to another storage target (runs in the background)',
    params: idParams,
    body: z.strictObject({ destTargetId: idSchema }),
    invalidInputCode: 'REPLICATION_DEST_INVALID',
    response: replicationRecordSchema,
  }),
} as const;
