import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, CronPreview, TaskBatchResult, TaskDetail, TaskSummary } from '@backupx/contract';
import { SecretBox, deriveEncryptionKey } from '../../lib/crypto.ts';
import type { BackupRecordRow } from '../../db/tables.ts';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

const summaryKeys = [
  'id',
  'name',
  'type',
  'enabled',
  'cronExpr',
  'storageTargetId',
  'storageTargetName',
  'storageTargetIds',
  'storageTargetNames',
  'nodeId',
  'nodeName',
  'nodePoolTag',
  'tags',
  'retentionDays',
  'compression',
  'encrypt',
  'maxBackups',
  'lastRunAt',
  'lastStatus',
  'verifyEnabled',
  'verifyCronExpr',
  'verifyMode',
  'slaHoursRpo',
  'alertOnConsecutiveFails',
  'keepDaily',
  'keepWeekly',
  'keepMonthly',
  'keepYearly',
  'backupMode',
  'diffFullIntervalDays',
  'replicationTargetIds',
  'maintenanceWindows',
  'dependsOnTaskIds',
  'updatedAt',
];
const detailKeys = [
  ...summaryKeys,
  'sourcePath',
  'sourcePaths',
  'excludePatterns',
  'dbHost',
  'dbPort',
  'dbUser',
  'dbName',
  'dbPath',
  'extraConfig',
  'maskedFields',
  'createdAt',
];

