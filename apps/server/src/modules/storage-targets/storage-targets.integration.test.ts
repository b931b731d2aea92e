import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AuditEntry,
  RcloneBackendInfo,
  StorageTargetDetail,
  StorageTargetSummary,
  StorageTargetUsage,
} from '@backupx/contract';
import { freePort } from '@backupx/testkit/services/common';
import { startSshd, type SshdService } from '@backupx/testkit/services/sshd';
import { deriveEncryptionKey, SecretBox } from '../../lib/crypto.ts';
import { isAppError } from '../../lib/errors.ts';
import { systemActor } from '../auth/principal.ts';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

const S3_ACCESS_KEY = 'AKIA-ACCESS-KEY-4711';
const S3_SECRET_KEY = 'super-secret-key-value-0815';

let sshd: SshdService;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'bx-storage-targets-'));
  sshd = await startSshd();
}, 120_000);
afterAll(async () => {
  await sshd.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe.each(dialects)('storage targets on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let operator: string;
  let viewer: string;
  let box: SecretBox;
  let dirs = 0;

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    operator = (await master.createUser(admin, 'ops', 'operator')).token;
    viewer = (await master.createUser(admin, 'watcher', 'viewer')).token;
    box = new SecretBox(deriveEncryptionKey(master.container.secrets.encryptionKey));
  });
  afterAll(async () => {
    await master.destroy();
  });

  const freshDir = () => {
    dirs += 1;
    return path.join(scratch, `${dialect}-${dirs}`);
  };
  const db = () => master.container.database.db;

  const create = async (body: Record<string, unknown>, token = operator): Promise<StorageTargetDetail> => {
    const response = await master.api.post<Envelope<StorageTargetDetail>>('/api/storage-targets', body, {
      token,
    });
    expect(response.status, response.text).toBe(200);
    return response.body.data;
  };
  const localTarget = (name: string, extra: Record<string, unknown> = {}) =>
    create({ name, type: 'local_disk', config: { basePath: freshDir() }, ...extra });
  const s3Body = (name: string) => ({
    name,
    type: 's3',
    description: 'offsite copy',
    enabled: false,
    quotaBytes: 1_000_000,
    config: {
      endpoint: 'http://127.0.0.1:9/',
      bucket: 'backups',
      accessKeyId: S3_ACCESS_KEY,
      secretAccessKey: S3_SECRET_KEY,
    },
  });
  const sftpConfig = (root: string, port = sshd.port) => ({
    host: sshd.host,
    port,
    user: sshd.user,
    key_pem: sshd.privateKeyPem,
    host_key_sha256: sshd.hostKeySha256,
    root,
  });

  const storedRow = (id: number) =>
    db().selectFrom('storageTargets').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const storedConfig = async (id: number) =>
    JSON.parse(box.open((await storedRow(id)).configCiphertext)) as Record<string, unknown>;
  const allRows = () => db().selectFrom('storageTargets').selectAll().orderBy('id').execute();
  const auditEntries = async (): Promise<AuditEntry[]> => {
    const response = await master.api.get<Envelope<{ items: AuditEntry[] }>>(
      '/api/audit-logs?category=storage_target&limit=500',
      { token: admin },
    );
    return response.body.data.items;
  };

  it('creates, reads and updates a target: secrets are masked, kept on masked updates, and never leave the server', async () => {
    const created = await create(s3Body('Offsite S3'));
    expect(created).toMatchObject({
      name: 'Offsite S3',
      type: 's3',
      description: 'offsite copy',
      enabled: false, // the client's value wins (BackupX turned it into true)
      starred: false,
      lastTestedAt: null,
      lastTestStatus: 'unknown',
      lastTestMessage: '',
      quotaBytes: 1_000_000,
    });
    expect(created.config).toMatchObject({
      endpoint: 'http://127.0.0.1:9/',
      bucket: 'backups',
      accessKeyId: '********',
      secretAccessKey: '********',
    });
    expect(created.maskedFields.sort()).toEqual(['accessKeyId', 'secretAccessKey']);
    expect(await storedConfig(created.id)).toMatchObject({
      accessKeyId: S3_ACCESS_KEY,
      secretAccessKey: S3_SECRET_KEY,
    });
    expect((await storedRow(created.id)).configCiphertext).not.toContain(S3_SECRET_KEY);

    // The edit form sends the masks back (and an empty string): both keep the stored secrets.
    const updated = await master.api.put<Envelope<StorageTargetDetail>>(
      `/api/storage-targets/${created.id}`,
      {
        name: 'Offsite S3 (EU)',
        type: 's3',
        config: { ...created.config, accessKeyId: '', bucket: 'backups-eu' },
      },
      { token: operator },
    );
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body.data).toMatchObject({
      name: 'Offsite S3 (EU)',
      description: 'offsite copy',
      enabled: false,
      quotaBytes: 1_000_000,
    });
    expect(updated.body.data.config).toMatchObject({ bucket: 'backups-eu', secretAccessKey: '********' });
    expect(await storedConfig(created.id)).toMatchObject({
      bucket: 'backups-eu',
      accessKeyId: S3_ACCESS_KEY,
      secretAccessKey: S3_SECRET_KEY,
    });

    // A new secret replaces the old one.
    const rotated = await master.api.put<Envelope<StorageTargetDetail>>(
      `/api/storage-targets/${created.id}`,
      {
        name: 'Offsite S3 (EU)',
        type: 's3',
        enabled: true,
        config: { secretAccessKey: 'rotated-secret-999' },
      },
      { token: operator },
    );
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.body.data.enabled).toBe(true);
    expect(await storedConfig(created.id)).toMatchObject({
      accessKeyId: S3_ACCESS_KEY,
      secretAccessKey: 'rotated-secret-999',
    });

    const detail = await master.api.get<Envelope<StorageTargetDetail>>(`/api/storage-targets/${created.id}`, {
      token: viewer,
    });
    const list = await master.api.get<Envelope<StorageTargetSummary[]>>('/api/storage-targets', {
      token: viewer,
    });
    expect(detail.status).toBe(200);
    expect(list.status).toBe(200);
    expect(Object.keys(list.body.data.find((t) => t.id === created.id) ?? {}).sort()).toEqual(
      [
        'createdAt',
        'description',
        'enabled',
        'id',
        'lastTestMessage',
        'lastTestStatus',
        'lastTestedAt',
        'name',
        'quotaBytes',
        'starred',
        'type',
        'updatedAt',
      ].sort(),
    );
    const audits = (await auditEntries()).filter((entry) => entry.targetId === String(created.id));
    expect(audits.map((entry) => entry.action)).toEqual(['update', 'update', 'create']);
    expect(audits[0]?.detail).toContain('config.secretAccessKey');
    for (const text of [
      created,
      updated.text,
      rotated.text,
      detail.text,
      list.text,
      JSON.stringify(audits),
    ].map((value) => (typeof value === 'string' ? value : JSON.stringify(value)))) {
      expect(text).not.toContain(S3_ACCESS_KEY);
      expect(text).not.toContain(S3_SECRET_KEY);
      expect(text).not.toContain('rotated-secret-999');
    }
  });

  it('lists starred targets first, then the most recently updated; star toggles', async () => {
    const first = await localTarget('Order A');
    master.clock.advance(1000);
    const second = await localTarget('Order B');
    master.clock.advance(1000);
    const third = await localTarget('Order C');
    const ids = [first.id, second.id, third.id];
    const order = async () =>
      (
        await master.api.get<Envelope<StorageTargetSummary[]>>('/api/storage-targets', { token: viewer })
      ).body.data
        .filter((target) => ids.includes(target.id))
        .map((target) => target.name);
    expect(await order()).toEqual(['Order C', 'Order B', 'Order A']);

    master.clock.advance(1000);
    const starred = await master.api.put<Envelope<StorageTargetSummary>>(
      `/api/storage-targets/${first.id}/star`,
      undefined,
      { token: operator },
    );
    expect(starred.status, starred.text).toBe(200);
    expect(starred.body.data.starred).toBe(true);
    master.clock.advance(1000);
    await master.api.put(
      `/api/storage-targets/${second.id}`,
      { name: 'Order B', type: 'local_disk', description: 'touched' },
      { token: operator },
    );
    expect(await order()).toEqual(['Order A', 'Order B', 'Order C']);

    const unstarred = await master.api.put<Envelope<StorageTargetSummary>>(
      `/api/storage-targets/${first.id}/star`,
      undefined,
      { token: operator },
    );
    expect(unstarred.body.data.starred).toBe(false);
    const stars = (await auditEntries()).filter(
      (entry) => entry.targetId === String(first.id) && entry.action === 'star',
    );
    expect(stars.map((entry) => entry.detail)).toEqual([
      'Unstarred storage target Order A',
      'Starred storage target Order A',
    ]);
  });

  it('tests an unsaved local_disk config against a real directory and persists nothing', async () => {
    const rowsBefore = await allRows();
    const auditBefore = (await auditEntries()).length;
    const basePath = path.join(freshDir(), 'nested');
    const response = await master.api.post<Envelope<{ success: boolean; message: string }>>(
      '/api/storage-targets/test',
      { name: 'Probe', type: 'local_disk', config: { basePath } },
      { token: operator },
    );
    expect(response.status, response.text).toBe(200);
    expect(response.body.data).toEqual({ success: true, message: 'Connection succeeded' });
    expect((await stat(basePath)).isDirectory()).toBe(true); // the backend created its root
    expect(await allRows()).toEqual(rowsBefore);
    expect((await auditEntries()).length).toBe(auditBefore);
  });

  it('tests unsaved and saved SFTP targets against a real OpenSSH server and stores the outcome', async () => {
    const root = path.join(sshd.dataDir, `${dialect}-saved`);
    const unsaved = await master.api.post<Envelope<{ success: boolean }>>(
      '/api/storage-targets/test',
      { name: 'SFTP probe', type: 'sftp', config: sftpConfig(path.join(sshd.dataDir, `${dialect}-probe`)) },
      { token: operator },
    );
    expect(unsaved.status, unsaved.text).toBe(200);

    const target = await create({ name: 'SFTP box', type: 'sftp', config: sftpConfig(root) });
    expect(target.config.key_pem).toBe('********');
    const tested = await master.api.post<Envelope<{ success: boolean; message: string }>>(
      `/api/storage-targets/${target.id}/test`,
      undefined,
      { token: operator },
    );
    expect(tested.status, tested.text).toBe(200);
    expect(tested.body.data).toEqual({ success: true, message: 'Connection succeeded' });
    expect(await readdir(root)).toEqual([]);
    const row = await storedRow(target.id);
    expect(row).toMatchObject({ lastTestStatus: 'success', lastTestMessage: 'Connection succeeded' });
    expect(row.lastTestedAt).not.toBeNull();
    expect(row.updatedAt).toBe(target.updatedAt); // a test is not an edit

    // An edit form holds masks: testing it with `targetId` uses the stored key.
    const masked = await master.api.post(
      '/api/storage-targets/test',
      { targetId: target.id, name: 'SFTP box', type: 'sftp', config: target.config },
      { token: operator },
    );
    expect(masked.status, masked.text).toBe(200);
    const audits = (await auditEntries()).filter(
      (entry) => entry.targetId === String(target.id) && entry.action === 'test',
    );
    expect(audits).toHaveLength(1);
    expect(audits[0]?.detail).toBe('Connection test of SFTP box succeeded');
  });

  it('answers 400 STORAGE_TARGET_TEST_FAILED for an unreachable server and stores the failure without secrets', async () => {
    const closedPort = await freePort();
    const config = { ...sftpConfig('/srv/nowhere', closedPort), key_pem: '', pass: 'p4ssw0rd-never-shown' };
    const unsaved = await master.api.post(
      '/api/storage-targets/test',
      { name: 'Dead SFTP', type: 'sftp', config },
      { token: operator },
    );
    expect(unsaved.status).toBe(400);
    expect(unsaved.body.code).toBe('STORAGE_TARGET_TEST_FAILED');
    expect(unsaved.text).not.toContain('p4ssw0rd-never-shown');

    const target = await create({ name: 'Dead SFTP', type: 'sftp', config });
    const saved = await master.api.post(`/api/storage-targets/${target.id}/test`, undefined, {
      token: operator,
    });
    expect(saved.status).toBe(400);
    expect(saved.body.code).toBe('STORAGE_TARGET_TEST_FAILED');
    const row = await storedRow(target.id);
    expect(row.lastTestStatus).toBe('failed');
    expect(row.lastTestedAt).not.toBeNull();
    expect(row.lastTestMessage.length).toBeGreaterThan(0);
    expect(row.lastTestMessage.length).toBeLessThanOrEqual(255);
    expect(row.lastTestMessage).not.toContain('p4ssw0rd-never-shown');
    const detail = await master.api.get<Envelope<StorageTargetDetail>>(`/api/storage-targets/${target.id}`, {
      token: viewer,
    });
    expect(detail.body.data.lastTestStatus).toBe('failed');
    expect(detail.body.data.config.pass).toBe('********');
  });

  it('reports usage from the successful copies recorded on each target, and the disk capacity', async () => {
    const a = await localTarget('Usage A');
    const b = await localTarget('Usage B');
    const results = (entries: { id: number; status: string; size?: number }[]) =>
      JSON.stringify(
        entries.map((e) => ({
          storageTargetId: e.id,
          status: e.status,
          ...(e.size === undefined ? {} : { fileSize: e.size }),
        })),
      );
    let taskId = 1000;
    const insertRecord = async (fields: {
      status: string;
      storageTargetId: number;
      fileSize: number;
      storageUploadResults: string;
    }) => {
      taskId += 1;
      const now = new Date().toISOString();
      await db()
        .insertInto('backupRecords')
        .values({
          taskId,
          nodeId: 0,
          fileName: 'backup.tar.zst',
          checksum: '',
          storagePath: 'BackupX/file/260101/backup.tar.zst',
          storageTransferMode: 'direct',
          durationSeconds: 1,
          locked: 0,
          backupKind: 'full',
          baseRecordId: 0,
          manifest: '',
          errorMessage: '',
          logContent: '',
          runnerId: '',
          heartbeatAt: null,
          startedAt: now,
          completedAt: now,
          createdAt: now,
          updatedAt: now,
          ...fields,
        })
        .execute();
    };
    // Copied to both targets: counts on both (BackupX counted only the primary one).
    await insertRecord({
      status: 'success',
      storageTargetId: a.id,
      fileSize: 100,
      storageUploadResults: results([
        { id: a.id, status: 'success', size: 100 },
        { id: b.id, status: 'success', size: 100 },
      ]),
    });
    // A record without per-target results counts on its primary target.
    await insertRecord({
      status: 'success',
      storageTargetId: a.id,
      fileSize: 50,
      storageUploadResults: '[]',
    });
    // Failed runs and failed copies count nowhere.
    await insertRecord({
      status: 'failed',
      storageTargetId: a.id,
      fileSize: 999,
      storageUploadResults: '[]',
    });
    await insertRecord({
      status: 'success',
      storageTargetId: b.id,
      fileSize: 70,
      storageUploadResults: results([
        { id: a.id, status: 'failed' },
        { id: b.id, status: 'success' },
      ]),
    });

    const usageOf = async (id: number) => {
      const response = await master.api.get<Envelope<StorageTargetUsage>>(
        `/api/storage-targets/${id}/usage`,
        {
          token: viewer,
        },
      );
      expect(response.status, response.text).toBe(200);
      return response.body.data;
    };
    const usageA = await usageOf(a.id);
    expect(usageA).toMatchObject({ targetId: a.id, targetName: 'Usage A', recordCount: 2, totalSize: 150 });
    expect(usageA.diskUsage?.total).toBeGreaterThan(0);
    expect(usageA.diskUsage?.free).toBeGreaterThanOrEqual(0);
    expect(await usageOf(b.id)).toMatchObject({ recordCount: 2, totalSize: 170 });

    const used = await master.container.services.storageTargets.usedBytesByTarget();
    expect(used.get(a.id)).toBe(150);
    expect(used.get(b.id)).toBe(170);
  });

  it('refuses to delete a target a task uses (409), then deletes it once free', async () => {
    const target = await localTarget('In use');
    const now = new Date().toISOString();
    const task = await sql<{ id: number }>`
      insert into backup_tasks (name, type, created_at, updated_at)
      values (${`task-${dialect}`}, 'file', ${now}, ${now}) returning id`.execute(db());
    const taskId = Number(task.rows[0]?.id);
    await db()
      .insertInto('backupTaskStorageTargets')
      .values({ taskId, storageTargetId: target.id, position: 0 })
      .execute();

    const refused = await master.api.delete(`/api/storage-targets/${target.id}`, undefined, {
      token: operator,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('STORAGE_TARGET_IN_USE');
    expect(refused.body.message).toContain(`task-${dialect}`);
    expect(await storedRow(target.id)).toMatchObject({ name: 'In use' });

    await db().deleteFrom('backupTaskStorageTargets').where('taskId', '=', taskId).execute();
    const deleted = await master.api.delete(`/api/storage-targets/${target.id}`, undefined, {
      token: operator,
    });
    expect(deleted.status, deleted.text).toBe(200);
    expect(deleted.body).toEqual({ code: 'OK', message: 'success', data: { deleted: true } });
    const gone = await master.api.get(`/api/storage-targets/${target.id}`, { token: viewer });
    expect(gone.status).toBe(404);
    const audits = (await auditEntries()).filter((entry) => entry.targetId === String(target.id));
    expect(audits.map((entry) => entry.action)).toEqual(['delete', 'create']);
  });

  it('rejects bad input with stable codes and changes nothing', async () => {
    const existing = await localTarget('Keeper');
    const other = await localTarget('Other');
    const rowsBefore = await allRows();
    const auditBefore = (await auditEntries()).length;
    const expectError = async (
      response: Promise<{ status: number; body: { code: string } }>,
      status: number,
      code: string,
    ) => {
      const answered = await response;
      expect(answered.status).toBe(status);
      expect(answered.body.code).toBe(code);
    };
    const api = master.api;
    const as = { token: operator };

    for (const [method, suffix] of [
      ['GET', ''],
      ['PUT', ''],
      ['DELETE', ''],
      ['PUT', '/star'],
      ['POST', '/test'],
      ['GET', '/usage'],
    ] as const) {
      const body = method === 'PUT' && suffix === '' ? { name: 'x', type: 'local_disk' } : undefined;
      await expectError(
        api.request(method, `/api/storage-targets/4000000000${suffix}`, { ...as, json: body }),
        404,
        'STORAGE_TARGET_NOT_FOUND',
      );
      for (const bad of ['abc', '0', '-1', '99999999999'])
        await expectError(
          api.request(method, `/api/storage-targets/${bad}${suffix}`, { ...as, json: body }),
          400,
          'INVALID_ID',
        );
    }
    await expectError(
      api.post(
        '/api/storage-targets/test',
        { targetId: 4000000000, name: 'x', type: 'local_disk', config: {} },
        as,
      ),
      404,
      'STORAGE_TARGET_NOT_FOUND',
    );

    await expectError(
      api.post('/api/storage-targets', { name: 'Mystery', type: 'floppy', config: {} }, as),
      400,
      'STORAGE_PROVIDER_UNSUPPORTED',
    );
    await expectError(
      api.post('/api/storage-targets/test', { name: 'Mystery', type: 'floppy', config: {} }, as),
      400,
      'STORAGE_PROVIDER_UNSUPPORTED',
    );
    const relative = await api.post(
      '/api/storage-targets',
      { name: 'Relative', type: 'local_disk', config: { basePath: 'backups/here' } },
      as,
    );
    expect(relative.status).toBe(400);
    expect(relative.body.code).toBe('STORAGE_TARGET_INVALID_CONFIG');
    expect(relative.body.message).toContain('absolute');
    await expectError(
      api.post('/api/storage-targets', { name: 'No bucket', type: 's3', config: { accessKeyId: 'a' } }, as),
      400,
      'STORAGE_TARGET_INVALID_CONFIG',
    );
    await expectError(
      api.post(
        '/api/storage-targets',
        {
          name: 'Qiniu',
          type: 'qiniu_kodo',
          config: { region: 'mars-1', bucket: 'b', accessKeyId: 'a', secretAccessKey: 's' },
        },
        as,
      ),
      400,
      'STORAGE_TARGET_INVALID_CONFIG',
    );
    await expectError(
      api.post(
        '/api/storage-targets',
        { name: 'Keeper', type: 'local_disk', config: { basePath: freshDir() } },
        as,
      ),
      409,
      'STORAGE_TARGET_NAME_EXISTS',
    );
    for (const body of [
      { name: '', type: 'local_disk', config: { basePath: '/tmp' } },
      { name: 'x'.repeat(129), type: 'local_disk', config: { basePath: '/tmp' } },
      { name: 'Desc', type: 'local_disk', description: 'd'.repeat(256), config: { basePath: '/tmp' } },
      { name: 'Quota', type: 'local_disk', quotaBytes: -1, config: { basePath: '/tmp' } },
      { name: 'Extra', type: 'local_disk', config: { basePath: '/tmp' }, surprise: true },
      { name: 'No config', type: 'local_disk' },
    ])
      await expectError(api.post('/api/storage-targets', body, as), 400, 'INVALID_INPUT');

    await expectError(
      api.put(`/api/storage-targets/${existing.id}`, { name: 'Other', type: 'local_disk' }, as),
      409,
      'STORAGE_TARGET_NAME_EXISTS',
    );
    await expectError(
      api.put(`/api/storage-targets/${existing.id}`, { name: 'Keeper', type: 's3', config: {} }, as),
      400,
      'STORAGE_TARGET_TYPE_IMMUTABLE',
    );
    await expectError(
      api.put(
        `/api/storage-targets/${existing.id}`,
        { name: 'Keeper', type: 'local_disk', config: { basePath: 'rel' } },
        as,
      ),
      400,
      'STORAGE_TARGET_INVALID_CONFIG',
    );

    const asViewer = { token: viewer };
    await expectError(
      api.post(
        '/api/storage-targets',
        { name: 'V', type: 'local_disk', config: { basePath: '/tmp/v' } },
        asViewer,
      ),
      403,
      'AUTH_FORBIDDEN',
    );
    await expectError(
      api.post(
        '/api/storage-targets/test',
        { name: 'V', type: 'local_disk', config: { basePath: '/tmp/v' } },
        asViewer,
      ),
      403,
      'AUTH_FORBIDDEN',
    );
    await expectError(
      api.put(`/api/storage-targets/${existing.id}`, { name: 'V', type: 'local_disk' }, asViewer),
      403,
      'AUTH_FORBIDDEN',
    );
    await expectError(
      api.delete(`/api/storage-targets/${other.id}`, undefined, asViewer),
      403,
      'AUTH_FORBIDDEN',
    );
    await expectError(
      api.put(`/api/storage-targets/${other.id}/star`, undefined, asViewer),
      403,
      'AUTH_FORBIDDEN',
    );
    await expectError(
      api.post(`/api/storage-targets/${other.id}/test`, undefined, asViewer),
      403,
      'AUTH_FORBIDDEN',
    );
    await expectError(api.get('/api/storage-targets'), 401, 'AUTH_REQUIRED');

    expect(await allRows()).toEqual(rowsBefore);
    expect((await auditEntries()).length).toBe(auditBefore);
  });

  it('lets exactly one of two simultaneous creates with the same name win (409 for the other)', async () => {
    const body = { name: 'Raced name', type: 'local_disk', config: { basePath: freshDir() } };
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => master.api.post('/api/storage-targets', body, { token: operator })),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409, 409, 409]);
    for (const answer of answers.filter((a) => a.status === 409))
      expect(answer.body.code).toBe('STORAGE_TARGET_NAME_EXISTS');
    expect((await allRows()).filter((row) => row.name === 'Raced name')).toHaveLength(1);
  });

  it('lists the backends of the installed rclone for any role', async () => {
    const response = await master.api.get<Envelope<RcloneBackendInfo[]>>(
      '/api/storage-targets/rclone/backends',
      {
        token: viewer,
      },
    );
    expect(response.status, response.text).toBe(200);
    const names = response.body.data.map((backend) => backend.name);
    expect(names).toEqual(expect.arrayContaining(['s3', 'sftp', 'webdav', 'dropbox']));
    for (const wrapper of ['union', 'crypt', 'chunker', 'compress', 'hasher', 'combine', 'local'])
      expect(names).not.toContain(wrapper);
    const sftp = response.body.data.find((backend) => backend.name === 'sftp');
    expect(sftp?.options.find((option) => option.key === 'pass')).toMatchObject({ isPassword: true });
    expect(sftp?.options.find((option) => option.key === 'host')).toMatchObject({ required: true });
    expect(sftp?.options.some((option) => option.key === 'description')).toBe(false);
  });

  it('opens backends for other modules: enabled only, missing refused, ids and summaries resolved', async () => {
    const service = master.container.services.storageTargets;
    const basePath = freshDir();
    const enabled = await create({ name: 'Service enabled', type: 'local_disk', config: { basePath } });
    const disabled = await localTarget('Service disabled', { enabled: false });

    const { target, backend } = await service.openBackend(enabled.id);
    try {
      expect(target).toMatchObject({ id: enabled.id, name: 'Service enabled', quotaBytes: 0 });
      await backend.put('a/b.txt', Readable.from([Buffer.from('hello')]));
      expect((await backend.list('')).map((object) => object.key)).toEqual(['a/b.txt']);
    } finally {
      await backend.close();
    }
    expect((await readdir(path.join(basePath, 'a'))).includes('b.txt')).toBe(true);

    const codeOf = async (promise: Promise<unknown>) => {
      try {
        await promise;
        return 'resolved';
      } catch (error) {
        return isAppError(error) ? error.code : String(error);
      }
    };
    expect(await codeOf(service.openBackend(disabled.id))).toBe('STORAGE_TARGET_DISABLED');
    expect(await codeOf(service.openBackend(4_000_000_000))).toBe('STORAGE_TARGET_NOT_FOUND');
    const reading = await service.openBackend(disabled.id, { allowDisabled: true });
    await reading.backend.close();

    expect(await service.existingIds([disabled.id, 4_000_000_000, enabled.id, disabled.id])).toEqual([
      disabled.id,
      enabled.id,
    ]);
    expect((await service.getSummaries([enabled.id, 4_000_000_000])).map((s) => s.name)).toEqual([
      'Service enabled',
    ]);
    // The service API works without an HTTP actor too (the system actor of monitors and schedulers).
    expect((await service.toggleStar(systemActor, enabled.id)).starred).toBe(true);
  });
});
