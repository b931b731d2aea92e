import { describe, expect, it } from 'vitest';
import type { NodePerformance } from '@backupx/contract';
import { defaultDurationUnits } from '../../lib/format.ts';
import {
  dashboardKeys,
  formatAverageDuration,
  formatHoursSpan,
  nodeDetailUrl,
  nodeNeverConnected,
  nodePerformanceRows,
  slaLevel,
  slaOverdueHours,
  successRateLevel,
  taskDetailsUrl,
} from './dashboardQueries.ts';
import type { ClusterNode } from './dashboardQueries.ts';

const node = (id: number, overrides: Partial<ClusterNode> = {}): ClusterNode => ({
  id,
  name: `node-${String(id)}`,
  hostname: `host-${String(id)}`,
  status: 'online',
  isLocal: false,
  agentVersion: '0.1.0',
  versionStatus: 'current',
  lastSeen: '2026-01-02T03:04:05.000Z',
  taskCount: 0,
  ...overrides,
});

const performance = (nodeId: number, overrides: Partial<NodePerformance> = {}): NodePerformance => ({
  nodeId,
  nodeName: `node-${String(nodeId)}`,
  isLocal: false,
  totalRuns: 0,
  successRuns: 0,
  failedRuns: 0,
  successRate: 0,
  totalBytes: 0,
  avgDurationSecs: 0,
  ...overrides,
});

describe('dashboard cluster logic', () => {
  it('keeps every cluster query under the dashboard prefix, so refreshAll covers it', () => {
    expect(dashboardKeys.cluster[0]).toBe(dashboardKeys.all[0]);
    expect(dashboardKeys.nodePerformance(30)).toEqual(['dashboard', 'node-performance', 30]);
  });

  it('links a node to its detail page', () => {
    expect(nodeDetailUrl(7)).toBe('/nodes/7');
  });

  it('joins the runs with the cluster nodes in the server order', () => {
    const rows = nodePerformanceRows(
      [
        performance(2, { totalRuns: 4, successRuns: 3, failedRuns: 1, successRate: 75 }),
        performance(1, { isLocal: true, totalRuns: 3, successRuns: 2, failedRuns: 0, successRate: 100 }),
      ],
      [node(1, { isLocal: true }), node(2, { status: 'offline' })],
    );
    expect(rows.map((row) => row.nodeId)).toEqual([2, 1]);
    expect(rows[0]?.node?.status).toBe('offline');
    expect(rows[0]?.finishedRuns).toBe(4);
    // A running record counts in totalRuns but not in the success-rate base.
    expect(rows[1]?.finishedRuns).toBe(2);
    expect(rows.every((row) => !row.deleted)).toBe(true);
  });

  it('adds cluster nodes the performance answer misses, with zero runs', () => {
    const rows = nodePerformanceRows([performance(1)], [node(1), node(9, { name: 'late' })]);
    expect(rows.map((row) => [row.nodeId, row.nodeName, row.totalRuns])).toEqual([
      [1, 'node-1', 0],
      [9, 'late', 0],
    ]);
  });

  it('marks runs of a deleted node only once the cluster is known', () => {
    expect(nodePerformanceRows([performance(5)], [node(1)])[0]?.deleted).toBe(true);
    const unknown = nodePerformanceRows([performance(5)], undefined);
    expect(unknown[0]?.deleted).toBe(false);
    expect(unknown[0]?.node).toBeUndefined();
  });

  it('colours success rates like the success-rate card', () => {
    expect(successRateLevel(100)).toBe('success');
    expect(successRateLevel(95)).toBe('success');
    expect(successRateLevel(94.9)).toBe('warning');
    expect(successRateLevel(80)).toBe('warning');
    expect(successRateLevel(79.9)).toBe('error');
  });

  it('shows short mean durations with one decimal', () => {
    expect(formatAverageDuration(0.4, defaultDurationUnits)).toBe('0.4s');
    expect(formatAverageDuration(3.7, defaultDurationUnits)).toBe('3.7s');
    expect(formatAverageDuration(12, defaultDurationUnits)).toBe('12s');
    expect(formatAverageDuration(65.5, defaultDurationUnits)).toBe('1m 5s');
    expect(formatAverageDuration(0, defaultDurationUnits)).toBe('0s');
  });

  it('tells a never-connected agent from an offline one', () => {
    expect(nodeNeverConnected(node(2, { status: 'offline', agentVersion: '', hostname: '' }))).toBe(true);
    expect(nodeNeverConnected(node(2, { status: 'offline' }))).toBe(false);
    expect(
      nodeNeverConnected(node(1, { isLocal: true, status: 'offline', agentVersion: '', hostname: '' })),
    ).toBe(false);
  });
});

describe('dashboard SLA logic', () => {
  it('keys the SLA query under the dashboard prefix, so a refresh reloads it', () => {
    expect(dashboardKeys.sla).toEqual(['dashboard', 'sla']);
    expect(dashboardKeys.sla[0]).toBe(dashboardKeys.all[0]);
  });

  it('links a task to the tasks page with its details open', () => {
    expect(taskDetailsUrl(7)).toBe('/backup/tasks?taskId=7');
  });

  it('colours the coverage: none, all within, mostly within, below 80 %', () => {
    expect(slaLevel({ totalTasksWithSla: 0, violated: 0, coverageRate: 0 })).toBe('none');
    expect(slaLevel({ totalTasksWithSla: 3, violated: 0, coverageRate: 1 })).toBe('success');
    expect(slaLevel({ totalTasksWithSla: 5, violated: 1, coverageRate: 0.8 })).toBe('warning');
    expect(slaLevel({ totalTasksWithSla: 10, violated: 1, coverageRate: 0.9 })).toBe('warning');
    expect(slaLevel({ totalTasksWithSla: 3, violated: 1, coverageRate: 0.6667 })).toBe('error');
    expect(slaLevel({ totalTasksWithSla: 1, violated: 1, coverageRate: 0 })).toBe('error');
  });

  it('measures how far past its RPO a task is, never below zero', () => {
    expect(slaOverdueHours({ hoursSinceLastSuccess: 30.5, slaHoursRpo: 24 })).toBe(6.5);
    expect(slaOverdueHours({ hoursSinceLastSuccess: 1.004, slaHoursRpo: 1 })).toBe(0);
    expect(slaOverdueHours({ hoursSinceLastSuccess: 0.5, slaHoursRpo: 1 })).toBe(0);
    // Floating point: 25.1 - 24 is 1.1000000000000014.
    expect(slaOverdueHours({ hoursSinceLastSuccess: 25.1, slaHoursRpo: 24 })).toBe(1.1);
  });

  it('formats a span of hours as its two largest units in whole minutes', () => {
    expect(formatHoursSpan(26.5, defaultDurationUnits)).toBe('1d 2h');
    expect(formatHoursSpan(6.5, defaultDurationUnits)).toBe('6h 30m');
    expect(formatHoursSpan(0.25, defaultDurationUnits)).toBe('15m');
    expect(formatHoursSpan(0.001, defaultDurationUnits)).toBe('1m');
    expect(formatHoursSpan(0, defaultDurationUnits)).toBe('0s');
    expect(formatHoursSpan(-1, defaultDurationUnits)).toBe('—');
  });
});
