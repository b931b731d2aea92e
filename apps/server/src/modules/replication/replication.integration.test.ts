import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordDetail, ReplicationRecord, SystemEvent } from '@backupx/contract';
import { filesUnder, writeSampleTree } from '@backupx/testkit';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

/** 3-2-1 copies (SPEC §9) between real local disks: automatic, manual, checked, and cleaned up. */
describe.each(dialects)('replication on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let viewer: string;
  let work: string;
  let source: string;
  const dirs: Record<string, string> = {};
  const targets: Record<string, number> = {};
  let taskId = 0;
  const events: SystemEvent[] = [];

  const api = () => master.api;
  const replication = () => master.container.services.replication;
  const record = async (id: number) =>
    (await api().get<Envelope<RecordDetail>>(`/api/backup/records/${String(id)}`, { token: admin })).body
      .data;
  const runAndWait = async (): Promise<RecordDetail> => {
    const started = await api().post<Envelope<RecordDetail>>(
      `/api/backup/tasks/${String(taskId)}/run`,
      undefined,
      { token: admin },
    );
    expect(started.status, started.text).toBe(200);
    for (let attempt = 0; attempt < 600; attempt += 1) {
      const current = await record(started.body.data.id);
      if (current.status !== 'running') {
        // The automatic copy starts from the success event, at the very end of the run.
        for (let wait = 0; wait < 300; wait += 1) {
          const copies = await replicationsOf(current.id);
          if (copies.length > 0 && copies.every((copy) => copy.status !== 'running')) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return record(current.id);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the run did not finish');
  };
  const replicationsOf = async (recordId: number) =>
    (
      await api().get<Envelope<ReplicationRecord[]>>(
        `/api/replication/records?backupRecordId=${String(recordId)}`,
        { token: viewer },
      )
    ).body.data;
  const replicate = (recordId: number, destTargetId: unknown, token = admin) =>
    api().post<Envelope<ReplicationRecord>>(
      `/api/backup/records/${String(recordId)}/replicate`,
      { destTargetId },
      { token },
    );

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    viewer = (await master.createUser(admin, 'replication-viewer', 'viewer')).token;
    work = mkdtempSync(path.join(tmpdir(), 'bx-replication-'));
    source = path.join(work, 'site');
    writeSampleTree(source, { files: 40, bigBytes: 1024 * 1024 });
    for (const name of ['primary', 'replica', 'manual', 'tampered', 'off']) {
      dirs[name] = path.join(work, name);
      const created = await api().post<Envelope<{ id: number }>>(
        '/api/storage-targets',
        { name, type: 'local_disk', enabled: name !== 'off', config: { basePath: dirs[name] } },
        { token: admin },
      );
      expect(created.status, created.text).toBe(200);
      targets[name] = created.body.data.id;
    }
    const task = await api().post<Envelope<{ id: number }>>(
      '/api/backup/tasks',
      {
        name: 'replicated site',
        type: 'file',
        sourcePaths: [source],
        storageTargetIds: [targets.primary],
        replicationTargetIds: [targets.replica],
        maxBackups: 1,
        retentionDays: 0,
      },
      { token: admin },
    );
    expect(task.status, task.text).toBe(200);
    taskId = task.body.data.id;
    master.container.services.events.subscribe((event) => events.push(event));
  });
  afterAll(async () => {
    await master.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it('copies every successful backup to the replication target, byte for byte, as one of its copies', async () => {
    const first = await runAndWait();
    expect(first.status, first.errorMessage).toBe('success');
    const [copy] = await replicationsOf(first.id);
    expect(copy).toMatchObject({
      status: 'success',
      triggeredBy: 'system',
      sourceTargetId: targets.primary,
      sourceTargetName: 'primary',
      destTargetId: targets.replica,
      destTargetName: 'replica',
      storagePath: first.storagePath,
      fileSize: first.fileSize,
      checksum: first.checksum,
    });
    const replicaFile = path.join(dirs.replica ?? '', first.storagePath);
    expect(
      readFileSync(replicaFile).equals(readFileSync(path.join(dirs.primary ?? '', first.storagePath))),
    ).toBe(true);
    expect(first.storageUploadResults.map((result) => [result.storageTargetId, result.status])).toEqual([
      [targets.primary, 'success'],
      [targets.replica, 'success'],
    ]);

    // Retention (1 backup kept) removes the first backup with its replica.
    const second = await runAndWait();
    expect(second.status, second.errorMessage).toBe('success');
    expect(filesUnder(dirs.replica ?? '')).toEqual([second.storagePath]);
    expect(filesUnder(dirs.primary ?? '')).toEqual([second.storagePath]);
  });

  it('copies on demand, refuses what it must not copy, and never keeps a copy that does not match', async () => {
    const [latest] = (
      await api().get<Envelope<RecordDetail[]>>(`/api/backup/records?taskId=${String(taskId)}`, {
        token: admin,
      })
    ).body.data;
    if (latest === undefined) throw new Error('no record');
    const manual = await replicate(latest.id, targets.manual);
    expect(manual.status, manual.text).toBe(200);
    expect(manual.body.data).toMatchObject({ status: 'running', triggeredBy: 'admin' });
    await replication().idle();
    expect((await replicationsOf(latest.id)).find((row) => row.id === manual.body.data.id)?.status).toBe(
      'success',
    );
    expect(filesUnder(dirs.manual ?? '')).toEqual([latest.storagePath]);

    const refusals: [unknown, string][] = [
      [targets.replica, 'REPLICATION_DEST_INVALID'],
      [targets.primary, 'REPLICATION_DEST_INVALID'],
      [999_999, 'REPLICATION_DEST_INVALID'],
      [targets.off, 'REPLICATION_DEST_DISABLED'],
      [0, 'REPLICATION_DEST_INVALID'],
      ['two', 'REPLICATION_DEST_INVALID'],
    ];
    for (const [dest, code] of refusals) {
      const refused = await replicate(latest.id, dest);
      expect(refused.status, `${String(dest)}: ${refused.text}`).toBe(400);
      expect(refused.body.code, String(dest)).toBe(code);
    }
    expect((await replicate(999_999, targets.manual)).body.code).toBe('REPLICATION_SOURCE_INVALID');
    expect((await replicate(latest.id, targets.tampered, viewer)).status).toBe(403);

    // A backup whose stored bytes no longer match its checksum is not copied.
    await master.container.database.db
      .updateTable('backupRecords')
      .set({ checksum: 'f'.repeat(64) })
      .where('id', '=', latest.id)
      .execute();
    events.length = 0;
    const tampered = await replicate(latest.id, targets.tampered);
    expect(tampered.status).toBe(200);
    await replication().idle();
    const failed = (
      await api().get<Envelope<ReplicationRecord>>(
        `/api/replication/records/${String(tampered.body.data.id)}`,
        {
          token: viewer,
        },
      )
    ).body.data;
    expect(failed.status).toBe('failed');
    expect(failed.errorMessage).toContain('differs from the backup');
    expect(filesUnder(dirs.tampered ?? '')).toEqual([]);
    expect(events.find((event) => event.type === 'replication_failed')?.fields).toMatchObject({
      replicationId: tampered.body.data.id,
      backupRecordId: latest.id,
      destTargetId: targets.tampered,
    });

    // Deleting the backup removes every copy, the replicas too.
    const deleted = await api().delete(`/api/backup/records/${String(latest.id)}`, undefined, {
      token: admin,
    });
    expect(deleted.status, deleted.text).toBe(200);
    for (const name of ['primary', 'replica', 'manual']) expect(filesUnder(dirs[name] ?? '')).toEqual([]);

    const missing = await api().get<Envelope>('/api/replication/records/999999', { token: viewer });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('REPLICATION_RECORD_NOT_FOUND');
    const bad = await api().get<Envelope>('/api/replication/records?status=done', { token: viewer });
    expect(bad.status).toBe(400);
  });
});
