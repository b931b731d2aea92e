import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createApiClient } from '@backupx/testkit';

const bin = fileURLToPath(new URL('../bin/backupx.js', import.meta.url));
const node = process.execPath;

const run = (args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) =>
  spawnSync(node, [bin, ...args], {
    cwd: options.cwd ?? tmpdir(),
    env: { PATH: process.env.PATH ?? '', ...options.env },
    encoding: 'utf8',
    timeout: 60_000,
  });

const freePort = () => 20_000 + Math.floor(Math.random() * 20_000);

/** Starts `backupx server` in `cwd` and resolves once /ready answers. */
const startServer = async (cwd: string, port: number) => {
  const child = spawn(node, [bin, '--port', String(port), '--host', '127.0.0.1'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', BACKUPX_LOG_STDOUT: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const api = createApiClient(`http://127.0.0.1:${port}`);
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`server exited early: ${stderr}`);
    try {
      if ((await api.get('/ready')).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { api, stop: () => (child.kill('SIGTERM'), exited) };
};

describe('backupx CLI', () => {
  it('prints its version and usage', () => {
    const version = run(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = run(['--help']);
    expect(help.stdout).toContain('reset-password');
    const unknown = run(['frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('Unknown command "frobnicate"');
  });

  it('stops with exit code 2 and names the key when the configuration is bad', () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'bx-cli-'));
    try {
      const badEnv = run([], { cwd, env: { BACKUPX_SERVER_PORT: 'not-a-port' } });
      expect(badEnv.status).toBe(2);
      expect(badEnv.stderr).toContain('server.port (from BACKUPX_SERVER_PORT)');
      const badFlag = run(['--port', '70000'], { cwd });
      expect(badFlag.status).toBe(2);
      expect(badFlag.stderr).toContain('server.port (from a command-line flag)');
      const unknownFlag = run(['--prot', '1'], { cwd });
      expect(unknownFlag.status).toBe(2);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('serves, shuts down on SIGTERM, and resets a password offline', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'bx-cli-'));
    const port = freePort();
    try {
      let server = await startServer(cwd, port);
      const setup = await server.api.post('/api/auth/setup', {
        username: 'admin',
        password: 'First-Password-1',
        displayName: 'Admin',
      });
      expect(setup.status).toBe(200);
      expect(await server.stop()).toBe(0);

      const missing = run(['reset-password', '--username', 'ghost', '--password', 'Whatever-123'], { cwd });
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain('No user named "ghost"');
      const short = run(['reset-password', '--username', 'admin', '--password', 'short'], { cwd });
      expect(short.status).toBe(1);
      expect(short.stderr).toContain('8 to 128');
      const reset = run(['reset-password', '--username', 'admin', '--password', 'Second-Password-2'], {
        cwd,
      });
      expect(reset.stderr).toBe('');
      expect(reset.status).toBe(0);

      server = await startServer(cwd, port);
      expect(
        (await server.api.post('/api/auth/login', { username: 'admin', password: 'First-Password-1' }))
          .status,
      ).toBe(401);
      expect(
        (await server.api.post('/api/auth/login', { username: 'admin', password: 'Second-Password-2' }))
          .status,
      ).toBe(200);
      expect(await server.stop()).toBe(0);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
