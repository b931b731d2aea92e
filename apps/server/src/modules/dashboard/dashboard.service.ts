import {
  type ClusterOverview,
  type NodePerformance,
  type NodeSummary,
  DASHBOARD_DEFAULT_DAYS,
  DASHBOARD_MAX_DAYS,
  type DashboardBreakdown,
  type DashboardRecord,
  type DashboardStats,
  type DashboardTimelinePoint,
} from '@backupx/contract';
import type { Clock } from '../../lib/clock.ts';
import type { DashboardRepository, NodeRunStats, RecentRecordRow } from './dashboard.repository.ts';

export interface DashboardServiceDeps {
  dashboardRepository: DashboardRepository;
  clock: Clock;
  /** The cluster's nodes with effective status and version awareness. */
  nodes: { list(): Promise<NodeSummary[]> };
  /** Names of nodes by id (no status or queue figures: cheaper than `nodes.list`). */
  nodeNames: (ids: readonly number[]) => Promise<Map<number, string>>;
  masterVersion: string;
}

export type DashboardService = ReturnType<typeof createDashboardService>;

const DAY_MS = 86_400_000;
const RECENT_RECORDS = 10;
const SUCCESS_RATE_WINDOW_DAYS = 30;

/** `days` as asked: absent or ≤ 0 means 30, more than 365 means 365. */
export const normaliseDays = (days: number | undefined): number => {
  if (days === undefined || days <= 0) return DASHBOARD_DEFAULT_DAYS;
  return Math.min(days, DASHBOARD_MAX_DAYS);
};

/** Midnight UTC of the first day of a window of `days` days ending today (UTC). */
export const windowStart = (now: Date, days: number): Date => {
  const todayStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(todayStart - (days - 1) * DAY_MS);
};

/** Percentage with one decimal; 0 when there is nothing to divide. */
export const percentage = (part: number, whole: number): number =>
  whole <= 0 ? 0 : Math.round((part / whole) * 1000) / 10;

const taskTypeLabels: Record<string, string> = {
  file: 'File',
  mysql: 'MySQL',
  postgresql: 'PostgreSQL',
  sqlite: 'SQLite',
  saphana: 'SAP HANA',
  mongodb: 'MongoDB',
};

const statusLabels = { success: 'Success', failed: 'Failed', running: 'Running' } as const;

const byCountDesc = (a: { key: string; count: number }, b: { key: string; count: number }) =>
  b.count - a.count || a.key.localeCompare(b.key);

const toDashboardRecord = (row: RecentRecordRow): DashboardRecord => ({
  ...row,
  taskName: row.taskName ?? '',
  storageTargetName: row.storageTargetName ?? '',
  locked: row.locked === 1,
});

const emptyRuns = (nodeId: number): NodeRunStats => ({
  nodeId,
  total: 0,
  success: 0,
  failed: 0,
  successBytes: 0,
  successSeconds: 0,
});

const addRuns = (into: NodeRunStats, from: NodeRunStats): void => {
  into.total += from.total;
  into.success += from.success;
  into.failed += from.failed;
  into.successBytes += from.successBytes;
  into.successSeconds += from.successSeconds;
};

const MASTER_LABEL = 'Master';

/**
 * Node id 0 means "this master": tasks without a node, and records made before nodes existed.
 * They belong to the local node (BackupX listed the local node with zero runs — SPEC §11.10 quirk).
 */
const ownerOf = (nodeId: number, localId: number | undefined): number =>
  nodeId === 0 && localId !== undefined ? localId : nodeId;

