import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AuditEntry,
  TaskDetail,
  TaskTemplateApplyResult,
  TaskTemplateDetail,
  TaskTemplateSummary,
} from '@backupx/contract';
import { SecretBox, deriveEncryptionKey } from '../../lib/crypto.ts';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

/**
 * Task templates (SPEC §14.1): CRUD, names, the database password kept encrypted apart from the
 * payload (quirk 5), and apply creating tasks through the tasks service.
 */
describe.each(dialects)('task templates on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let operator: string;
  let viewer: string;
  let targetId: number;
  let work: string;
  let uniq = 0;

  const db = () => master.container.database.db;
  const secretBox = () => new SecretBox(deriveEncryptionKey(master.container.secrets.encryptionKey));
  const unique = (prefix: string) => `${prefix}-${++uniq}`;

  const filePayload = (overrides: Record<string, unknown> = {}) => ({
    name: 'template-task',
    type: 'file',
    sourcePaths: ['/srv/template'],
    storageTargetIds: [targetId],
    cronExpr: '0 3 * * *',
    tags: 'tpl',
    ...overrides,
  });
  const pgPayload = (overrides: Record<string, unknown> = {}) => ({
    name: 'template-db',
    type: 'postgresql',
    dbHost: '10.0.0.1',
    dbPort: 5432,
    dbUser: 'backup',
    dbName: 'app',
    storageTargetIds: [targetId],
    ...overrides,
  });

  const create = async (body: Record<string, unknown>, token = operator) => {
    const response = await master.api.post<Envelope<TaskTemplateDetail>>('/api/task-templates', body, {
      token,
    });
    expect(response.status, response.text).toBe(200);
    return response.body.data;
  };
  const get = (id: number, token = viewer) =>
    master.api.get<Envelope<TaskTemplateDetail>>(`/api/task-templates/${id}`, { token });
  const put = (id: number, body: Record<string, unknown>, token = operator) =>
    master.api.put<Envelope<TaskTemplateDetail>>(`/api/task-templates/${id}`, body, { token });
  const apply = (id: number, variables: unknown, token = operator) =>
    master.api.post<Envelope<TaskTemplateApplyResult>>(
      `/api/task-templates/${id}/apply`,
      { variables },
      { token },
    );
  const storedRow = (id: number) =>
    db().selectFrom('taskTemplates').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const storedTask = (id: number) =>
    db().selectFrom('backupTasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const taskCount = async () =>
    Number(
      (
        await db()
          .selectFrom('backupTasks')
          .select((eb) => eb.fn.countAll<number | string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const auditOf = async (id: number): Promise<AuditEntry[]> => {
    const response = await master.api.get<Envelope<{ items: AuditEntry[] }>>(
      `/api/audit-logs?category=task_template&targetId=${id}`,
      { token: admin },
    );
    return response.body.data.items;
  };

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    operator = (await master.createUser(admin, 'tpl-ops', 'operator')).token;
    viewer = (await master.createUser(admin, 'tpl-viewer', 'viewer')).token;
    work = mkdtempSync(path.join(tmpdir(), 'bx-templates-'));
    const target = await master.api.post<Envelope<{ id: number }>>(
      '/api/storage-targets',
      { name: 'tpl-disk', type: 'local_disk', config: { basePath: work } },
      { token: admin },
    );
    expect(target.status, target.text).toBe(200);
    targetId = target.body.data.id;
  });
  afterAll(async () => {
    await master.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it('creates, lists, reads, updates and deletes a template, auditing each change', async () => {
    const name = unique('web-servers');
    const created = await create({
      name: `  ${name}  `,
      description: 'Nightly web roots',
      payload: filePayload(),
    });
    expect(created).toMatchObject({
      name,
      description: 'Nightly web roots',
      taskType: 'file',
      createdBy: 'tpl-ops',
      maskedFields: [],
      payload: { name: 'template-task', type: 'file', sourcePaths: ['/srv/template'], tags: 'tpl' },
    });
    expect(created.payload).not.toHaveProperty('dbPassword');
    expect(Object.keys(created).sort()).toEqual(
      [
        'id',
        'name',
        'description',
        'taskType',
        'createdBy',
        'createdAt',
        'updatedAt',
        'payload',
        'maskedFields',
      ].sort(),
    );

    const other = await create({ name: `aaa-${name}`, payload: pgPayload({ type: 'pgsql' }) });
    expect(other).toMatchObject({ description: '', taskType: 'postgresql', payload: { type: 'postgresql' } });

    const list = await master.api.get<Envelope<TaskTemplateSummary[]>>('/api/task-templates', {
      token: viewer,
    });
    expect(list.status, list.text).toBe(200);
    const names = list.body.data.map((template) => template.name);
    expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    const summary = list.body.data.find((template) => template.id === created.id);
    expect(summary).toEqual({
      id: created.id,
      name,
      description: 'Nightly web roots',
      taskType: 'file',
      createdBy: 'tpl-ops',
      createdAt: created.createdAt,
      updatedAt: created.updatedAt,
    });

    const read = await get(created.id);
    expect(read.status, read.text).toBe(200);
    expect(read.body.data).toEqual(created);

    master.clock.advance(1000);
    const updated = await put(created.id, {
      name: `${name}-v2`,
      description: 'Web roots, every six hours',
      payload: filePayload({ cronExpr: '0 */6 * * *', sourcePaths: ['/srv/www', '/srv/api'] }),
    });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body.data).toMatchObject({
      id: created.id,
      name: `${name}-v2`,
      description: 'Web roots, every six hours',
      createdBy: 'tpl-ops',
      createdAt: created.createdAt,
      payload: { cronExpr: '0 */6 * * *', sourcePaths: ['/srv/www', '/srv/api'] },
    });
    expect(updated.body.data.updatedAt > created.updatedAt).toBe(true);

    const removed = await master.api.delete<Envelope>(`/api/task-templates/${created.id}`, undefined, {
      token: operator,
    });
    expect(removed.status, removed.text).toBe(200);
    expect(removed.body.data).toEqual({ deleted: true });
    const gone = await get(created.id);
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe('TASK_TEMPLATE_NOT_FOUND');

    const audit = await auditOf(created.id);
    expect(audit.map((entry) => entry.action).sort()).toEqual(['create', 'delete', 'update']);
    expect(audit.every((entry) => entry.username === 'tpl-ops' && entry.targetType === 'task_template')).toBe(
      true,
    );
    expect(audit.find((entry) => entry.action === 'update')?.detail).toContain('name, description, payload');
  });

  it('answers 404 TASK_TEMPLATE_NOT_FOUND for an unknown id on every template route', async () => {
    const missing = 4_000_000_000;
    const responses = [
      await get(missing),
      await put(missing, { name: 'x', payload: filePayload() }),
      await master.api.delete(`/api/task-templates/${missing}`, undefined, { token: operator }),
      await apply(missing, [{ name: 'x' }]),
    ];
    for (const response of responses) {
      expect(response.status, response.text).toBe(404);
      expect((response.body as Envelope).code).toBe('TASK_TEMPLATE_NOT_FOUND');
    }
  });

  it('refuses a duplicate name with 409 TASK_TEMPLATE_NAME_EXISTS', async () => {
    const first = await create({ name: unique('dup'), payload: filePayload() });
    const second = await create({ name: unique('dup'), payload: filePayload() });
    const clash = await master.api.post<Envelope>(
      '/api/task-templates',
      { name: first.name, payload: pgPayload() },
      { token: operator },
    );
    expect(clash.status, clash.text).toBe(409);
    expect(clash.body.code).toBe('TASK_TEMPLATE_NAME_EXISTS');
    const rename = await put(second.id, { name: first.name, payload: filePayload() });
    expect(rename.status, rename.text).toBe(409);
    expect(rename.body.code).toBe('TASK_TEMPLATE_NAME_EXISTS');
    expect((await storedRow(second.id)).name).toBe(second.name);
    // Keeping its own name is no clash.
    const same = await put(second.id, {
      name: second.name,
      description: 'same name',
      payload: filePayload(),
    });
    expect(same.status, same.text).toBe(200);
  });

  it('validates the payload with the task schema and says what is wrong', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: unique('bad'), payload: { name: 'x' } }, /payload\.type/],
      [{ name: unique('bad'), payload: filePayload({ type: 'oracle' }) }, /payload\.type/],
      [{ name: unique('bad'), payload: filePayload({ retentionDays: -1 }) }, /payload\.retentionDays/],
      [{ name: unique('bad'), payload: filePayload({ unknownField: 1 }) }, /payload/],
      [{ name: unique('bad'), payload: filePayload({ name: '' }) }, /payload\.name/],
      [{ name: unique('bad') }, /payload/],
      [{ name: '   ', payload: filePayload() }, /name/],
      [{ name: 'n'.repeat(129), payload: filePayload() }, /name/],
      [{ name: unique('bad'), description: 'd'.repeat(501), payload: filePayload() }, /description/],
    ];
    for (const [body, message] of cases) {
      const response = await master.api.post<Envelope>('/api/task-templates', body, { token: operator });
      expect(response.status, response.text).toBe(400);
      expect(response.body.code).toBe('TASK_TEMPLATE_INVALID');
      expect(response.body.message).toMatch(message);
    }
    const ok = await create({ name: unique('edge'), description: 'd'.repeat(500), payload: filePayload() });
    expect(ok.description).toHaveLength(500);
  });

  it('keeps the database password encrypted at rest and masked in every response (quirk 5)', async () => {
    const password = 'Tpl-S3cret-Pa55!';
    const created = await create({ name: unique('pg'), payload: pgPayload({ dbPassword: password }) });
    expect(created.payload.dbPassword).toBe('********');
    expect(created.maskedFields).toEqual(['dbPassword']);

    const row = await storedRow(created.id);
    expect(JSON.stringify(row)).not.toContain(password);
    expect(row.payloadJson).not.toContain('dbPassword');
    expect(row.payloadSecretCiphertext).not.toBe('');
    expect(secretBox().open(row.payloadSecretCiphertext)).toBe(password);

    for (const response of [
      await get(created.id),
      await master.api.get('/api/task-templates', { token: viewer }),
      await master.api.get('/api/audit-logs?category=task_template', { token: admin }),
    ]) {
      expect(response.status).toBe(200);
      expect(response.text).not.toContain(password);
      expect(response.text).not.toContain(row.payloadSecretCiphertext);
    }

    // Sending the detail back (masked), or no password at all, keeps the stored one.
    const echoed = await put(created.id, {
      name: created.name,
      description: 'masked round trip',
      payload: created.payload,
    });
    expect(echoed.status, echoed.text).toBe(200);
    expect(echoed.body.data.maskedFields).toEqual(['dbPassword']);
    expect((await storedRow(created.id)).payloadSecretCiphertext).toBe(row.payloadSecretCiphertext);
    await put(created.id, { name: created.name, payload: pgPayload({ dbPassword: '' }) });
    await put(created.id, { name: created.name, payload: pgPayload() });
    expect((await storedRow(created.id)).payloadSecretCiphertext).toBe(row.payloadSecretCiphertext);

    const replaced = await put(created.id, {
      name: created.name,
      payload: pgPayload({ dbPassword: 'next-one' }),
    });
    expect(replaced.status, replaced.text).toBe(200);
    const next = await storedRow(created.id);
    expect(JSON.stringify(next)).not.toContain('next-one');
    expect(secretBox().open(next.payloadSecretCiphertext)).toBe('next-one');

    // A file template has no database password to keep.
    const toFile = await put(created.id, {
      name: created.name,
      payload: filePayload({ dbPassword: 'ignored' }),
    });
    expect(toFile.status, toFile.text).toBe(200);
    expect(toFile.body.data.maskedFields).toEqual([]);
    expect(toFile.body.data.payload).not.toHaveProperty('dbPassword');
    const cleared = await storedRow(created.id);
    expect(cleared.payloadSecretCiphertext).toBe('');
    expect(JSON.stringify(cleared)).not.toContain('ignored');
  });

  it('applies a template: one task per row through task validation, best effort, with the password', async () => {
    const password = 'apply-Pa55word';
    const template = await create({
      name: unique('apply-pg'),
      payload: pgPayload({ dbPassword: password, tags: 'tpl', cronExpr: '0 2 * * *' }),
    });
    const taken = unique('existing-task');
    const existing = await master.api.post<Envelope<TaskDetail>>(
      '/api/backup/tasks',
      { ...pgPayload({ dbPassword: 'x' }), name: taken },
      { token: operator },
    );
    expect(existing.status, existing.text).toBe(200);
    const before = await taskCount();

    const first = unique('orders-db');
    const third = unique('billing-db');
    const response = await apply(template.id, [
      { name: first, dbHost: 'db-1.example', dbName: 'orders' },
      { name: taken, dbHost: 'db-2.example' },
      { name: third, dbName: 'billing', tags: 'billing,eu', nodeId: 0 },
    ]);
    expect(response.status, response.text).toBe(200);
    const results = response.body.data;
    expect(results.map((result) => [result.name, result.success])).toEqual([
      [first, true],
      [taken, false],
      [third, true],
    ]);
    expect(results[1]?.error).toMatch(/already exists/);
    expect(results[1]).not.toHaveProperty('taskId');
    expect(await taskCount()).toBe(before + 2);

    const orders = await storedTask(results[0]?.taskId ?? 0);
    expect(orders).toMatchObject({
      name: first,
      type: 'postgresql',
      dbHost: 'db-1.example',
      dbName: 'orders',
      dbUser: 'backup',
      cronExpr: '0 2 * * *',
      tags: 'tpl',
    });
    expect(secretBox().open(orders.dbPasswordCiphertext)).toBe(password);
    const billing = await storedTask(results[2]?.taskId ?? 0);
    expect(billing).toMatchObject({ name: third, dbHost: '10.0.0.1', dbName: 'billing', tags: 'billing,eu' });
    expect(secretBox().open(billing.dbPasswordCiphertext)).toBe(password);
    expect(response.text).not.toContain(password);

    // Each task is created like any other: audited and scheduled.
    expect(master.container.services.taskScheduler.scheduledTaskIds()).toContain(orders.id);
    const taskAudit = await master.api.get<Envelope<{ items: AuditEntry[] }>>(
      `/api/audit-logs?category=backup_task&action=create&targetId=${orders.id}`,
      { token: admin },
    );
    expect(taskAudit.body.data.items).toHaveLength(1);
    const applyAudit = (await auditOf(template.id)).find((entry) => entry.action === 'apply');
    expect(applyAudit?.detail).toContain('created 2 of 3');
    expect(applyAudit?.detail).not.toContain(password);
  });

  it('overrides the source paths, tags and node of a file template, and reports task errors per row', async () => {
    const template = await create({
      name: unique('apply-files'),
      payload: filePayload({ sourcePaths: ['/srv/one', '/srv/two'] }),
    });
    const names = [unique('site-a'), unique('site-b'), unique('site-c'), unique('site-d'), unique('site-e')];
    const response = await apply(template.id, [
      { name: names[0], sourcePath: '/var/www/a' },
      { name: names[1], sourcePaths: ['/var/www/b', '  ', '/var/log/b'], tags: ['web', 'b'] },
      { name: names[2], sourcePath: 'relative/dir' },
      { name: names[3], nodeId: 4_000_000 },
      { name: names[4] },
    ]);
    expect(response.status, response.text).toBe(200);
    const [a, b, relative, noNode, plain] = response.body.data;
    expect(a?.success).toBe(true);
    expect(JSON.parse((await storedTask(a?.taskId ?? 0)).sourcePaths)).toEqual(['/var/www/a']);
    expect(b?.success).toBe(true);
    const bTask = await storedTask(b?.taskId ?? 0);
    expect(JSON.parse(bTask.sourcePaths)).toEqual(['/var/www/b', '/var/log/b']);
    expect(bTask.tags).toBe('web,b');
    expect(relative).toMatchObject({ success: false });
    expect(relative?.error).toMatch(/must be absolute/);
    expect(noNode).toMatchObject({ success: false });
    expect(noNode?.error).toMatch(/node 4000000 does not exist/);
    expect(plain?.success).toBe(true);
    const plainTask = await storedTask(plain?.taskId ?? 0);
    expect(JSON.parse(plainTask.sourcePaths)).toEqual(['/srv/one', '/srv/two']);
    expect(plainTask.tags).toBe('tpl');
  });

  it('refuses bad apply requests without creating anything', async () => {
    const template = await create({ name: unique('apply-bad'), payload: filePayload() });
    const before = await taskCount();
    const rows = (count: number) => Array.from({ length: count }, (_, index) => ({ name: `bulk-${index}` }));
    const bodies: unknown[] = [
      { variables: [] },
      { variables: rows(101) },
      { variables: [{ name: '   ' }] },
      { variables: [{ name: '' }] },
      { variables: [{ sourcePath: '/srv/x' }] },
      { variables: [{ name: 'x'.repeat(101) }] },
      { variables: [{ name: 'ok', dbhost: 'typo' }] },
      { variables: [{ name: 'ok', nodeId: -1 }] },
      {},
      { variables: 'x' },
    ];
    for (const body of bodies) {
      const response = await master.api.post<Envelope>(`/api/task-templates/${template.id}/apply`, body, {
        token: operator,
      });
      expect(response.status, `${JSON.stringify(body).slice(0, 80)} → ${response.text}`).toBe(400);
      expect(response.body.code).toBe('TASK_TEMPLATE_INVALID');
    }
    expect(await taskCount()).toBe(before);
    // The largest request is accepted.
    const largest = await apply(
      template.id,
      rows(100).map((row) => ({ name: unique(row.name) })),
    );
    expect(largest.status, largest.text).toBe(200);
    expect(largest.body.data).toHaveLength(100);
    expect(largest.body.data.every((result) => result.success)).toBe(true);
    expect(await taskCount()).toBe(before + 100);
  });

  it('lets viewers read templates but not create, change, delete or apply them', async () => {
    const template = await create({ name: unique('roles'), payload: filePayload() });
    expect((await get(template.id, viewer)).status).toBe(200);
    const before = await taskCount();
    const attempts = [
      await master.api.post(
        '/api/task-templates',
        { name: unique('viewer'), payload: filePayload() },
        {
          token: viewer,
        },
      ),
      await put(template.id, { name: 'renamed', payload: filePayload() }, viewer),
      await master.api.delete(`/api/task-templates/${template.id}`, undefined, { token: viewer }),
      await apply(template.id, [{ name: unique('viewer-task') }], viewer),
    ];
    for (const response of attempts) {
      expect(response.status, response.text).toBe(403);
      expect((response.body as Envelope).code).toBe('AUTH_FORBIDDEN');
    }
    expect((await storedRow(template.id)).name).toBe(template.name);
    expect(await taskCount()).toBe(before);
    // Admins are operators too.
    const byAdmin = await apply(template.id, [{ name: unique('admin-task') }], admin);
    expect(byAdmin.status, byAdmin.text).toBe(200);
    expect(byAdmin.body.data[0]?.success).toBe(true);
  });
});
