import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskDetail } from '@backupx/contract';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };
type ImportResult = { name: string; taskId?: number; success: boolean; error?: string; skipped?: boolean };
type ExportFile = { version: string; taskCount: number; tasks: Record<string, unknown>[]; notice: string };

const PASSWORD = 'Sup3r-Secret-Db-Pass';

/** What defines a task, without identity and run state: what an export must carry across. */
const definitionOf = (task: TaskDetail, idNames: Map<number, string>) => {
  const {
    id: _id,
    createdAt: _createdAt,
    updatedAt: _updatedAt,
    lastRunAt: _lastRunAt,
    lastStatus: _lastStatus,
    dependsOnTaskIds,
    ...rest
  } = task;
  return { ...rest, dependsOn: dependsOnTaskIds.map((id) => idNames.get(id)) };
};

/** SPEC §14.4: export → wipe → import gives back the same tasks (quirk 15), secrets re-entered. */
describe.each(dialects)('task export and import on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let viewer: string;
  let work: string;
  const targets: Record<string, number> = {};

  const api = () => master.api;
  const createTask = async (body: Record<string, unknown>) => {
    const response = await api().post<Envelope<TaskDetail>>('/api/backup/tasks', body, { token: admin });
    expect(response.status, response.text).toBe(200);
    return response.body.data;
  };
  const allTasks = async () => {
    const list = await api().get<Envelope<{ id: number }[]>>('/api/backup/tasks', { token: admin });
    return Promise.all(
      list.body.data.map(
        async (task) =>
          (await api().get<Envelope<TaskDetail>>(`/api/backup/tasks/${String(task.id)}`, { token: admin }))
            .body.data,
      ),
    );
  };
  const definitions = async () => {
    const tasks = await allTasks();
    const names = new Map(tasks.map((task) => [task.id, task.name]));
    return tasks.map((task) => definitionOf(task, names)).sort((a, b) => a.name.localeCompare(b.name));
  };
  const importFile = (body: unknown, token = admin) =>
    api().post<Envelope<ImportResult[]>>('/api/backup/tasks/import', body, { token });

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    viewer = (await master.createUser(admin, 'transfer-viewer', 'viewer')).token;
    work = mkdtempSync(path.join(tmpdir(), 'bx-transfer-'));
    for (const name of ['disk A', 'disk B', 'disk R']) {
      const response = await api().post<Envelope<{ id: number }>>(
        '/api/storage-targets',
        { name, type: 'local_disk', config: { basePath: path.join(work, name.replace(' ', '-')) } },
        { token: admin },
      );
      targets[name] = response.body.data.id;
    }
    const files = await createTask({
      name: 'site files',
      type: 'file',
      enabled: false,
      cronExpr: '15 3 * * *',
      sourcePaths: [path.join(work, 'site'), path.join(work, 'uploads')],
      excludePatterns: ['*.tmp', 'cache/'],
      storageTargetIds: [targets['disk B'], targets['disk A']],
      replicationTargetIds: [targets['disk R']],
      tags: 'web,prod',
      retentionDays: 14,
      maxBackups: 5,
      compression: 'gzip',
      encrypt: true,
      verifyEnabled: true,
      verifyCronExpr: '0 5 * * 0',
      verifyMode: 'deep',
      slaHoursRpo: 26,
      alertOnConsecutiveFails: 3,
      keepDaily: 7,
      keepWeekly: 4,
      keepMonthly: 6,
      keepYearly: 2,
      backupMode: 'differential',
      diffFullIntervalDays: 10,
      maintenanceWindows: 'days=mon|tue,time=01:00-05:00',
    });
    await createTask({
      name: 'orders db',
      type: 'postgresql',
      dbHost: '127.0.0.1',
      dbPort: 5432,
      dbUser: 'postgres',
      dbPassword: PASSWORD,
      dbName: 'orders',
      storageTargetIds: [targets['disk A']],
      nodePoolTag: 'db-pool',
      dependsOnTaskIds: [files.id],
      extraConfig: { note: 'kept' },
    });
  });
  afterAll(async () => {
    await master.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it('exports every defining field by name, without passwords, and imports it back identically', async () => {
    const before = await definitions();
    const response = await fetch(new URL('/api/backup/tasks/export', master.url), {
      headers: { Authorization: `Bearer ${viewer}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toMatch(
      /^attachment; filename="backupx-tasks-\d{8}-\d{6}\.json"$/,
    );
    const text = await response.text();
    expect(text).not.toContain(PASSWORD);
    const file = JSON.parse(text) as ExportFile;
    for (const task of file.tasks) expect(Object.keys(task)).not.toContain('dbPassword');
    expect(file).toMatchObject({ version: 'v1', taskCount: 2 });
    expect(file.notice).toContain('dbPassword');
    const orders = file.tasks.find((task) => task.name === 'orders db');
    expect(orders).toMatchObject({
      storageTargetNames: ['disk A'],
      dependsOnTaskNames: ['site files'],
      nodePoolTag: 'db-pool',
    });
    const site = file.tasks.find((task) => task.name === 'site files');
    expect(site).toMatchObject({
      storageTargetNames: ['disk B', 'disk A'],
      replicationTargetNames: ['disk R'],
      backupMode: 'differential',
      keepYearly: 2,
    });

    // Wipe, then import: the database task needs its password back.
    for (const task of await allTasks())
      await api().delete(`/api/backup/tasks/${String(task.id)}`, undefined, { token: admin });
    const missing = await importFile(file);
    expect(missing.status, missing.text).toBe(200);
    const failed = missing.body.data.find((result) => result.name === 'orders db');
    expect(failed).toMatchObject({ success: false });
    expect(failed?.error).toContain('dbPassword is required');
    expect(missing.body.data.find((result) => result.name === 'site files')).toMatchObject({ success: true });

    // With the password re-entered, the rest comes in; what exists is skipped, not overwritten.
    const withPassword = {
      ...file,
      tasks: file.tasks.map((task) => (task.name === 'orders db' ? { ...task, dbPassword: PASSWORD } : task)),
    };
    const imported = await importFile(withPassword);
    expect(imported.body.data).toEqual([
      { name: 'site files', success: true, skipped: true, error: 'a task named "site files" exists already' },
      { name: 'orders db', taskId: expect.any(Number) as number, success: true },
    ]);
    expect(await definitions()).toEqual(before);
    const row = await master.container.database.db
      .selectFrom('backupTasks')
      .select('dbPasswordCiphertext')
      .where('name', '=', 'orders db')
      .executeTakeFirstOrThrow();
    expect(row.dbPasswordCiphertext).not.toBe('');
    expect(row.dbPasswordCiphertext).not.toContain(PASSWORD);
  });

  it('says which reference is missing, and refuses what is not an export', async () => {
    const file = {
      version: 'v1',
      tasks: [
        { name: 'needs disk C', type: 'file', sourcePaths: [work], storageTargetNames: ['disk C'] },
        {
          name: 'needs a node',
          type: 'file',
          sourcePaths: [work],
          storageTargetNames: ['disk A'],
          nodeName: 'nowhere',
        },
        {
          name: 'needs upstream',
          type: 'file',
          sourcePaths: [work],
          storageTargetNames: ['disk A'],
          dependsOnTaskNames: ['ghost'],
        },
      ],
    };
    const response = await importFile(file);
    expect(response.status, response.text).toBe(200);
    const [disk, node, upstream] = response.body.data;
    expect(disk).toMatchObject({ success: false, error: 'storage target "disk C" does not exist here' });
    expect(node).toMatchObject({ success: false, error: 'node "nowhere" does not exist here' });
    expect(upstream?.success).toBe(true);
    expect(upstream?.error).toContain('upstream task(s) ghost do not exist');

    for (const body of [
      undefined,
      {},
      { tasks: [] },
      { tasks: [{ name: '', type: 'file' }] },
      { tasks: 'x' },
    ]) {
      const refused = await importFile(body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.code, JSON.stringify(body)).toBe('TASK_IMPORT_INVALID');
    }
    const garbage = await fetch(new URL('/api/backup/tasks/import', master.url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: '{"tasks": [',
    });
    expect(garbage.status).toBe(400);
    const viewerImport = await importFile(file, viewer);
    expect(viewerImport.status).toBe(403);
    const badIds = await api().get<Envelope>('/api/backup/tasks/export?ids=1,abc', { token: admin });
    expect(badIds.status).toBe(400);
    expect(badIds.body.code).toBe('BACKUP_TASK_INVALID');
  });
});
