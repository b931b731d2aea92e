import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordDetail, RepositoryStats, RestoreDetail } from '@backupx/contract';
import { describeTree, filesUnder, writeSampleTree } from '@backupx/testkit';
import { startTestMaster, type TestMaster } from '../../test-support/harness.ts';
import { startAgentProcess, type AgentProcess } from '../../test-support/agent-process.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a value (not undefined), or fails after `ms`. */
const waitFor = async <T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
};

/**
 * Repository mode (SPEC §3.14) on an agent: a real master on loopback and `backupx agent` as a
 * real child process writing the deduplicating repository on its own local disk, under write
 * leases it takes through the master.
 */
describe('cluster: repository mode on an agent (SQLite)', () => {
  let master: TestMaster;
  let admin: string;
  let agent: AgentProcess;
  let work: string;
  let source: string;
  let agentDisk: string;
  let nodeId: number;
  let token: string;
  let otherToken: string;
  let diskTarget: number;
  let taskId: number;
  const diskName = 'edge repo disk';
  const records: RecordDetail[] = [];

  const api = () => master.api;
  const get = async <T>(url: string) => {
    const response = await api().get<Envelope<T>>(url, { token: admin });
    expect(response.status, `${url}: ${response.text}`).toBe(200);
    return response.body.data;
  };
  const post = async <T>(url: string, body?: unknown) => {
    const response = await api().post<Envelope<T>>(url, body, { token: admin });
    expect(response.status, `${url}: ${response.text}`).toBe(200);
    return response.body.data;
  };
  const waitRecord = (id: number, ms = 120_000) =>
    waitFor(
      `record ${String(id)}`,
      async () => {
        const record = await get<RecordDetail>(`/api/backup/records/${String(id)}`);
        return record.status === 'running' ? undefined : record;
      },
      ms,
    );
  const waitRestore = (id: number) =>
    waitFor(`restore ${String(id)}`, async () => {
      const restore = await get<RestoreDetail>(`/api/restore/records/${String(id)}`);
      return restore.status === 'running' ? undefined : restore;
    });
  const createTask = (body: Record<string, unknown>) =>
    post<{ id: number }>('/api/backup/tasks', {
      type: 'file',
      compression: 'zstd',
      maxBackups: 0,
      retentionDays: 0,
      backupMode: 'repository',
      nodeId,
      ...body,
    }).then((task) => task.id);
  const runTask = (id: number) =>
    post<RecordDetail>(`/api/backup/tasks/${String(id)}/run`).then((record) => record.id);
  /** What the master stored for the record (the agent's report). */
  const storedStats = async (recordId: number): Promise<RepositoryStats> => {
    const row = await master.container.database.db
      .selectFrom('backupRecords')
      .select('repositoryStats')
      .where('id', '=', recordId)
      .executeTakeFirstOrThrow();
    expect(row.repositoryStats, 'repository stats stored').not.toBe('');
    return JSON.parse(row.repositoryStats) as RepositoryStats;
  };
  const leaseCall = (route: '' | '/renew' | '/release', body: unknown, agentToken = token) =>
    fetch(`${master.url}/api/agent/repository-leases${route}`, {
      method: 'POST',
      headers: { 'X-Agent-Token': agentToken, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (response) => ({ status: response.status, body: (await response.json()) as Envelope }));

  beforeAll(async () => {
    master = await startTestMaster('sqlite', {
      config: {
        cluster: {
          offline_after: '3s',
          command_timeout: '10s',
          monitor_interval: '500ms',
          rpc_timeout: '10s',
        },
      },
    });
    admin = await master.setupAdmin();
    work = mkdtempSync(path.join(tmpdir(), 'bx-cluster-repo-'));
    source = path.join(work, 'site');
    writeSampleTree(source, { files: 40, bigBytes: 3 * 1024 * 1024 });
    agentDisk = path.join(work, 'edge-disk');
    diskTarget = (
      await post<{ id: number }>('/api/storage-targets', {
        name: diskName,
        type: 'local_disk',
        config: { basePath: agentDisk },
      })
    ).id;
    const created = await post<{ id: number; token: string }>('/api/nodes', { name: 'edge-repo' });
    nodeId = created.id;
    token = created.token;
    otherToken = (await post<{ id: number; token: string }>('/api/nodes', { name: 'edge-other' })).token;
    agent = startAgentProcess({ masterUrl: master.url, token });
    await waitFor('edge-repo online', async () =>
      (await get<{ status: string }>(`/api/nodes/${String(nodeId)}`)).status === 'online' ? true : undefined,
    );
    taskId = await createTask({
      name: 'edge repository',
      sourcePaths: [source],
      storageTargetIds: [diskTarget],
    });
  }, 180_000);

  afterAll(async () => {
    await agent.stop().catch(() => undefined);
    await master.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it('writes a snapshot into the repository on the agent, then only what changed', async () => {
    const first = await waitRecord(await runTask(taskId));
    expect(first.status, `${first.errorMessage}\n${first.logContent}\n${agent.output()}`).toBe('success');
    expect(first.backupKind).toBe('repository');
    expect(first.nodeId).toBe(nodeId);
    expect(first.storageTransferMode).toBe('direct');
    expect(first.storagePath).toMatch(
      new RegExp(
        `^\\.backupx/repository/v1/snapshots/${String(taskId)}/\\d{8}T\\d{6}\\.\\d{9}Z-${String(first.id)}\\.bxrs$`,
      ),
    );
    expect(first.fileName).toBe(path.posix.basename(first.storagePath));
    expect(first.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(first.hasContents).toBe(true);
    expect(first.storageUploadResults).toEqual([
      expect.objectContaining({
        storageTargetId: diskTarget,
        status: 'success',
        storagePath: first.storagePath,
      }),
    ]);
    const stored = filesUnder(agentDisk);
    expect(stored).toContain(first.storagePath);
    expect(stored.some((file) => file.startsWith('.backupx/repository/v1/packs/'))).toBe(true);
    const firstStats = await storedStats(first.id);
    expect(firstStats.newChunks).toBeGreaterThan(0);
    expect(firstStats.uploadedBytes).toBeGreaterThan(0);
    expect(firstStats.logicalBytes).toBe(first.fileSize);
    expect(firstStats.logicalBytes).toBeGreaterThan(3 * 1024 * 1024);
    // The lease is given back when the run ends.
    const leases = await master.container.database.db.selectFrom('repositoryLeases').selectAll().execute();
    expect(leases).toEqual([]);
    records.push(first);

    // Unchanged data: nothing new is written, every file comes from the previous snapshot.
    const second = await waitRecord(await runTask(taskId));
    expect(second.status, `${second.errorMessage}\n${second.logContent}`).toBe('success');
    expect(second.backupKind).toBe('repository');
    expect(second.storagePath).not.toBe(first.storagePath);
    expect(second.logContent).toContain(first.storagePath);
    const secondStats = await storedStats(second.id);
    expect(secondStats.newChunks).toBe(0);
    expect(secondStats.unchangedFiles).toBeGreaterThan(0);
    expect(secondStats.reusedBytes).toBeGreaterThan(0);
    expect(secondStats.uploadedBytes).toBeLessThan(firstStats.uploadedBytes);
    // What the console shows of the run.
    expect(second.repositoryStats).toMatchObject({
      newChunks: 0,
      unchangedFiles: secondStats.unchangedFiles,
    });
    records.push(second);
  });

  it('restores a repository snapshot through the agent, byte for byte', async () => {
    const record = records.at(-1);
    expect(record).toBeDefined();
    const into = path.join(work, 'restored');
    const restore = await post<RestoreDetail>(`/api/backup/records/${String(record?.id)}/restore`, {
      targetPath: into,
    });
    expect(restore.nodeId).toBe(nodeId);
    const done = await waitRestore(restore.id);
    expect(done.status, done.logContent).toBe('success');
    expect(done.logContent).toContain('[agent]');
    expect(describeTree(path.join(into, 'site'))).toEqual(describeTree(source));
  });

  it('waits while another writer holds the lease of the repository, then writes', async () => {
    const now = Date.now();
    await master.container.database.db
      .insertInto('repositoryLeases')
      .values({
        storageTargetId: diskTarget,
        holder: 'test:another-writer',
        acquiredAt: new Date(now).toISOString(),
        expiresAt: new Date(now + 5_000).toISOString(),
      })
      .execute();
    const recordId = await runTask(taskId);
    const waiting = await waitFor('the run waiting for the lease', async () => {
      const record = await get<RecordDetail>(`/api/backup/records/${String(recordId)}`);
      return record.logContent.includes(`waiting for the repository lease of ${diskName}`)
        ? record
        : undefined;
    });
    expect(waiting.status).toBe('running');
    const record = await waitRecord(recordId);
    expect(record.status, `${record.errorMessage}\n${record.logContent}`).toBe('success');
    expect(record.backupKind).toBe('repository');
    // It wrote only once the other lease had lapsed.
    expect(Date.parse(record.completedAt ?? '')).toBeGreaterThanOrEqual(now + 5_000);
    expect(record.logContent.match(/waiting for the repository lease/g)).toHaveLength(1);
    expect(await master.container.database.db.selectFrom('repositoryLeases').selectAll().execute()).toEqual(
      [],
    );
    records.push(record);
  });

  it('fails a master-relay target of a repository task and writes the direct one', async () => {
    const relay = await post<{ id: number }>('/api/storage-targets', {
      name: 'relay store',
      type: 'local_disk',
      config: { basePath: path.join(work, 'relay'), masterRelay: true },
    });
    const id = await createTask({
      name: 'edge repository relay',
      sourcePaths: [source],
      storageTargetIds: [relay.id, diskTarget],
    });
    const record = await waitRecord(await runTask(id));
    expect(record.status, `${record.errorMessage}\n${record.logContent}`).toBe('success');
    expect(record.storageTargetId).toBe(diskTarget);
    expect(record.storageUploadResults).toEqual([
      expect.objectContaining({
        storageTargetId: relay.id,
        status: 'failed',
        error: 'repository mode cannot write through the master relay; use a direct target',
      }),
      expect.objectContaining({ storageTargetId: diskTarget, status: 'success' }),
    ]);
  });

  it('refuses lease requests for a record of another node or a target not of the task', async () => {
    const record = records[0];
    expect(record).toBeDefined();
    const recordId = record?.id ?? 0;
    const foreign = await leaseCall('', { recordId, storageTargetId: diskTarget }, otherToken);
    expect([foreign.status, foreign.body.code]).toEqual([401, 'BACKUP_RECORD_FORBIDDEN']);
    const foreignRelease = await leaseCall('/release', { recordId, storageTargetId: diskTarget }, otherToken);
    expect([foreignRelease.status, foreignRelease.body.code]).toEqual([401, 'BACKUP_RECORD_FORBIDDEN']);

    const other = await post<{ id: number }>('/api/storage-targets', {
      name: 'not of the task',
      type: 'local_disk',
      config: { basePath: path.join(work, 'elsewhere') },
    });
    for (const route of ['', '/renew', '/release'] as const) {
      const refused = await leaseCall(route, { recordId, storageTargetId: other.id });
      expect([route, refused.status, refused.body.code]).toEqual([
        route,
        401,
        'BACKUP_STORAGE_TARGET_FORBIDDEN',
      ]);
    }
    // A run that has ended has nothing left to write: no lease for it.
    const ended = await leaseCall('', { recordId, storageTargetId: diskTarget });
    expect([ended.status, ended.body.code]).toEqual([400, 'AGENT_ARTIFACT_INVALID']);
    const missing = await leaseCall('', { recordId: 999_999, storageTargetId: diskTarget });
    expect([missing.status, missing.body.code]).toEqual([404, 'BACKUP_RECORD_NOT_FOUND']);
    expect(await master.container.database.db.selectFrom('repositoryLeases').selectAll().execute()).toEqual(
      [],
    );
  });
});
