import { z } from 'zod';
import { defineRoute } from './route.ts';
import { timestampSchema } from './common.ts';
import { postureSchema } from './records.ts';
import { slaComplianceSchema } from './reports.ts';

/** Default and largest window of the dashboard charts, in days. */
export const DASHBOARD_DEFAULT_DAYS = 30;
export const DASHBOARD_MAX_DAYS = 365;

/** A backup record as the dashboard lists it (SPEC §3.10 summary). */
export const dashboardRecordSchema = z.object({
  id: z.number().int(),
  taskId: z.number().int(),
  /** Empty when the task was deleted. */
  taskName: z.string(),
  storageTargetId: z.number().int(),
  /** Empty when the storage target was deleted. */
  storageTargetName: z.string(),
  status: z.string(),
  fileName: z.string(),
  fileSize: z.number(),
  checksum: z.string(),
  storagePath: z.string(),
  durationSeconds: z.number(),
  errorMessage: z.string(),
  startedAt: timestampSchema,
  completedAt: timestampSchema.nullable(),
  locked: z.boolean(),
  backupKind: z.string(),
});
export type DashboardRecord = z.infer<typeof dashboardRecordSchema>;

export const dashboardStatsSchema = z.object({
  totalTasks: z.number().int(),
  enabledTasks: z.number().int(),
  totalRecords: z.number().int(),
  /** Successful share of the records started in the last 30 days, in percent with one decimal (0 when none). */
  successRate: z.number(),
  /** Bytes of every successful record. */
  totalBackupBytes: z.number(),
  /** Start of the newest record, null when there is none. */
  lastBackupAt: timestampSchema.nullable(),
  /** The ten newest records. */
  recentRecords: z.array(dashboardRecordSchema),
  /** Bytes of successful records per primary storage target, largest first. */
  storageUsage: z.array(
    z.object({ storageTargetId: z.number().int(), targetName: z.string(), totalSize: z.number() }),
  ),
});
export type DashboardStats = z.infer<typeof dashboardStatsSchema>;

/**
 * `?days=N`: an integer; 0 or less means 30, more than 365 means 365. Anything else is refused
 * with DASHBOARD_TIMELINE_INVALID.
 */
export const dashboardDaysQuerySchema = z.strictObject({
  days: z
    .string()
    .regex(/^[+-]?\d{1,12}$/, 'must be an integer')
    .transform(Number)
    .optional(),
});

export const dashboardTimelinePointSchema = z.object({
  /** UTC day, `YYYY-MM-DD`. */
  date: z.string(),
  total: z.number().int(),
  success: z.number().int(),
  failed: z.number().int(),
});
export type DashboardTimelinePoint = z.infer<typeof dashboardTimelinePointSchema>;

const countSlice = z.object({ key: z.string(), label: z.string(), count: z.number().int() });
const sizeSlice = z.object({ key: z.string(), label: z.string(), totalSize: z.number() });

/** Labels are English; the console translates them by `key`. */
export const dashboardBreakdownSchema = z.object({
  /** All tasks by type. */
  byType: z.array(countSlice),
  /** Records started in the window by status (`success`, `failed`, `running`). */
  byStatus: z.array(countSlice),
  /** All tasks by node id (`0` = the master itself). */
  byNode: z.array(countSlice),
  /** All-time bytes of successful records by primary storage target. */
  byStorage: z.array(sizeSlice),
});
export type DashboardBreakdown = z.infer<typeof dashboardBreakdownSchema>;

/** The cluster at a glance (SPEC §14.6); statuses are effective, like the nodes page. */
export const clusterOverviewSchema = z.object({
  masterVersion: z.string(),
  totalNodes: z.number().int(),
  onlineNodes: z.number().int(),
  offlineNodes: z.number().int(),
  /** Remote agents whose major.minor is older than the master's. */
  outdatedAgents: z.number().int(),
  nodes: z.array(
    z.object({
      id: z.number().int(),
      name: z.string(),
      hostname: z.string(),
      status: z.string(),
      isLocal: z.boolean(),
      agentVersion: z.string(),
      versionStatus: z.string(),
      lastSeen: timestampSchema,
      /** Tasks bound to this node (the local node also counts tasks without a node). */
      taskCount: z.number().int(),
    }),
  ),
});
export type ClusterOverview = z.infer<typeof clusterOverviewSchema>;

