import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComplianceReport, SlaCompliance, SystemEvent } from '@backupx/contract';
import { insertBackupRecord } from '../../test-support/fixtures.ts';
import { createSlaMonitor } from './sla-monitor.ts';
import { createSlaRepository } from './sla.repository.ts';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

const HOUR = 3_600_000;

/**
 * SLA / RPO compliance, its monitor and the compliance report (SPEC §10) over a history written at
 * chosen times. The RPO counts from the last *successful* backup (quirk 13).
 */
describe.each(dialects)('SLA and compliance report on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let viewer: string;
  let work: string;
  const ids: Record<string, number> = {};
  const events: SystemEvent[] = [];

  const db = () => master.container.database.db;
  const get = <T>(url: string, token = viewer) => master.api.get<Envelope<T>>(url, { token });
  const ago = (hours: number) => new Date(master.clock.now().getTime() - hours * HOUR);

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    viewer = (await master.createUser(admin, 'sla-viewer', 'viewer')).token;
    work = mkdtempSync(path.join(tmpdir(), 'bx-sla-'));
    const target = await master.api.post<Envelope<{ id: number }>>(
      '/api/storage-targets',
      { name: 'disk', type: 'local_disk', config: { basePath: work } },
      { token: admin },
    );
    const create = async (name: string, body: Record<string, unknown>) => {
      const response = await master.api.post<Envelope<{ id: number }>>(
        '/api/backup/tasks',
        { name, type: 'file', sourcePaths: [work], storageTargetIds: [target.body.data.id], ...body },
        { token: admin },
      );
      expect(response.status, response.text).toBe(200);
      ids[name] = response.body.data.id;
    };
    await create('fresh', { slaHoursRpo: 24, encrypt: true });
    await create('stale', { slaHoursRpo: 24 });
    await create('never', { slaHoursRpo: 12 });
    await create('off', { slaHoursRpo: 1, enabled: false });
    await create('untracked', {});
    // "never" was created 20 h ago and has only failed since.
    await db()
      .updateTable('backupTasks')
      .set({ createdAt: ago(20).toISOString() })
      .where('id', '=', ids.never ?? 0)
      .execute();
    await insertBackupRecord(db(), {
      taskId: ids.fresh ?? 0,
      status: 'success',
      startedAt: ago(2),
      fileSize: 1000,
    });
    await insertBackupRecord(db(), { taskId: ids.fresh ?? 0, status: 'failed', startedAt: ago(24 * 10) });
    await insertBackupRecord(db(), {
      taskId: ids.stale ?? 0,
      status: 'success',
      startedAt: ago(30),
      fileSize: 700,
    });
    // A failed run does not reset the RPO clock.
    await insertBackupRecord(db(), { taskId: ids.stale ?? 0, status: 'failed', startedAt: ago(1) });
    await insertBackupRecord(db(), { taskId: ids.never ?? 0, status: 'failed', startedAt: ago(3) });
    await insertBackupRecord(db(), {
      taskId: ids.off ?? 0,
      status: 'success',
      startedAt: ago(24 * 40),
      fileSize: 5,
    });
    master.container.services.events.subscribe((event) => events.push(event));
  });
  afterAll(async () => {
    await master.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it('reports RPO compliance from the last successful backup', async () => {
    const response = await get<SlaCompliance>('/api/dashboard/sla');
    expect(response.status, response.text).toBe(200);
    const sla = response.body.data;
    expect(sla).toMatchObject({ totalTasksWithSla: 3, compliant: 1, violated: 2, coverageRate: 0.3333 });
    expect(sla.violations.map((violation) => violation.taskName)).toEqual(['stale', 'never']);
    const [stale, never] = sla.violations;
    expect(stale).toMatchObject({ slaHoursRpo: 24, neverSucceeded: false, nodeId: 0, nodeName: '' });
    expect(stale?.hoursSinceLastSuccess).toBeGreaterThan(29);
    expect(stale?.hoursSinceLastSuccess).toBeLessThan(31);
    expect(stale?.lastSuccessAt).toBeDefined();
    expect(never).toMatchObject({ neverSucceeded: true, slaHoursRpo: 12 });
    expect(never?.lastSuccessAt).toBeUndefined();
    expect(never?.hoursSinceLastSuccess).toBeGreaterThan(19);
  });

  it('alerts a breach once per spacing window, across passes and masters, and forgets recovered tasks', async () => {
    const monitor = master.container.services.slaMonitor;
    // A second master's monitor on the same database.
    const other = createSlaMonitor({
      sla: master.container.services.sla,
      repository: createSlaRepository(db()),
      events: master.container.services.events,
      clock: master.clock,
      logger: pino({ level: 'silent' }),
    });
    events.length = 0;
    // Both passes at once: one alert per breached task between them.
    const raised = await Promise.all([monitor.checkNow(), other.checkNow()]);
    expect(raised.reduce((sum, count) => sum + count, 0)).toBe(2);
    const alerts = events.filter((event) => event.type === 'sla_violation');
    expect(alerts.map((event) => event.fields.taskName).sort()).toEqual(['never', 'stale']);
    const never = alerts.find((event) => event.fields.taskName === 'never');
    expect(never?.title).toBe('BackupX SLA 违约');
    expect(never?.body).toContain('从未成功');
    expect(never?.fields).toMatchObject({ taskId: ids.never, slaHoursRpo: 12, neverSucceeded: true });

    expect(await monitor.checkNow()).toBe(0);
    master.clock.advance(5 * HOUR);
    expect(await monitor.checkNow()).toBe(0);
    master.clock.advance(1.5 * HOUR);
    expect(await monitor.checkNow()).toBe(2);

    // "stale" recovers: its alert is forgotten, so a later breach would alert at once.
    await insertBackupRecord(db(), {
      taskId: ids.stale ?? 0,
      status: 'success',
      startedAt: ago(0.5),
      fileSize: 800,
    });
    expect(await monitor.checkNow()).toBe(0);
    const remembered = await db().selectFrom('slaAlerts').select('taskId').execute();
    expect(remembered.map((row) => row.taskId)).toEqual([ids.never]);

    const metrics = await master.api.get('/metrics');
    expect(metrics.text).toMatch(/^backupx_sla_breach_tasks 1$/m);
  });

  it('builds the compliance report and its CSV', async () => {
    const response = await get<ComplianceReport>('/api/reports/compliance?days=7');
    expect(response.status, response.text).toBe(200);
    const report = response.body.data;
    expect(report.rangeDays).toBe(7);
    const row = (name: string) => report.tasks.find((task) => task.taskName === name);
    expect(row('fresh')).toMatchObject({
      type: 'file',
      enabled: true,
      encrypted: true,
      slaHoursRpo: 24,
      totalRuns: 1,
      successes: 1,
      failures: 0,
      successRate: 1,
      lastStatus: 'success',
      protectedBytes: 1000,
      compliant: true,
      risk: 'ok',
    });
    // Recovered in the previous test: three runs in the window.
    expect(row('stale')).toMatchObject({
      totalRuns: 3,
      successes: 2,
      failures: 1,
      successRate: 0.6667,
      protectedBytes: 800,
      risk: 'ok',
    });
    expect(row('never')).toMatchObject({
      lastStatus: 'failed',
      lastSuccessAt: null,
      risk: 'at_risk',
      compliant: false,
    });
    expect(row('off')).toMatchObject({
      enabled: false,
      totalRuns: 0,
      risk: 'not_applicable',
      compliant: false,
    });
    expect(row('untracked')).toMatchObject({ lastStatus: 'none', lastRunAt: null, risk: 'at_risk' });
    expect(report.summary).toEqual({
      totalTasks: 5,
      enabledTasks: 4,
      compliantTasks: 2,
      atRiskTasks: 2,
      encryptedTasks: 1,
      overallSuccessRate: 0.6,
      totalProtectedBytes: 1000 + 800 + 5,
    });

    const csv = await fetch(new URL('/api/reports/compliance/export?days=7', master.url), {
      headers: { Authorization: `Bearer ${viewer}` },
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.headers.get('content-disposition')).toMatch(
      /^attachment; filename="backupx-compliance-\d{8}-\d{6}\.csv"$/,
    );
    const bytes = Buffer.from(await csv.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.subarray(3).toString('utf8');
    const lines = text.trimEnd().split('\r\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]?.split(',')).toHaveLength(17);
    const stale = lines.find((line) => line.includes(',stale,'));
    expect(stale).toContain(',66.67%,');
    expect(stale).toContain(',是,');
  });

  it('refuses a window over 365 days and unknown parameters, reads nonsense as 30, and needs a login', async () => {
    for (const days of ['abc', '-5', '0', '']) {
      const response = await get<ComplianceReport>(`/api/reports/compliance?days=${days}`);
      expect(response.status, days).toBe(200);
      expect(response.body.data.rangeDays).toBe(30);
    }
    for (const url of [
      '/api/reports/compliance?days=366',
      '/api/reports/compliance/export?days=1000',
      '/api/reports/compliance?weeks=2',
    ]) {
      const response = await get(url);
      expect(response.status, url).toBe(400);
      expect(response.body.code, url).toBe('REPORT_RANGE_INVALID');
    }
    for (const url of ['/api/dashboard/sla', '/api/reports/compliance', '/api/reports/compliance/export']) {
      const response = await master.api.get(url);
      expect(response.status, url).toBe(401);
    }
  });
});