describe.each(dialects)('backup tasks on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let operator: string;
  let viewer: string;
  let targets: { a: number; b: number; c: number };
  let uniq = 0;

  const db = () => master.container.database.db;

  const insertTarget = async (name: string): Promise<number> => {
    const now = new Date().toISOString();
    const row = await db()
      .insertInto('storageTargets')
      .values({
        name,
        type: 'local_disk',
        description: '',
        enabled: 1,
        starred: 0,
        configCiphertext: 'not-a-real-config',
        configVersion: 1,
        lastTestedAt: null,
        lastTestStatus: 'unknown',
        lastTestMessage: '',
        quotaBytes: 0,
        createdAt: now,
        updatedAt: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  };

  beforeAll(async () => {
    master = await startTestMaster(dialect, { config: { backup: { timezone: 'UTC' } } });
    admin = await master.setupAdmin();
    operator = (await master.createUser(admin, 'ops', 'operator')).token;
    viewer = (await master.createUser(admin, 'watcher', 'viewer')).token;
    targets = {
      a: await insertTarget('target-a'),
      b: await insertTarget('target-b'),
      c: await insertTarget('target-c'),
    };
  });
  afterAll(async () => {
    await master.destroy();
  });

  const name = (prefix: string) => `${prefix}-${++uniq}`;
  const fileTask = (overrides: Record<string, unknown> = {}) => ({
    name: name('files'),
    type: 'file',
    sourcePaths: ['/srv/www'],
    storageTargetIds: [targets.a],
    ...overrides,
  });
  const pgTask = (overrides: Record<string, unknown> = {}) => ({
    name: name('pg'),
    type: 'postgresql',
    dbHost: '127.0.0.1',
    dbPort: 5432,
    dbUser: 'postgres',
    dbName: 'app',
    storageTargetIds: [targets.a],
    ...overrides,
  });

  const create = async (body: unknown, token = operator) => {
    const response = await master.api.post<Envelope<TaskDetail>>('/api/backup/tasks', body, { token });
    expect(response.status, response.text).toBe(200);
    return response.body.data;
  };
  const get = async (id: number) => {
    const response = await master.api.get<Envelope<TaskDetail>>(`/api/backup/tasks/${id}`, { token: viewer });
    expect(response.status, response.text).toBe(200);
    return response.body.data;
  };
  const list = async (query = '') => {
    const response = await master.api.get<Envelope<TaskSummary[]>>(`/api/backup/tasks${query}`, {
      token: viewer,
    });
    expect(response.status, response.text).toBe(200);
    return response.body.data;
  };
  const storedRow = (id: number) =>
    db().selectFrom('backupTasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const auditOf = async (id: number): Promise<AuditEntry[]> => {
    const response = await master.api.get<Envelope<{ items: AuditEntry[] }>>(
      `/api/audit-logs?category=backup_task&targetId=${id}`,
      { token: admin },
    );
    return response.body.data.items;
  };
  /** Everything a refused request could have changed. */
  const snapshot = async () => ({
    tasks: await db().selectFrom('backupTasks').selectAll().orderBy('id').execute(),
    links: await db()
      .selectFrom('backupTaskStorageTargets')
      .selectAll()
      .orderBy('taskId')
      .orderBy('position')
      .execute(),
    audit: await db()
      .selectFrom('auditLogs')
      .select('id')
      .where('category', '=', 'backup_task')
      .orderBy('id')
      .execute(),
    scheduled: master.container.services.taskScheduler.scheduledTaskIds(),
  });
  /** A backup record row as the runs module would write it. */
  const recordValues = (overrides: Partial<Omit<BackupRecordRow, 'id'>>): Omit<BackupRecordRow, 'id'> => {
    const now = master.clock.now().toISOString();
    return {
      taskId: 0,
      storageTargetId: targets.a,
      nodeId: 0,
      status: 'success',
      fileName: 'x.tar.zst',
      fileSize: 10,
      checksum: '',
      storagePath: 'files/x.tar.zst',
      storageTransferMode: '',
      storageUploadResults: '[]',
      durationSeconds: 1,
      locked: 0,
      backupKind: 'full',
      baseRecordId: 0,
      manifest: '',
      errorMessage: '',
      logContent: '',
      runnerId: '',
      heartbeatAt: now,
      startedAt: now,
      completedAt: now,
      keyEnvelope: '',
      repositoryStats: '',
      createdAt: now,
      updatedAt: now,
      ...overrides,
    };
  };
  const secretBox = () => new SecretBox(deriveEncryptionKey(master.container.secrets.encryptionKey));

  it('creates a file task with every field and reads it back the same everywhere', async () => {
    const body = {
      name: name('website'),
      type: 'file',
      enabled: true,
      cronExpr: '0  3 * * 1-5',
      sourcePaths: ['/srv/www', '  ', '/etc/nginx', '/srv/www'],
      excludePatterns: ['*.tmp', ' ', 'cache/**'],
      extraConfig: { note: 'kept as sent', nested: { level: 2 } },
      storageTargetIds: [targets.c, targets.a],
      nodeId: 0,
      nodePoolTag: '',
      tags: ' web, prod ,web,, ',
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
      diffFullIntervalDays: 14,
      replicationTargetIds: [targets.b, 0, targets.b],
      maintenanceWindows: ' days=mon|tue|wed|thu|fri,time=22:00-06:00;days=sat|sun,time=00:00-23:59 ',
      dependsOnTaskIds: [],
    };
    const created = await create(body);
    expect(Object.keys(created).sort()).toEqual([...detailKeys].sort());
    expect(created).toEqual({
      id: expect.any(Number) as number,
      name: body.name,
      type: 'file',
      enabled: true,
      cronExpr: '0 3 * * 1-5',
      storageTargetId: targets.c,
      storageTargetName: 'target-c',
      storageTargetIds: [targets.c, targets.a],
      storageTargetNames: ['target-c', 'target-a'],
      nodeId: 0,
      nodeName: '',
      nodePoolTag: '',
      tags: 'web,prod',
      retentionDays: 14,
      compression: 'gzip',
      encrypt: true,
      maxBackups: 5,
      lastRunAt: null,
      lastStatus: 'idle',
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
      diffFullIntervalDays: 14,
      replicationTargetIds: [targets.b],
      maintenanceWindows: 'days=mon|tue|wed|thu|fri,time=22:00-06:00;days=sat|sun,time=00:00-23:59',
      dependsOnTaskIds: [],
      updatedAt: expect.any(String) as string,
      sourcePath: '/srv/www',
      sourcePaths: ['/srv/www', '/etc/nginx'],
      excludePatterns: ['*.tmp', 'cache/**'],
      dbHost: '',
      dbPort: 0,
      dbUser: '',
      dbName: '',
      dbPath: '',
      extraConfig: { note: 'kept as sent', nested: { level: 2 } },
      maskedFields: [],
      createdAt: created.updatedAt,
    });

    expect(await get(created.id)).toEqual(created);
    const summary = (await list()).find((task) => task.id === created.id);
    expect(summary && Object.keys(summary).sort()).toEqual([...summaryKeys].sort());
    const detailOnly = new Set(detailKeys.filter((key) => !summaryKeys.includes(key)));
    expect(summary).toEqual(
      Object.fromEntries(Object.entries(created).filter(([key]) => !detailOnly.has(key))),
    );

    // Target order lives in the join table; the legacy column holds the first target.
    const row = await storedRow(created.id);
    expect(row.storageTargetId).toBe(targets.c);
    const links = await db()
      .selectFrom('backupTaskStorageTargets')
      .select(['storageTargetId', 'position'])
      .where('taskId', '=', created.id)
      .orderBy('position')
      .execute();
    expect(links).toEqual([
      { storageTargetId: targets.c, position: 0 },
      { storageTargetId: targets.a, position: 1 },
    ]);
    expect(master.container.services.taskScheduler.scheduledTaskIds()).toContain(created.id);

    const audit = await auditOf(created.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'create', username: 'ops', targetName: body.name });
  });

  it('stores a database password encrypted, never returns it, and accepts pgsql for postgresql', async () => {
    const password = 'S3cret-Pa55word!';
    const created = await create(
      pgTask({
        type: 'pgsql',
        dbPassword: password,
        dbName: 'app, reports',
        extraConfig: { backupType: 'data' },
      }),
    );
    expect(created).toMatchObject({
      type: 'postgresql',
      dbHost: '127.0.0.1',
      dbPort: 5432,
      dbUser: 'postgres',
      dbName: 'app, reports',
      maskedFields: ['dbPassword'],
      extraConfig: { backupType: 'data' },
    });
    const row = await storedRow(created.id);
    expect(row.type).toBe('postgresql');
    expect(row.dbPasswordCiphertext).not.toContain(password);
    expect(secretBox().open(row.dbPasswordCiphertext)).toBe(password);
    for (const response of [
      await master.api.get(`/api/backup/tasks/${created.id}`, { token: viewer }),
      await master.api.get('/api/backup/tasks', { token: viewer }),
      await master.api.get(`/api/audit-logs?category=backup_task`, { token: admin }),
    ]) {
      expect(response.text).not.toContain(password);
      expect(response.text).not.toContain(row.dbPasswordCiphertext);
    }
    // Local trust authentication needs no password.
    const trust = await create(pgTask({ dbPassword: '' }));
    expect(trust.maskedFields).toEqual([]);
    expect((await storedRow(trust.id)).dbPasswordCiphertext).toBe('');
  });

  it('applies defaults to new tasks, and client values win over them (quirk 6)', async () => {
    const plain = await create(fileTask());
    expect(plain).toMatchObject({
      enabled: true,
      cronExpr: '',
      compression: 'zstd',
      retentionDays: 30,
      maxBackups: 10,
      encrypt: false,
      backupMode: 'full',
      diffFullIntervalDays: 7,
      verifyEnabled: false,
      verifyMode: 'quick',
      slaHoursRpo: 0,
      alertOnConsecutiveFails: 1,
      keepDaily: 0,
      tags: '',
      maintenanceWindows: '',
      lastStatus: 'idle',
      lastRunAt: null,
    });
    expect(master.container.services.taskScheduler.scheduledTaskIds()).not.toContain(plain.id);

    const explicit = await create(
      fileTask({
        enabled: false,
        cronExpr: '0 2 * * *',
        retentionDays: 0,
        maxBackups: 0,
        compression: 'none',
        alertOnConsecutiveFails: 0,
        slaHoursRpo: -4,
        keepDaily: -1,
        diffFullIntervalDays: 0,
        verifyMode: '',
        backupMode: '',
      }),
    );
    expect(explicit).toMatchObject({
      enabled: false,
      retentionDays: 0,
      maxBackups: 0,
      compression: 'none',
      alertOnConsecutiveFails: 1,
      slaHoursRpo: 0,
      keepDaily: 0,
      diffFullIntervalDays: 7,
      verifyMode: 'quick',
      backupMode: 'full',
    });
    expect(await storedRow(explicit.id)).toMatchObject({ enabled: 0, retentionDays: 0, maxBackups: 0 });
    // Disabled: not scheduled even with a cron expression.
    expect(master.container.services.taskScheduler.scheduledTaskIds()).not.toContain(explicit.id);

    // BackupX's single-value fields still work.
    const legacy = await create({
      name: name('legacy'),
      type: 'file',
      sourcePath: '/var/lib/app',
      storageTargetId: targets.b,
      compression: '',
    });
    expect(legacy).toMatchObject({
      sourcePath: '/var/lib/app',
      sourcePaths: ['/var/lib/app'],
      storageTargetIds: [targets.b],
      compression: 'zstd',
    });
  });

  it('updates: absent fields keep their values, the masked password is kept, run state is preserved', async () => {
    const created = await create(
      pgTask({ dbPassword: 'first-password', cronExpr: '0 1 * * *', tags: 'db', retentionDays: 0 }),
    );
    await db()
      .updateTable('backupTasks')
      .set({ lastRunAt: '2026-01-02T03:04:05.000Z', lastStatus: 'success' })
      .where('id', '=', created.id)
      .execute();
    const cipher = (await storedRow(created.id)).dbPasswordCiphertext;
    master.clock.advance(1_000);

    const put = (body: unknown, token = operator) =>
      master.api.put<Envelope<TaskDetail>>(`/api/backup/tasks/${created.id}`, body, { token });

    const masked = await put({
      name: created.name,
      type: 'postgresql',
      dbPassword: '********',
      cronExpr: '0 4 * * *',
    });
    expect(masked.status, masked.text).toBe(200);
    expect(masked.body.data).toMatchObject({
      cronExpr: '0 4 * * *',
      tags: 'db',
      retentionDays: 0,
      dbName: 'app',
      maskedFields: ['dbPassword'],
      lastRunAt: '2026-01-02T03:04:05.000Z',
      lastStatus: 'success',
      createdAt: created.createdAt,
    });
    expect(masked.body.data.updatedAt > created.updatedAt).toBe(true);
    expect((await storedRow(created.id)).dbPasswordCiphertext).toBe(cipher);

    const empty = await put({ name: created.name, type: 'postgresql', dbPassword: '' });
    expect(empty.status).toBe(200);
    expect((await storedRow(created.id)).dbPasswordCiphertext).toBe(cipher);

    const changed = await put({
      name: `${created.name}-renamed`,
      type: 'postgresql',
      dbPassword: 'second-password',
    });
    expect(changed.status).toBe(200);
    expect(changed.body.data.name).toBe(`${created.name}-renamed`);
    expect(secretBox().open((await storedRow(created.id)).dbPasswordCiphertext)).toBe('second-password');
    expect(changed.text).not.toContain('second-password');

    // Becoming a file task drops the password (a file task has no use for it).
    const toFile = await put({ name: `${created.name}-renamed`, type: 'file', sourcePaths: ['/data'] });
    expect(toFile.status, toFile.text).toBe(200);
    expect(toFile.body.data).toMatchObject({ type: 'file', maskedFields: [], sourcePaths: ['/data'] });
    expect((await storedRow(created.id)).dbPasswordCiphertext).toBe('');

    const updates = (await auditOf(created.id)).filter((entry) => entry.action === 'update');
    expect(updates).toHaveLength(4);
    expect(updates.map((entry) => entry.detail).join('\n')).toContain('dbPassword');
    expect(JSON.stringify(updates)).not.toMatch(/first-password|second-password/);

    // The schedule follows the update.
    const scheduler = master.container.services.taskScheduler;
    expect(scheduler.scheduledTaskIds()).toContain(created.id);
    const manual = await put({ name: `${created.name}-renamed`, type: 'file', cronExpr: '' });
    expect(manual.status).toBe(200);
    expect(scheduler.scheduledTaskIds()).not.toContain(created.id);
  });

  it('lists recently updated first, filters by all given tags and by type, and lists distinct tags', async () => {
    const web = await create(fileTask({ tags: 'tagtest-web,tagtest-prod' }));
    master.clock.advance(1_000);
    const db1 = await create(pgTask({ tags: 'tagtest-db, tagtest-prod' }));
    master.clock.advance(1_000);
    const stage = await create(fileTask({ tags: 'tagtest-web' }));

    const ids = (tasks: TaskSummary[]) => tasks.map((task) => task.id);
    const all = ids(await list());
    expect(all.indexOf(stage.id)).toBeLessThan(all.indexOf(db1.id));
    expect(all.indexOf(db1.id)).toBeLessThan(all.indexOf(web.id));

    expect(ids(await list('?tag=tagtest-prod'))).toEqual([db1.id, web.id]);
    expect(ids(await list('?tag=tagtest-prod&tag=tagtest-web'))).toEqual([web.id]);
    expect(ids(await list('?tag=tagtest-web,tagtest-prod'))).toEqual([web.id]);
    expect(ids(await list('?tag=tagtest-web'))).toEqual([stage.id, web.id]);
    expect(ids(await list('?tag=tagtest-none'))).toEqual([]);
    expect(ids(await list('?tag=tagtest-prod&type=pgsql'))).toEqual([db1.id]);
    expect((await list('?type=postgresql')).every((task) => task.type === 'postgresql')).toBe(true);
    expect((await list('?type=file')).every((task) => task.type === 'file')).toBe(true);

    const tags = await master.api.get<Envelope<string[]>>('/api/backup/tasks/tags', { token: viewer });
    expect(tags.status).toBe(200);
    expect(tags.body.data.filter((tag) => tag.startsWith('tagtest-'))).toEqual([
      'tagtest-db',
      'tagtest-prod',
      'tagtest-web',
    ]);
    expect(new Set(tags.body.data).size).toBe(tags.body.data.length);

    for (const query of ['?type=oracle', '?unknown=1']) {
      const bad = await master.api.get<Envelope>(`/api/backup/tasks${query}`, { token: viewer });
      expect(bad.status, query).toBe(400);
      expect(bad.body.code).toBe('INVALID_INPUT');
    }
  });

  it('toggles one task (flip or set) and several at once', async () => {
    const task = await create(fileTask({ cronExpr: '0 2 * * *' }));
    const scheduler = master.container.services.taskScheduler;
    const toggle = (id: number, body?: unknown) =>
      master.api.put<Envelope<TaskSummary>>(`/api/backup/tasks/${id}/toggle`, body, { token: operator });

    const flipped = await toggle(task.id);
    expect(flipped.status, flipped.text).toBe(200);
    expect(Object.keys(flipped.body.data).sort()).toEqual([...summaryKeys].sort());
    expect(flipped.body.data.enabled).toBe(false);
    expect(scheduler.scheduledTaskIds()).not.toContain(task.id);
    expect((await toggle(task.id, {})).body.data.enabled).toBe(true);
    expect(scheduler.scheduledTaskIds()).toContain(task.id);
    expect((await toggle(task.id, { enabled: true })).body.data.enabled).toBe(true);
    expect((await toggle(task.id, { enabled: false })).body.data.enabled).toBe(false);
    const actions = (await auditOf(task.id)).map((entry) => entry.action).reverse();
    expect(actions).toEqual(['create', 'disable', 'enable', 'disable']);

    const other = await create(fileTask());
    const batch = await master.api.post<Envelope<TaskBatchResult>>(
      '/api/backup/tasks/batch/toggle',
      { ids: [task.id, 0, other.id, 4_000_000_000], enabled: true },
      { token: operator },
    );
    expect(batch.status, batch.text).toBe(200);
    expect(batch.body.data).toEqual([
      { id: task.id, name: task.name, success: true },
      { id: other.id, name: other.name, success: true },
      { id: 4_000_000_000, success: false, error: 'Backup task 4000000000 does not exist' },
    ]);
    expect((await get(task.id)).enabled).toBe(true);
    expect(scheduler.scheduledTaskIds()).toContain(task.id);
    const off = await master.api.post<Envelope<TaskBatchResult>>(
      '/api/backup/tasks/batch/toggle',
      { ids: [task.id, other.id], enabled: false },
      { token: operator },
    );
    expect(off.body.data.every((result) => result.success)).toBe(true);
    expect((await get(other.id)).enabled).toBe(false);
    expect(scheduler.scheduledTaskIds()).not.toContain(task.id);
  });

  it('deletes a task: schedule gone, records kept, locked backups kept, dependents cleaned', async () => {
    const upstream = await create(fileTask({ cronExpr: '0 2 * * *' }));
    const downstream = await create(fileTask({ dependsOnTaskIds: [upstream.id] }));
    await db()
      .insertInto('backupRecords')
      .values([
        recordValues({ taskId: upstream.id, status: 'failed' }),
        recordValues({
          taskId: upstream.id,
          status: 'success',
          locked: 1,
          storagePath: 'files/kept.tar.zst',
        }),
      ])
      .execute();

    const response = await master.api.delete<Envelope<{ deleted: boolean }>>(
      `/api/backup/tasks/${upstream.id}`,
      undefined,
      { token: operator },
    );
    expect(response.status, response.text).toBe(200);
    expect(response.body.data).toEqual({ deleted: true });
    expect(master.container.services.taskScheduler.scheduledTaskIds()).not.toContain(upstream.id);
    const gone = await master.api.get<Envelope>(`/api/backup/tasks/${upstream.id}`, { token: viewer });
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe('BACKUP_TASK_NOT_FOUND');
    const records = await db()
      .selectFrom('backupRecords')
      .select('locked')
      .where('taskId', '=', upstream.id)
      .execute();
    expect(records).toHaveLength(2);
    const links = await db()
      .selectFrom('backupTaskStorageTargets')
      .selectAll()
      .where('taskId', '=', upstream.id)
      .execute();
    expect(links).toEqual([]);
    expect((await get(downstream.id)).dependsOnTaskIds).toEqual([]);
    const entry = (await auditOf(upstream.id)).find((item) => item.action === 'delete');
    expect(entry?.detail).toContain('2 backup record(s) kept');
    expect(entry?.detail).toContain('1 locked record(s) kept');

    const again = await master.api.delete<Envelope>(`/api/backup/tasks/${upstream.id}`, undefined, {
      token: operator,
    });
    expect(again.status).toBe(404);
    expect(again.body.code).toBe('BACKUP_TASK_NOT_FOUND');
  });

  it('refuses to delete a running task and batch-deletes the others', async () => {
    const running = await create(fileTask({ cronExpr: '0 2 * * *' }));
    const idle = await create(fileTask());
    await db()
      .insertInto('backupRecords')
      .values(
        recordValues({
          taskId: running.id,
          status: 'running',
          completedAt: null,
          runnerId: 'another-master',
        }),
      )
      .execute();

    const before = await snapshot();
    const refused = await master.api.delete<Envelope>(`/api/backup/tasks/${running.id}`, undefined, {
      token: operator,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('BACKUP_TASK_ALREADY_RUNNING');
    expect(await snapshot()).toEqual(before);

    const batch = await master.api.post<Envelope<TaskBatchResult>>(
      '/api/backup/tasks/batch/delete',
      { ids: [running.id, idle.id, 0, 4_000_000_001] },
      { token: operator },
    );
    expect(batch.status, batch.text).toBe(200);
    expect(batch.body.data).toEqual([
      {
        id: running.id,
        name: running.name,
        success: false,
        error: expect.stringContaining('is running') as string,
      },
      { id: idle.id, name: idle.name, success: true },
      { id: 4_000_000_001, success: false, error: 'Backup task 4000000001 does not exist' },
    ]);
    expect((await get(running.id)).id).toBe(running.id);
    const missing = await master.api.get(`/api/backup/tasks/${idle.id}`, { token: viewer });
    expect(missing.status).toBe(404);
    await db().deleteFrom('backupRecords').where('taskId', '=', running.id).execute();
  });

  it('refuses every invalid task with its code and changes nothing', async () => {
    const existing = await create(fileTask());
    // [body, status, code, message pattern, create only (an update keeps what is absent)]
    const cases: [Record<string, unknown>, number, string, RegExp?, boolean?][] = [
      [{ ...fileTask(), name: '' }, 400, 'BACKUP_TASK_INVALID'],
      [{ ...fileTask(), name: 'x'.repeat(101) }, 400, 'BACKUP_TASK_INVALID'],
      [
        { type: 'file', sourcePaths: ['/a'], storageTargetIds: [targets.a] },
        400,
        'BACKUP_TASK_INVALID',
        /name/,
      ],
      [fileTask({ type: 'oracle' }), 400, 'BACKUP_TASK_INVALID', /type/],
      [fileTask({ cronExpr: '61 * * * *' }), 400, 'BACKUP_TASK_INVALID', /cronExpr: minute field "61"/],
      [fileTask({ cronExpr: '* * * *' }), 400, 'BACKUP_TASK_INVALID', /cronExpr: .*4 fields/],
      [fileTask({ cronExpr: '@daily' }), 400, 'BACKUP_TASK_INVALID', /cronExpr/],
      [fileTask({ cronExpr: '0 2 * * * * *' }), 400, 'BACKUP_TASK_INVALID', /7 fields/],
      [fileTask({ verifyEnabled: true }), 400, 'BACKUP_TASK_INVALID', /verifyCronExpr is required/],
      [fileTask({ verifyCronExpr: '0 99 * * *' }), 400, 'BACKUP_TASK_INVALID', /verifyCronExpr: hour/],
      [
        fileTask({ maintenanceWindows: 'time=01:00-02:00;days=xyz,time=01:00-02:00' }),
        400,
        'BACKUP_TASK_INVALID',
        /window "days=xyz,time=01:00-02:00": unknown day "xyz"; expected days=mon\|tue,time=HH:MM-HH:MM/,
      ],
      [fileTask({ maintenanceWindows: 'time=25:00-02:00' }), 400, 'BACKUP_TASK_INVALID', /hour 25/],
      [fileTask({ sourcePaths: [] }), 400, 'BACKUP_TASK_INVALID', /at least one source path/],
      [fileTask({ sourcePaths: [' ', ''] }), 400, 'BACKUP_TASK_INVALID', /at least one source path/],
      [fileTask({ sourcePaths: ['relative/dir'] }), 400, 'BACKUP_TASK_INVALID', /must be absolute/],
      [{ ...fileTask(), type: 'sqlite' }, 400, 'BACKUP_TASK_INVALID', /dbPath/],
      [{ ...fileTask(), type: 'sqlite', dbPath: 'app.db' }, 400, 'BACKUP_TASK_INVALID', /must be absolute/],
      [pgTask({ dbHost: '' }), 400, 'BACKUP_TASK_INVALID', /dbHost/],
      [pgTask({ dbPort: 0 }), 400, 'BACKUP_TASK_INVALID', /dbPort/],
      [pgTask({ type: 'mysql', dbUser: '', dbName: ' , ' }), 400, 'BACKUP_TASK_INVALID', /dbUser, dbName/],
      [pgTask({ type: 'mongodb', dbName: undefined }), 400, 'BACKUP_TASK_INVALID', /dbName/],
      [pgTask({ dbPort: 70_000 }), 400, 'BACKUP_TASK_INVALID'],
      [fileTask({ storageTargetIds: [] }), 400, 'BACKUP_STORAGE_TARGET_INVALID', /at least one/],
      [fileTask({ storageTargetIds: undefined }), 400, 'BACKUP_STORAGE_TARGET_INVALID', /at least one/, true],
      [
        fileTask({ storageTargetIds: [targets.a, 3_999_999_999] }),
        400,
        'BACKUP_STORAGE_TARGET_INVALID',
        /3999999999/,
      ],
      [fileTask({ storageTargetIds: [0] }), 400, 'BACKUP_TASK_INVALID'],
      [
        fileTask({ replicationTargetIds: [3_999_999_998] }),
        400,
        'BACKUP_STORAGE_TARGET_INVALID',
        /Replication/,
      ],
      [fileTask({ replicationTargetIds: [targets.a] }), 400, 'BACKUP_STORAGE_TARGET_INVALID', /primary/],
      [fileTask({ nodeId: 5 }), 400, 'BACKUP_TASK_INVALID', /node 5 does not exist/],
      [pgTask({ backupMode: 'differential' }), 400, 'BACKUP_TASK_DIFF_UNSUPPORTED'],
      [pgTask({ backupMode: 'repository' }), 400, 'BACKUP_TASK_REPOSITORY_UNSUPPORTED', /file tasks only/],
      [
        fileTask({ backupMode: 'repository', replicationTargetIds: [targets.b] }),
        400,
        'BACKUP_TASK_REPOSITORY_REPLICATION_UNSUPPORTED',
      ],
      [
        fileTask({ backupMode: 'repository', encrypt: true, nodePoolTag: 'edge' }),
        400,
        'BACKUP_TASK_REPOSITORY_REMOTE_ENCRYPT_UNSUPPORTED',
      ],
      [fileTask({ nodeId: 1, nodePoolTag: 'edge' }), 400, 'BACKUP_TASK_INVALID', /alternatives/],
      [
        fileTask({ nodePoolTag: 'edge', backupMode: 'differential' }),
        400,
        'BACKUP_TASK_DIFF_REMOTE_UNSUPPORTED',
      ],
      [fileTask({ dependsOnTaskIds: [3_999_999_997] }), 400, 'BACKUP_TASK_DEPENDENCY_INVALID', /3999999997/],
      [fileTask({ enabled: 'yes' }), 400, 'BACKUP_TASK_INVALID', /enabled/],
      [fileTask({ retentionDays: -1 }), 400, 'BACKUP_TASK_INVALID', /retentionDays/],
      [fileTask({ maxBackups: 1.5 }), 400, 'BACKUP_TASK_INVALID', /maxBackups/],
      [fileTask({ compression: 'lz4' }), 400, 'BACKUP_TASK_INVALID', /compression/],
      [fileTask({ verifyMode: 'thorough' }), 400, 'BACKUP_TASK_INVALID', /verifyMode/],
      [fileTask({ tags: 5 }), 400, 'BACKUP_TASK_INVALID', /tags/],
      [fileTask({ tags: 'x,'.repeat(300) }), 400, 'BACKUP_TASK_INVALID', /tags/],
      [fileTask({ extraConfig: ['a'] }), 400, 'BACKUP_TASK_INVALID', /extraConfig/],
      [fileTask({ extraConfig: 'a=b' }), 400, 'BACKUP_TASK_INVALID', /extraConfig/],
      [fileTask({ sourcePaths: '/srv' }), 400, 'BACKUP_TASK_INVALID', /sourcePaths/],
      [fileTask({ unknownField: 1 }), 400, 'BACKUP_TASK_INVALID', /unknownField/],
      [fileTask({ name: existing.name }), 409, 'BACKUP_TASK_NAME_EXISTS', /already exists/, true],
    ];
    const before = await snapshot();
    for (const [body, status, code, message] of cases) {
      const response = await master.api.post<Envelope>('/api/backup/tasks', body, { token: operator });
      const where = `${JSON.stringify(body)} → ${response.text}`;
      expect(response.status, where).toBe(status);
      expect(response.body.code, where).toBe(code);
      if (message) expect(response.body.message, where).toMatch(message);
    }
    for (const [body, status, code] of cases.filter(([, , , , createOnly]) => createOnly !== true)) {
      const response = await master.api.put<Envelope>(
        `/api/backup/tasks/${existing.id}`,
        {
          ...body,
          ...(typeof body.name === 'string' && body.name.length <= 100 && body.name !== ''
            ? { name: existing.name }
            : {}),
        },
        { token: operator },
      );
      const where = `PUT ${JSON.stringify(body)} → ${response.text}`;
      expect(response.status, where).toBe(status);
      expect(response.body.code, where).toBe(code);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('checks upstream tasks on update: itself, unknown and cycles are refused', async () => {
    const a = await create(fileTask());
    const b = await create(fileTask({ dependsOnTaskIds: [a.id] }));
    const c = await create(fileTask({ dependsOnTaskIds: [b.id, 0, b.id] }));
    expect(c.dependsOnTaskIds).toEqual([b.id]);
    const before = await snapshot();
    for (const [target, dependsOnTaskIds, pattern] of [
      [a, [a.id], /itself/],
      [a, [c.id], /cycle/],
      [a, [b.id], /cycle/],
      [b, [c.id], /cycle/],
    ] as const) {
      const response = await master.api.put<Envelope>(
        `/api/backup/tasks/${target.id}`,
        { name: target.name, type: 'file', dependsOnTaskIds },
        { token: operator },
      );
      expect(response.status, response.text).toBe(400);
      expect(response.body.code).toBe('BACKUP_TASK_DEPENDENCY_INVALID');
      expect(response.body.message).toMatch(pattern);
    }
    expect(await snapshot()).toEqual(before);
    // A diamond is not a cycle.
    const ok = await master.api.put<Envelope<TaskDetail>>(
      `/api/backup/tasks/${c.id}`,
      { name: c.name, type: 'file', dependsOnTaskIds: [a.id, b.id] },
      { token: operator },
    );
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.data.dependsOnTaskIds).toEqual([a.id, b.id]);

    // Renaming onto another task's name is a conflict.
    const clash = await master.api.put<Envelope>(
      `/api/backup/tasks/${c.id}`,
      { name: a.name, type: 'file' },
      { token: operator },
    );
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('BACKUP_TASK_NAME_EXISTS');
  });

  it('answers unknown ids with 404 BACKUP_TASK_NOT_FOUND on every id route', async () => {
    const before = await snapshot();
    const id = 3_999_999_999;
    for (const [method, path, json] of [
      ['GET', `/api/backup/tasks/${id}`, undefined],
      ['PUT', `/api/backup/tasks/${id}`, fileTask()],
      ['DELETE', `/api/backup/tasks/${id}`, undefined],
      ['PUT', `/api/backup/tasks/${id}/toggle`, { enabled: true }],
    ] as const) {
      const response = await master.api.request(method, path, { token: operator, ...(json ? { json } : {}) });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect((response.body as Envelope).code).toBe('BACKUP_TASK_NOT_FOUND');
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses malformed JSON, oversized bodies, wrong shapes and callers without the role', async () => {
    const existing = await create(fileTask());
    const before = await snapshot();
    const malformed = await master.api.request('POST', '/api/backup/tasks', {
      raw: '{"name":',
      token: operator,
    });
    expect(malformed.status).toBe(400);
    expect((malformed.body as Envelope).code).toBe('INVALID_JSON');
    const huge = JSON.stringify(fileTask({ excludePatterns: ['x'.repeat(2 * 1024 * 1024)] }));
    for (const [method, path] of [
      ['POST', '/api/backup/tasks'],
      ['PUT', `/api/backup/tasks/${existing.id}`],
    ] as const) {
      const response = await master.api.request(method, path, { raw: huge, token: operator });
      expect(response.status, path).toBe(413);
      expect((response.body as Envelope).code).toBe('PAYLOAD_TOO_LARGE');
    }
    for (const [path, json] of [
      ['/api/backup/tasks/batch/toggle', { ids: [], enabled: true }],
      ['/api/backup/tasks/batch/toggle', { ids: [existing.id] }],
      ['/api/backup/tasks/batch/delete', { ids: 'all' }],
      ['/api/backup/tasks/batch/delete', { ids: [-1] }],
      ['/api/backup/tasks/cron/preview', { cronExpr: 5 }],
    ] as const) {
      const response = await master.api.post<Envelope>(path, json, { token: operator });
      expect(response.status, `${path} ${JSON.stringify(json)}`).toBe(400);
      expect(response.body.code).toBe('INVALID_INPUT');
    }
    const badToggle = await master.api.put<Envelope>(
      `/api/backup/tasks/${existing.id}/toggle`,
      { enabled: 'no' },
      { token: operator },
    );
    expect(badToggle.status).toBe(400);

    for (const [method, path, json] of [
      ['POST', '/api/backup/tasks', fileTask()],
      ['PUT', `/api/backup/tasks/${existing.id}`, fileTask()],
      ['DELETE', `/api/backup/tasks/${existing.id}`, undefined],
      ['PUT', `/api/backup/tasks/${existing.id}/toggle`, undefined],
      ['POST', '/api/backup/tasks/batch/toggle', { ids: [existing.id], enabled: false }],
      ['POST', '/api/backup/tasks/batch/delete', { ids: [existing.id] }],
      ['GET', '/api/system/fs/list?path=/', undefined],
    ] as const) {
      const forbidden = await master.api.request(method, path, { token: viewer, ...(json ? { json } : {}) });
      expect(forbidden.status, `viewer ${method} ${path}`).toBe(403);
      expect((forbidden.body as Envelope).code).toBe('AUTH_FORBIDDEN');
      const anonymous = await master.api.request(method, path, json ? { json } : {});
      expect(anonymous.status, `anonymous ${method} ${path}`).toBe(401);
    }
    for (const path of ['/api/backup/tasks', '/api/backup/tasks/tags', `/api/backup/tasks/${existing.id}`]) {
      expect((await master.api.get(path)).status, path).toBe(401);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('previews cron expressions in the configured time zone', async () => {
    const preview = async (cronExpr: string) => {
      const response = await master.api.post<Envelope<CronPreview>>(
        '/api/backup/tasks/cron/preview',
        { cronExpr },
        { token: viewer },
      );
      expect(response.status, response.text).toBe(200);
      return response.body.data;
    };
    const daily = await preview('0 2 * * *');
    expect(daily.valid).toBe(true);
    expect(daily.timeZone).toBe('UTC');
    expect(daily.nextRuns).toHaveLength(5);
    expect(daily.nextRuns.every((run) => run.endsWith('T02:00:00.000Z'))).toBe(true);
    const first = Date.parse(daily.nextRuns[0] ?? '');
    expect(first).toBeGreaterThan(master.clock.now().getTime());
    expect(first - master.clock.now().getTime()).toBeLessThanOrEqual(86_400_000);

    const seconds = await preview('*/10 * * * * *');
    expect(seconds.nextRuns.map((run) => Date.parse(run) % 10_000)).toEqual([0, 0, 0, 0, 0]);

    expect(await preview('0 2 * * 8')).toEqual({
      valid: false,
      error: expect.stringMatching(/^day-of-week field "8"/) as string,
      nextRuns: [],
      timeZone: 'UTC',
    });
    expect(await preview('  ')).toEqual({ valid: true, nextRuns: [], timeZone: 'UTC' });
  });
});
