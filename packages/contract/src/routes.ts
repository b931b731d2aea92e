import { authRoutes } from './auth.ts';
import { userRoutes } from './users.ts';
import { apiKeyRoutes } from './api-keys.ts';
import { auditRoutes } from './audit.ts';
import { settingsRoutes } from './settings.ts';
import { systemRoutes } from './system.ts';
import { storageTargetRoutes } from './storage-targets.ts';
import { taskRoutes } from './tasks.ts';
import { recordRoutes } from './records.ts';
import { restoreRoutes } from './restores.ts';
import { notificationRoutes } from './notifications.ts';
import { dashboardRoutes } from './dashboard.ts';
import { eventRoutes } from './events.ts';
import { installRoutes, nodeRoutes } from './nodes.ts';
import { agentRoutes } from './agent.ts';
import { reportRoutes } from './reports.ts';
import { replicationRoutes } from './replication.ts';
import { taskTemplateRoutes } from './templates.ts';
import { searchRoutes } from './search.ts';
import { verificationRoutes } from './verification.ts';
import type { RouteSpec } from './route.ts';

/** Every route of the API, grouped by area. The server must implement each one exactly once. */
export const apiRoutes = {
  auth: authRoutes,
  users: userRoutes,
  apiKeys: apiKeyRoutes,
  audit: auditRoutes,
  settings: settingsRoutes,
  system: systemRoutes,
  storageTargets: storageTargetRoutes,
  tasks: taskRoutes,
  records: recordRoutes,
  restores: restoreRoutes,
  notifications: notificationRoutes,
  dashboard: dashboardRoutes,
  events: eventRoutes,
  nodes: nodeRoutes,
  install: installRoutes,
  agent: agentRoutes,
  reports: reportRoutes,
  replication: replicationRoutes,
  templates: taskTemplateRoutes,
  search: searchRoutes,
  verification: verificationRoutes,
} as const;

/** Flat list of every declared route. */
export const allRoutes: readonly RouteSpec[] = Object.values(apiRoutes).flatMap((group) =>
  Object.values(group as Record<string, RouteSpec>),
);
