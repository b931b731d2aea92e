import { z } from 'zod';
import { defineRoute } from './route.ts';
import { timestampSchema } from './common.ts';

export const systemInfoSchema = z.object({
  version: z.string(),
  mode: z.enum(['debug', 'release']),
  startedAt: timestampSchema,
  uptimeSeconds: z.number().int(),
  databaseDialect: z.enum(['sqlite', 'postgres']),
  /** SQLite file path, or the PostgreSQL URL without credentials. */
  databasePath: z.string(),
  diskTotal: z.number(),
  diskFree: z.number(),
  diskUsed: z.number(),
  nodeVersion: z.string(),
});
export type SystemInfo = z.infer<typeof systemInfoSchema>;

export const healthSchema = z.object({
  status: z.literal('live'),
  version: z.string(),
  uptime: z.number().int(),
  timestamp: timestampSchema,
});

export const readinessSchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  version: z.string(),
  checks: z.object({ database: z.string() }),
});

const health = (path: string) =>
  defineRoute({
    method: 'GET',
    path,
    access: 'public',
    tag: 'operations',
    summary: 'Liveness probe',
    responseKind: 'raw-json',
    response: healthSchema,
  });
const ready = (path: string) =>
  defineRoute({
    method: 'GET',
    path,
    access: 'public',
    tag: 'operations',
    summary: 'Readiness probe: 200 when the database answers, else 503',
    responseKind: 'raw-json',
    response: readinessSchema,
  });

export const systemRoutes = {
  info: defineRoute({
    method: 'GET',
    path: '/api/system/info',
    access: 'viewer',
    tag: 'system',
    summary: 'Version, uptime, database and disk of the data directory',
    response: systemInfoSchema,
  }),
  health: health('/health'),
  apiHealth: health('/api/health'),
  ready: ready('/ready'),
  apiReady: ready('/api/ready'),
  metrics: defineRoute({
    method: 'GET',
    path: '/metrics',
    access: 'public',
    tag: 'operations',
    summary: 'Prometheus metrics (backupx_ prefix)',
    responseKind: 'text',
  }),
  openapi: defineRoute({
    method: 'GET',
    path: '/api/openapi.json',
    access: 'public',
    tag: 'operations',
    summary: 'This OpenAPI document',
    responseKind: 'raw-json',
  }),
} as const;
