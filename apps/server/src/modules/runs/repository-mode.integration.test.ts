/**
 * Repository (deduplicated) mode through the HTTP API on SQLite and PostgreSQL control planes,
 * writing to a real local disk and s3rver at once: runs, deduplication across runs, the download
 * as a plain tar, selective restore, drills, retention with prune, manual delete, and the write
 * lease that serialises writers (SPEC §3.14, §6.3).
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordDetail, RestoreDetail, VerificationDetail } from '@backupx/contract';
import { describeTree, filesUnder, writeSampleTree } from '@backupx/testkit';
import { startS3rver, type S3rverService } from '@backupx/testkit/services/s3rver';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Retention and its prune run after the record is committed: wait for what they do. */
const eventually = async (check: () => boolean | Promise<boolean>): Promise<void> => {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    if (await check()) return;
    await sleep(50);
  }
};

describe.each(dialects)('repository mode on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let work: string;
  let source: string;
  let diskDir: string;
  let s3: S3rverService;
  let disk: number;
  let bucket: number;
  let taskId: number;
  const records: RecordDetail[] = [];

  const api = () => master.api;
  const waitFor = async <T extends { status: string }>(url: string): Promise<T> => {
    for (let attempt = 0; attempt < 1200; attempt += 1) {
      const response = await api().get<Envelope<T>>(url, { token: admin });
      if (response.body.data.status !== 'running') return response.body.data;
      await sleep(100);
    }
    throw new Error(`${url} did not finish`);
  };
  const run = async (id: number): Promise<RecordDetail> => {
    const response = await api().post<Envelope<RecordDetail>>(
      `/api/backup/tasks/${String(id)}/run`,
      undefined,
      {
        token: admin,
      },
    );
    expect(response.status, response.text).toBe(200);
    return waitFor<RecordDetail>(`/api/backup/records/${String(response.body.data.id)}`);
  };
  const packsOn = (dir: string) => filesUnder(dir).filter((file) => file.includes('/packs/'));
  const leaseCount = async () =>
    (await master.container.database.db.selectFrom('repositoryLeases').selectAll().execute()).length;

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    work = mkdtempSync(path.join(tmpdir(), 'bx-repo-mode-'));
    source = path.join(work, 'site');
    writeSampleTree(source, { files: 60, bigBytes: 6 * 1024 * 1024 });
    diskDir = path.join(work, 'disk');
    s3 = await startS3rver({ bucket: 'repository' });
    const a = await api().post<Envelope<{ id: number }>>(
      '/api/storage-targets',
      { name: 'disk', type: 'local_disk', config: { basePath: diskDir } },
      { token: admin },
    );
    disk = a.body.data.id;
    const b = await api().post<Envelope<{ id: number }>>(
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
    expect(b.status, b.text).toBe(200);
    bucket = b.body.data.id;
    const task = await api().post<Envelope<{ id: number }>>(
      '/api/backup/tasks',
      {
        name: 'dedup site',
        type: 'file',
        sourcePaths: [source],
        storageTargetIds: [disk, bucket],
        compression: 'zstd',
        encrypt: true,
        backupMode: 'repository',
        maxBackups: 2,
      },
      { token: admin },
    );
    expect(task.status, task.text).toBe(200);
    taskId = task.body.data.id;
  });
  afterAll(async () => {
    await master.destroy();
    await s3.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('a first run stores packs, indexes and a snapshot on both targets', async () => {
    const record = await run(taskId);
    expect(record.status, record.errorMessage).toBe('success');
    records.push(record);
    expect(record.backupKind).toBe('repository');
    expect(record.storagePath).toMatch(
      new RegExp(
        `^\\.backupx/repository/v1/snapshots/${String(taskId)}/\\d{8}T\\d{6}\\.\\d{9}Z-${String(record.id)}\\.bxrs$`,
      ),
    );
    expect(record.fileName).toBe(path.posix.basename(record.storagePath));
    expect(record.storageUploadResults.map((r) => r.status)).toEqual(['success', 'success']);
    // Encrypted snapshots differ per copy: each copy carries its own digest.
    const [first, second] = record.storageUploadResults;
    expect(first?.checksum).toBe(record.checksum);
    expect(second?.checksum).not.toBe(record.checksum);
    const stats = record.repositoryStats;
    expect(stats?.encrypted).toBe(true);
    expect(stats?.logicalBytes).toBe(record.fileSize);
    expect(stats?.newChunks).toBeGreaterThan(0);
    expect(record.hasContents).toBe(true);
    expect(packsOn(diskDir).length).toBeGreaterThan(0);
    expect(record.logContent).toContain('deduplicating repository mode');
  });

  it('an unchanged re-run uploads only a snapshot; a changed file only its new chunks', async () => {
    const packsBefore = packsOn(diskDir).length;
    const second = await run(taskId);
    expect(second.status, second.errorMessage).toBe('success');
    records.push(second);
    expect(second.repositoryStats?.newChunks).toBe(0);
    expect(second.repositoryStats?.unchangedFiles).toBeGreaterThan(50);
    expect(second.repositoryStats?.reusedBytes).toBe(second.repositoryStats?.logicalBytes);
    expect(packsOn(diskDir)).toHaveLength(packsBefore);

    appendFileSync(path.join(source, 'changed.txt'), 'a new file\n');
    const third = await run(taskId);
    expect(third.status, third.errorMessage).toBe('success');
    records.push(third);
    expect(third.repositoryStats?.newChunks).toBe(1);
    expect(third.repositoryStats?.uploadedBytes ?? 0).toBeLessThan(64 * 1024);
  });

  it('downloads a repository record as a plain tar of exactly its announced size', async () => {
    const record = records[2] as RecordDetail;
    const response = await fetch(`${master.url}/api/backup/records/${String(record.id)}/download`, {
      headers: { Authorization: `Bearer ${admin}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toContain(`backupx-record-${String(record.id)}.tar`);
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.length).toBe(Number(response.headers.get('content-length')));
    const names: string[] = [];
    const contents = new Map<string, Buffer>();
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      names.push(header.name);
      const parts: Buffer[] = [];
      stream.on('data', (part: unknown) => {
        parts.push(part as Buffer);
      });
      stream.on('end', () => {
        contents.set(header.name, Buffer.concat(parts));
        next();
      });
    });
    await new Promise<void>((resolve, reject) => {
      extract.on('finish', resolve);
      extract.on('error', reject);
      Readable.from([body]).pipe(extract);
    });
    expect(names).toContain('site/');
    expect(contents.get('site/changed.txt')?.toString()).toBe('a new file\n');
  });

  it('restores the whole snapshot byte-exact, and a selection only', async () => {
    const record = records[2] as RecordDetail;
    const target = path.join(work, 'restored');
    const started = await api().post<Envelope<RestoreDetail>>(
      `/api/backup/records/${String(record.id)}/restore`,
      { targetPath: target },
      { token: admin },
    );
    expect(started.status, started.text).toBe(200);
    const restore = await waitFor<RestoreDetail>(`/api/restore/records/${String(started.body.data.id)}`);
    expect(restore.status, restore.errorMessage).toBe('success');
    expect(describeTree(path.join(target, 'site'))).toEqual(describeTree(source));

    const partial = path.join(work, 'partial');
    const selective = await api().post<Envelope<RestoreDetail>>(
      `/api/backup/records/${String(record.id)}/restore`,
      { targetPath: partial, selectedPaths: ['site/nested'] },
      { token: admin },
    );
    const done = await waitFor<RestoreDetail>(`/api/restore/records/${String(selective.body.data.id)}`);
    expect(done.status, done.errorMessage).toBe('success');
    expect(filesUnder(partial).every((file) => file.startsWith('site/nested/'))).toBe(true);
    expect(filesUnder(partial).length).toBeGreaterThan(0);
  });

  it('drills each copy quick and deep; a damaged pack fails the drill of that copy only', async () => {
    const record = records[2] as RecordDetail;
    for (const [storageTargetId, mode] of [
      [disk, 'quick'],
      [bucket, 'deep'],
    ] as const) {
      const started = await api().post<Envelope<{ id: number }>>(
        `/api/backup/records/${String(record.id)}/verify`,
        { mode, storageTargetId },
        { token: admin },
      );
      expect(started.status, started.text).toBe(200);
      const drill = await waitFor<VerificationDetail>(`/api/verify/records/${String(started.body.data.id)}`);
      expect(drill.status, drill.errorMessage).toBe('success');
      expect(drill.checks.every((check) => check.ok)).toBe(true);
    }
    const pack = packsOn(diskDir)[0] as string;
    const file = path.join(diskDir, pack);
    const original = readFileSync(file);
    const damaged = Buffer.from(original);
    damaged[damaged.length >> 1] = (damaged[damaged.length >> 1] ?? 0) ^ 0x55;
    writeFileSync(file, damaged);
    const started = await api().post<Envelope<{ id: number }>>(
      `/api/backup/records/${String(record.id)}/verify`,
      { mode: 'quick', storageTargetId: disk },
      { token: admin },
    );
    const drill = await waitFor<VerificationDetail>(`/api/verify/records/${String(started.body.data.id)}`);
    expect(drill.status).toBe('failed');
    expect(drill.errorMessage + JSON.stringify(drill.checks)).toMatch(/REPOSITORY|invalid|authentication/);
    writeFileSync(file, original);
  });

  it('refuses object-level replication of a snapshot', async () => {
    const record = records[2] as RecordDetail;
    const response = await api().post<Envelope>(
      `/api/backup/records/${String(record.id)}/replicate`,
      { destTargetId: disk },
      { token: admin },
    );
    expect(response.status).toBe(400);
    expect(response.body.code).toMatch(/REPLICATION_/);
  });

  it('retention deletes old snapshots and prunes exactly what they alone referenced', async () => {
    // maxBackups 2: the runs so far left up to three (retention runs before the new one counts).
    writeFileSync(
      path.join(source, 'big-new.bin'),
      createHash('sha512').update('x').digest().toString('hex').repeat(20_000),
    );
    const fourth = await run(taskId);
    expect(fourth.status, fourth.errorMessage).toBe('success');
    await eventually(async () => (await leaseCount()) === 0);
    const list = await api().get<Envelope<RecordDetail[]>>(`/api/backup/records?taskId=${String(taskId)}`, {
      token: admin,
    });
    const kept = list.body.data.filter((r) => r.status === 'success').map((r) => r.id);
    expect(kept.length).toBeLessThanOrEqual(3);
    expect(kept).not.toContain(records[0]?.id);
    const snapshots = filesUnder(diskDir).filter((file) => file.includes('/snapshots/'));
    expect(snapshots).toHaveLength(kept.length);
    // Every kept record still restores (drill deep on the disk copy).
    const started = await api().post<Envelope<{ id: number }>>(
      `/api/backup/records/${String(kept.at(-1))}/verify`,
      { mode: 'deep', storageTargetId: disk },
      { token: admin },
    );
    const drill = await waitFor<VerificationDetail>(`/api/verify/records/${String(started.body.data.id)}`);
    expect(drill.status, drill.errorMessage).toBe('success');

    // Deleting the newest record removes its snapshot everywhere and prunes the big file's pack.
    const packsBefore = packsOn(diskDir).length;
    const deleted = await api().delete<Envelope>(`/api/backup/records/${String(fourth.id)}`, undefined, {
      token: admin,
    });
    expect(deleted.status, deleted.text).toBe(200);
    expect(
      filesUnder(diskDir).filter((file) => file.includes(path.posix.basename(fourth.storagePath))),
    ).toEqual([]);
    expect(packsOn(diskDir).length).toBeLessThan(packsBefore);
  });

  it('a writer waits for the lease another writer holds, and runs once it lapses', async () => {
    await eventually(async () => (await leaseCount()) === 0);
    const expiresAt = new Date(Date.now() + 3_000).toISOString();
    await master.container.database.db
      .insertInto('repositoryLeases')
      .values({
        storageTargetId: bucket,
        holder: 'node:99:record:1',
        acquiredAt: new Date().toISOString(),
        expiresAt,
      })
      .execute();
    const record = await run(taskId);
    expect(record.status, record.errorMessage).toBe('success');
    expect(record.logContent).toContain('waiting for the repository lease');
    await eventually(async () => (await leaseCount()) === 0);
    expect(await leaseCount()).toBe(0);
  });
});
