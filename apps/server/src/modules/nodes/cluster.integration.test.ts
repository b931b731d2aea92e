import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeSummary, RecordDetail, RestoreDetail } from '@backupx/contract';
import { describeTree, filesUnder, mysql, psql, writeSampleTree } from '@backupx/testkit';
import { startS3rver, type S3rverService } from '@backupx/testkit/services/s3rver';
import { startSshd, type SshdService } from '@backupx/testkit/services/sshd';
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
 * The cluster end to end: a real master on loopback, `backupx agent` as real child processes,
 * real SFTP (sshd) and S3 (s3rver) storage, real MariaDB and PostgreSQL. Timings are shortened
 * through the cluster config (offline after 3 s, command lease 4 s).
 */
describe('cluster: master and agents as real processes (SQLite)', () => {
  let master: TestMaster;
  let admin: string;
  let sshd: SshdService;
  let s3: S3rverService;
  let work: string;
  let source: string;
  const agents = new Map<string, AgentProcess>();
  const nodeIds = new Map<string, number>();
  const tokens = new Map<string, string>();
  let sftpTarget: number;
  let s3Target: number;
  let port: number;

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
  const nodeOf = (name: string) => get<NodeSummary>(`/api/nodes/${String(nodeIds.get(name))}`);
  const startAgent = (name: string, token = tokens.get(name) ?? '') => {
    const agent = startAgentProcess({ masterUrl: master.url, token });
    agents.set(name, agent);
    return agent;
  };
  const waitOnline = (name: string) =>
    waitFor(`${name} online`, async () => ((await nodeOf(name)).status === 'online' ? true : undefined));
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
  /** The agent's first log line has reached the record: the run is under way on the node. */
  const waitAgentStarted = (recordId: number) =>
    waitFor(`record ${String(recordId)} under way on its agent`, async () => {
      const record = await get<RecordDetail>(`/api/backup/records/${String(recordId)}`);
      return record.logContent.includes('[agent]') ? true : undefined;
    });
  /** The node's bandwidth limit (rclone syntax) throttles its agent: slow runs to act during. */
  const setBandwidth = async (name: string, bandwidthLimit: string) => {
    const response = await api().put(
      `/api/nodes/${String(nodeIds.get(name))}`,
      { name, bandwidthLimit },
      { token: admin },
    );
    expect(response.status, response.text).toBe(200);
  };
  const createTask = (body: Record<string, unknown>) =>
    post<{ id: number }>('/api/backup/tasks', {
      compression: 'zstd',
      maxBackups: 0,
      retentionDays: 0,
      ...body,
    }).then((task) => task.id);
  const runTask = (taskId: number) =>
    post<RecordDetail>(`/api/backup/tasks/${String(taskId)}/run`).then((record) => record.id);
  /** Object keys in the s3rver bucket (s3rver keeps each object as `<key>._S3rver_object`). */
  const s3Objects = () =>
    filesUnder(path.join(s3.directory, s3.bucket))
      .filter((file) => file.endsWith('._S3rver_object'))
      .map((file) => file.slice(0, -'._S3rver_object'.length));

  beforeAll(async () => {
    sshd = await startSshd();
    s3 = await startS3rver({ bucket: 'cluster' });
    master = await startTestMaster('sqlite', {
      config: {
        cluster: {
          offline_after: '3s',
          command_timeout: '4s',
          monitor_interval: '500ms',
          rpc_timeout: '10s',
        },
      },
    });
    port = Number(new URL(master.url).port);
    admin = await master.setupAdmin();
    work = mkdtempSync(path.join(tmpdir(), 'bx-cluster-'));
    source = path.join(work, 'site');
    writeSampleTree(source, { files: 60, bigBytes: 2 * 1024 * 1024 });
    sftpTarget = (
      await post<{ id: number }>('/api/storage-targets', {
        name: 'sftp box',
        type: 'sftp',
        config: {
          host: sshd.host,
          port: sshd.port,
          user: sshd.user,
          key_pem: sshd.privateKeyPem,
          host_key_sha256: sshd.hostKeySha256,
          root: path.join(sshd.dataDir, 'cluster'),
        },
      })
    ).id;
    s3Target = (
      await post<{ id: number }>('/api/storage-targets', {
        name: 's3 bucket',
        type: 's3',
        config: {
          endpoint: s3.url,
          region: s3.region,
          bucket: s3.bucket,
          accessKeyId: s3.accessKeyId,
          secretAccessKey: s3.secretAccessKey,
        },
      })
    ).id;
    for (const name of ['edge-1', 'edge-2']) {
      const created = await post<{ id: number; token: string }>('/api/nodes', { name });
      nodeIds.set(name, created.id);
      tokens.set(name, created.token);
      startAgent(name);
    }
    await waitOnline('edge-1');
    await waitOnline('edge-2');
  }, 180_000);

  afterAll(async () => {
    for (const agent of agents.values()) await agent.stop().catch(() => undefined);
    await master.destroy();
    await s3.stop();
    await sshd.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('holds a long poll that carries a JSON body until work is queued, and loses nothing to a poll that went away', async () => {
    // A hand-driven agent: the same requests the real one sends (its poll carries `{}`).
    const raw = await post<{ id: number; token: string }>('/api/nodes', { name: 'edge-raw' });
    const agentPost = (url: string, body: unknown, signal?: AbortSignal) =>
      fetch(`${master.url}${url}`, {
        method: 'POST',
        headers: { 'X-Agent-Token': raw.token, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        ...(signal ? { signal } : {}),
      });
    expect((await agentPost('/api/agent/heartbeat', { hostname: 'raw', agentVersion: '0.1.0' })).status).toBe(
      200,
    );

    // A poll that goes away while held: it must not take the next command with it.
    const gone = new AbortController();
    const abandoned = agentPost('/api/agent/commands/poll?wait=20', {}, gone.signal).then(
      async (response) => `answered at once: ${await response.text()}`,
      () => 'held until aborted',
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    gone.abort();
    expect(await abandoned).toBe('held until aborted');
    await new Promise((resolve) => setTimeout(resolve, 200));

    const held = agentPost('/api/agent/commands/poll?wait=20', {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    const listing = api().get<Envelope<{ path: string; entries: unknown[] }>>(
      `/api/nodes/${String(raw.id)}/fs/list?path=${encodeURIComponent('/srv/raw')}`,
      { token: admin },
    );
    const polled = (await (await held).json()) as {
      data: { command: { id: number; type: string; payload: { path?: string } } | null };
    };
    const command = polled.data.command;
    expect(command).toMatchObject({ type: 'list_dir', payload: { path: '/srv/raw' } });
    const answered = await agentPost(`/api/agent/commands/${String(command?.id)}/result`, {
      success: true,
      result: { entries: [{ name: 'data', path: '/srv/raw/data', isDir: true, size: 0 }] },
    });
    expect(answered.status).toBe(200);
    const listed = await listing;
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.data.entries).toHaveLength(1);
    const commands = await master.container.database.db
      .selectFrom('agentCommands')
      .select(['type', 'status'])
      .where('nodeId', '=', raw.id)
      .execute();
    expect(commands).toEqual([{ type: 'list_dir', status: 'succeeded' }]);
    const removed = await api().delete(`/api/nodes/${String(raw.id)}`, undefined, { token: admin });
    expect(removed.status, removed.text).toBe(200);
  });

  it('lists the local node first, then agents online with what they run on', async () => {
    const nodes = await get<NodeSummary[]>('/api/nodes');
    expect(nodes[0]?.isLocal).toBe(true);
    const edge = nodes.find((node) => node.name === 'edge-1');
    expect(edge).toMatchObject({ status: 'online', health: 'healthy', isLocal: false, os: 'linux' });
    expect(edge?.agentVersion).not.toBe('');
    expect(edge?.versionStatus).toBe('current');
  });

  it('browses a remote directory and discovers databases through the agent', async () => {
    const listing = await get<{ entries: { name: string; isDir: boolean }[] }>(
      `/api/nodes/${String(nodeIds.get('edge-1'))}/fs/list?path=${encodeURIComponent(source)}`,
    );
    expect(listing.entries.length).toBeGreaterThan(0);
    expect(listing.entries.some((entry) => entry.isDir)).toBe(true);
    const missing = await api().get<Envelope>(
      `/api/nodes/${String(nodeIds.get('edge-1'))}/fs/list?path=${encodeURIComponent(path.join(work, 'nope'))}`,
      { token: admin },
    );
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe('NODE_FS_READ_ERROR');
    const found = await post<{ databases: string[] }>('/api/database/discover', {
      type: 'postgresql',
      host: '127.0.0.1',
      port: 5432,
      user: 'postgres',
      password: 'unused-trust-auth',
      nodeId: nodeIds.get('edge-2'),
    });
    expect(found.databases.length).toBeGreaterThan(0);
  });

  it('backs up files on an agent to SFTP and S3 at once, with the agent log on the record', async () => {
    const taskId = await createTask({
      name: 'edge files',
      type: 'file',
      sourcePaths: [source],
      storageTargetIds: [sftpTarget, s3Target],
      nodeId: nodeIds.get('edge-1'),
    });
    const record = await waitRecord(await runTask(taskId));
    expect(record.status, `${record.errorMessage}\n${record.logContent}`).toBe('success');
    expect(record.nodeId).toBe(nodeIds.get('edge-1'));
    expect(record.storagePath).toMatch(
      new RegExp(`^BackupX/file/\\d{6}/records/${String(record.id)}/edge_files_\\d{8}T\\d{6}\\.tar\\.zst$`),
    );
    expect(record.storageUploadResults.map((result) => [result.storageTargetId, result.status])).toEqual([
      [sftpTarget, 'success'],
      [s3Target, 'success'],
    ]);
    expect(record.logContent).toContain('[agent]');
    expect(record.logContent).toContain('backup succeeded');
    expect(record.hasContents).toBe(true);
    expect(s3Objects()).toContain(record.storagePath);
    expect(filesUnder(path.join(sshd.dataDir, 'cluster'))).toContain(record.storagePath);
    const task = await get<{ lastStatus: string; nodeName: string }>(`/api/backup/tasks/${String(taskId)}`);
    expect(task.lastStatus).toBe('success');
    expect(task.nodeName).toBe('edge-1');
    const listed = await get<{ id: number; nodeName: string }[]>('/api/backup/tasks');
    expect(listed.find((entry) => entry.id === taskId)?.nodeName).toBe('edge-1');

    // Restore on the node that made it, into another directory, byte for byte.
    const into = path.join(work, 'restored-files');
    const restore = await post<RestoreDetail>(`/api/backup/records/${String(record.id)}/restore`, {
      targetPath: into,
    });
    expect(restore.nodeId).toBe(nodeIds.get('edge-1'));
    const done = await waitRestore(restore.id);
    expect(done.status, done.logContent).toBe('success');
    expect(describeTree(path.join(into, 'site'))).toEqual(describeTree(source));
  });

  it('writes encrypted backups on an agent that only the master can open (BXENC2)', async () => {
    const taskId = await createTask({
      name: 'edge sealed',
      type: 'file',
      sourcePaths: [source],
      storageTargetIds: [s3Target],
      nodeId: nodeIds.get('edge-2'),
      encrypt: true,
    });
    const record = await waitRecord(await runTask(taskId));
    expect(record.status, `${record.errorMessage}\n${record.logContent}`).toBe('success');
    expect(record.fileName).toMatch(/\.tar\.zst\.enc$/);
    const stored = readFileSync(path.join(s3.directory, s3.bucket, `${record.storagePath}._S3rver_object`));
    expect(stored.subarray(0, 6).toString('ascii')).toBe('BXENC2');
    const row = await master.container.database.db
      .selectFrom('backupRecords')
      .select('keyEnvelope')
      .where('id', '=', record.id)
      .executeTakeFirstOrThrow();
    expect(row.keyEnvelope).not.toBe('');
    // The agent never receives the master's key; it restores with this artifact's data key only.
    const spec = await master.api.get<Envelope<{ dataKey?: string; encrypt: boolean }>>(
      `/api/agent/tasks/${String(taskId)}`,
      { headers: { 'X-Agent-Token': tokens.get('edge-2') ?? '' } },
    );
    expect(JSON.stringify(spec.body)).not.toContain(master.container.secrets.encryptionKey);
    const into = path.join(work, 'restored-sealed');
    const restore = await post<RestoreDetail>(`/api/backup/records/${String(record.id)}/restore`, {
      targetPath: into,
    });
    const done = await waitRestore(restore.id);
    expect(done.status, done.logContent).toBe('success');
    expect(describeTree(path.join(into, 'site'))).toEqual(describeTree(source));
  });

  it('backs up and restores PostgreSQL and MariaDB databases from an agent', async () => {
    const suffix = String(Date.now() % 100_000);
    const pgName = `bx_cluster_pg_${suffix}`;
    const myName = `bx_cluster_my_${suffix}`;
    psql(`CREATE DATABASE ${pgName}`);
    psql(
      'CREATE TABLE items (id int primary key, label text); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 500) g',
      pgName,
    );
    mysql(`CREATE DATABASE ${myName}`);
    mysql(
      'CREATE TABLE items (id int primary key, label text); INSERT INTO items VALUES (1, "a"), (2, "b"), (3, "c")',
      myName,
    );
    try {
      const pgTask = await createTask({
        name: 'edge postgres',
        type: 'postgresql',
        dbHost: '127.0.0.1',
        dbPort: 5432,
        dbUser: 'postgres',
        dbPassword: 'unused-trust-auth',
        dbName: pgName,
        storageTargetIds: [sftpTarget],
        nodeId: nodeIds.get('edge-2'),
      });
      const myTask = await createTask({
        name: 'edge mariadb',
        type: 'mysql',
        dbHost: '127.0.0.1',
        dbPort: 3306,
        dbUser: 'root',
        dbName: myName,
        storageTargetIds: [s3Target],
        nodeId: nodeIds.get('edge-1'),
      });
      const pgRecord = await waitRecord(await runTask(pgTask));
      expect(pgRecord.status, `${pgRecord.errorMessage}\n${pgRecord.logContent}`).toBe('success');
      const myRecord = await waitRecord(await runTask(myTask));
      expect(myRecord.status, `${myRecord.errorMessage}\n${myRecord.logContent}`).toBe('success');

      psql('DELETE FROM items WHERE id > 10', pgName);
      mysql('DELETE FROM items', myName);
      for (const record of [pgRecord, myRecord]) {
        const restore = await post<RestoreDetail>(`/api/backup/records/${String(record.id)}/restore`, {});
        const done = await waitRestore(restore.id);
        expect(done.status, done.logContent).toBe('success');
      }
      expect(psql('SELECT count(*) FROM items', pgName)).toBe('500');
      expect(mysql('SELECT count(*) FROM items', myName)).toBe('3');
    } finally {
      psql(`DROP DATABASE IF EXISTS ${pgName} WITH (FORCE)`);
      mysql(`DROP DATABASE IF EXISTS ${myName}`);
    }
  });

  it('answers directory listings and discovery while the same agent runs a long backup', async () => {
    const big = path.join(work, 'big');
    writeSampleTree(big, { files: 5, bigBytes: 24 * 1024 * 1024 });
    // 24 MiB at 4 MiB/s: about 6 s of upload.
    await setBandwidth('edge-1', '4M');
    const taskId = await createTask({
      name: 'edge slow',
      type: 'file',
      sourcePaths: [big],
      storageTargetIds: [s3Target],
      compression: 'none',
      nodeId: nodeIds.get('edge-1'),
    });
    const recordId = await runTask(taskId);
    await waitAgentStarted(recordId);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const listing = await get<{ entries: unknown[] }>(
        `/api/nodes/${String(nodeIds.get('edge-1'))}/fs/list?path=${encodeURIComponent(work)}`,
      );
      expect(listing.entries.length).toBeGreaterThan(0);
    }
    const found = await post<{ databases: string[] }>('/api/database/discover', {
      type: 'mysql',
      host: '127.0.0.1',
      port: 3306,
      user: 'root',
      password: '',
      nodeId: nodeIds.get('edge-1'),
    });
    expect(found.databases.length).toBeGreaterThan(0);
    expect((await get<RecordDetail>(`/api/backup/records/${String(recordId)}`)).status).toBe('running');
    const record = await waitRecord(recordId);
    expect(record.status, record.errorMessage).toBe('success');
    await setBandwidth('edge-1', '');
  });

  it('fails the record of an agent killed mid-upload within the lease, leaving no object behind', async () => {
    const big = path.join(work, 'big-kill');
    writeSampleTree(big, { files: 3, bigBytes: 32 * 1024 * 1024 });
    await setBandwidth('edge-2', '2M');
    const taskId = await createTask({
      name: 'edge killed',
      type: 'file',
      sourcePaths: [big],
      storageTargetIds: [s3Target, sftpTarget],
      compression: 'none',
      nodeId: nodeIds.get('edge-2'),
    });
    const recordId = await runTask(taskId);
    await waitAgentStarted(recordId);
    const namespace = `/records/${String(recordId)}/`;
    await sleep(1500);
    expect(
      (await get<RecordDetail>(`/api/backup/records/${String(recordId)}`)).status,
      'still uploading',
    ).toBe('running');
    await agents.get('edge-2')?.kill9();
    const failedAt = Date.now();
    const record = await waitRecord(recordId, 30_000);
    expect(record.status).toBe('failed');
    expect(record.errorMessage).toContain('did not report');
    // The lease is 4 s and the monitor looks every 0.5 s.
    expect(Date.now() - failedAt).toBeLessThan(20_000);
    expect(s3Objects().filter((key) => key.includes(namespace))).toEqual([]);
    expect(filesUnder(path.join(sshd.dataDir, 'cluster')).filter((key) => key.includes(namespace))).toEqual(
      [],
    );
    const task = await get<{ lastStatus: string }>(`/api/backup/tasks/${String(taskId)}`);
    expect(task.lastStatus).toBe('failed');
    // The node goes offline, then comes back with a new agent process.
    await waitFor('edge-2 offline', async () =>
      (await nodeOf('edge-2')).status === 'offline' ? true : undefined,
    );
    const refused = await api().post<Envelope>(`/api/backup/tasks/${String(taskId)}/run`, undefined, {
      token: admin,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('NODE_OFFLINE');
    // Refused before anything was written: no record of the refused run.
    const records = await master.container.database.db
      .selectFrom('backupRecords')
      .select('id')
      .where('taskId', '=', taskId)
      .execute();
    expect(records).toHaveLength(1);
    await setBandwidth('edge-2', '');
    startAgent('edge-2');
    await waitOnline('edge-2');
    const health = await nodeOf('edge-2');
    expect(health.queue.timeouts).toBeGreaterThan(0);
    expect(health.health).toBe('degraded');
  });

  it('ignores a result that arrives after its command timed out', async () => {
    // Play the agent by hand: claim a run, then report long after the 4 s lease.
    const created = await post<{ id: number; token: string }>('/api/nodes', { name: 'by-hand' });
    const headers = { 'X-Agent-Token': created.token };
    await api().post('/api/agent/heartbeat', { hostname: 'h', agentVersion: '0.1.0' }, { headers });
    const taskId = await createTask({
      name: 'by hand',
      type: 'file',
      sourcePaths: [source],
      storageTargetIds: [s3Target],
      nodeId: created.id,
    });
    const recordId = await runTask(taskId);
    const poll = await api().post<
      Envelope<{ command: { id: number; type: string; payload: { recordId: number } } }>
    >('/api/agent/commands/poll', undefined, { headers });
    expect(poll.body.data.command).toMatchObject({ type: 'run_task', payload: { recordId } });
    const commandId = poll.body.data.command.id;
    const failed = await waitRecord(recordId, 30_000);
    expect(failed.status).toBe('failed');
    const late = await api().post<Envelope>(
      `/api/agent/records/${String(recordId)}`,
      {
        status: 'success',
        storagePath: `BackupX/file/250101/records/${String(recordId)}/x.tar.zst`,
        storageTargetId: s3Target,
        checksum: 'a'.repeat(64),
        fileName: 'x.tar.zst',
      },
      { headers },
    );
    expect(late.status).toBe(200);
    const result = await api().post<Envelope>(
      `/api/agent/commands/${String(commandId)}/result`,
      { success: true },
      { headers },
    );
    expect(result.status).toBe(200);
    expect((await get<RecordDetail>(`/api/backup/records/${String(recordId)}`)).status).toBe('failed');
    const command = await master.container.database.db
      .selectFrom('agentCommands')
      .select('status')
      .where('id', '=', commandId)
      .executeTakeFirstOrThrow();
    expect(command.status).toBe('timeout');
    // Another node's token cannot complete this command.
    const foreign = await api().post<Envelope>(
      `/api/agent/commands/${String(commandId)}/result`,
      { success: true },
      { headers: { 'X-Agent-Token': tokens.get('edge-1') ?? '' } },
    );
    expect(foreign.status).toBe(401);
    expect(foreign.body.code).toBe('AGENT_COMMAND_FORBIDDEN');
  });

  it('rotates a node token: the old one keeps working for the overlap only', async () => {
    const created = await post<{ id: number; token: string }>('/api/nodes', { name: 'rotating' });
    const old = created.token;
    const rotated = await api().post<Envelope<{ newToken: string }>>(
      `/api/nodes/${String(created.id)}/rotate-token`,
      undefined,
      { token: admin },
    );
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    const fresh = rotated.body.data.newToken;
    expect(fresh).toMatch(/^[0-9a-f]{64}$/);
    for (const token of [old, fresh]) {
      const self = await api().get<Envelope<{ id: number }>>('/api/v1/agent/self', {
        headers: { 'X-Agent-Token': token },
      });
      expect(self.status).toBe(200);
      expect(self.body.data.id).toBe(created.id);
    }
    const bogus = await api().get<Envelope>('/api/v1/agent/self', {
      headers: { 'X-Agent-Token': 'f'.repeat(64) },
    });
    expect(bogus.status).toBe(401);
    expect(bogus.body.code).toBe('NODE_INVALID_TOKEN');
    // Past the 24 h overlap only the new token is accepted.
    const row = await master.container.database.db
      .selectFrom('nodes')
      .select('prevTokenExpiresAt')
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(Date.parse(row.prevTokenExpiresAt ?? '') - Date.now()).toBeGreaterThan(23 * 3600_000);
    await master.container.database.db
      .updateTable('nodes')
      .set({ prevTokenExpiresAt: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', created.id)
      .execute();
    const expired = await api().get<Envelope>('/api/v1/agent/self', { headers: { 'X-Agent-Token': old } });
    expect(expired.status).toBe(401);
    const local = (await get<NodeSummary[]>('/api/nodes')).find((node) => node.isLocal);
    const refused = await api().post<Envelope>(`/api/nodes/${String(local?.id)}/rotate-token`, undefined, {
      token: admin,
    });
    expect(refused.body.code).toBe('NODE_ROTATE_LOCAL');
  });

  it('keeps a run going across a master restart: the agent reconnects and its result lands once', async () => {
    // Restarting takes a few seconds: give this run a lease longer than that.
    const restart = async () => {
      const { dataDir } = master;
      await master.stop();
      await sleep(2000);
      master = await startTestMaster('sqlite', {
        port,
        reuse: { dataDir },
        config: {
          cluster: {
            offline_after: '3s',
            command_timeout: '30s',
            monitor_interval: '500ms',
            rpc_timeout: '10s',
          },
        },
      });
      admin = await master.login('admin', 'Password-123');
    };
    await restart();
    // Online by a heartbeat to the new master, not by the row the old one left behind: the
    // agent may still be backing off from the connection errors of the restart.
    const restartedAt = Date.now();
    await waitFor('edge-1 to heartbeat the restarted master', async () =>
      Date.parse((await nodeOf('edge-1')).lastSeen) > restartedAt ? true : undefined,
    );
    await setBandwidth('edge-1', '4M');
    const big = path.join(work, 'big-restart');
    // 40 MiB at 4 MiB/s: about 10 s, so the master is down in the middle of it.
    writeSampleTree(big, { files: 2, bigBytes: 40 * 1024 * 1024 });
    const taskId = await createTask({
      name: 'edge restart',
      type: 'file',
      sourcePaths: [big],
      storageTargetIds: [s3Target],
      compression: 'none',
      nodeId: nodeIds.get('edge-1'),
    });
    const recordId = await runTask(taskId);
    await waitAgentStarted(recordId);
    await restart();
    const record = await waitRecord(recordId);
    expect(record.status, `${record.errorMessage}\n${record.logContent}`).toBe('success');
    const rows = await master.container.database.db
      .selectFrom('backupRecords')
      .select('id')
      .where('taskId', '=', taskId)
      .execute();
    expect(rows).toHaveLength(1);
    expect(s3Objects().filter((key) => key.includes(`/records/${String(recordId)}/`))).toHaveLength(1);
    await setBandwidth('edge-1', '');
  });

  it("keeps an agent's own local disk its own: no master download, deletes and retention go through the agent", async () => {
    const agentDisk = path.join(work, 'edge-1-disk');
    const target = await post<{ id: number }>('/api/storage-targets', {
      name: 'edge-1 own disk',
      type: 'local_disk',
      config: { basePath: agentDisk },
    });
    const taskId = await createTask({
      name: 'edge own disk',
      type: 'file',
      sourcePaths: [source],
      storageTargetIds: [target.id],
      nodeId: nodeIds.get('edge-1'),
      maxBackups: 1,
    });
    const first = await waitRecord(await runTask(taskId));
    expect(first.status, `${first.errorMessage}\n${first.logContent}`).toBe('success');
    expect(first.storageTransferMode).toBe('direct');
    expect(filesUnder(agentDisk)).toEqual([first.storagePath]);

    // The master cannot read the agent's disk, even though here it is the same machine.
    const download = await api().get<Envelope>(`/api/backup/records/${String(first.id)}/download`, {
      token: admin,
    });
    expect(download.status).toBe(400);
    expect(download.body.code).toBe('BACKUP_RECORD_CROSS_NODE_LOCAL_DISK');
    // Nor drill or replicate it (SPEC §8.2, §9): no verification record is written.
    const drill = await api().post<Envelope>(
      `/api/backup/records/${String(first.id)}/verify`,
      {},
      {
        token: admin,
      },
    );
    expect([drill.status, drill.body.code]).toEqual([400, 'VERIFY_CROSS_NODE_LOCAL_DISK']);
    const drills = await api().get<Envelope<unknown[]>>(
      `/api/verify/records?backupRecordId=${String(first.id)}`,
      { token: admin },
    );
    expect(drills.body.data).toEqual([]);

    // Retention after the agent's second run removes the first copy through the agent.
    const second = await waitRecord(await runTask(taskId));
    expect(second.status, `${second.errorMessage}\n${second.logContent}`).toBe('success');
    expect(second.logContent).toContain(`retention removed backup #${String(first.id)}`);
    await waitFor('the first copy removed by the agent', () =>
      Promise.resolve(filesUnder(agentDisk).includes(first.storagePath) ? undefined : true),
    );
    expect(filesUnder(agentDisk)).toEqual([second.storagePath]);

    // Deleting the record removes its copy through the agent as well.
    const deleted = await api().delete<Envelope>(`/api/backup/records/${String(second.id)}`, undefined, {
      token: admin,
    });
    expect(deleted.status, deleted.text).toBe(200);
    await waitFor('the second copy removed by the agent', () =>
      Promise.resolve(filesUnder(agentDisk).length === 0 ? true : undefined),
    );
    // The agent removes the file, then reports: wait for both reports.
    const commands = await waitFor('both deletions reported', async () => {
      const rows = await master.container.database.db
        .selectFrom('agentCommands')
        .select(['type', 'status'])
        .where('nodeId', '=', nodeIds.get('edge-1') ?? 0)
        .where('type', '=', 'delete_storage_object')
        .execute();
      return rows.every((row) => row.status !== 'pending' && row.status !== 'dispatched') ? rows : undefined;
    });
    expect(commands).toEqual([
      { type: 'delete_storage_object', status: 'succeeded' },
      { type: 'delete_storage_object', status: 'succeeded' },
    ]);
    await api().delete(`/api/backup/tasks/${String(taskId)}`, undefined, { token: admin });
  });

  it('shows the cluster and per-node performance on the dashboard', async () => {
    const overview = await get<{
      totalNodes: number;
      onlineNodes: number;
      outdatedAgents: number;
      masterVersion: string;
      nodes: { id: number; name: string; isLocal: boolean; status: string; taskCount: number }[];
    }>('/api/dashboard/cluster');
    const nodes = await get<NodeSummary[]>('/api/nodes');
    expect(overview.totalNodes).toBe(nodes.length);
    expect(overview.onlineNodes).toBe(nodes.filter((node) => node.status === 'online').length);
    expect(overview.outdatedAgents).toBe(0);
    expect(overview.masterVersion).not.toBe('');
    const edge1 = overview.nodes.find((node) => node.id === nodeIds.get('edge-1'));
    expect(edge1).toMatchObject({ name: 'edge-1', isLocal: false, status: 'online' });
    expect(edge1?.taskCount).toBeGreaterThan(0);

    const performance = await get<
      {
        nodeId: number;
        nodeName: string;
        totalRuns: number;
        successRuns: number;
        failedRuns: number;
        successRate: number;
        totalBytes: number;
        avgDurationSecs: number;
      }[]
    >('/api/dashboard/node-performance?days=7');
    expect(performance.map((row) => row.nodeId).sort()).toEqual(nodes.map((node) => node.id).sort());
    const runs = await master.container.database.db
      .selectFrom('backupRecords')
      .select(['status', 'fileSize'])
      .where('nodeId', '=', nodeIds.get('edge-1') ?? 0)
      .execute();
    const row = performance.find((entry) => entry.nodeId === nodeIds.get('edge-1'));
    const successes = runs.filter((run) => run.status === 'success');
    expect(row).toMatchObject({
      nodeName: 'edge-1',
      totalRuns: runs.length,
      successRuns: successes.length,
      failedRuns: runs.filter((run) => run.status === 'failed').length,
      totalBytes: successes.reduce((sum, run) => sum + run.fileSize, 0),
    });
    expect(row?.successRate).toBeGreaterThan(0);
    // Best success rate first.
    const rates = performance.map((entry) => entry.successRate);
    expect(rates).toEqual([...rates].sort((a, b) => b - a));
    const refused = await api().get<Envelope>('/api/dashboard/node-performance?days=abc', { token: admin });
    expect(refused.body.code).toBe('DASHBOARD_TIMELINE_INVALID');
  });

  it('skips scheduled fires for a node that is offline: a skipped record and a scheduled_skip audit entry', async () => {
    const dark = await post<{ id: number }>('/api/nodes', { name: 'edge-dark' });
    const taskId = await createTask({
      name: 'dark files',
      type: 'file',
      sourcePaths: [source],
      storageTargetIds: [s3Target],
      nodeId: dark.id,
      cronExpr: '* * * * * *',
      enabled: true,
    });
    const skipped = await waitFor('a skipped record', async () => {
      const rows = await master.container.database.db
        .selectFrom('backupRecords')
        .select(['status', 'errorMessage'])
        .where('taskId', '=', taskId)
        .execute();
      return rows.length > 0 ? rows : undefined;
    });
    const toggled = await api().put(
      `/api/backup/tasks/${String(taskId)}/toggle`,
      { enabled: false },
      { token: admin },
    );
    expect(toggled.status, toggled.text).toBe(200);
    expect(skipped[0]).toEqual({
      status: 'skipped',
      errorMessage: 'scheduled run skipped: node "edge-dark" offline',
    });
    const audit = await get<{ items: { action: string; detail: string }[] }>(
      `/api/audit-logs?category=backup_task&targetId=${String(taskId)}&limit=500`,
    );
    const skips = audit.items.filter((entry) => entry.action === 'scheduled_skip');
    expect(skips.some((entry) => entry.detail.includes('node "edge-dark" offline'))).toBe(true);
    expect(audit.items.filter((entry) => entry.action === 'scheduled_run')).toEqual([]);
    const commands = await master.container.database.db
      .selectFrom('agentCommands')
      .select('id')
      .where('nodeId', '=', dark.id)
      .execute();
    expect(commands).toEqual([]);
    await api().delete(`/api/backup/tasks/${String(taskId)}`, undefined, { token: admin });
  });

  it('refuses to delete a node that tasks use, and the local node', async () => {
    const used = await api().delete<Envelope>(`/api/nodes/${String(nodeIds.get('edge-1'))}`, undefined, {
      token: admin,
    });
    expect(used.status).toBe(400);
    expect(used.body.code).toBe('NODE_HAS_TASKS');
    const nodes = await get<NodeSummary[]>('/api/nodes');
    const local = nodes.find((node) => node.isLocal);
    const refused = await api().delete<Envelope>(`/api/nodes/${String(local?.id)}`, undefined, {
      token: admin,
    });
    expect(refused.body.code).toBe('NODE_DELETE_LOCAL');
    writeFileSync(path.join(work, 'marker'), 'x');
  });
});
