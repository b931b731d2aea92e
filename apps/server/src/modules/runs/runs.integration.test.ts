import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogEvent, RecordDetail, RecordSummary, RestoreDetail } from '@backupx/contract';
import { describeTree, filesUnder, mysql, psql, writeSampleTree } from '@backupx/testkit';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

/** Waits until `check` holds (what a run does after its commit: retention, events). */
const eventually = async (check: () => boolean | Promise<boolean>): Promise<void> => {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe.each(dialects)('backup runs, records and restores on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let viewer: string;
  let work: string;
  let source: string;
  let storeA: string;
  let storeB: string;
  let targetA: number;
  let targetB: number;
  let taskId: number;

  const api = () => master.api;

  const waitForRecord = async (id: number): Promise<RecordDetail> => {
    for (let attempt = 0; attempt < 600; attempt += 1) {
      const response = await api().get<Envelope<RecordDetail>>(`/api/backup/records/${String(id)}`, {
        token: admin,
      });
      if (response.body.data.status !== 'running') return response.body.data;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`record ${String(id)} did not finish`);
  };
  const waitForRestore = async (id: number): Promise<RestoreDetail> => {
    for (let attempt = 0; attempt < 600; attempt += 1) {
      const response = await api().get<Envelope<RestoreDetail>>(`/api/restore/records/${String(id)}`, {
        token: admin,
      });
      if (response.body.data.status !== 'running') return response.body.data;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`restore ${String(id)} did not finish`);
  };
  const run = async (id: number): Promise<RecordDetail> => {
    const response = await api().post<Envelope<RecordDetail>>(
      `/api/backup/tasks/${String(id)}/run`,
      undefined,
      { token: admin },
    );
    expect(response.status, response.text).toBe(200);
    expect(response.body.data.status).toBe('running');
    return waitForRecord(response.body.data.id);
  };
  const createTarget = async (name: string, basePath: string): Promise<number> => {
    const response = await api().post<Envelope<{ id: number }>>(
      '/api/storage-targets',
      { name, type: 'local_disk', config: { basePath } },
      { token: admin },
    );
    expect(response.status, response.text).toBe(200);
    return response.body.data.id;
  };
  const createTask = async (body: Record<string, unknown>): Promise<number> => {
    const response = await api().post<Envelope<{ id: number }>>('/api/backup/tasks', body, { token: admin });
    expect(response.status, response.text).toBe(200);
    return response.body.data.id;
  };

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    viewer = (await master.createUser(admin, 'watcher', 'viewer')).token;
    work = mkdtempSync(path.join(tmpdir(), 'bx-runs-'));
    source = path.join(work, 'site');
    writeSampleTree(source, { files: 200, bigBytes: 3 * 1024 * 1024 });
    storeA = path.join(work, 'store-a');
    storeB = path.join(work, 'store-b');
    targetA = await createTarget('disk A', storeA);
    targetB = await createTarget('disk B', storeB);
    taskId = await createTask({
      name: 'site files',
      type: 'file',
      sourcePaths: [source],
      excludePatterns: ['*.tmp'],
      storageTargetIds: [targetA, targetB],
      compression: 'zstd',
      encrypt: true,
      maxBackups: 2,
      retentionDays: 0,
    });
  });
  afterAll(async () => {
    await master.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it('runs a file task to two targets: one checksum, a copy on each, a manifest, a log', async () => {
    const record = await run(taskId);
    expect(record.status, record.errorMessage).toBe('success');
    expect(record.fileName).toMatch(/^site_files_\d{8}T\d{6}\.tar\.zst\.enc$/);
    expect(record.storagePath).toMatch(/^BackupX\/file\/\d{6}\/site_files_/);
    expect(record.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(record.storageUploadResults.map((result) => [result.storageTargetId, result.status])).toEqual([
      [targetA, 'success'],
      [targetB, 'success'],
    ]);
    expect(record.storageTargetId).toBe(targetA);
    expect(record.hasContents).toBe(true);
    expect(record.logContent).toContain('backup succeeded');
    for (const store of [storeA, storeB]) expect(filesUnder(store)).toEqual([record.storagePath]);

    const task = await api().get<Envelope<{ lastStatus: string; lastRunAt: string }>>(
      `/api/backup/tasks/${String(taskId)}`,
      {
        token: viewer,
      },
    );
    expect(task.body.data.lastStatus).toBe('success');
  });

  it('replays the log of a finished record over SSE and ends with the completed event', async () => {
    const list = await api().get<Envelope<RecordSummary[]>>(`/api/backup/records?taskId=${String(taskId)}`, {
      token: viewer,
    });
    const id = list.body.data[0]?.id ?? 0;
    const response = await fetch(`${master.url}/api/backup/records/${String(id)}/logs/stream`, {
      headers: { Authorization: `Bearer ${viewer}` },
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    const events = text
      .split('\n\n')
      .filter((frame) => frame.startsWith('event: log'))
      .map((frame) => JSON.parse(frame.split('\ndata: ')[1] ?? '{}') as LogEvent);
    expect(events.length).toBeGreaterThan(2);
    expect(events.at(-1)).toMatchObject({ completed: true, status: 'success' });
    expect(events.map((event) => event.sequence)).toEqual(events.map((_event, index) => index + 1));
  });

  it('lists with filters and paging, total in X-Total-Count', async () => {
    const response = await api().get<Envelope<RecordSummary[]>>(
      `/api/backup/records?taskId=${String(taskId)}&status=success&page=1&pageSize=1`,
      { token: viewer },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('x-total-count')).toBe('1');
    expect(response.body.data).toHaveLength(1);
    const bad = await api().get<Envelope>('/api/backup/records?status=bogus', { token: viewer });
    expect([bad.status, bad.body.code]).toEqual([400, 'BACKUP_RECORD_FILTER_INVALID']);
    const reversed = await api().get<Envelope>(
      '/api/backup/records?dateFrom=2026-02-01T00:00:00Z&dateTo=2026-01-01T00:00:00Z',
      { token: viewer },
    );
    expect([reversed.status, reversed.body.code]).toEqual([400, 'BACKUP_RECORD_FILTER_INVALID']);
  });

  it('downloads the stored object as stored, streamed, with its checksum', async () => {
    const list = await api().get<Envelope<RecordSummary[]>>(`/api/backup/records?taskId=${String(taskId)}`, {
      token: viewer,
    });
    const record = list.body.data[0] as RecordSummary;
    const response = await fetch(`${master.url}/api/backup/records/${String(record.id)}/download`, {
      headers: { Authorization: `Bearer ${viewer}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toContain(record.fileName);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.subarray(0, 6).toString()).toBe('BXENC1');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(record.checksum);
  });

  it('browses contents and restores everything, then selected paths, to new directories byte-exactly', async () => {
    const list = await api().get<Envelope<RecordSummary[]>>(`/api/backup/records?taskId=${String(taskId)}`, {
      token: viewer,
    });
    const record = list.body.data[0] as RecordSummary;
    const contents = await api().get<
      Envelope<{ total: number; entries: { path: string; isDir: boolean }[] }>
    >(`/api/backup/records/${String(record.id)}/contents`, { token: viewer });
    expect(contents.body.data.entries.map((entry) => entry.path)).toContain('site/données/résumé ✓.txt');

    const whole = path.join(work, 'restored-whole');
    const started = await api().post<Envelope<RestoreDetail>>(
      `/api/backup/records/${String(record.id)}/restore`,
      { targetPath: whole },
      { token: admin },
    );
    expect(started.status, started.text).toBe(200);
    const finished = await waitForRestore(started.body.data.id);
    expect(finished.status, finished.errorMessage).toBe('success');
    expect(describeTree(path.join(whole, 'site'))).toEqual(describeTree(source));

    const partial = path.join(work, 'restored-partial');
    const selective = await api().post<Envelope<RestoreDetail>>(
      `/api/backup/records/${String(record.id)}/restore`,
      { targetPath: partial, selectedPaths: ['site/nested'] },
      { token: admin },
    );
    expect((await waitForRestore(selective.body.data.id)).status).toBe('success');
    expect(readdirSync(path.join(partial, 'site'))).toEqual(['nested']);
    expect(describeTree(path.join(partial, 'site', 'nested'))).toEqual(
      describeTree(path.join(source, 'nested')),
    );

    const restores = await api().get<Envelope<{ id: number; backupFileName: string }[]>>(
      `/api/restore/records?backupRecordId=${String(record.id)}`,
      { token: viewer },
    );
    expect(restores.body.data.map((item) => item.backupFileName)).toEqual([record.fileName, record.fileName]);
  });

  it('refuses a restore that is not allowed and changes nothing', async () => {
    const list = await api().get<Envelope<RecordSummary[]>>(`/api/backup/records?taskId=${String(taskId)}`, {
      token: viewer,
    });
    const id = (list.body.data[0] as RecordSummary).id;
    const before = await api().get<Envelope<unknown[]>>('/api/restore/records', { token: viewer });
    const relative = await api().post<Envelope>(
      `/api/backup/records/${String(id)}/restore`,
      { targetPath: 'relative/dir' },
      { token: admin },
    );
    expect([relative.status, relative.body.code]).toEqual([400, 'RESTORE_TARGET_INVALID']);
    const byViewer = await api().post<Envelope>(
      `/api/backup/records/${String(id)}/restore`,
      {},
      { token: viewer },
    );
    expect(byViewer.status).toBe(403);
    const unknown = await api().post<Envelope>('/api/backup/records/999999/restore', {}, { token: admin });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'BACKUP_RECORD_NOT_FOUND']);
    const wrongType = await api().post<Envelope>(
      `/api/backup/records/${String(id)}/restore`,
      { selectedPaths: 'x' },
      { token: admin },
    );
    expect(wrongType.status).toBe(400);
    const after = await api().get<Envelope<unknown[]>>('/api/restore/records', { token: viewer });
    expect(after.body.data.length).toBe(before.body.data.length);
  });

  it('refuses a corrupted artifact on restore and writes nothing', async () => {
    const list = await api().get<Envelope<RecordSummary[]>>(`/api/backup/records?taskId=${String(taskId)}`, {
      token: viewer,
    });
    const record = list.body.data[0] as RecordSummary;
    // Flip one byte in both copies.
    for (const store of [storeA, storeB]) {
      const file = path.join(store, record.storagePath);
      execFileSync('python3', [
        '-c',
        `import sys\nf=open(sys.argv[1],'r+b');f.seek(100);b=f.read(1);f.seek(100);f.write(bytes([b[0]^1]));f.close()`,
        file,
      ]);
    }
    const target = path.join(work, 'restored-corrupt');
    const started = await api().post<Envelope<RestoreDetail>>(
      `/api/backup/records/${String(record.id)}/restore`,
      { targetPath: target },
      { token: admin },
    );
    const finished = await waitForRestore(started.body.data.id);
    expect(finished.status).toBe('failed');
    expect(existsSync(path.join(target, 'site'))).toBe(false);
    // Put the byte back for the next tests.
    for (const store of [storeA, storeB]) {
      const file = path.join(store, record.storagePath);
      execFileSync('python3', [
        '-c',
        `import sys\nf=open(sys.argv[1],'r+b');f.seek(100);b=f.read(1);f.seek(100);f.write(bytes([b[0]^1]));f.close()`,
        file,
      ]);
    }
  });

  it('applies retention after each committed run, on every target, and keeps locked records', async () => {
    const first = (
      await api().get<Envelope<RecordSummary[]>>(`/api/backup/records?taskId=${String(taskId)}`, {
        token: viewer,
      })
    ).body.data[0] as RecordSummary;
    const lock = await api().put<Envelope<RecordSummary>>(
      `/api/backup/records/${String(first.id)}/lock`,
      { locked: true },
      { token: admin },
    );
    expect(lock.body.data.locked).toBe(true);
    master.clock.advance(2000);
    const second = await run(taskId);
    master.clock.advance(2000);
    const third = await run(taskId);
    master.clock.advance(2000);
    const fourth = await run(taskId);
    // Retention runs right after the record is committed: wait for it to settle.
    const successIds = async () =>
      (
        await api().get<Envelope<RecordSummary[]>>(
          `/api/backup/records?taskId=${String(taskId)}&status=success`,
          {
            token: viewer,
          },
        )
      ).body.data.map((r) => r.id);
    await eventually(async () => (await successIds()).length === 3);
    const ids = await successIds();
    // maxBackups 2 counts unlocked records only; the current run counts (quirk 18 fixed).
    expect(ids.sort()).toEqual([first.id, third.id, fourth.id].sort());
    for (const store of [storeA, storeB])
      expect(filesUnder(store)).toEqual([first.storagePath, third.storagePath, fourth.storagePath].sort());
    expect(second.status).toBe('success');

    const locked = await api().delete<Envelope>(`/api/backup/records/${String(first.id)}`, undefined, {
      token: admin,
    });
    expect([locked.status, locked.body.code]).toEqual([400, 'BACKUP_RECORD_LOCKED']);
    await api().put(`/api/backup/records/${String(first.id)}/lock`, { locked: false }, { token: admin });
    const deleted = await api().delete<Envelope<{ deleted: boolean }>>(
      `/api/backup/records/${String(first.id)}`,
      undefined,
      { token: admin },
    );
    expect(deleted.body.data).toEqual({ deleted: true });
    for (const store of [storeA, storeB]) expect(filesUnder(store)).not.toContain(first.storagePath);
    const gone = await api().get<Envelope>(`/api/backup/records/${String(first.id)}`, { token: viewer });
    expect([gone.status, gone.body.code]).toEqual([404, 'BACKUP_RECORD_NOT_FOUND']);
  });

  it('refuses a second run of a running task (across masters: a unique index) and unknown or forbidden runs', async () => {
    // Another master's running record of this task.
    const now = new Date().toISOString();
    await master.container.database.db
      .insertInto('backupRecords')
      .values({
        taskId,
        status: 'running',
        runnerId: 'other-master',
        heartbeatAt: now,
        startedAt: now,
        createdAt: now,
        updatedAt: now,
      })
      .execute();
    const refused = await api().post<Envelope>(`/api/backup/tasks/${String(taskId)}/run`, undefined, {
      token: admin,
    });
    expect([refused.status, refused.body.code]).toEqual([400, 'BACKUP_TASK_ALREADY_RUNNING']);
    await master.container.database.db
      .deleteFrom('backupRecords')
      .where('runnerId', '=', 'other-master')
      .execute();

    const unknown = await api().post<Envelope>('/api/backup/tasks/999999/run', undefined, { token: admin });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'BACKUP_TASK_NOT_FOUND']);
    const invalid = await api().post<Envelope>('/api/backup/tasks/0/run', undefined, { token: admin });
    expect([invalid.status, invalid.body.code]).toEqual([400, 'INVALID_ID']);
    const byViewer = await api().post<Envelope>(`/api/backup/tasks/${String(taskId)}/run`, undefined, {
      token: viewer,
    });
    expect(byViewer.status).toBe(403);
  });

  it('refuses a manual run outside the maintenance windows', async () => {
    const hour = new Date().getUTCHours();
    const away = (hour + 12) % 24;
    const windowTask = await createTask({
      name: 'windowed',
      type: 'file',
      sourcePaths: [source],
      storageTargetIds: [targetA],
      maintenanceWindows: `time=${String(away).padStart(2, '0')}:00-${String((away + 1) % 24).padStart(2, '0')}:00`,
    });
    const response = await api().post<Envelope>(`/api/backup/tasks/${String(windowTask)}/run`, undefined, {
      token: admin,
    });
    expect([response.status, response.body.code]).toEqual([400, 'BACKUP_TASK_OUTSIDE_WINDOW']);
    const records = await api().get<Envelope<unknown[]>>(`/api/backup/records?taskId=${String(windowTask)}`, {
      token: viewer,
    });
    expect(records.body.data).toEqual([]);
  });

  it('fails a run whose only target is unreachable, leaving earlier backups intact', async () => {
    const sftpDown = await api().post<Envelope<{ id: number }>>(
      '/api/storage-targets',
      { name: 'dead sftp', type: 'sftp', config: { host: '127.0.0.1', port: 1, user: 'nobody', pass: 'x' } },
      { token: admin },
    );
    expect(sftpDown.status, sftpDown.text).toBe(200);
    const deadTask = await createTask({
      name: 'to nowhere',
      type: 'file',
      sourcePaths: [path.join(source, 'nested')],
      storageTargetIds: [sftpDown.body.data.id],
    });
    const before = filesUnder(storeA);
    const record = await run(deadTask);
    expect(record.status).toBe('failed');
    expect(record.errorMessage).toContain('dead sftp');
    expect(filesUnder(storeA)).toEqual(before);
  });

  it('publishes backup results to the event bus (SSE and notifications; quirk 2 fixed) and to the metrics', async () => {
    const seen: { type: string; fields: Record<string, unknown> }[] = [];
    const unsubscribe = master.container.services.events.subscribe((event) => seen.push(event));
    try {
      const record = await run(taskId);
      await eventually(() => seen.some((event) => event.type === 'backup_success'));
      const metrics = await fetch(`${master.url}/metrics`).then((response) => response.text());
      expect(metrics).toMatch(
        /backupx_task_run_total\{[^}]*status="success"[^}]*task_type="file"[^}]*\} [1-9]/,
      );
      expect(metrics).toMatch(/backupx_task_run_duration_seconds_count\{[^}]*task_type="file"[^}]*\} [1-9]/);
      expect(metrics).toMatch(/backupx_task_bytes_total\{[^}]*task_type="file"[^}]*\} [1-9]/);
      expect(seen.find((event) => event.type === 'backup_success')?.fields).toMatchObject({
        recordId: record.id,
        taskName: 'site files',
        fileName: record.fileName,
      });
    } finally {
      unsubscribe();
    }
  });

  it('enforces a hard quota: removes a copy that does not fit, refuses a run that cannot fit', async () => {
    const quotaDir = path.join(work, 'store-quota');
    const small = await api().post<Envelope<{ id: number }>>(
      '/api/storage-targets',
      { name: 'tiny quota', type: 'local_disk', quotaBytes: 1024, config: { basePath: quotaDir } },
      { token: admin },
    );
    expect(small.status, small.text).toBe(200);
    const quotaTask = await createTask({
      name: 'over quota',
      type: 'file',
      sourcePaths: [source],
      storageTargetIds: [small.body.data.id],
    });
    const tooBig = await run(quotaTask);
    expect(tooBig.status).toBe('failed');
    expect(tooBig.errorMessage).toContain('exceeds quota');
    expect(filesUnder(quotaDir)).toEqual([]);

    await api().put(
      `/api/storage-targets/${String(small.body.data.id)}`,
      { name: 'tiny quota', type: 'local_disk', quotaBytes: 0 },
      { token: admin },
    );
    const fits = await run(quotaTask);
    expect(fits.status, fits.errorMessage).toBe('success');
    await api().put(
      `/api/storage-targets/${String(small.body.data.id)}`,
      { name: 'tiny quota', type: 'local_disk', quotaBytes: fits.fileSize + 10 },
      { token: admin },
    );
    const refused = await run(quotaTask);
    expect(refused.status).toBe('failed');
    expect(refused.errorMessage).toContain('exceeds quota');
    expect(filesUnder(quotaDir)).toEqual([fits.storagePath]);
  });

  it('runs differential backups against the last full one and restores the chain', async () => {
    const tree = path.join(work, 'diff-source');
    writeSampleTree(tree, { files: 20 });
    const diffTask = await createTask({
      name: 'diff files',
      type: 'file',
      sourcePaths: [tree],
      storageTargetIds: [targetA],
      backupMode: 'differential',
      maxBackups: 0,
    });
    const full = await run(diffTask);
    expect([full.status, full.backupKind]).toEqual(['success', 'full']);
    writeFileSync(path.join(tree, 'added.txt'), 'new file\n');
    rmSync(path.join(tree, 'nested', 'private.key'));
    master.clock.advance(2000);
    const diff = await run(diffTask);
    expect([diff.status, diff.backupKind, diff.baseRecordId]).toEqual(['success', 'differential', full.id]);
    const contents = await api().get<Envelope<{ basedOnFull?: number; entries: { path: string }[] }>>(
      `/api/backup/records/${String(diff.id)}/contents`,
      {
        token: viewer,
      },
    );
    expect(contents.body.data.basedOnFull).toBe(full.id);
    // The differential lists the tree its chain restores: the new file, not the deleted one.
    const listed = contents.body.data.entries.map((entry) => entry.path);
    expect(listed).toContain('diff-source/added.txt');
    expect(listed).not.toContain('diff-source/nested/private.key');
    const refused = await api().delete<Envelope>(`/api/backup/records/${String(full.id)}`, undefined, {
      token: admin,
    });
    expect([refused.status, refused.body.code]).toEqual([400, 'BACKUP_RECORD_HAS_DEPENDENTS']);

    const target = path.join(work, 'restored-diff');
    const started = await api().post<Envelope<RestoreDetail>>(
      `/api/backup/records/${String(diff.id)}/restore`,
      { targetPath: target },
      { token: admin },
    );
    const finished = await waitForRestore(started.body.data.id);
    expect(finished.status, finished.errorMessage).toBe('success');
    expect(describeTree(path.join(target, 'diff-source'))).toEqual(describeTree(tree));
  });

  it('holds back failure alerts until the consecutive-failure threshold is reached', async () => {
    const flakySource = path.join(work, 'flaky-source');
    mkdirSync(flakySource);
    writeFileSync(path.join(flakySource, 'a.txt'), 'a');
    const flaky = await createTask({
      name: 'alert threshold',
      type: 'file',
      sourcePaths: [flakySource],
      storageTargetIds: [targetA],
      alertOnConsecutiveFails: 2,
    });
    const failures: unknown[] = [];
    const unsubscribe = master.container.services.events.subscribe((event) => {
      if (event.type === 'backup_failed' && event.fields.taskName === 'alert threshold') failures.push(event);
    });
    try {
      expect((await run(flaky)).status).toBe('success');
      rmSync(flakySource, { recursive: true });
      master.clock.advance(2000);
      expect((await run(flaky)).status).toBe('failed');
      expect(failures).toHaveLength(0); // newest two: failed, success
      master.clock.advance(2000);
      expect((await run(flaky)).status).toBe('failed');
      await eventually(() => failures.length > 0); // alerts are sent right after the commit
      expect(failures).toHaveLength(1); // newest two: failed, failed
    } finally {
      unsubscribe();
    }
  });

  it('records why a scheduled fire outside the maintenance window did not run', async () => {
    const away = (new Date().getUTCHours() + 12) % 24;
    const scheduled = await createTask({
      name: 'every second, wrong hours',
      type: 'file',
      sourcePaths: [path.join(source, 'nested')],
      storageTargetIds: [targetA],
      cronExpr: '* * * * * *',
      maintenanceWindows: `time=${String(away).padStart(2, '0')}:00-${String((away + 1) % 24).padStart(2, '0')}:00`,
    });
    const skipped = async () =>
      (
        await api().get<Envelope<RecordSummary[]>>(
          `/api/backup/records?taskId=${String(scheduled)}&status=skipped`,
          {
            token: viewer,
          },
        )
      ).body.data;
    await eventually(async () => (await skipped()).length > 0);
    await api().put(`/api/backup/tasks/${String(scheduled)}/toggle`, { enabled: false }, { token: admin });
    const [record] = await skipped();
    expect(record?.errorMessage).toContain('outside maintenance window');
    expect(record?.fileName).toBe('');
  });

  it('deleting a task removes its backups from every target but keeps locked ones and the records', async () => {
    const doomedTask = await createTask({
      name: 'to be deleted',
      type: 'file',
      sourcePaths: [path.join(source, 'nested')],
      storageTargetIds: [targetA, targetB],
    });
    const kept = await run(doomedTask);
    master.clock.advance(2000);
    const removed = await run(doomedTask);
    await api().put(`/api/backup/records/${String(kept.id)}/lock`, { locked: true }, { token: admin });
    const response = await api().delete<Envelope<{ deleted: boolean }>>(
      `/api/backup/tasks/${String(doomedTask)}`,
      undefined,
      { token: admin },
    );
    expect(response.status, response.text).toBe(200);
    for (const store of [storeA, storeB]) {
      expect(filesUnder(store)).toContain(kept.storagePath);
      expect(filesUnder(store)).not.toContain(removed.storagePath);
    }
    const records = await api().get<Envelope<RecordSummary[]>>(
      `/api/backup/records?taskId=${String(doomedTask)}`,
      {
        token: viewer,
      },
    );
    expect(records.body.data.map((record) => record.id).sort()).toEqual([kept.id, removed.id].sort());
  });

  it("applies the local node's max concurrency and bandwidth limit to this master's own runs", async () => {
    const nodes = await api().get<Envelope<{ id: number; name: string; isLocal: boolean }[]>>('/api/nodes', {
      token: admin,
    });
    const local = nodes.body.data.find((node) => node.isLocal);
    if (local === undefined) throw new Error('no local node');
    const setLimits = async (maxConcurrent: number, bandwidthLimit: string) => {
      const response = await api().put(
        `/api/nodes/${String(local.id)}`,
        { name: local.name, maxConcurrent, bandwidthLimit },
        { token: admin },
      );
      expect(response.status, response.text).toBe(200);
    };
    // One at a time, at 2 MiB/s: the first run (about 3 MiB, stored uncompressed) holds the only slot.
    await setLimits(1, '2M');
    const bodies = ['limited one', 'limited two'].map((name) => ({
      name,
      type: 'file',
      sourcePaths: [source],
      storageTargetIds: [targetA],
      compression: 'none',
      maxBackups: 0,
      retentionDays: 0,
    }));
    const ids = [await createTask(bodies[0] ?? {}), await createTask(bodies[1] ?? {})];
    const started = await Promise.all(
      ids.map((id) =>
        api().post<Envelope<RecordDetail>>(`/api/backup/tasks/${String(id)}/run`, undefined, {
          token: admin,
        }),
      ),
    );
    const records = await Promise.all(started.map((response) => waitForRecord(response.body.data.id)));
    for (const record of records) {
      expect(record.status, record.errorMessage).toBe('success');
      expect(record.logContent).toContain('bandwidth limited to 2M');
    }
    // Exactly one of the two waited for the other's slot.
    expect(
      records.filter((record) => record.logContent.includes('waiting for a free backup slot')),
    ).toHaveLength(1);
    await setLimits(0, '');
    const unlimited = await run(ids[0] ?? 0);
    expect(unlimited.logContent).not.toContain('bandwidth limited');
    for (const id of ids) await api().delete(`/api/backup/tasks/${String(id)}`, undefined, { token: admin });
  });

  it('runs a dependency chain A → B → C in order, stops it at a failure, and refuses a cycle', async () => {
    const fileTask = (name: string, extra: Record<string, unknown> = {}) => ({
      name,
      type: 'file',
      sourcePaths: [source],
      storageTargetIds: [targetA],
      compression: 'zstd',
      maxBackups: 0,
      retentionDays: 0,
      ...extra,
    });
    const chainA = await createTask(fileTask('chain A'));
    const chainB = await createTask(fileTask('chain B', { dependsOnTaskIds: [chainA] }));
    const chainC = await createTask(fileTask('chain C', { dependsOnTaskIds: [chainB] }));
    const recordsOf = async (id: number) =>
      (
        await api().get<Envelope<RecordSummary[]>>(`/api/backup/records?taskId=${String(id)}`, {
          token: admin,
        })
      ).body.data;
    const finishedRecordOf = async (id: number): Promise<RecordDetail> => {
      for (let attempt = 0; attempt < 600; attempt += 1) {
        const [newest] = await recordsOf(id);
        if (newest !== undefined) return waitForRecord(newest.id);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`task ${String(id)} never ran`);
    };

    const a = await run(chainA);
    expect(a.status, a.errorMessage).toBe('success');
    const b = await finishedRecordOf(chainB);
    const c = await finishedRecordOf(chainC);
    expect([b.status, c.status]).toEqual(['success', 'success']);
    expect(b.logContent).toContain(`run after upstream task "chain A" (record #${String(a.id)})`);
    expect(c.logContent).toContain(`run after upstream task "chain B" (record #${String(b.id)})`);
    // The upstream's log names what it started (read once its run has fully ended).
    expect((await waitForRecord(a.id)).logContent).toContain('started dependent task "chain B"');
    // In order: each starts after its upstream finished.
    expect(Date.parse(b.startedAt)).toBeGreaterThanOrEqual(Date.parse(a.completedAt ?? ''));
    expect(Date.parse(c.startedAt)).toBeGreaterThanOrEqual(Date.parse(b.completedAt ?? ''));

    // A failing upstream stops the chain: its dependent does not run.
    const broken = await createTask(fileTask('chain broken', { sourcePaths: [path.join(work, 'missing')] }));
    const after = await createTask(fileTask('chain after broken', { dependsOnTaskIds: [broken] }));
    const failed = await run(broken);
    expect(failed.status).toBe('failed');
    expect(await recordsOf(after)).toEqual([]);

    // C → A would close the cycle A → B → C → A.
    const cycle = await api().put<Envelope>(
      `/api/backup/tasks/${String(chainA)}`,
      fileTask('chain A', { dependsOnTaskIds: [chainC] }),
      { token: admin },
    );
    expect(cycle.status, cycle.text).toBe(400);
    expect(cycle.body.code, cycle.text).toBe('BACKUP_TASK_DEPENDENCY_INVALID');
    for (const id of [after, broken, chainC, chainB, chainA])
      await api().delete(`/api/backup/tasks/${String(id)}`, undefined, { token: admin });
  });

  it('answers bad input on record routes with a clear 4xx and changes nothing', async () => {
    const before = (await api().get<Envelope<RecordSummary[]>>('/api/backup/records', { token: viewer })).body
      .data;
    const id = (before[0] as RecordSummary).id;
    const cases: [string, Promise<{ status: number; body: Envelope }>, number, string][] = [
      [
        'lock unknown',
        api().put<Envelope>('/api/backup/records/999999/lock', { locked: true }, { token: admin }),
        404,
        'BACKUP_RECORD_NOT_FOUND',
      ],
      [
        'lock wrong type',
        api().put<Envelope>(`/api/backup/records/${String(id)}/lock`, { locked: 'yes' }, { token: admin }),
        400,
        'INVALID_INPUT',
      ],
      [
        'lock extra field',
        api().put<Envelope>(
          `/api/backup/records/${String(id)}/lock`,
          { locked: true, x: 1 },
          { token: admin },
        ),
        400,
        'INVALID_INPUT',
      ],
      [
        'lock by viewer',
        api().put<Envelope>(`/api/backup/records/${String(id)}/lock`, { locked: true }, { token: viewer }),
        403,
        'AUTH_FORBIDDEN',
      ],
      [
        'get invalid id',
        api().get<Envelope>('/api/backup/records/abc', { token: viewer }),
        400,
        'INVALID_ID',
      ],
      [
        'contents unknown',
        api().get<Envelope>('/api/backup/records/999999/contents', { token: viewer }),
        404,
        'BACKUP_RECORD_NOT_FOUND',
      ],
      [
        'download unknown',
        api().get<Envelope>('/api/backup/records/999999/download', { token: viewer }),
        404,
        'BACKUP_RECORD_NOT_FOUND',
      ],
      [
        'delete unknown',
        api().delete<Envelope>('/api/backup/records/999999', undefined, { token: admin }),
        404,
        'BACKUP_RECORD_NOT_FOUND',
      ],
      [
        'batch delete empty',
        api().post<Envelope>('/api/backup/records/batch-delete', { ids: [] }, { token: admin }),
        400,
        'INVALID_INPUT',
      ],
      [
        'batch delete zero id',
        api().post<Envelope>('/api/backup/records/batch-delete', { ids: [0] }, { token: admin }),
        400,
        'INVALID_INPUT',
      ],
      [
        'batch run by viewer',
        api().post<Envelope>('/api/backup/tasks/batch/run', { ids: [taskId] }, { token: viewer }),
        403,
        'AUTH_FORBIDDEN',
      ],
      [
        'restore list bad status',
        api().get<Envelope>('/api/restore/records?status=nope', { token: viewer }),
        400,
        'RESTORE_FILTER_INVALID',
      ],
      [
        'restore unknown',
        api().get<Envelope>('/api/restore/records/999999', { token: viewer }),
        404,
        'RESTORE_RECORD_NOT_FOUND',
      ],
      [
        'list page size too big',
        api().get<Envelope>('/api/backup/records?pageSize=100000', { token: viewer }),
        400,
        'BACKUP_RECORD_FILTER_INVALID',
      ],
    ];
    for (const [name, request, status, code] of cases) {
      const response = await request;
      expect([name, response.status, response.body.code]).toEqual([name, status, code]);
    }
    const malformed = await fetch(`${master.url}/api/backup/records/batch-delete`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: '{"ids": [1,',
    });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as Envelope).code).toBe('INVALID_JSON');
    const oversize = await fetch(`${master.url}/api/backup/records/batch-delete`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ ids: [1], pad: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(oversize.status).toBe(413);
    const after = (await api().get<Envelope<RecordSummary[]>>('/api/backup/records', { token: viewer })).body
      .data;
    expect(after).toEqual(before);
  });

  it('batch-deletes records, skipping locked ones', async () => {
    const records = (
      await api().get<Envelope<RecordSummary[]>>(
        `/api/backup/records?taskId=${String(taskId)}&status=success`,
        { token: viewer },
      )
    ).body.data;
    const [keep, drop] = records;
    await api().put(`/api/backup/records/${String(keep?.id)}/lock`, { locked: true }, { token: admin });
    const response = await api().post<Envelope<{ deleted: number }>>(
      '/api/backup/records/batch-delete',
      { ids: [keep?.id, drop?.id] },
      { token: admin },
    );
    expect(response.body.data.deleted).toBe(1);
    const after = (
      await api().get<Envelope<RecordSummary[]>>(
        `/api/backup/records?taskId=${String(taskId)}&status=success`,
        { token: viewer },
      )
    ).body.data;
    expect(after.map((r) => r.id)).toEqual([keep?.id]);
  });
});

describe('database backups and restores through the master (SQLite control plane)', () => {
  let master: TestMaster;
  let admin: string;
  let work: string;
  let target: number;

  beforeAll(async () => {
    master = await startTestMaster('sqlite');
    admin = await master.setupAdmin();
    work = mkdtempSync(path.join(tmpdir(), 'bx-db-runs-'));
    mkdirSync(path.join(work, 'store'));
    const response = await master.api.post<Envelope<{ id: number }>>(
      '/api/storage-targets',
      { name: 'disk', type: 'local_disk', config: { basePath: path.join(work, 'store') } },
      { token: admin },
    );
    target = response.body.data.id;
  });
  afterAll(async () => {
    await master.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  const runAndWait = async (taskId: number): Promise<RecordDetail> => {
    const started = await master.api.post<Envelope<RecordDetail>>(
      `/api/backup/tasks/${String(taskId)}/run`,
      undefined,
      { token: admin },
    );
    expect(started.status, started.text).toBe(200);
    for (;;) {
      const detail = await master.api.get<Envelope<RecordDetail>>(
        `/api/backup/records/${String(started.body.data.id)}`,
        { token: admin },
      );
      if (detail.body.data.status !== 'running') return detail.body.data;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const restoreAndWait = async (recordId: number): Promise<RestoreDetail> => {
    const started = await master.api.post<Envelope<RestoreDetail>>(
      `/api/backup/records/${String(recordId)}/restore`,
      undefined,
      { token: admin },
    );
    expect(started.status, started.text).toBe(200);
    for (;;) {
      const detail = await master.api.get<Envelope<RestoreDetail>>(
        `/api/restore/records/${String(started.body.data.id)}`,
        { token: admin },
      );
      if (detail.body.data.status !== 'running') return detail.body.data;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  it('PostgreSQL: backs up two databases, restores them after a drop, row counts and checksums equal', async () => {
    const names = [`bx_run_${randomBytes(3).toString('hex')}`, `bx_run_${randomBytes(3).toString('hex')}`];
    for (const db of names) {
      psql(`CREATE DATABASE ${db}`);
      psql(
        `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 500) g;
            CREATE TABLE tags (id int PRIMARY KEY, tag text); INSERT INTO tags VALUES (1, 'a'), (2, 'b');`,
        db,
      );
    }
    const fingerprint = (db: string) =>
      `${psql('SELECT count(*) FROM items', db)}:${psql("SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM items t", db)}:${psql('SELECT count(*) FROM tags', db)}`;
    const before = names.map(fingerprint);
    try {
      const task = await master.api.post<Envelope<{ id: number }>>(
        '/api/backup/tasks',
        {
          name: 'pg pair',
          type: 'postgresql',
          dbHost: '127.0.0.1',
          dbPort: 5432,
          dbUser: 'postgres',
          dbName: names.join(','),
          storageTargetIds: [target],
        },
        { token: admin },
      );
      expect(task.status, task.text).toBe(200);
      const record = await runAndWait(task.body.data.id);
      expect(record.status, record.errorMessage).toBe('success');
      expect(record.fileName).toMatch(/\.sql\.zst$/);
      for (const db of names) psql(`DROP DATABASE ${db} WITH (FORCE)`);
      const restore = await restoreAndWait(record.id);
      expect(restore.status, restore.errorMessage).toBe('success');
      expect(names.map(fingerprint)).toEqual(before);
    } finally {
      for (const db of names) psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    }
  });

  it('MariaDB: backs up, drops, restores; row counts and table checksums equal', async () => {
    const db = `bx_run_${randomBytes(3).toString('hex')}`;
    mysql(`CREATE DATABASE ${db}`);
    mysql(
      `CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(64)); INSERT INTO items SELECT seq, MD5(seq) FROM seq_1_to_500;
       CREATE TABLE tags (id INT PRIMARY KEY, tag VARCHAR(8)); INSERT INTO tags VALUES (1,'a'),(2,'b');`,
      db,
    );
    const fingerprint = () =>
      `${mysql('SELECT COUNT(*) FROM items', db)}|${mysql('CHECKSUM TABLE items, tags EXTENDED', db)}`;
    const before = fingerprint();
    try {
      const task = await master.api.post<Envelope<{ id: number }>>(
        '/api/backup/tasks',
        {
          name: 'maria',
          type: 'mysql',
          dbHost: '127.0.0.1',
          dbPort: 3306,
          dbUser: 'root',
          dbName: db,
          storageTargetIds: [target],
          encrypt: true,
        },
        { token: admin },
      );
      expect(task.status, task.text).toBe(200);
      const record = await runAndWait(task.body.data.id);
      expect(record.status, record.errorMessage).toBe('success');
      mysql(`DROP DATABASE ${db}`);
      const restore = await restoreAndWait(record.id);
      expect(restore.status, restore.errorMessage).toBe('success');
      expect(fingerprint()).toBe(before);
    } finally {
      mysql(`DROP DATABASE IF EXISTS ${db}`);
    }
  });

  it('SQLite: an online snapshot restores atomically over the live file', async () => {
    const dbPath = path.join(work, 'app.db');
    execFileSync('sqlite3', [
      dbPath,
      "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('one'), ('two');",
    ]);
    const task = await master.api.post<Envelope<{ id: number }>>(
      '/api/backup/tasks',
      { name: 'sqlite app', type: 'sqlite', dbPath, storageTargetIds: [target], compression: 'gzip' },
      { token: admin },
    );
    const record = await runAndWait(task.body.data.id);
    expect(record.status, record.errorMessage).toBe('success');
    execFileSync('sqlite3', [dbPath, "DELETE FROM t; INSERT INTO t (v) VALUES ('changed');"]);
    const restore = await restoreAndWait(record.id);
    expect(restore.status, restore.errorMessage).toBe('success');
    expect(
      execFileSync('sqlite3', [dbPath, 'SELECT group_concat(v) FROM t ORDER BY id'], {
        encoding: 'utf8',
      }).trim(),
    ).toBe('one,two');
    const contents = await master.api.get<Envelope>(`/api/backup/records/${String(record.id)}/contents`, {
      token: admin,
    });
    expect([contents.status, contents.body.code]).toEqual([422, 'BACKUP_CONTENTS_UNAVAILABLE']);
  });
});
