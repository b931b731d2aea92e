/**
 * @backupx/contract — the HTTP API of the master as data: routes, schemas, error codes.
 * Browser-safe: it imports zod only.
 */
export * from './errors.ts';
export * from './common.ts';
export * from './route.ts';
export * from './auth.ts';
export * from './users.ts';
export * from './api-keys.ts';
export * from './audit.ts';
export * from './settings.ts';
export * from './system.ts';
export * from './routes.ts';
export * from './storage-configs.ts';
export * from './storage-targets.ts';
export * from './tasks.ts';
export * from './records.ts';
export * from './restores.ts';
export * from './notifications.ts';
export * from './dashboard.ts';
export * from './reports.ts';
export * from './replication.ts';
export * from './events.ts';
export * from './nodes.ts';
export * from './agent.ts';
export * from './templates.ts';
export * from './search.ts';
export * from './verification.ts';
