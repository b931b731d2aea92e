import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  ClusterOverview,
  DashboardBreakdown,
  DashboardStats,
  DashboardTimelinePoint,
  NodePerformance,
} from '@backupx/contract';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

const DAY = 86_400_000;
const HOUR = 3_600_000;

describe.each(dialects)('dashboard on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let viewer: string;

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    viewer = (await master.createUser(admin, 'dash-viewer', 'viewer')).token;
  });
  afterAll(async () => {
    await master.destroy();
  });

  const db = () => master.container.database.db;
  const stamp = () => new Date().toISOString();

  const insertTarget = async (name: string) =>
    (
      await db()
        .insertInto('storageTargets')
        .values({
          name,
          type: 'local_disk',
          description: '',
          enabled: 1,
          starred: 0,
          configCiphertext: 'unused',
          configVersion: 1,
          lastTestedAt: null,
          lastTestStatus: 'unknown',
          lastTestMessage: '',
          quotaBytes: 0,
          createdAt: stamp(),
          updatedAt: stamp(),
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;

  const insertTask = async (name: string, type: string, enabled: boolean, nodeId: number) =>
    (
      await db()
        .insertInto('backupTasks')
        .values({
          name,
          type,
          enabled: enabled ? 1 : 0,
          cronExpr: '',
          sourcePath: '',
          sourcePaths: '[]',
          excludePatterns: '[]',
          dbHost: '',
          dbPort: 0,
          dbUser: '',
          dbName: '',
          dbPath: '',
          dbPasswordCiphertext: '',
          extraConfig: '',
          storageTargetId: 0,
          nodeId,
          nodePoolTag: '',
          tags: '',
          retentionDays: 30,
          compression: 'gzip',
          encrypt: 0,
          maxBackups: 10,
          backupMode: 'full',
          diffFullIntervalDays: 7,
          keepDaily: 0,
          keepWeekly: 0,
          keepMonthly: 0,
          keepYearly: 0,
          lastRunAt: null,
          lastStatus: 'idle',
          verifyEnabled: 0,
          verifyCronExpr: '',
          verifyMode: 'quick',
          slaHoursRpo: 0,
          alertOnConsecutiveFails: 1,
          replicationTargetIds: '',
          maintenanceWindows: '',
          dependsOnTaskIds: '',
          createdAt: stamp(),
          updatedAt: stamp(),
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;

  const insertRecord = async (record: {
    taskId: number;
    storageTargetId: number;
    status: 'success' | 'failed' | 'running';
    fileSize?: number;
    startedAt: Date;
  }) =>
    (
      await db()
        .insertInto('backupRecords')
        .values({
          taskId: record.taskId,
          storageTargetId: record.storageTargetId,
          nodeId: 0,
          status: record.status,
          fileName: record.status === 'success' ? `backup-${record.taskId}.tar.gz` : '',
          fileSize: record.fileSize ?? 0,
          checksum: record.status === 'success' ? 'a'.repeat(64) : '',
          storagePath: record.status === 'success' ? `task/backup-${record.taskId}.tar.gz` : '',
          storageTransferMode: '',
          storageUploadResults: '[]',
          durationSeconds: record.status === 'running' ? 0 : 42,
          locked: 0,
          backupKind: 'full',
          baseRecordId: 0,
          manifest: 'MANIFEST-MUST-NOT-LEAK',
          errorMessage: record.status === 'failed' ? 'disk full' : '',
          logContent: 'LOG-MUST-NOT-LEAK',
          runnerId: '',
          heartbeatAt: null,
          startedAt: record.startedAt.toISOString(),
          completedAt:
            record.status === 'running' ? null : new Date(record.startedAt.getTime() + 42_000).toISOString(),
          createdAt: stamp(),
          updatedAt: stamp(),
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;

  const get = <T>(path: string, token = viewer) => master.api.get<Envelope<T>>(path, { token });

  it('reports an empty installation as zeros', async () => {
    const stats = await get<DashboardStats>('/api/dashboard/stats');
    expect(stats.status).toBe(200);
    expect(stats.body.data).toEqual({
      totalTasks: 0,
      enabledTasks: 0,
      totalRecords: 0,
      successRate: 0,
      totalBackupBytes: 0,
      lastBackupAt: null,
      recentRecords: [],
      storageUsage: [],
    });
    const timeline = await get<DashboardTimelinePoint[]>('/api/dashboard/timeline?days=3');
    expect(timeline.body.data.map((point) => point.total)).toEqual([0, 0, 0]);
    const breakdown = await get<DashboardBreakdown>('/api/dashboard/breakdown');
    expect(breakdown.body.data).toEqual({
      byType: [],
      byStatus: [
        { key: 'failed', label: 'Failed', count: 0 },
        { key: 'running', label: 'Running', count: 0 },
        { key: 'success', label: 'Success', count: 0 },
      ],
      byNode: [],
      byStorage: [],
    });
  });

  it('summarises tasks and records', async () => {
    const now = master.clock.now();
    // Fixed points relative to today's UTC midnight, so dates do not depend on the time of day.
    const midnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const at = (daysAgo: number, hours: number) =>
      new Date(midnight.getTime() - daysAgo * DAY + hours * HOUR);
    const dayOf = (daysAgo: number) =>
      new Date(midnight.getTime() - daysAgo * DAY).toISOString().slice(0, 10);

    const primary = await insertTarget('primary disk');
    const archive = await insertTarget('archive disk');
    const files = await insertTask('files', 'file', true, 0);
    const shop = await insertTask('shop db', 'mysql', true, 0);
    const old = await insertTask('old files', 'file', false, 5);
    const erp = await insertTask('erp db', 'postgresql', true, 5);
    const deletedTask = 999_999;
    const deletedTarget = 888_888;

    const running = await insertRecord({
      taskId: erp,
      storageTargetId: primary,
      status: 'running',
      startedAt: at(0, 0.02),
    });
    const yesterday = await insertRecord({
      taskId: files,
      storageTargetId: primary,
      status: 'success',
      fileSize: 1000,
      startedAt: at(1, 1),
    });
    await insertRecord({
      taskId: old,
      storageTargetId: primary,
      status: 'success',
      fileSize: 2000,
      startedAt: at(1, 2),
    });
    await insertRecord({ taskId: files, storageTargetId: primary, status: 'failed', startedAt: at(2, 1) });
    await insertRecord({
      taskId: shop,
      storageTargetId: archive,
      status: 'success',
      fileSize: 5000,
      startedAt: at(3, 1),
    });
    const orphan = await insertRecord({
      taskId: deletedTask,
      storageTargetId: deletedTarget,
      status: 'success',
      fileSize: 300,
      startedAt: at(5, 1),
    });
    await insertRecord({ taskId: files, storageTargetId: primary, status: 'failed', startedAt: at(6, 1) });
    await insertRecord({ taskId: shop, storageTargetId: archive, status: 'failed', startedAt: at(7, 1) });
    await insertRecord({ taskId: shop, storageTargetId: archive, status: 'failed', startedAt: at(10, 1) });
    await insertRecord({
      taskId: shop,
      storageTargetId: archive,
      status: 'success',
      fileSize: 7000,
      startedAt: at(40, 1),
    });
    await insertRecord({ taskId: files, storageTargetId: primary, status: 'failed', startedAt: at(41, 1) });

    const stats = await get<DashboardStats>('/api/dashboard/stats');
    expect(stats.status).toBe(200);
    expect(stats.text).not.toContain('MUST-NOT-LEAK');
    const data = stats.body.data;
    expect(data).toMatchObject({
      totalTasks: 4,
      enabledTasks: 3,
      totalRecords: 11,
      // Last 30 days: 4 successes among 9 records (one of them still running).
      successRate: 44.4,
      totalBackupBytes: 1000 + 2000 + 5000 + 300 + 7000,
      lastBackupAt: at(0, 0.02).toISOString(),
      storageUsage: [
        { storageTargetId: archive, targetName: 'archive disk', totalSize: 12_000 },
        { storageTargetId: primary, targetName: 'primary disk', totalSize: 3000 },
        { storageTargetId: deletedTarget, targetName: '', totalSize: 300 },
      ],
    });
    expect(data.recentRecords).toHaveLength(10);
    expect(data.recentRecords.map((record) => record.startedAt)).toEqual(
      [...data.recentRecords.map((record) => record.startedAt)].sort().reverse(),
    );
    expect(data.recentRecords[0]).toEqual({
      id: running,
      taskId: erp,
      taskName: 'erp db',
      storageTargetId: primary,
      storageTargetName: 'primary disk',
      status: 'running',
      fileName: '',
      fileSize: 0,
      checksum: '',
      storagePath: '',
      durationSeconds: 0,
      errorMessage: '',
      startedAt: at(0, 0.02).toISOString(),
      completedAt: null,
      locked: false,
      backupKind: 'full',
    });
    expect(data.recentRecords.find((record) => record.id === yesterday)).toMatchObject({
      taskName: 'files',
      status: 'success',
      fileSize: 1000,
      fileName: `backup-${files}.tar.gz`,
      checksum: 'a'.repeat(64),
      durationSeconds: 42,
    });
    expect(data.recentRecords.find((record) => record.id === orphan)).toMatchObject({
      taskName: '',
      storageTargetName: '',
    });
    // The oldest record is not among the ten newest.
    expect(data.recentRecords.map((record) => record.startedAt)).not.toContain(at(41, 1).toISOString());

    const week = await get<DashboardTimelinePoint[]>('/api/dashboard/timeline?days=7');
    expect(week.status).toBe(200);
    expect(week.body.data).toEqual([
      { date: dayOf(6), total: 1, success: 0, failed: 1 },
      { date: dayOf(5), total: 1, success: 1, failed: 0 },
      { date: dayOf(4), total: 0, success: 0, failed: 0 },
      { date: dayOf(3), total: 1, success: 1, failed: 0 },
      { date: dayOf(2), total: 1, success: 0, failed: 1 },
      { date: dayOf(1), total: 2, success: 2, failed: 0 },
      { date: dayOf(0), total: 1, success: 0, failed: 0 },
    ]);

    const month = await get<DashboardTimelinePoint[]>('/api/dashboard/timeline');
    expect(month.body.data).toHaveLength(30);
    expect(month.body.data[0]?.date).toBe(dayOf(29));
    expect(month.body.data.at(-1)?.date).toBe(dayOf(0));
    expect(month.body.data.reduce((sum, point) => sum + point.total, 0)).toBe(9);
    for (const days of ['0', '-5', '+0']) {
      expect(
        (await get<DashboardTimelinePoint[]>(`/api/dashboard/timeline?days=${encodeURIComponent(days)}`)).body
          .data,
      ).toEqual(month.body.data);
    }
    const capped = await get<DashboardTimelinePoint[]>('/api/dashboard/timeline?days=100000');
    expect(capped.body.data).toHaveLength(365);
    expect(capped.body.data.reduce((sum, point) => sum + point.total, 0)).toBe(11);

    const breakdown = await get<DashboardBreakdown>('/api/dashboard/breakdown?days=7');
    expect(breakdown.status).toBe(200);
    expect(breakdown.body.data).toEqual({
      byType: [
        { key: 'file', label: 'File', count: 2 },
        { key: 'mysql', label: 'MySQL', count: 1 },
        { key: 'postgresql', label: 'PostgreSQL', count: 1 },
      ],
      byStatus: [
        { key: 'success', label: 'Success', count: 4 },
        { key: 'failed', label: 'Failed', count: 2 },
        { key: 'running', label: 'Running', count: 1 },
      ],
      byNode: [
        { key: '0', label: 'Master', count: 2 },
        { key: '5', label: 'Node 5', count: 2 },
      ],
      byStorage: [
        { key: String(archive), label: 'archive disk', totalSize: 12_000 },
        { key: String(primary), label: 'primary disk', totalSize: 3000 },
        { key: String(deletedTarget), label: `#${deletedTarget}`, totalSize: 300 },
      ],
    });
    const wholeMonth = await get<DashboardBreakdown>('/api/dashboard/breakdown');
    expect(wholeMonth.body.data.byStatus).toEqual([
      { key: 'failed', label: 'Failed', count: 4 },
      { key: 'success', label: 'Success', count: 4 },
      { key: 'running', label: 'Running', count: 1 },
    ]);
  });

  it("shows the cluster and each node's runs, counting runs made before nodes existed for the master", async () => {
    const cluster = await get<ClusterOverview>('/api/dashboard/cluster');
    expect(cluster.status).toBe(200);
    // Only this master's own node exists; tasks without a node (2 in the previous test) are its.
    expect(cluster.body.data).toMatchObject({
      totalNodes: 1,
      onlineNodes: 1,
      offlineNodes: 0,
      outdatedAgents: 0,
    });
    expect(cluster.body.data.masterVersion).not.toBe('');
    const local = cluster.body.data.nodes[0];
    expect(local).toMatchObject({ isLocal: true, status: 'online', taskCount: 2 });

    // A run of a node deleted since keeps a line of its own.
    const task = await insertTask('gone node files', 'file', true, 0);
    const gone = await insertRecord({
      taskId: task,
      storageTargetId: 0,
      status: 'failed',
      startedAt: master.clock.now(),
    });
    await db().updateTable('backupRecords').set({ nodeId: 77 }).where('id', '=', gone).execute();

    const now = master.clock.now();
    const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - 6 * DAY);
    const inWindow = await db()
      .selectFrom('backupRecords')
      .select(['status', 'fileSize', 'nodeId'])
      .where('startedAt', '>=', since.toISOString())
      .execute();
    const ownRuns = inWindow.filter((row) => row.nodeId === 0);
    const successes = ownRuns.filter((row) => row.status === 'success');
    const failures = ownRuns.filter((row) => row.status === 'failed');
    const performance = await get<NodePerformance[]>('/api/dashboard/node-performance?days=7');
    expect(performance.status).toBe(200);
    expect(performance.body.data).toEqual([
      {
        nodeId: local?.id,
        nodeName: local?.name,
        isLocal: true,
        totalRuns: ownRuns.length,
        successRuns: successes.length,
        failedRuns: failures.length,
        successRate: Math.round((successes.length / (successes.length + failures.length)) * 1000) / 10,
        totalBytes: successes.reduce((sum, row) => sum + row.fileSize, 0),
        avgDurationSecs: 42,
      },
      {
        nodeId: 77,
        nodeName: 'Node 77',
        isLocal: false,
        totalRuns: 1,
        successRuns: 0,
        failedRuns: 1,
        successRate: 0,
        totalBytes: 0,
        avgDurationSecs: 0,
      },
    ]);
    expect(successes.length).toBeGreaterThan(0);
  });

  it('refuses a days value that is not an integer, and anonymous callers', async () => {
    for (const days of ['1.5', 'abc', '', '7days', '1e3', '0x10']) {
      for (const path of ['timeline', 'breakdown', 'node-performance']) {
        const response = await get(`/api/dashboard/${path}?days=${encodeURIComponent(days)}`);
        expect(response.status, `${path} ${days}`).toBe(400);
        expect(response.body.code, `${path} ${days}`).toBe('DASHBOARD_TIMELINE_INVALID');
      }
    }
    const unknown = await get('/api/dashboard/timeline?weeks=2');
    expect(unknown.body.code).toBe('DASHBOARD_TIMELINE_INVALID');
    for (const path of ['stats', 'timeline', 'breakdown', 'cluster', 'node-performance']) {
      const response = await master.api.get(`/api/dashboard/${path}`);
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('AUTH_REQUIRED');
    }
  });
});
