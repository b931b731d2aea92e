/**
 * Builds the real agent package (bundler, native addons, worker threads, the master's own Node)
 * and runs it from the extracted tarball. Slow (≈15–25 s on an idle machine, mostly compressing the Node binary) but
 * required: it is what `curl … | sudo bash` installs on every remote server.
 *
 * The entry bundled here wraps the real `@backupx/agent` command with two test-only arguments
 * (see testAgent), so one build covers the agent's own code and what the engine needs at run time.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { AGENT_USAGE } from '@backupx/agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_LAUNCHER,
  agentPackageArch,
  agentPackageFileName,
  createAgentPackageBuilder,
  type AgentPackage,
} from './agent-package.ts';
import { renderInstallScript } from './install-script.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const run = (command: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

const sha256File = async (file: string): Promise<string> => {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
};

const silentLogger = { info: () => undefined, warn: () => undefined };
const TOKEN = 'c3'.repeat(32);

/**
 * The bundle entry of these tests: the real `@backupx/agent` command, plus two test-only
 * arguments that exercise what the bundle must carry (worker threads, native zstd) and report the
 * config the installer hands over, without connecting to a master.
 */
const testAgent = (agentPath: string, enginePath: string): string => `
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { buffer } from 'node:stream/consumers';
import { runAgentCommand } from ${JSON.stringify(agentPath)};
import { backupFiles, backupToRepository, createCompressor, createStorageBackend, verifyRepository } from ${JSON.stringify(enginePath)};

export const agentMain = async (argv, env) => {
  if (argv[0] === '--config' && env.BACKUPX_TEST_REPORT_CONFIG === '1') {
    const text = await readFile(argv[1], 'utf8');
    process.stdout.write('agent started with ' + text.split('\\n')[0] + '\\n');
    return 0;
  }
  if (argv[0] === 'selftest') {
    const artifact = await backupFiles(
      { signal: new AbortController().signal, log: () => {}, workDir: argv[2], now: new Date(), spawn, env },
      { taskName: 'selftest', sourcePaths: [argv[1]] },
    );
    const compressed = await buffer(artifact.stream.pipe(createCompressor('zstd')));
    await artifact.completion;
    process.stdout.write(compressed.toString('base64'));
    return 0;
  }
  if (argv[0] === 'selftest-repository') {
    const backend = await createStorageBackend('local_disk', { basePath: argv[2] });
    const result = await backupToRepository({
      taskId: 1, recordId: 1, createdAt: new Date(), sourcePaths: [argv[1]], compression: 'zstd',
      targets: [{ name: 'disk', backend }], signal: new AbortController().signal, log: () => {},
    });
    const target = result.targets[0];
    if (target.status !== 'success') throw new Error(target.error);
    const verified = await verifyRepository({ backend, snapshotKey: result.snapshotKey, checksum: target.snapshotSha256 });
    process.stdout.write(JSON.stringify(verified));
    return 0;
  }
  return runAgentCommand(argv, env);
};
`;

const arch = agentPackageArch();
if (arch === undefined) {
  throw new Error(
    `the agent package is built on Linux amd64/arm64 only; this is ${process.platform}/${process.arch}`,
  );
}

