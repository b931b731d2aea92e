import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AuditEntry,
  PostureOverview,
  RecordDetail,
  SystemEvent,
  VerificationDetail,
  VerificationSummary,
} from '@backupx/contract';
import { mysql, psql, writeSampleTree } from '@backupx/testkit';
import { startS3rver, type S3rverService } from '@backupx/testkit/services/s3rver';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Verification drills (SPEC §8) against real storage (a local disk and s3rver) and real database
 * servers: quick and deep drills, per-copy verification, the 3-2-1 posture, corruption and
 * manifest mismatches caught, throw-away databases counted and dropped, the verify cron.
 */
describe.each(dialects)('verification drills on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let viewer: string;
  let work: string;
  let source: string;
  let s3: S3rverService;
  const targets = { disk: 0, s3: 0 };
  const events: SystemEvent[] = [];

  const api = () => master.api;
  const createTask = async (body: Record<string, unknown>): Promise<number> => {
    const created = await api().post<Envelope<{ id: number }>>('/api/backup/tasks', body, { token: admin });
    expect(created.status, created.text).toBe(200);
    return created.body.data.id;
  };
  const record = async (id: number) =>
    (await api().get<Envelope<RecordDetail>>(`/api/backup/records/${String(id)}`, { token: viewer })).body
      .data;
  const runAndWait = async (taskId: number): Promise<RecordDetail> => {
    const started = await api().post<Envelope<RecordDetail>>(
      `/api/backup/tasks/${String(taskId)}/run`,
      undefined,
      { token: admin },
    );
    expect(started.status, started.text).toBe(200);
    for (;;) {
      const current = await record(started.body.data.id);
      if (current.status !== 'running') return current;
      await sleep(100);
    }
  };
  const waitDrill = async (id: number): Promise<VerificationDetail> => {
    for (;;) {
      const detail = await api().get<Envelope<VerificationDetail>>(`/api/verify/records/${String(id)}`, {
        token: viewer,
      });
      expect(detail.status, detail.text).toBe(200);
      if (detail.body.data.status !== 'running') return detail.body.data;
      await sleep(100);
    }
  };
  const drill = async (recordId: number, body: Record<string, unknown>) => {
    const started = await api().post<Envelope<VerificationDetail>>(
      `/api/backup/records/${String(recordId)}/verify`,
      body,
      { token: admin },
    );
    expect(started.status, started.text).toBe(200);
    expect(started.body.data.status).toBe('running');
    return waitDrill(started.body.data.id);
  };
  const check = (detail: VerificationDetail, name: string) => detail.checks.find((c) => c.name === name);

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    viewer = (await master.createUser(admin, 'drill-viewer', 'viewer')).token;
    work = mkdtempSync(path.join(tmpdir(), 'bx-verify-'));
    source = path.join(work, 'site');
    writeSampleTree(source, { files: 30, bigBytes: 512 * 1024 });
    s3 = await startS3rver({ bucket: 'drills' });
    const disk = await api().post<Envelope<{ id: number }>>(
      '/api/storage-targets',
      { name: 'disk', type: 'local_disk', config: { basePath: path.join(work, 'disk') } },
      { token: admin },
    );
    targets.disk = disk.body.data.id;
    const bucket = await api().post<Envelope<{ id: number }>>(
      '/api/storage-targets',
      {
        name: 'bucket',
        type: 's3',
        config: {
          endpoint: s3.url,
          region: s3.region,
          bucket: s3.bucket,
          accessKeyId: s3.accessKeyId,
          secretAccessKey: s3.secretAccessKey,
        },
      },
      { token: admin },
    );
    expect(bucket.status, bucket.text).toBe(200);
    targets.s3 = bucket.body.data.id;
    master.container.services.events.subscribe((event) => events.push(event));
  });
  afterAll(async () => {
    await master.destroy();
    await s3.stop();
    rmSync(work, { recursive: true, force: true });
  });

  describe('files', () => {
    let taskId = 0;
    let backup: RecordDetail;

    beforeAll(async () => {
      taskId = await createTask({
        name: 'drilled site',
        type: 'file',
        sourcePaths: [source],
        storageTargetIds: [targets.disk, targets.s3],
        encrypt: true,
      });
      backup = await runAndWait(taskId);
      expect(backup.status, backup.errorMessage).toBe('success');
    });

    it('a new backup on a disk and a bucket is laid out 3-2-1 but unverified', () => {
      expect(backup.posture).toMatchObject({
        status: 'unverified',
        copies: 2,
        distinctTargets: 2,
        distinctProviders: 2,
        offsiteCopies: 1,
        verifiedCopies: 0,
        problems: ['unverified'],
      });
      expect(backup.posture?.copyDetails.map((copy) => [copy.storageType, copy.offsite])).toEqual([
        ['local_disk', false],
        ['s3', true],
      ]);
    });

    it('a quick drill reads the first copy, checks SHA-256 and the tar, and marks that copy verified', async () => {
      const done = await drill(backup.id, {});
      expect(done).toMatchObject({
        status: 'success',
        mode: 'quick',
        storageTargetId: targets.disk,
        storageTargetName: 'disk',
        taskName: 'drilled site',
        backupFileName: backup.fileName,
        rtoSeconds: null,
        triggeredBy: 'admin',
      });
      expect(done.checks.map((c) => [c.name, c.ok])).toEqual([
        ['checksum', true],
        ['structure', true],
      ]);
      expect(done.summary).toMatch(/^tar intact \(\d+ entries, \d+ bytes\)$/);
      const after = await record(backup.id);
      expect(after.posture?.status).toBe('protected');
      expect(after.posture?.verifiedCopies).toBe(1);
      const [disk, bucket] = after.posture?.copyDetails ?? [];
      expect(disk).toMatchObject({ lastVerifyStatus: 'success', lastVerificationId: done.id });
      expect(disk?.lastVerifiedAt).toBe(done.completedAt);
      expect(bucket).toMatchObject({ lastVerifiedAt: null, lastVerifyStatus: null });
    });

    it('a deep drill of the bucket copy restores into scratch and compares every entry and hash with the manifest', async () => {
      const done = await drill(backup.id, { mode: 'deep', storageTargetId: targets.s3 });
      expect(done.status, done.errorMessage).toBe('success');
      expect(done.storageTargetName).toBe('bucket');
      expect(done.checks.map((c) => [c.name, c.ok])).toEqual([
        ['checksum', true],
        ['structure', true],
        ['restore', true],
        ['manifest', true],
      ]);
      expect(check(done, 'manifest')?.detail).toMatch(/entries match the manifest .*\b3\d hashes checked/);
      expect(done.rtoSeconds).not.toBeNull();
      expect(done.rtoSeconds).toBeGreaterThanOrEqual(0);
      expect(done.logContent).toContain('✓ manifest');
      const after = await record(backup.id);
      expect(after.posture?.verifiedCopies).toBe(2);
    });

    it('a deep drill catches a manifest mismatch and names the file', async () => {
      const db = master.container.database.db;
      const row = await db
        .selectFrom('backupRecords')
        .select('manifest')
        .where('id', '=', backup.id)
        .executeTakeFirstOrThrow();
      const manifest = JSON.parse(row.manifest) as { entries: { p: string; s: number; h?: string }[] };
      const victim = manifest.entries.find((entry) => entry.h !== undefined);
      expect(victim).toBeDefined();
      if (victim === undefined) return;
      victim.h = 'f'.repeat(64);
      await db
        .updateTable('backupRecords')
        .set({ manifest: JSON.stringify(manifest) })
        .where('id', '=', backup.id)
        .execute();
      try {
        const done = await drill(backup.id, { mode: 'deep' });
        expect(done.status).toBe('failed');
        expect(check(done, 'manifest')).toMatchObject({ ok: false });
        expect(done.errorMessage).toContain(victim.p);
        expect(done.errorMessage).toMatch(/SHA-256/);
        const event = events.find((e) => e.type === 'verify_failed' && e.fields.verifyId === done.id);
        expect(event?.fields).toMatchObject({
          taskId,
          taskName: 'drilled site',
          backupRecordId: backup.id,
          error: done.errorMessage,
        });
      } finally {
        await db
          .updateTable('backupRecords')
          .set({ manifest: row.manifest })
          .where('id', '=', backup.id)
          .execute();
      }
    });

    it('a corrupted copy fails its drill with the checksum named; the other copy still passes', async () => {
      const stored = path.join(work, 'disk', backup.storagePath);
      const original = readFileSync(stored);
      const damaged = Buffer.from(original);
      const middle = Math.floor(damaged.length / 2);
      damaged.writeUInt8(damaged.readUInt8(middle) ^ 0xff, middle);
      writeFileSync(stored, damaged);
      try {
        const done = await drill(backup.id, { mode: 'deep', storageTargetId: targets.disk });
        expect(done.status).toBe('failed');
        const failed = done.checks.find((c) => !c.ok);
        expect(failed?.name).toMatch(/^(checksum|restore)$/);
        expect(done.errorMessage).toMatch(/checksum mismatch|authentication|decrypt/i);
        const quick = await drill(backup.id, { storageTargetId: targets.disk });
        expect(quick.status).toBe('failed');
        const other = await drill(backup.id, { storageTargetId: targets.s3 });
        expect(other.status).toBe('success');
        const after = await record(backup.id);
        const [disk, bucket] = after.posture?.copyDetails ?? [];
        expect(disk?.lastVerifyStatus).toBe('failed');
        expect(bucket?.lastVerifyStatus).toBe('success');
      } finally {
        writeFileSync(stored, original);
      }
    });

    it('a drill of the task uses its newest success; the list filters; the SSE log replays to completion', async () => {
      const started = await api().post<Envelope<VerificationDetail>>(
        `/api/backup/tasks/${String(taskId)}/verify`,
        { mode: 'quick' },
        { token: admin },
      );
      expect(started.status, started.text).toBe(200);
      const done = await waitDrill(started.body.data.id);
      expect(done).toMatchObject({ status: 'success', backupRecordId: backup.id });
      const listed = await api().get<Envelope<VerificationSummary[]>>(
        `/api/verify/records?taskId=${String(taskId)}&status=failed`,
        { token: viewer },
      );
      expect(listed.body.data.length).toBeGreaterThanOrEqual(2);
      expect(listed.body.data.every((row) => row.status === 'failed')).toBe(true);
      const stream = await fetch(`${master.url}/api/verify/records/${String(done.id)}/logs/stream`, {
        headers: { authorization: `Bearer ${viewer}` },
      });
      expect(stream.headers.get('content-type')).toContain('text/event-stream');
      const text = await stream.text();
      expect(text).toContain('✓ structure');
      expect(text).toContain('"completed":true');
      const audit = await api().get<Envelope<{ items: AuditEntry[] }>>(
        '/api/audit-logs?category=backup_verify',
        { token: admin },
      );
      expect(audit.body.data.items.some((entry) => entry.action === 'manual_run')).toBe(true);
    });

    it('refuses bad requests with stable codes and changes nothing', async () => {
      const before = (
        await api().get<Envelope<VerificationSummary[]>>('/api/verify/records', { token: viewer })
      ).body.data.length;
      const cases: [string, unknown, number, string][] = [
        [`/api/backup/records/${String(backup.id)}/verify`, { mode: 'thorough' }, 400, 'VERIFY_MODE_INVALID'],
        [`/api/backup/records/${String(backup.id)}/verify`, { mode: 7 }, 400, 'VERIFY_MODE_INVALID'],
        [`/api/backup/records/${String(backup.id)}/verify`, { extra: 1 }, 400, 'VERIFY_MODE_INVALID'],
        [
          `/api/backup/records/${String(backup.id)}/verify`,
          { storageTargetId: 999_999 },
          400,
          'VERIFY_COPY_NOT_FOUND',
        ],
        ['/api/backup/records/999999/verify', {}, 400, 'VERIFY_SOURCE_INVALID'],
        ['/api/backup/tasks/999999/verify', {}, 404, 'BACKUP_TASK_NOT_FOUND'],
        ['/api/backup/records/0/verify', {}, 400, 'INVALID_ID'],
      ];
      for (const [url, body, status, code] of cases) {
        const response = await api().post<Envelope>(url, body, { token: admin });
        expect([url, response.status, response.body.code]).toEqual([url, status, code]);
      }
      const idle = await createTask({
        name: 'never ran',
        type: 'file',
        sourcePaths: [source],
        storageTargetIds: [targets.disk],
      });
      const none = await api().post<Envelope>(
        `/api/backup/tasks/${String(idle)}/verify`,
        {},
        { token: admin },
      );
      expect([none.status, none.body.code]).toEqual([400, 'VERIFY_NO_SOURCE']);
      const forbidden = await api().post<Envelope>(
        `/api/backup/records/${String(backup.id)}/verify`,
        {},
        {
          token: viewer,
        },
      );
      expect(forbidden.status).toBe(403);
      const missing = await api().get<Envelope>('/api/verify/records/999999', { token: viewer });
      expect([missing.status, missing.body.code]).toEqual([404, 'VERIFY_RECORD_NOT_FOUND']);
      const after = (
        await api().get<Envelope<VerificationSummary[]>>('/api/verify/records', { token: viewer })
      ).body.data.length;
      expect(after).toBe(before);
    });

    it('the dashboard lists backups whose posture is not protected, degraded first', async () => {
      const lonely = await createTask({
        name: 'single copy',
        type: 'file',
        sourcePaths: [source],
        storageTargetIds: [targets.disk],
      });
      const only = await runAndWait(lonely);
      expect(only.posture).toMatchObject({
        status: 'degraded',
        problems: ['single_copy', 'single_provider', 'no_offsite_copy', 'unverified'],
      });
      const overview = (
        await api().get<Envelope<PostureOverview>>('/api/dashboard/posture', { token: viewer })
      ).body.data;
      expect(overview.degraded).toBeGreaterThanOrEqual(1);
      expect(overview.records[0]).toMatchObject({ taskId: lonely, recordId: only.id });
      expect(overview.records.some((row) => row.taskId === taskId)).toBe(false);
      expect(overview.protected).toBeGreaterThanOrEqual(1);
    });

    it('the verify cron drills the newest success on schedule, as system, with the task mode', async () => {
      const updated = await api().put<Envelope>(
        `/api/backup/tasks/${String(taskId)}`,
        {
          name: 'drilled site',
          type: 'file',
          verifyEnabled: true,
          verifyCronExpr: '* * * * * *',
          verifyMode: 'deep',
        },
        { token: admin },
      );
      expect(updated.status, updated.text).toBe(200);
      expect(master.container.services.taskScheduler.scheduledTaskIds('verify')).toContain(taskId);
      let scheduled: VerificationSummary | undefined;
      for (let attempt = 0; attempt < 150 && scheduled === undefined; attempt += 1) {
        await sleep(100);
        const rows = (
          await api().get<Envelope<VerificationSummary[]>>(
            `/api/verify/records?taskId=${String(taskId)}&mode=deep`,
            { token: viewer },
          )
        ).body.data;
        scheduled = rows.find((row) => row.triggeredBy === 'system');
      }
      await api().put<Envelope>(
        `/api/backup/tasks/${String(taskId)}`,
        { name: 'drilled site', type: 'file', verifyEnabled: false },
        { token: admin },
      );
      expect(master.container.services.taskScheduler.scheduledTaskIds('verify')).not.toContain(taskId);
      expect(scheduled).toBeDefined();
      await master.container.services.verification.idle();
      const audit = await api().get<Envelope<{ items: AuditEntry[] }>>(
        '/api/audit-logs?category=backup_verify',
        { token: admin },
      );
      expect(
        audit.body.data.items.some(
          (entry) => entry.action === 'scheduled_run' && entry.username === 'system',
        ),
      ).toBe(true);
    });
  });

  it('a deep drill of a differential restores its chain and compares the tree it produces', async () => {
    const tree = path.join(work, 'diff-site');
    writeSampleTree(tree, { files: 12 });
    const taskId = await createTask({
      name: 'diff drill',
      type: 'file',
      sourcePaths: [tree],
      storageTargetIds: [targets.disk],
      backupMode: 'differential',
      maxBackups: 0,
    });
    const full = await runAndWait(taskId);
    expect(full.backupKind).toBe('full');
    writeFileSync(path.join(tree, 'added.txt'), 'added after the full backup\n');
    rmSync(path.join(tree, 'nested'), { recursive: true, force: true });
    master.clock.advance(2000);
    const diff = await runAndWait(taskId);
    expect([diff.status, diff.backupKind]).toEqual(['success', 'differential']);
    const done = await drill(diff.id, { mode: 'deep' });
    expect(done.status, done.errorMessage).toBe('success');
    expect(check(done, 'structure')?.detail).toMatch(/^2 archive/);
    expect(check(done, 'manifest')?.detail).toMatch(/entries match the manifest/);
  });

  it('SQLite: a deep drill restores the file, runs integrity_check and counts the rows', async () => {
    const dbPath = path.join(work, 'app.db');
    execFileSync('sqlite3', [
      dbPath,
      'CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE empty (x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250) INSERT INTO users (name) SELECT hex(i) FROM n;',
    ]);
    const taskId = await createTask({
      name: 'sqlite app',
      type: 'sqlite',
      dbPath,
      storageTargetIds: [targets.disk],
    });
    const backup = await runAndWait(taskId);
    expect(backup.status, backup.errorMessage).toBe('success');
    const done = await drill(backup.id, { mode: 'deep' });
    expect(done.status, done.errorMessage).toBe('success');
    expect(done.checks.map((c) => c.name)).toEqual(['checksum', 'restore', 'integrity', 'row_counts']);
    expect(done.tableCounts).toEqual(
      expect.arrayContaining([
        { database: 'main', table: 'users', rows: 250 },
        { database: 'main', table: 'empty', rows: 0 },
      ]),
    );
  });

  it('MariaDB: a deep drill imports into throw-away databases, counts every table right, drops them, leaves the source alone', async () => {
    const db = `bx_src_${randomBytes(3).toString('hex')}`;
    mysql(`CREATE DATABASE ${db}`);
    mysql(
      `CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(64)); INSERT INTO items SELECT seq, MD5(seq) FROM seq_1_to_321;
       CREATE TABLE tags (id INT PRIMARY KEY); INSERT INTO tags VALUES (1),(2),(3);
       CREATE TABLE nothing (id INT);`,
      db,
    );
    try {
      const taskId = await createTask({
        name: 'maria drill',
        type: 'mysql',
        dbHost: '127.0.0.1',
        dbPort: 3306,
        dbUser: 'root',
        dbName: db,
        storageTargetIds: [targets.disk],
      });
      const backup = await runAndWait(taskId);
      expect(backup.status, backup.errorMessage).toBe('success');
      mysql('INSERT INTO items VALUES (100000, "after the backup")', db);
      const done = await drill(backup.id, { mode: 'deep' });
      expect(done.status, done.errorMessage).toBe('success');
      expect(done.checks.map((c) => [c.name, c.ok])).toEqual([
        ['checksum', true],
        ['structure', true],
        ['restore', true],
        ['row_counts', true],
        ['cleanup', true],
      ]);
      expect(done.tableCounts).toEqual(
        expect.arrayContaining([
          { database: db, table: 'items', rows: 321 },
          { database: db, table: 'tags', rows: 3 },
          { database: db, table: 'nothing', rows: 0 },
        ]),
      );
      expect(done.rtoSeconds).not.toBeNull();
      expect(mysql('SELECT COUNT(*) FROM items', db)).toBe('322');
      expect(mysql(`SHOW DATABASES LIKE 'bx\\_drill\\_${String(done.id)}%'`)).toBe('');
    } finally {
      mysql(`DROP DATABASE IF EXISTS ${db}`);
    }
  });

  it('PostgreSQL: a deep drill counts every table in a scratch copy, the source survives the dump’s DROP DATABASE; a sandbox server is used when set', async () => {
    const db = `bx_src_${randomBytes(3).toString('hex')}`;
    psql(`CREATE DATABASE ${db}`);
    psql(
      `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 777) g;
       CREATE SCHEMA audit; CREATE TABLE audit.events (id int); INSERT INTO audit.events VALUES (1), (2);`,
      db,
    );
    try {
      const taskId = await createTask({
        name: 'pg drill',
        type: 'postgresql',
        dbHost: '127.0.0.1',
        dbPort: 5432,
        dbUser: 'postgres',
        dbName: db,
        storageTargetIds: [targets.disk],
      });
      const backup = await runAndWait(taskId);
      expect(backup.status, backup.errorMessage).toBe('success');
      const done = await drill(backup.id, { mode: 'deep' });
      expect(done.status, done.errorMessage).toBe('success');
      expect(done.tableCounts).toEqual(
        expect.arrayContaining([
          { database: db, table: 'items', rows: 777 },
          { database: db, table: 'audit.events', rows: 2 },
        ]),
      );
      expect(psql('SELECT count(*) FROM items', db)).toBe('777');
      expect(psql(`SELECT count(*) FROM pg_database WHERE datname LIKE 'bx_drill_${String(done.id)}%'`)).toBe(
        '0',
      );

      // The task's own server becomes unreachable; the sandbox server takes the drill.
      await api().put<Envelope>(
        `/api/backup/tasks/${String(taskId)}`,
        { name: 'pg drill', type: 'postgresql', dbPort: 1 },
        { token: admin },
      );
      const broken = await drill(backup.id, { mode: 'deep' });
      expect(broken.status).toBe('failed');
      expect(check(broken, 'restore')?.ok).toBe(false);
      const set = await api().put<Envelope<Record<string, string>>>(
        '/api/settings',
        { verify_sandbox_postgresql: 'postgresql://postgres@127.0.0.1:5432' },
        { token: admin },
      );
      expect(set.status, set.text).toBe(200);
      expect(set.body.data.verify_sandbox_postgresql).toBe('********');
      try {
        const sandboxed = await drill(backup.id, { mode: 'deep' });
        expect(sandboxed.status, sandboxed.errorMessage).toBe('success');
        expect(sandboxed.logContent).toContain('sandbox server 127.0.0.1:5432');
      } finally {
        await api().put<Envelope>('/api/settings', { verify_sandbox_postgresql: '' }, { token: admin });
      }
      const invalid = await api().put<Envelope>(
        '/api/settings',
        { verify_sandbox_mysql: 'http://not-a-db' },
        { token: admin },
      );
      expect([invalid.status, invalid.body.code]).toEqual([400, 'SETTINGS_INVALID']);
    } finally {
      psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    }
  });
});
