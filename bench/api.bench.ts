// Master API latency and throughput on loopback. Baseline: GET /health (no auth, no database) in
// the same run; figures: an authenticated JWT request (session + user lookup), an API-key request,
// and a filtered audit page. Bounded in time; the master runs as a real process on SQLite.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiClient } from '@backupx/testkit';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const DURATION_MS = 5000;
const CONCURRENCY = 16;

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });

interface Figure {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

const measure = async (name: string, url: string, headers: Record<string, string>): Promise<Figure> => {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + DURATION_MS;
  const worker = async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      const response = await fetch(url, { headers });
      await response.arrayBuffer();
      if (response.status !== 200) errors += 1;
      latencies.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { name, requestsPerSecond: latencies.length / elapsed, p50Ms: at(0.5), p99Ms: at(0.99), errors };
};

export const run = async (): Promise<void> => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bx-bench-'));
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      path.join(repoRoot, 'apps/cli/bin/backupx.js'),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--log-level',
      'warn',
    ],
    {
      cwd: dataDir,
      env: { PATH: process.env.PATH ?? '', BACKUPX_LOG_FILE: '' },
      stdio: 'ignore',
    },
  );
  const base = `http://127.0.0.1:${port}`;
  const api = createApiClient(base);
  try {
    for (let i = 0; i < 100; i += 1) {
      try {
        if ((await api.get('/ready')).status === 200) break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const setup = await api.post<{ data: { token: string } }>('/api/auth/setup', {
      username: 'bench',
      password: 'Bench-Password-1',
      displayName: 'Bench',
    });
    const token = setup.body.data.token;
    const key = await api.post<{ data: { plainKey: string } }>(
      '/api/api-keys',
      { name: 'bench', role: 'viewer' },
      { token },
    );
    for (let i = 0; i < 200; i += 1) await api.put('/api/settings', { site_name: `bench ${i}` }, { token });

    const figures = [
      await measure('health (baseline)', `${base}/health`, {}),
      await measure('profile (JWT)', `${base}/api/auth/profile`, { Authorization: `Bearer ${token}` }),
      await measure('settings (API key)', `${base}/api/settings`, { 'X-Api-Key': key.body.data.plainKey }),
      await measure('audit page (JWT, 50 rows)', `${base}/api/audit-logs?category=settings&limit=50`, {
        Authorization: `Bearer ${token}`,
      }),
    ];
    for (const figure of figures) {
      process.stdout.write(
        `${figure.name.padEnd(28)} ${figure.requestsPerSecond.toFixed(0).padStart(7)} req/s  p50 ${figure.p50Ms.toFixed(2)} ms  p99 ${figure.p99Ms.toFixed(2)} ms  errors ${figure.errors}\n`,
      );
    }
    const [baseline, ...rest] = figures;
    process.stdout.write(
      `ratios vs health: ${rest.map((figure) => `${figure.name} ${(figure.requestsPerSecond / (baseline?.requestsPerSecond ?? 1)).toFixed(2)}x`).join(', ')}\n`,
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
};
