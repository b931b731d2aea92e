import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRoutes } from '@backupx/contract';
import { dialects, startTestMaster, type TestMaster } from '../test-support/harness.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { VERSION } from '../version.ts';
import { renderErrorsMarkdown } from '../../../../scripts/docs.ts';

describe('generated docs', () => {
  it('docs/openapi.json is up to date with the contract (run `npm run docs`)', () => {
    const committed: unknown = JSON.parse(
      readFileSync(new URL('../../../../docs/openapi.json', import.meta.url), 'utf8'),
    );
    expect(committed).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument(allRoutes, VERSION))));
  });

  it('docs/errors.md lists every error code (run `npm run docs`)', () => {
    expect(readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8')).toBe(
      renderErrorsMarkdown(),
    );
  });
});

describe.each(dialects)('HTTP conventions on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  const webRoot = mkdtempSync(path.join(tmpdir(), 'bx-web-'));

  beforeAll(async () => {
    mkdirSync(path.join(webRoot, 'assets'));
    writeFileSync(path.join(webRoot, 'index.html'), '<!doctype html><title>BackupX console</title>');
    writeFileSync(path.join(webRoot, 'assets', 'app.js'), 'console.log(1)');
    writeFileSync(path.join(path.dirname(webRoot), 'secret-outside-root.txt'), 'do not serve');
    master = await startTestMaster(dialect, { webRoot });
    admin = await master.setupAdmin();
  });
  afterAll(async () => {
    await master.destroy();
  });

  it('wraps success in the BackupX envelope', async () => {
    const response = await master.api.get('/api/auth/setup/status');
    expect(response.body).toEqual({ code: 'OK', message: 'success', data: { initialized: true } });
    expect(response.headers.get('content-type')).toContain('application/json');
  });

  it('sends CORS and security headers on every response and answers any OPTIONS with 204', async () => {
    for (const path of ['/api/users', '/api/does-not-exist', '/health']) {
      const preflight = await master.api.request('OPTIONS', path);
      expect(preflight.status, path).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
      expect(preflight.headers.get('access-control-allow-methods')).toBe('GET, POST, PUT, DELETE, OPTIONS');
      expect(preflight.headers.get('access-control-allow-headers')).toContain('Authorization');
      expect(preflight.headers.get('access-control-max-age')).toBe('86400');
    }
    const denied = await master.api.get('/api/users');
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe('*');
    expect(denied.headers.get('x-content-type-options')).toBe('nosniff');
    expect(denied.headers.get('x-frame-options')).toBe('DENY');
  });

  it('serves the console for non-API paths and JSON 404 for reserved ones', async () => {
    const index = await master.api.get('/');
    expect(index.status).toBe(200);
    expect(index.text).toContain('BackupX console');
    expect(index.headers.get('content-type')).toContain('text/html');
    const deepLink = await master.api.get('/admin/users?x=1');
    expect(deepLink.text).toContain('BackupX console');
    const asset = await master.api.get('/assets/app.js');
    expect(asset.text).toBe('console.log(1)');
    expect(asset.headers.get('content-type')).toContain('javascript');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    // An unknown install token is gone (410, plain text for the curl | sh on the other end).
    const install = await master.api.get('/install/x');
    expect(install.status).toBe(410);
    expect(install.headers.get('content-type')).toContain('text/plain');
    for (const reserved of ['/api', '/api/unknown', '/install', '/install/x/y', '/metrics/x']) {
      const response = await master.api.get<{ code: string }>(reserved);
      if (reserved === '/metrics/x') {
        expect(response.text).toContain('BackupX console');
        continue;
      }
      expect(response.status, reserved).toBe(404);
      expect(response.body.code).toBe('NOT_FOUND');
    }
    const post = await master.api.post<{ code: string }>('/admin/users', {});
    expect(post.status).toBe(404);
    expect(post.body.code).toBe('NOT_FOUND');
  });

  it('never serves files outside the web root', async () => {
    for (const attempt of [
      '/../secret-outside-root.txt',
      '/%2e%2e/secret-outside-root.txt',
      '/assets/..%2f..%2fsecret-outside-root.txt',
    ]) {
      const response = await fetch(master.url + attempt);
      const text = await response.text();
      expect(text, attempt).not.toContain('do not serve');
    }
  });

  it('reports liveness, readiness and Prometheus metrics without authentication', async () => {
    const health = await master.api.get<{ status: string; version: string; uptime: number }>('/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'live', version: '0.0.0-test' });
    expect((await master.api.get<{ status: string }>('/api/health')).body.status).toBe('live');
    const ready = await master.api.get<{ status: string; checks: { database: string } }>('/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', checks: { database: 'ok' } });
    const metrics = await master.api.get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(metrics.text).toContain('backupx_app_info{version="0.0.0-test"} 1');
    expect(metrics.text).toMatch(
      /backupx_http_requests_total\{method="GET",route="\/health",status="200"\} \d+/,
    );
    expect(metrics.text).toContain('backupx_process_cpu_user_seconds_total');
    const names = [...metrics.text.matchAll(/^([a-z_]+)(?:\{| )/gm)].map((match) => match[1]);
    expect(names.every((name) => name?.startsWith('backupx_'))).toBe(true);
  });

  it('serves the OpenAPI document generated from the contract', async () => {
    const doc = await master.api.get<{ openapi: string; paths: Record<string, unknown> }>(
      '/api/openapi.json',
    );
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.0.3');
    expect(Object.keys(doc.body.paths)).toContain('/api/users/{id}');
  });

  it('reports system info to any role without secrets', async () => {
    const info = await master.api.get<{ data: Record<string, unknown> }>('/api/system/info', {
      token: admin,
    });
    expect(info.body.data).toMatchObject({
      version: '0.0.0-test',
      mode: 'release',
      databaseDialect: dialect,
    });
    expect(Number(info.body.data.diskTotal)).toBeGreaterThan(0);
    const secrets = JSON.parse(readFileSync(path.join(master.dataDir, 'secrets.json'), 'utf8')) as Record<
      string,
      string
    >;
    for (const secret of Object.values(secrets)) expect(info.text).not.toContain(secret);
    if (dialect === 'postgres') expect(String(info.body.data.databasePath)).not.toMatch(/:[^/@]*@/);
  });
});

