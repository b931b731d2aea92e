import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordDetail } from '@backupx/contract';
import { createApiClient, filesUnder, type ApiClient } from '@backupx/testkit';
import { freePort } from '@backupx/testkit/services/common';

type Envelope<T = unknown> = { code: string; message: string; data: T };

const repoRoot = fileURLToPath(new URL('../../../../../', import.meta.url));

interface Master {
  child: ChildProcess;
  api: ApiClient;
  output: () => string;
  exited: Promise<void>;
}

/** Starts the real `backupx server` on `dataDir` (the same directory across restarts). */
const startMaster = async (dataDir: string, port: number): Promise<Master> => {
  let output = '';
  const child = spawn(
    process.execPath,
    [path.join(repoRoot, 'apps/cli/bin/backupx.js'), 'server', '--host', '127.0.0.1', '--port', String(port)],
    {
      cwd: dataDir,
      env: {
        PATH: process.env.PATH ?? '',
        BACKUPX_LOG_FILE: '',
        BACKUPX_BACKUP_TEMP_DIR: path.join(dataDir, 'tmp'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const api = createApiClient(`http://127.0.0.1:${String(port)}`);
  for (let attempt = 0; ; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`backupx exited early:\n${output}`);
    try {
      if ((await api.get('/ready')).status === 200) break;
    } catch {
      // not listening yet
    }
    if (attempt > 150) throw new Error(`backupx did not become ready:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { child, api, output: () => output, exited };
};

describe('a master killed (SIGKILL) during a backup', () => {
  let work: string;
  let dataDir: string;
  let store: string;
  let source: string;
  let port: number;
  let master: Master | undefined;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'bx-crash-'));
    dataDir = path.join(work, 'master');
    store = path.join(work, 'store');
    source = path.join(work, 'source');
    mkdirSync(dataDir);
    mkdirSync(source);
    // Incompressible data, so the run lasts long enough to be killed mid-upload.
    execFileSync('bash', [
      '-c',
      `head -c 768M /dev/zero | openssl enc -aes-128-ctr -nosalt -pass pass:bx -out ${path.join(source, 'big.bin')}`,
    ]);
    port = await freePort();
  });
  afterAll(async () => {
    if (master && master.child.exitCode === null) {
      master.child.kill('SIGTERM');
      await master.exited;
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('comes back with the record failed, no partial object, and the next run succeeding', async () => {
    master = await startMaster(dataDir, port);
    const setup = await master.api.post<Envelope<{ token: string }>>('/api/auth/setup', {
      username: 'admin',
      password: 'Password-123',
      displayName: 'Admin',
    });
    const token = setup.body.data.token;
    const target = await master.api.post<Envelope<{ id: number }>>(
      '/api/storage-targets',
      { name: 'disk', type: 'local_disk', config: { basePath: store } },
      { token },
    );
    const task = await master.api.post<Envelope<{ id: number }>>(
      '/api/backup/tasks',
      {
        name: 'big',
        type: 'file',
        sourcePaths: [source],
        storageTargetIds: [target.body.data.id],
        encrypt: true,
      },
      { token },
    );
    expect(task.status, task.text).toBe(200);
    const started = await master.api.post<Envelope<RecordDetail>>(
      `/api/backup/tasks/${String(task.body.data.id)}/run`,
      undefined,
      { token },
    );
    const recordId = started.body.data.id;

    // Kill as soon as a partial upload is on the target.
    for (let attempt = 0; ; attempt += 1) {
      if (filesUnder(store).some((file) => file.endsWith('.partial'))) break;
      if (attempt > 3000) throw new Error(`no partial upload appeared:\n${master.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    master.child.kill('SIGKILL');
    await master.exited;
    expect(filesUnder(store).some((file) => file.endsWith('.partial'))).toBe(true);

    master = await startMaster(dataDir, port);
    const login = await master.api.post<Envelope<{ token: string }>>('/api/auth/login', {
      username: 'admin',
      password: 'Password-123',
    });
    const fresh = login.body.data.token;
    const record = await master.api.get<Envelope<RecordDetail>>(`/api/backup/records/${String(recordId)}`, {
      token: fresh,
    });
    expect(record.body.data.status).toBe('failed');
    expect(record.body.data.errorMessage).toContain('stopped before it finished');
    expect(filesUnder(store)).toEqual([]);

    const again = await master.api.post<Envelope<RecordDetail>>(
      `/api/backup/tasks/${String(task.body.data.id)}/run`,
      undefined,
      { token: fresh },
    );
    expect(again.status, again.text).toBe(200);
    let finished: RecordDetail;
    for (;;) {
      const detail = await master.api.get<Envelope<RecordDetail>>(
        `/api/backup/records/${String(again.body.data.id)}`,
        {
          token: fresh,
        },
      );
      finished = detail.body.data;
      if (finished.status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(finished.status, finished.errorMessage).toBe('success');
    expect(filesUnder(store)).toEqual([finished.storagePath]);
  });
});
