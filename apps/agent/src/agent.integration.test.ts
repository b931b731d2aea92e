/**
 * The agent runtime against a stand-in master on loopback (testing/fake-master.ts): real HTTP,
 * real engine, real files. The end-to-end tests with the real master live in e2e/.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentTaskSpec } from '@backupx/contract';
import { decodeManifest, masterAgentKeyPair, openDataKey } from '@backupx/engine';
import { AgentStartError, runAgent, type RunAgentOptions } from './agent.ts';
import type { AgentConfig } from './config/config.ts';
import { createLogger, type AgentLogger } from './logger.ts';
import { startFakeMaster, type FakeMaster } from './testing/fake-master.ts';
import { AGENT_VERSION } from './version.ts';

const TOKEN = 'c0ffee'.repeat(10) + 'abcd';
let dir: string;
let master: FakeMaster;
let logLines: string[];
let stops: (() => Promise<void>)[];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bx-agent-run-'));
  master = await startFakeMaster({ token: TOKEN });
  logLines = [];
  stops = [];
});
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await master.close();
  await rm(dir, { recursive: true, force: true });
});

const configFor = (url: string, extra: Partial<AgentConfig> = {}): AgentConfig => ({
  master: url,
  token: TOKEN,
  heartbeatIntervalMs: 200,
  pollIntervalMs: 200,
  tempDir: path.join(dir, 'tmp'),
  proxyUrl: '',
  caCertFile: '',
  caCertPem: '',
  insecureSkipTlsVerify: false,
  environmentProxy: { httpProxy: '', httpsProxy: '', noProxy: '' },
  ...extra,
});

const capture = (): AgentLogger => createLogger({ level: 'debug', write: (line) => logLines.push(line) });

/** Starts the agent in-process; resolves once it is connected. */
const start = async (options: Partial<RunAgentOptions> & { config?: Partial<AgentConfig> } = {}) => {
  const controller = new AbortController();
  let ready!: () => void;
  const connected = new Promise<void>((resolve) => (ready = resolve));
  const { config, ...rest } = options;
  const running = runAgent(configFor(master.url, config), {
    signal: controller.signal,
    log: capture(),
    pollWaitSeconds: 2,
    shutdownGraceMs: 5000,
    onReady: () => ready(),
    ...rest,
  });
  await Promise.race([connected, running]);
  const stop = async (reason = 'test over') => {
    controller.abort(new Error(reason));
    await running;
  };
  stops.push(() => stop().catch(() => undefined));
  return { stop, running };
};

const resultOf = async (commandId: number) => {
  await master.waitFor(() => master.results.some((r) => r.commandId === commandId));
  return master.results.find((r) => r.commandId === commandId)?.body ?? {};
};

const finalReportOf = async (recordId: number) => {
  const isFinal = (u: { recordId: number; body: Record<string, unknown> }) =>
    u.recordId === recordId && (u.body.status === 'success' || u.body.status === 'failed');
  await master.waitFor(() => master.recordUpdates.some(isFinal));
  return master.recordUpdates.find(isFinal)?.body ?? {};
};

const fullLogOf = (recordId: number) =>
  master.recordUpdates
    .filter((u) => u.recordId === recordId)
    .map((u) => (typeof u.body.logAppend === 'string' ? u.body.logAppend : ''))
    .join('');

const fileTaskSpec = (overrides: Partial<AgentTaskSpec> = {}): AgentTaskSpec => ({
  taskId: 1,
  name: 'Web Site',
  type: 'file',
  sourcePath: '',
  sourcePaths: JSON.stringify([path.join(dir, 'www')]),
  excludePatterns: JSON.stringify(['*.log']),
  dbHost: '',
  dbPort: 0,
  dbUser: '',
  dbPassword: '',
  dbName: '',
  dbPath: '',
  extraConfig: '',
  compression: 'gzip',
  encrypt: false,
  storageTargets: [
    {
      id: 11,
      type: 'local_disk',
      name: 'agent disk',
      config: { basePath: path.join(dir, 'store') },
      transferMode: 'direct',
    },
    { id: 12, type: 'local_disk', name: 'master disk', config: {}, transferMode: 'master_relay' },
  ],
  bandwidthLimit: '',
  ...overrides,
});

