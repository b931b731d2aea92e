import { z } from 'zod';
import { defineRoute } from './route.ts';
import { timestampSchema } from './common.ts';

/** Audit categories emitted by the master (SPEC §12.9). */
export const auditCategories = [
  'auth',
  'storage_target',
  'backup_task',
  'backup_record',
  'backup_verify',
  'replication',
  'task_template',
  'user',
  'api_key',
  'node',
  'install_token',
  'settings',
  'notification',
] as const;
export type AuditCategory = (typeof auditCategories)[number];

export const auditEntrySchema = z.object({
  id: z.number().int(),
  userId: z.number().int(),
  username: z.string(),
  category: z.string(),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string(),
  targetName: z.string(),
  detail: z.string(),
  clientIp: z.string(),
  createdAt: timestampSchema,
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

const rfc3339 = z.iso.datetime({ offset: true });

const auditFilterFields = {
  category: z.string().max(32).optional(),
  action: z.string().max(64).optional(),
  username: z.string().max(64).optional(),
  targetId: z.string().max(64).optional(),
  keyword: z.string().max(200).optional(),
  dateFrom: rfc3339.optional(),
  dateTo: rfc3339.optional(),
};

export const auditListQuerySchema = z.strictObject({
  ...auditFilterFields,
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
});
export const auditExportQuerySchema = z.strictObject({
  ...auditFilterFields,
  /** Language of the CSV header row. */
  lang: z.enum(['en-US', 'zh-CN']).optional(),
});
export type AuditFilter = z.infer<z.ZodObject<typeof auditFilterFields>>;

/** Maximum rows in one CSV export. */
export const AUDIT_EXPORT_MAX_ROWS = 10_000;

export const auditRoutes = {
  list: defineRoute({
    method: 'GET',
    path: '/api/audit-logs',
    access: 'viewer',
    tag: 'audit',
    summary: 'Audit entries, newest first, with filters and paging',
    query: auditListQuerySchema,
    invalidInputCode: 'AUDIT_FILTER_INVALID',
    response: z.object({ items: z.array(auditEntrySchema), total: z.number().int() }),
  }),
  exportCsv: defineRoute({
    method: 'GET',
    path: '/api/audit-logs/export',
    access: 'viewer',
    tag: 'audit',
    summary: 'CSV export (UTF-8 with BOM) of the filtered audit entries, at most 10 000 rows',
    query: auditExportQuerySchema,
    invalidInputCode: 'AUDIT_FILTER_INVALID',
    responseKind: 'csv',
  }),
} as const;