/** One node's backup runs started in the window (SPEC §11.10). */
export const nodePerformanceSchema = z.object({
  nodeId: z.number().int(),
  nodeName: z.string(),
  isLocal: z.boolean(),
  totalRuns: z.number().int(),
  successRuns: z.number().int(),
  failedRuns: z.number().int(),
  /** Percent with one decimal over finished runs (success + failed); 0 when none. */
  successRate: z.number(),
  /** Bytes of the successful runs. */
  totalBytes: z.number(),
  /** Mean duration of the successful runs, in seconds with one decimal. */
  avgDurationSecs: z.number(),
});
export type NodePerformance = z.infer<typeof nodePerformanceSchema>;

/** 3-2-1 posture of each enabled task's newest successful backup (SPEC §9, ours). */
export const postureOverviewSchema = z.object({
  protected: z.number().int(),
  unverified: z.number().int(),
  degraded: z.number().int(),
  /** Tasks whose newest backup is not protected, degraded first. */
  records: z.array(
    z.object({
      recordId: z.number().int(),
      taskId: z.number().int(),
      taskName: z.string(),
      fileName: z.string(),
      completedAt: timestampSchema.nullable(),
      posture: postureSchema,
    }),
  ),
});
export type PostureOverview = z.infer<typeof postureOverviewSchema>;

export const dashboardRoutes = {
  stats: defineRoute({
    method: 'GET',
    path: '/api/dashboard/stats',
    access: 'viewer',
    tag: 'dashboard',
    summary: 'Task and record counts, 30-day success rate, bytes, recent records, storage usage',
    response: dashboardStatsSchema,
  }),
  timeline: defineRoute({
    method: 'GET',
    path: '/api/dashboard/timeline',
    access: 'viewer',
    tag: 'dashboard',
    summary: 'Records per UTC day over the last `days` days (default 30, at most 365), oldest first',
    query: dashboardDaysQuerySchema,
    invalidInputCode: 'DASHBOARD_TIMELINE_INVALID',
    response: z.array(dashboardTimelinePointSchema),
  }),
  breakdown: defineRoute({
    method: 'GET',
    path: '/api/dashboard/breakdown',
    access: 'viewer',
    tag: 'dashboard',
    summary: 'Tasks by type and node, records by status in the window, bytes by storage target',
    query: dashboardDaysQuerySchema,
    invalidInputCode: 'DASHBOARD_TIMELINE_INVALID',
    response: dashboardBreakdownSchema,
  }),
  sla: defineRoute({
    method: 'GET',
    path: '/api/dashboard/sla',
    access: 'viewer',
    tag: 'dashboard',
    summary: 'RPO compliance of the enabled tasks with an RPO, and the violations, longest overdue first',
    response: slaComplianceSchema,
  }),
  cluster: defineRoute({
    method: 'GET',
    path: '/api/dashboard/cluster',
    access: 'viewer',
    tag: 'dashboard',
    summary: 'Nodes online and offline, outdated agents, and each node with its task count',
    response: clusterOverviewSchema,
  }),
  nodePerformance: defineRoute({
    method: 'GET',
    path: '/api/dashboard/node-performance',
    access: 'viewer',
    tag: 'dashboard',
    summary:
      'Per node: backup runs started in the last `days` days, success rate, bytes and mean duration; best first',
    query: dashboardDaysQuerySchema,
    invalidInputCode: 'DASHBOARD_TIMELINE_INVALID',
    response: z.array(nodePerformanceSchema),
  }),
  posture: defineRoute({
    method: 'GET',
    path: '/api/dashboard/posture',
    access: 'viewer',
    tag: 'dashboard',
    summary:
      "3-2-1 posture of every enabled task's newest successful backup: counts, and the backups that are not protected",
    response: postureOverviewSchema,
  }),
} as const;
