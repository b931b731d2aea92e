import type { ClusterOverview, NodePerformance } from '@backupx/contract';
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
};

/** Page of the backup records; `?recordId=` opens a record's details (SPEC §15.5). */
export const recordDetailsUrl = (id: number) => `/backup/records?recordId=${encodeURIComponent(String(id))}`;
export const TASKS_URL = '/backup/tasks';

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