let scratch: string;
let dataDir: string;
let standIn: string;
let built: AgentPackage;
let extracted: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'backupx-agent-package-'));
  dataDir = path.join(scratch, 'data');
  standIn = path.join(scratch, 'test-agent.mjs');
  const resolve = createRequire(import.meta.url).resolve;
  await writeFile(standIn, testAgent(resolve('@backupx/agent'), resolve('@backupx/engine')));
  // A package of an older version: replaced, not kept beside the new one.
  await mkdir(path.join(dataDir, 'agent-package'), { recursive: true });
  await writeFile(path.join(dataDir, 'agent-package', agentPackageFileName('0.0.1', arch)), 'old');

  const builder = createAgentPackageBuilder({
    dataDir,
    version: '9.8.7',
    logger: silentLogger,
    agentModulePath: standIn,
  });
  const [first, second] = await Promise.all([builder.get(), builder.get()]);
  expect(second).toBe(first);
  built = first;
  extracted = path.join(scratch, 'extracted');
  await mkdir(extracted);
  const untar = await run('tar', ['-xzf', built.path, '-C', extracted], { PATH: process.env.PATH });
  expect(untar).toEqual({ code: 0, stdout: '', stderr: '' });
}, 300_000); // ≈15 s on an idle machine; generous for a loaded CI runner

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('createAgentPackageBuilder', () => {
  it('caches one package per version, with its SHA-256 and size', async () => {
    expect(built.path).toBe(path.join(dataDir, 'agent-package', `backupx-agent-9.8.7-linux-${arch}.tar.gz`));
    expect(built.arch).toBe(arch);
    expect(built.size).toBe((await stat(built.path)).size);
    expect(built.sha256).toBe(await sha256File(built.path));
    expect(await readdir(path.dirname(built.path))).toEqual([path.basename(built.path)]);

    // Another builder (a restarted master) serves the cached file without rebuilding it.
    const { mtimeMs } = await stat(built.path);
    const again = await createAgentPackageBuilder({
      dataDir,
      version: '9.8.7',
      logger: silentLogger,
      agentModulePath: path.join(scratch, 'never-read.mjs'),
    }).get();
    expect(again).toEqual(built);
    expect((await stat(built.path)).mtimeMs).toBe(mtimeMs);
  });

  it('lays out the launcher, the bundle, its workers and addons, and the Node runtime', async () => {
    const root = path.join(extracted, 'backupx-agent');
    expect(await readFile(path.join(root, 'backupx-agent'), 'utf8')).toBe(AGENT_LAUNCHER);
    expect((await stat(path.join(root, 'backupx-agent'))).mode & 0o777).toBe(0o755);
    expect((await stat(path.join(root, 'bin/node'))).mode & 0o777).toBe(0o755);
    expect((await stat(path.join(root, 'bin/node'))).size).toBe((await stat(process.execPath)).size);
    const files = (await readdir(root)).sort();
    expect(files).toEqual(
      expect.arrayContaining(['agent.mjs', 'backupx-agent', 'bin', 'file-walker.worker.mjs', 'native']),
    );
    expect(await readdir(path.join(root, 'native'))).toContain('zstd-napi-binding.node');
    const bundle = await readFile(path.join(root, 'agent.mjs'), 'utf8');
    for (const masterOnly of ['fastify', 'better-sqlite3', 'kysely']) {
      expect(bundle).not.toContain(`node_modules/${masterOnly}/`);
    }
  });

  it('runs the real `backupx-agent agent --help` with the shipped Node, from any directory', async () => {
    const result = await run(
      path.join(extracted, 'backupx-agent/backupx-agent'),
      ['agent', '--help'],
      { PATH: '/usr/bin:/bin' },
      '/',
    );
    expect(result).toEqual({ code: 0, stdout: AGENT_USAGE, stderr: '' });
    const unknown = await run(path.join(extracted, 'backupx-agent/backupx-agent'), ['agent', '--bogus'], {
      PATH: '/usr/bin:/bin',
    });
    expect(unknown.code).toBe(2);
  });

  it('backs up files through the bundled worker thread and the native zstd addon', async () => {
    const source = path.join(scratch, 'source');
    const workDir = path.join(scratch, 'work');
    await mkdir(source);
    await mkdir(workDir);
    await writeFile(path.join(source, 'hello.txt'), 'hello from the packaged agent\n');
    const result = await run(
      path.join(extracted, 'backupx-agent/backupx-agent'),
      ['agent', 'selftest', source, workDir],
      { PATH: '/usr/bin:/bin' },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const archive = zstdDecompressSync(Buffer.from(result.stdout, 'base64')).toString('latin1');
    expect(archive).toContain('hello.txt');
    expect(archive).toContain('hello from the packaged agent\n');
  });

  it('backs up into a repository through the bundled chunk workers and reads it back', async () => {
    const source = path.join(scratch, 'repository-source');
    await mkdir(source);
    await writeFile(path.join(source, 'hello.txt'), 'hello from the packaged agent\n'.repeat(1000));
    const result = await run(
      path.join(extracted, 'backupx-agent/backupx-agent'),
      ['agent', 'selftest-repository', source, path.join(scratch, 'repository')],
      { PATH: '/usr/bin:/bin' },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ entries: 2, chunks: 1, bytes: 30_000 });
  });

  it('is what the installer downloads, verifies and starts (source master, foreground)', async () => {
    const server = http.createServer((request, response) => {
      if (request.url !== '/api/agent/package' || request.headers['x-agent-token'] !== TOKEN) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': built.size,
        'x-backupx-sha256': built.sha256,
        'x-backupx-arch': built.arch,
      });
      createReadStream(built.path).pipe(response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const masterUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const prefix = path.join(scratch, 'install-root');
      await mkdir(prefix);
      const script = path.join(prefix, 'install.sh');
      await writeFile(
        script,
        renderInstallScript({
          masterUrl,
          agentToken: TOKEN,
          mode: 'foreground',
          arch: 'auto',
          agentVersion: '9.8.7',
          downloadSrc: 'master',
          proxyUrl: '',
          caCertFile: '',
        }),
      );
      const result = await run('bash', [script], {
        PATH: process.env.PATH,
        TMPDIR: prefix,
        BACKUPX_INSTALL_PREFIX: prefix,
        BACKUPX_INSTALL_SKIP_ROOT_CHECK: '1',
        BACKUPX_TEST_REPORT_CONFIG: '1',
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`agent started with master: "${masterUrl}"\n`);
      expect((await readdir(path.join(prefix, 'opt/backupx-agent'))).sort()).toEqual(
        (await readdir(path.join(extracted, 'backupx-agent'))).sort(),
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('fails without leaving files when the agent module cannot be bundled, and retries later', async () => {
    const brokenDir = path.join(scratch, 'broken');
    const broken = path.join(scratch, 'no-agent-main.mjs');
    await writeFile(broken, 'export const somethingElse = 1;\n');
    const builder = createAgentPackageBuilder({
      dataDir: brokenDir,
      version: '1.0.0',
      logger: silentLogger,
      agentModulePath: broken,
    });
    await expect(builder.get()).rejects.toThrow(/exports neither agentMain nor runAgentCommand/);
    expect(await readdir(path.join(brokenDir, 'agent-package'))).toEqual([]);
    // The failure is not cached: the next call builds again.
    await expect(builder.get()).rejects.toThrow(/exports neither agentMain nor runAgentCommand/);
  });
});