const makeSourceTree = async () => {
  await mkdir(path.join(dir, 'www', 'css'), { recursive: true });
  await writeFile(path.join(dir, 'www', 'index.html'), '<h1>hello</h1>');
  await writeFile(path.join(dir, 'www', 'css', 'site.css'), 'body{}');
  await writeFile(path.join(dir, 'www', 'debug.log'), 'excluded');
};

describe('agent runtime', () => {
  it('starts with a heartbeat describing this machine, and stops cleanly', async () => {
    const { stop } = await start();
    const [first] = master.heartbeats;
    expect(first).toMatchObject({
      agentVersion: AGENT_VERSION,
      os: process.platform === 'win32' ? 'windows' : process.platform,
    });
    expect(['amd64', 'arm64']).toContain(first?.arch);
    expect(typeof first?.hostname).toBe('string');
    expect(JSON.stringify(first)).not.toContain(TOKEN);
    await master.waitFor(() => master.heartbeats.length >= 3);
    await stop();
    expect(logLines.join('')).not.toContain(TOKEN);
    expect(logLines.some((line) => line.includes('"stopped"'))).toBe(true);
  });

  it('does not start when the first heartbeat fails, and says why', async () => {
    await expect(
      runAgent(configFor(master.url, { token: 'wrong-token' }), { log: capture() }),
    ).rejects.toThrow(AgentStartError);
    await expect(
      runAgent(configFor(master.url, { token: 'wrong-token' }), { log: capture() }),
    ).rejects.toThrow(/NODE_INVALID_TOKEN.*rotated/);
  });

  it('long-polls, and falls back to the poll interval when the master answers at once', async () => {
    const { stop } = await start();
    await master.waitFor(() => master.polls.length >= 1);
    expect(master.polls[0]?.wait).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // A held poll: one or two requests in a second, not a busy loop.
    expect(master.polls.length).toBeLessThanOrEqual(2);
    await stop();

    const backupxStyle = await startFakeMaster({ token: TOKEN, longPoll: false });
    try {
      const controller = new AbortController();
      const running = runAgent(configFor(backupxStyle.url), {
        signal: controller.signal,
        log: capture(),
        pollWaitSeconds: 2,
      });
      await new Promise((resolve) => setTimeout(resolve, 1100));
      controller.abort();
      await running;
      // pollInterval is 200 ms: about 5 polls, not hundreds.
      expect(backupxStyle.polls.length).toBeGreaterThanOrEqual(3);
      expect(backupxStyle.polls.length).toBeLessThanOrEqual(8);
    } finally {
      await backupxStyle.close();
    }
  });

  it('answers list_dir and refuses unknown commands', async () => {
    await start();
    await mkdir(path.join(dir, 'browse', 'sub'), { recursive: true });
    master.enqueue({ id: 1, type: 'list_dir', payload: { path: path.join(dir, 'browse') } });
    master.enqueue({ id: 2, type: 'format_disk', payload: {} });
    master.enqueue({ id: 3, type: 'list_dir', payload: { path: path.join(dir, 'missing') } });
    expect(await resultOf(1)).toEqual({
      success: true,
      result: { entries: [{ name: 'sub', path: path.join(dir, 'browse', 'sub'), isDir: true, size: 0 }] },
    });
    expect(await resultOf(2)).toEqual({ success: false, errorMessage: 'unknown command type: format_disk' });
    expect(await resultOf(3)).toMatchObject({
      success: false,
      errorMessage: expect.stringContaining('ENOENT'),
    });
  });

  it('discovers databases with the client tool and deletes storage objects', async () => {
    const bin = path.join(dir, 'bin');
    await mkdir(bin);
    await writeFile(
      path.join(bin, 'mysql'),
      '#!/bin/sh\nprintf "information_schema\\nshop\\nmysql\\nblog\\n"\n',
    );
    await chmod(path.join(bin, 'mysql'), 0o755);
    await mkdir(path.join(dir, 'store', 'BackupX', 'file'), { recursive: true });
    await writeFile(path.join(dir, 'store', 'BackupX', 'file', 'old.tar.gz'), 'old');
    await start({ env: { PATH: `${bin}:/usr/bin:/bin` } });
    master.enqueue({
      id: 4,
      type: 'discover_db',
      payload: { type: 'mysql', host: '127.0.0.1', port: 3306, user: 'root', password: 'pw' },
    });
    master.enqueue({
      id: 5,
      type: 'discover_db',
      payload: { type: 'mongodb', host: 'h', port: 1, user: '', password: '' },
    });
    master.enqueue({
      id: 6,
      type: 'delete_storage_object',
      payload: {
        targetType: 'local_disk',
        targetConfig: { basePath: path.join(dir, 'store') },
        storagePath: 'BackupX/file/old.tar.gz',
      },
    });
    expect(await resultOf(4)).toEqual({ success: true, result: { databases: ['shop', 'blog'] } });
    expect(await resultOf(5)).toMatchObject({
      success: false,
      errorMessage: expect.stringContaining('mysql and postgresql'),
    });
    expect(await resultOf(6)).toEqual({ success: true, result: { deleted: true } });
    await expect(readFile(path.join(dir, 'store', 'BackupX', 'file', 'old.tar.gz'))).rejects.toThrow(
      /ENOENT/,
    );
  });

  it('runs a file backup to a direct and a master-relay target and reports it', async () => {
    await makeSourceTree();
    master.taskSpecs.set(1, fileTaskSpec());
    await start();
    master.enqueue({ id: 10, type: 'run_task', payload: { taskId: 1, recordId: 77 } });
    expect(await resultOf(10)).toEqual({ success: true, result: { taskId: 1, recordId: 77 } });
    const report = await finalReportOf(77);
    const key = String(report.storagePath);
    expect(key).toMatch(/^BackupX\/file\/\d{6}\/records\/77\/web_site_\d{8}T\d{6}\.tar\.gz$/);
    expect(report).toMatchObject({
      status: 'success',
      fileName: path.posix.basename(key),
      storageTargetId: 11,
      storageTransferMode: 'direct',
      backupKind: 'full',
      storageUploadResults: [
        { storageTargetId: 11, status: 'success', transferMode: 'direct', storagePath: key },
        { storageTargetId: 12, status: 'success', transferMode: 'master_relay', storagePath: key },
      ],
    });
    // The same bytes on the agent's disk and on the master, matching the reported size and hash.
    const stored = await readFile(path.join(dir, 'store', ...key.split('/')));
    expect(stored.length).toBe(report.fileSize);
    expect(createHash('sha256').update(stored).digest('hex')).toBe(report.checksum);
    expect(master.uploads).toHaveLength(1);
    expect(master.uploads[0]).toMatchObject({
      recordId: 77,
      targetId: 12,
      objectKey: key,
      sha256Header: report.checksum,
    });
    expect(master.uploads[0]?.body.equals(stored)).toBe(true);
    // The manifest lists the files, without the excluded one.
    const manifest = decodeManifest(String(report.manifest));
    expect(manifest.entries.map((entry) => entry.p).sort()).toEqual([
      'www/css',
      'www/css/site.css',
      'www/index.html',
    ]);
    expect(fullLogOf(77)).toMatch(/^\[agent\] backup of task "Web Site" \(file\) started on this agent$/m);
    // The work directory is gone.
    expect(await readdir(path.join(dir, 'tmp'))).toEqual([]);
  });

  it('seals encrypted backups to the master key, and restores them with the data key the master hands out', async () => {
    await makeSourceTree();
    const masterKeys = masterAgentKeyPair(Buffer.alloc(32, 7));
    master.taskSpecs.set(
      1,
      fileTaskSpec({
        encrypt: true,
        masterPublicKey: masterKeys.publicKey.toString('base64'),
        compression: 'zstd',
      }),
    );
    await start();
    master.enqueue({ id: 20, type: 'run_task', payload: { taskId: 1, recordId: 78 } });
    expect(await resultOf(20)).toMatchObject({ success: true });
    const report = await finalReportOf(78);
    expect(String(report.fileName)).toMatch(/\.tar\.zst\.enc$/);
    const stored = await readFile(path.join(dir, 'store', ...String(report.storagePath).split('/')));
    expect(stored.subarray(0, 6).toString()).toBe('BXENC2');
    const dataKey = openDataKey(Buffer.from(String(report.keyEnvelope), 'base64'), masterKeys.privateKey);

    const restoreSpec = {
      restoreRecordId: 5,
      backupRecordId: 78,
      taskId: 1,
      taskName: 'Web Site',
      type: 'file',
      sourcePath: '',
      sourcePaths: [path.join(dir, 'www')],
      dbHost: '',
      dbPort: 0,
      dbUser: '',
      dbPassword: '',
      dbName: '',
      dbPath: '',
      extraConfig: '',
      compression: 'zstd',
      encrypt: true,
      storage: {
        id: 11,
        type: 'local_disk',
        name: 'agent disk',
        config: { basePath: path.join(dir, 'store') },
        transferMode: 'direct' as const,
      },
      storagePath: String(report.storagePath),
      fileName: String(report.fileName),
      checksum: String(report.checksum),
      targetPath: path.join(dir, 'restored'),
      selectedPaths: ['www/css'],
    };
    // Without the data key the agent refuses (a BXENC1 artifact of the master's own key).
    master.restoreSpecs.set(5, restoreSpec);
    master.enqueue({ id: 21, type: 'restore_record', payload: { restoreRecordId: 5 } });
    expect(await resultOf(21)).toEqual({
      success: false,
      errorMessage: "this backup was encrypted with the master's key; restore it on the master",
    });
    expect(master.restoreUpdates.at(-1)?.body).toMatchObject({ status: 'failed' });

    master.restoreSpecs.set(6, { ...restoreSpec, restoreRecordId: 6, dataKey: dataKey.toString('base64') });
    master.enqueue({ id: 22, type: 'restore_record', payload: { restoreRecordId: 6 } });
    expect(await resultOf(22)).toEqual({ success: true, result: { restoreRecordId: 6 } });
    expect(await readFile(path.join(dir, 'restored', 'www', 'css', 'site.css'), 'utf8')).toBe('body{}');
    await expect(readFile(path.join(dir, 'restored', 'www', 'index.html'))).rejects.toThrow(/ENOENT/);
    const final = master.restoreUpdates.filter((u) => u.restoreId === 6).at(-1)?.body;
    expect(final).toMatchObject({ status: 'success' });
  });

  it('fails an encrypted task when the master sends no public key', async () => {
    master.taskSpecs.set(1, fileTaskSpec({ encrypt: true }));
    await start();
    master.enqueue({ id: 30, type: 'run_task', payload: { taskId: 1, recordId: 79 } });
    expect(await resultOf(30)).toEqual({
      success: false,
      errorMessage: 'the master did not send a public key for encrypted backups',
    });
    expect(await finalReportOf(79)).toMatchObject({
      status: 'failed',
      errorMessage: 'the master did not send a public key for encrypted backups',
    });
  });

  it('restores a relayed artifact from the master', async () => {
    await makeSourceTree();
    master.taskSpecs.set(1, fileTaskSpec({ storageTargets: [fileTaskSpec().storageTargets[1]!] }));
    await start();
    master.enqueue({ id: 40, type: 'run_task', payload: { taskId: 1, recordId: 80 } });
    await resultOf(40);
    const report = await finalReportOf(80);
    master.restoreArtifacts.set(9, master.uploads[0]!.body);
    master.restoreSpecs.set(9, {
      restoreRecordId: 9,
      backupRecordId: 80,
      taskId: 1,
      taskName: 'Web Site',
      type: 'file',
      sourcePath: '',
      sourcePaths: [path.join(dir, 'www')],
      dbHost: '',
      dbPort: 0,
      dbUser: '',
      dbPassword: '',
      dbName: '',
      dbPath: '',
      extraConfig: '',
      compression: 'gzip',
      encrypt: false,
      storage: { id: 12, type: 'local_disk', name: 'master disk', config: {}, transferMode: 'master_relay' },
      storagePath: String(report.storagePath),
      fileName: String(report.fileName),
      checksum: String(report.checksum),
      targetPath: path.join(dir, 'restored'),
    });
    master.enqueue({ id: 41, type: 'restore_record', payload: { restoreRecordId: 9 } });
    expect(await resultOf(41)).toEqual({ success: true, result: { restoreRecordId: 9 } });
    expect(await readFile(path.join(dir, 'restored', 'www', 'index.html'), 'utf8')).toBe('<h1>hello</h1>');
  });

  it('survives a master restart: reports wait in memory and are delivered once it is back', async () => {
    const bin = path.join(dir, 'bin');
    await mkdir(bin);
    // A dump that takes a second, so the master is gone while it runs and when it ends.
    await writeFile(
      path.join(bin, 'mysqldump'),
      '#!/bin/sh\necho "CREATE TABLE t (id int);"\nsleep 1\necho "-- done"\n',
    );
    await chmod(path.join(bin, 'mysqldump'), 0o755);
    master.taskSpecs.set(
      2,
      fileTaskSpec({
        taskId: 2,
        type: 'mysql',
        dbHost: '127.0.0.1',
        dbPort: 3306,
        dbUser: 'root',
        dbName: 'shop',
        storageTargets: [fileTaskSpec().storageTargets[0]!],
      }),
    );
    await start({ env: { PATH: `${bin}:/usr/bin:/bin` } });
    master.enqueue({ id: 50, type: 'run_task', payload: { taskId: 2, recordId: 81 } });
    await master.waitFor(() => fullLogOf(81).includes('dumping MySQL'));
    await master.goDown();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const heartbeatsBefore = master.heartbeats.length;
    await master.comeBack();
    expect(await resultOf(50)).toMatchObject({ success: true });
    const report = await finalReportOf(81);
    expect(report).toMatchObject({ status: 'success' });
    // Lines logged during the outage were kept and sent once the master was back.
    expect(fullLogOf(81)).toContain('backup finished');
    await master.waitFor(() => master.heartbeats.length > heartbeatsBefore);
    expect(
      logLines.some(
        (line) =>
          line.includes('final report of backup record #81') ||
          line.includes('live log of backup record #81'),
      ),
    ).toBe(true);
  });

  it('answers short RPCs while a backup runs, and reports running work as failed when stopped', async () => {
    // A dump tool that never finishes on its own.
    const bin = path.join(dir, 'bin');
    await mkdir(bin);
    await writeFile(path.join(bin, 'mysqldump'), '#!/bin/sh\nexec sleep 60\n');
    await chmod(path.join(bin, 'mysqldump'), 0o755);
    master.taskSpecs.set(
      2,
      fileTaskSpec({
        taskId: 2,
        type: 'mysql',
        dbHost: '127.0.0.1',
        dbPort: 3306,
        dbUser: 'root',
        dbPassword: 'secret-pw',
        dbName: 'shop',
      }),
    );
    const { stop } = await start({ env: { PATH: `${bin}:/usr/bin:/bin` } });
    master.enqueue({ id: 60, type: 'run_task', payload: { taskId: 2, recordId: 82 } });
    await master.waitFor(() => fullLogOf(82).includes('dumping MySQL'));
    const asked = Date.now();
    master.enqueue({ id: 61, type: 'list_dir', payload: { path: dir } });
    expect(await resultOf(61)).toMatchObject({ success: true });
    expect(Date.now() - asked).toBeLessThan(1000);

    const stopping = Date.now();
    await stop('received SIGTERM');
    expect(Date.now() - stopping).toBeLessThan(5000);
    expect(master.results.find((r) => r.commandId === 60)?.body).toEqual({
      success: false,
      errorMessage: 'agent stopped (received SIGTERM)',
    });
    expect(await finalReportOf(82)).toMatchObject({
      status: 'failed',
      errorMessage: 'agent stopped (received SIGTERM)',
    });
    expect(fullLogOf(82)).not.toContain('secret-pw');
  });
});
