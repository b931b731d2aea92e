import type { ClusterOverview, NodePerformance, SlaCompliance, SlaViolation } from '@backupx/contract';
import { formatDuration } from '../../lib/format.ts';
import type { DurationUnits } from '../../lib/format.ts';
import { paths } from '../../paths.ts';

/** Window of the dashboard charts and the node performance table, in days. */
export const DASHBOARD_DAYS = 30;

/** Query keys of the dashboard; all start with `dashboard`, so one invalidation refreshes the page. */
export const dashboardKeys = {
  all: ['dashboard'] as const,
  stats: ['dashboard', 'stats'] as const,
  timeline: (days: number) => ['dashboard', 'timeline', days] as const,
  breakdown: (days: number) => ['dashboard', 'breakdown', days] as const,
  cluster: ['dashboard', 'cluster'] as const,
  nodePerformance: (days: number) => ['dashboard', 'node-performance', days] as const,
  sla: ['dashboard', 'sla'] as const,
  posture: ['dashboard', 'posture'] as const,
};

/** Page of the backup records; `?recordId=` opens a record's details (SPEC §15.5). */
export const recordDetailsUrl = (id: number) => `/backup/records?recordId=${encodeURIComponent(String(id))}`;
export const TASKS_URL = paths.backupTasks;
/** Page of the backup tasks with a task's details open (`?taskId=`). */
export const taskDetailsUrl = (id: number) => `${TASKS_URL}?taskId=${encodeURIComponent(String(id))}`;

/** `YYYY-MM-DD` → `MM-DD` for a compact axis label. */
export const shortDay = (date: string) => (/^\d{4}-\d{2}-\d{2}$/.test(date) ? date.slice(5) : date);

/** Detail page of a node (the nodes pages route `/nodes/:id`). */
export const nodeDetailUrl = (id: number) => `${paths.nodes}/${encodeURIComponent(String(id))}`;

export type ClusterNode = ClusterOverview['nodes'][number];

/** One line of the node performance table: a node's runs joined with its cluster state. */
export interface NodePerformanceRow extends NodePerformance {
  /** The node as the cluster overview lists it; undefined when unknown or deleted. */
  node: ClusterNode | undefined;
  /** The cluster overview is known and no longer lists the node: runs of a deleted node. */
  deleted: boolean;
  /** Runs that finished (succeeded or failed): the base of the success rate. */
  finishedRuns: number;
}

/**
 * Rows of the node performance table: the server's order (best first), each with its node's
 * status and last heartbeat, then any node the performance answer does not list (e.g. one added
 * between the two requests) with zero runs, so every node of the cluster is shown. `nodes` is
 * undefined while the cluster overview is not loaded.
 */
export function nodePerformanceRows(
  performance: readonly NodePerformance[],
  nodes: readonly ClusterNode[] | undefined,
): NodePerformanceRow[] {
  const byId = new Map((nodes ?? []).map((node) => [node.id, node]));
  const listed = new Set<number>();
  const rows: NodePerformanceRow[] = performance.map((entry) => {
    listed.add(entry.nodeId);
    const node = byId.get(entry.nodeId);
    return {
      ...entry,
      node,
      deleted: nodes !== undefined && node === undefined,
      finishedRuns: entry.successRuns + entry.failedRuns,
    };
  });
  for (const node of nodes ?? []) {
    if (listed.has(node.id)) continue;
    rows.push({
      nodeId: node.id,
      nodeName: node.name,
      isLocal: node.isLocal,
      totalRuns: 0,
      successRuns: 0,
      failedRuns: 0,
      successRate: 0,
      totalBytes: 0,
      avgDurationSecs: 0,
      node,
      deleted: false,
      finishedRuns: 0,
    });
  }
  return rows;
}

/**
 * Whether a remote agent never reported in (as the nodes page decides): its `lastSeen` is only
 * its creation time until the first heartbeat fills in the version and host.
 */
export const nodeNeverConnected = (
  node: Pick<ClusterNode, 'isLocal' | 'status' | 'agentVersion' | 'hostname'>,
): boolean => !node.isLocal && node.status === 'offline' && node.agentVersion === '' && node.hostname === '';

/** Colour level of a success rate, the same thresholds as the dashboard's success-rate card. */
export const successRateLevel = (rate: number): 'success' | 'warning' | 'error' =>
  rate >= 95 ? 'success' : rate >= 80 ? 'warning' : 'error';

/**
 * A mean duration in seconds: one decimal under a minute (`0.4s`, `12.5s`, where whole seconds
 * would round short runs to `0s`), else the usual `1m 5s`.
 */
export function formatAverageDuration(seconds: number, units: DurationUnits): string {
  if (Number.isFinite(seconds) && seconds >= 0 && seconds < 60 && !Number.isInteger(seconds)) {
    return `${seconds.toFixed(1)}${units.second}`;
  }
  return formatDuration(seconds, units);
}

/** Colour of the RPO coverage: `none` without a task that has an RPO. */
export type SlaLevel = 'none' | 'success' | 'warning' | 'error';

/** Coverage at or above this ratio is a warning rather than an error. */
export const SLA_WARNING_COVERAGE = 0.8;

/**
 * Level of the RPO coverage: green only when every task with an RPO is within it, orange while
 * at least 80 % are, red below.
 */
export function slaLevel(
  sla: Pick<SlaCompliance, 'totalTasksWithSla' | 'violated' | 'coverageRate'>,
): SlaLevel {
  if (sla.totalTasksWithSla <= 0) return 'none';
  if (sla.violated <= 0) return 'success';
  return sla.coverageRate >= SLA_WARNING_COVERAGE ? 'warning' : 'error';
}

/** Hours past the RPO (2 decimals, never negative): since the last success, or since creation. */
export const slaOverdueHours = (
  violation: Pick<SlaViolation, 'hoursSinceLastSuccess' | 'slaHoursRpo'>,
): number => Math.max(0, Math.round((violation.hoursSinceLastSuccess - violation.slaHoursRpo) * 100) / 100);

/**
 * A span of hours in whole minutes as its two largest units: `26.5` → `1d 2h`, `0.25` → `15m`;
 * anything above zero shows at least `1m`.
 */
export function formatHoursSpan(hours: number, units: DurationUnits): string {
  if (!Number.isFinite(hours) || hours < 0) return formatDuration(Number.NaN, units);
  const minutes = Math.round(hours * 60);
  return formatDuration((hours > 0 ? Math.max(1, minutes) : 0) * 60, units, 2);
}