describe('trusted proxies', () => {
  const auditIps = async (master: TestMaster, token: string) => {
    const audit = await master.api.get<{ data: { items: { clientIp: string; action: string }[] } }>(
      '/api/audit-logs?action=login_failed',
      { token },
    );
    return audit.body.data.items.map((item) => item.clientIp);
  };

  it('honours X-Forwarded-For only from trusted peers', async () => {
    const trusting = await startTestMaster('sqlite');
    const distrusting = await startTestMaster('sqlite', { config: { server: { trusted_proxies: [] } } });
    try {
      for (const master of [trusting, distrusting]) {
        const token = await master.setupAdmin();
        await master.api.post(
          '/api/auth/login',
          { username: 'admin', password: 'wrong-password' },
          { headers: { 'X-Forwarded-For': '203.0.113.7' } },
        );
        const ips = await auditIps(master, token);
        expect(ips).toEqual([master === trusting ? '203.0.113.7' : '127.0.0.1']);
      }
    } finally {
      await trusting.destroy();
      await distrusting.destroy();
    }
  });
});

describe('readiness when the database is gone', () => {
  it('answers 503 not_ready', async () => {
    const master = await startTestMaster('postgres');
    try {
      await master.postgres?.drop();
      const ready = await master.api.get<{ status: string; checks: { database: string } }>('/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.status).toBe('not_ready');
      expect(ready.body.checks.database).toMatch(/^ping failed/);
      expect((await master.api.get('/health')).status).toBe(200);
    } finally {
      await master.destroy().catch(() => undefined);
    }
  });
});
