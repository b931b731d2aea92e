/** `backupx agent` as a child process: exit codes and signal handling (SPEC §11.7). */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeMaster, type FakeMaster } from './testing/fake-master.ts';

const bin = fileURLToPath(new URL('../../cli/bin/backupx.js', import.meta.url));
const TOKEN = '0123456789abcdef'.repeat(4);
let dir: string;
let master: FakeMaster;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bx-agent-cli-'));
  master = await startFakeMaster({ token: TOKEN });
});
afterEach(async () => {
  await master.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI without blocking this process: the stand-in master answers from here. */
const run = (args: string[], env: Record<string, string> = {}) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (status) => resolve({ status, stdout, stderr }));
  });
const agent = (args: string[], env: Record<string, string> = {}) => run(['agent', ...args], env);

describe('backupx agent (CLI)', () => {
  it('prints its help, and exits 2 on configuration errors', async () => {
    // Few processes (each loads the product); the rules themselves are unit-tested in config.test.ts.
    const help = await agent(['--help']);
    const main = await run(['--help']);
    const badEnv = await agent([], { BACKUPX_AGENT_MASTER: 'ftp://x', BACKUPX_AGENT_TOKEN: TOKEN });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--token-file');
    expect(main.stdout).toContain('backupx agent [options]');
    expect(badEnv.status).toBe(2);
    expect(badEnv.stderr).toContain('BACKUPX_AGENT_MASTER: the master URL must use http or https');
  });

  it('exits 1 when the first heartbeat fails', async () => {
    const result = await agent(['--master', master.url, '--token', 'not-the-token']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('NODE_INVALID_TOKEN');
    expect(result.stdout + result.stderr).not.toContain(TOKEN);
  });

  it('runs from a config file and stops with exit code 0 on SIGTERM', async () => {
    await writeFile(path.join(dir, 'agent.token'), `${TOKEN}\n`, { mode: 0o600 });
    await writeFile(
      path.join(dir, 'config.yaml'),
      `master: "${master.url}"\ntokenFile: "agent.token"\nheartbeatInterval: "500ms"\ntempDir: "tmp"\n`,
    );
    const child = spawn(process.execPath, [bin, 'agent', '--config', 'config.yaml'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await master.waitFor(() => master.heartbeats.length >= 2, 30_000);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('"msg":"stopped"');
    expect(output).not.toContain(TOKEN);
  });
});