export const createDashboardService = (deps: DashboardServiceDeps) => {
  const { dashboardRepository: repository, clock } = deps;
  const localIdOf = (nodes: NodeSummary[]) => nodes.find((node) => node.isLocal)?.id;

  return {
    async stats(): Promise<DashboardStats> {
      const now = clock.now();
      const since = new Date(now.getTime() - SUCCESS_RATE_WINDOW_DAYS * DAY_MS).toISOString();
      const [tasks, records, windowCounts, recent, usage] = await Promise.all([
        repository.taskCounts(),
        repository.recordTotals(),
        repository.recordCountsByStatusSince(since),
        repository.recentRecords(RECENT_RECORDS),
        repository.successBytesByStorageTarget(),
      ]);
      const windowTotal = [...windowCounts.values()].reduce((sum, count) => sum + count, 0);
      return {
        totalTasks: tasks.total,
        enabledTasks: tasks.enabled,
        totalRecords: records.total,
        successRate: percentage(windowCounts.get('success') ?? 0, windowTotal),
        totalBackupBytes: records.successBytes,
        lastBackupAt: records.lastStartedAt,
        recentRecords: recent.map(toDashboardRecord),
        storageUsage: usage.map((entry) => ({
          storageTargetId: entry.storageTargetId,
          targetName: entry.targetName ?? '',
          totalSize: entry.totalSize,
        })),
      };
    },

    /** One point per UTC day of the window, oldest first, days without records included. */
    async timeline(requestedDays: number | undefined): Promise<DashboardTimelinePoint[]> {
      const days = normaliseDays(requestedDays);
      const start = windowStart(clock.now(), days);
      const points = new Map<string, DashboardTimelinePoint>();
      for (let i = 0; i < days; i += 1) {
        const date = new Date(start.getTime() + i * DAY_MS).toISOString().slice(0, 10);
        points.set(date, { date, total: 0, success: 0, failed: 0 });
      }
      for (const { day, status, count } of await repository.recordCountsByDaySince(start.toISOString())) {
        const point = points.get(day);
        if (point === undefined) continue; // started "in the future" by a skewed clock
        point.total += count;
        if (status === 'success') point.success += count;
        else if (status === 'failed') point.failed += count;
      }
      return [...points.values()];
    },

    async breakdown(requestedDays: number | undefined): Promise<DashboardBreakdown> {
      const days = normaliseDays(requestedDays);
      const start = windowStart(clock.now(), days);
      const [types, statuses, nodes, storage] = await Promise.all([
        repository.taskCountsByType(),
        repository.recordCountsByStatusSince(start.toISOString()),
        repository.taskCountsByNode(),
        repository.successBytesByStorageTarget(),
      ]);
      const nodeNames = await deps.nodeNames(nodes.map((entry) => entry.nodeId));
      return {
        byType: types
          .map(({ key, count }) => ({ key, label: taskTypeLabels[key] ?? key, count }))
          .sort(byCountDesc),
        byStatus: (['success', 'failed', 'running'] as const)
          .map((key) => ({ key, label: statusLabels[key], count: statuses.get(key) ?? 0 }))
          .sort(byCountDesc),
        byNode: nodes
          .map(({ nodeId, count }) => ({
            key: String(nodeId),
            label: nodeId === 0 ? MASTER_LABEL : (nodeNames.get(nodeId) ?? `Node ${String(nodeId)}`),
            count,
          }))
          .sort(byCountDesc),
        byStorage: storage.map((entry) => ({
          key: String(entry.storageTargetId),
          label: entry.targetName ?? `#${entry.storageTargetId}`,
          totalSize: entry.totalSize,
        })),
      };
    },

    async cluster(): Promise<ClusterOverview> {
      const [nodes, taskCounts] = await Promise.all([deps.nodes.list(), repository.taskCountsByNode()]);
      const localId = localIdOf(nodes);
      const tasksByNode = new Map<number, number>();
      for (const { nodeId, count } of taskCounts) {
        const owner = ownerOf(nodeId, localId);
        tasksByNode.set(owner, (tasksByNode.get(owner) ?? 0) + count);
      }
      const online = nodes.filter((node) => node.status === 'online').length;
      return {
        masterVersion: deps.masterVersion,
        totalNodes: nodes.length,
        onlineNodes: online,
        offlineNodes: nodes.length - online,
        outdatedAgents: nodes.filter((node) => !node.isLocal && node.versionStatus === 'outdated').length,
        nodes: nodes.map((node) => ({
          id: node.id,
          name: node.name,
          hostname: node.hostname,
          status: node.status,
          isLocal: node.isLocal,
          agentVersion: node.agentVersion,
          versionStatus: node.versionStatus,
          lastSeen: node.lastSeen,
          taskCount: tasksByNode.get(node.id) ?? 0,
        })),
      };
    },

    /** Every node, even without runs; best success rate first, then the busiest. */
    async nodePerformance(requestedDays: number | undefined): Promise<NodePerformance[]> {
      const days = normaliseDays(requestedDays);
      const start = windowStart(clock.now(), days);
      const [nodes, runs] = await Promise.all([
        deps.nodes.list(),
        repository.runStatsByNodeSince(start.toISOString()),
      ]);
      const localId = localIdOf(nodes);
      const byNode = new Map<number, NodeRunStats>();
      for (const stats of runs) {
        const owner = ownerOf(stats.nodeId, localId);
        const into = byNode.get(owner) ?? emptyRuns(owner);
        addRuns(into, stats);
        byNode.set(owner, into);
      }
      const named = new Map(nodes.map((node) => [node.id, node]));
      // Records of deleted nodes keep their own line, so no run disappears from the totals.
      const ids = new Set([...nodes.map((node) => node.id), ...byNode.keys()]);
      return [...ids]
        .map((nodeId): NodePerformance => {
          const stats = byNode.get(nodeId) ?? emptyRuns(nodeId);
          const node = named.get(nodeId);
          return {
            nodeId,
            nodeName: node?.name ?? (nodeId === 0 ? MASTER_LABEL : `Node ${String(nodeId)}`),
            isLocal: node?.isLocal ?? nodeId === 0,
            totalRuns: stats.total,
            successRuns: stats.success,
            failedRuns: stats.failed,
            successRate: percentage(stats.success, stats.success + stats.failed),
            totalBytes: stats.successBytes,
            avgDurationSecs:
              stats.success === 0 ? 0 : Math.round((stats.successSeconds / stats.success) * 10) / 10,
          };
        })
        .sort((a, b) => b.successRate - a.successRate || b.totalRuns - a.totalRuns || a.nodeId - b.nodeId);
    },
  };
};
