import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentTaskSpec, UploadResult } from '@backupx/contract';
import { silentLogger } from '../logger.ts';
import { createMasterClient, type MasterClient } from '../master-client.ts';
import { startFakeMaster, type FakeMaster } from '../testing/fake-master.ts';
import { RELAY_REPOSITORY_MESSAGE, runRepositoryBackup, type RepositoryRunInput } from './repository-run.ts';
import type { CommandContext } from './types.ts';

const TOKEN = 'r'.repeat(64);
let dir: string;
let master: FakeMaster;
let client: MasterClient;
let leaseCalls: string[];
let lines: string[];

/** The fake master's answer to a lease route: `null` = not a lease route. */
type LeaseAnswer = (
  route: 'acquire' | 'renew' | 'release',
  attempt: number,
) => { status: number; code: string };
const answerLeases = (answer: LeaseAnswer) => {
  const attempts = { acquire: 0, renew: 0, release: 0 };
  master.override = (method, url) => {
    const route =
      url === '/api/agent/repository-leases'
        ? 'acquire'
        : url === '/api/agent/repository-leases/renew'
          ? 'renew'
          : url === '/api/agent/repository-leases/release'
            ? 'release'
            : null;
    if (method !== 'POST' || route === null) return null;
    attempts[route] += 1;
    leaseCalls.push(route);
    const { status, code } = answer(route, attempts[route]);
    if (status !== 200) return { status, body: { code, message: `${route}: ${code}` } };
    return {
      status,
      body: {
        code: 'OK',
        message: 'success',
        data:
          route === 'release' ? { status: 'ok' } : { expiresAt: new Date().toISOString(), ttlSeconds: 60 },
      },
    };
  };
};

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bx-agent-repo-'));
  master = await startFakeMaster({ token: TOKEN });
  client = createMasterClient({
    master: master.url,
    token: TOKEN,
    dispatcher: new Agent(),
    userAgent: 'test',
  });
  leaseCalls = [];
  lines = [];
});
afterEach(async () => {
  await client.close();
  await master.close();
  await rm(dir, { recursive: true, force: true });
});

const context = (): CommandContext => ({
  client,
  signal: new AbortController().signal,
  deliverySignal: new AbortController().signal,
  log: silentLogger,
  tempDir: path.join(dir, 'tmp'),
  env: {},
  now: () => new Date(),
  nodeBandwidthLimit: () => '',
});

/** A source tree with `bigBytes` of random data, and a spec writing it to a disk and a relay target. */
const prepare = async (bigBytes: number): Promise<{ spec: AgentTaskSpec; repo: string }> => {
  const source = path.join(dir, 'src');
  await mkdir(path.join(source, 'sub'), { recursive: true });
  await writeFile(path.join(source, 'big.bin'), randomBytes(bigBytes));
  await writeFile(path.join(source, 'sub', 'small.txt'), 'small\n');
  const repo = path.join(dir, 'repo');
  const spec: AgentTaskSpec = {
    taskId: 3,
    name: 'repo task',
    type: 'file',
    sourcePath: '',
    sourcePaths: JSON.stringify([source]),
    excludePatterns: '',
    dbHost: '',
    dbPort: 0,
    dbUser: '',
    dbPassword: '',
    dbName: '',
    dbPath: '',
    extraConfig: '',
    compression: 'zstd',
    encrypt: false,
    backupMode: 'repository',
    storageTargets: [
      { id: 9, type: 'local_disk', name: 'relay', config: {}, transferMode: 'master_relay' },
      { id: 5, type: 'local_disk', name: 'disk', config: { basePath: repo }, transferMode: 'direct' },
    ],
  };
  return { spec, repo };
};

const run = (
  spec: AgentTaskSpec,
  timing: RepositoryRunInput['leaseTiming'],
  results: UploadResult[][] = [],
) => {
  const workDir = path.join(dir, 'work');
  return mkdir(workDir, { recursive: true }).then(() =>
    runRepositoryBackup(context(), {
      spec,
      taskId: spec.taskId,
      recordId: 77,
      startedAt: new Date(),
      workDir,
      log: (level, message) => lines.push(`${level}: ${message}`),
      progress: () => undefined,
      onResults: (current) => results.push(current),
      leaseTiming: timing,
    }),
  );
};

describe('repository runs on an agent', () => {
  it('waits while the lease is busy, writes the direct target, fails the relay one, and gives the lease back', async () => {
    const { spec, repo } = await prepare(1024 * 1024);
    answerLeases((route, attempt) =>
      route === 'acquire' && attempt <= 2
        ? { status: 409, code: 'REPOSITORY_BUSY' }
        : { status: 200, code: 'OK' },
    );
    const report = await run(spec, { retryMs: 20, renewMs: 60_000 });
    expect(leaseCalls).toEqual(['acquire', 'acquire', 'acquire', 'release']);
    expect(lines.filter((line) => line.includes('waiting for the repository lease of disk'))).toHaveLength(1);
    expect(report.status).toBe('success');
    expect(report.backupKind).toBe('repository');
    expect(report.storageTargetId).toBe(5);
    expect(report.storagePath).toMatch(/^\.backupx\/repository\/v1\/snapshots\/3\/.+-77\.bxrs$/);
    expect(report.storageUploadResults).toEqual([
      expect.objectContaining({ storageTargetId: 9, status: 'failed', error: RELAY_REPOSITORY_MESSAGE }),
      expect.objectContaining({ storageTargetId: 5, status: 'success', storagePath: report.storagePath }),
    ]);
    expect(report.repositoryStats).toMatchObject({ unchangedFiles: 0, reusedBytes: 0 });
    expect(report.repositoryStats?.newChunks).toBeGreaterThan(0);
    expect(report.repositoryStats?.logicalBytes).toBe(report.fileSize);
    expect(await readdir(path.join(repo, '.backupx', 'repository', 'v1'))).toEqual(
      expect.arrayContaining(['indexes', 'packs', 'snapshots']),
    );
  });

  it('stops the run when a renewal is refused (the lease was lost), and still releases', async () => {
    const { spec } = await prepare(24 * 1024 * 1024);
    answerLeases((route) =>
      route === 'renew' ? { status: 409, code: 'REPOSITORY_LEASE_LOST' } : { status: 200, code: 'OK' },
    );
    const results: UploadResult[][] = [];
    await expect(run(spec, { renewMs: 10 }, results)).rejects.toThrow(
      /the repository lease of disk was lost: .*REPOSITORY_LEASE_LOST/,
    );
    expect(leaseCalls[0]).toBe('acquire');
    expect(leaseCalls).toContain('renew');
    expect(leaseCalls.at(-1)).toBe('release');
    // The failure report still names what happened to each target.
    expect(results.at(-1)).toEqual([
      expect.objectContaining({ storageTargetId: 9, status: 'failed', error: RELAY_REPOSITORY_MESSAGE }),
    ]);
  });

  it('gives up on a repository that stays busy, and fails the run', async () => {
    const { spec } = await prepare(1024);
    answerLeases(() => ({ status: 409, code: 'REPOSITORY_BUSY' }));
    await expect(run(spec, { waitMs: 200, retryMs: 20 })).rejects.toThrow(
      /disk: no repository lease: the repository is still being written by another run/,
    );
    expect(leaseCalls.every((call) => call === 'acquire')).toBe(true);
    expect(leaseCalls.length).toBeGreaterThan(2);
  });
});
