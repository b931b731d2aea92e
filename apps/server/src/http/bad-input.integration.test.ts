import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRoutes } from '@backupx/contract';
import { dialects, startTestMaster, TEST_PASSWORD, type TestMaster } from '../test-support/harness.ts';

type Envelope = { code: string; message: string };

/** Everything a bad request could change, read straight from the database. */
const snapshot = async (master: TestMaster) => {
  const db = master.container.database.db;
  return {
    users: await db.selectFrom('users').selectAll().orderBy('id').execute(),
    apiKeys: await db
      .selectFrom('apiKeys')
      .select(['id', 'name', 'role', 'disabled', 'expiresAt'])
      .orderBy('id')
      .execute(),
    settings: await db.selectFrom('systemConfigs').select(['key', 'value']).orderBy('key').execute(),
    nodes: await db
      .selectFrom('nodes')
      .select(['id', 'name', 'tokenHash', 'labels', 'maxConcurrent', 'bandwidthLimit'])
      .orderBy('id')
      .execute(),
    commands: await db.selectFrom('agentCommands').selectAll().orderBy('id').execute(),
  };
};

const bodyRoutes = allRoutes.filter((route) => route.body !== undefined && route.access !== 'public');
const idRoutes = allRoutes.filter((route) => route.path.includes(':id'));

describe.each(dialects)('bad input on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let userId: number;
  let nodeToken: string;
  /** Agent routes take the node's token; every other route the admin's session. */
  const tokenFor = (route: { access: string }) => (route.access === 'agent' ? nodeToken : admin);

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    userId = (await master.createUser(admin, 'victim', 'viewer')).id;
    const node = await master.api.post<{ data: { token: string } }>(
      '/api/nodes',
      { name: 'edge-1' },
      { token: admin },
    );
    nodeToken = node.body.data.token;
  });
  afterAll(async () => {
    await master.destroy();
  });

  const expectClientError = (status: number, where: string) => {
    expect(status, where).toBeGreaterThanOrEqual(400);
    expect(status, where).toBeLessThan(500);
  };

  it('answers malformed JSON with 400 INVALID_JSON on every route that takes a body', async () => {
    const before = await snapshot(master);
    for (const route of [
      ...bodyRoutes,
      ...allRoutes.filter((r) => r.body !== undefined && r.access === 'public'),
    ]) {
      for (const raw of ['{"username":', '{bad json}', '\u0000\u0001', '[1,2', 'null null']) {
        const response = await master.api.request(route.method, route.path.replace(':id', String(userId)), {
          raw,
          token: tokenFor(route),
        });
        const where = `${route.method} ${route.path} with ${JSON.stringify(raw)} → ${response.text}`;
        expect(response.status, where).toBe(400);
        expect((response.body as Envelope).code, where).toBe('INVALID_JSON');
      }
    }
    expect(await snapshot(master)).toEqual(before);
  });

  it('answers wrong types, unknown fields and wrong shapes with a 4xx and a stable code', async () => {
    const before = await snapshot(master);
    const bodies: unknown[] = [
      [],
      'text',
      42,
      true,
      { unknownField: 1 },
      { username: 123, password: ['x'] },
      { name: { $gt: '' } },
    ];
    for (const route of bodyRoutes) {
      if (route.path === '/api/settings') continue; // checked below: an empty patch is valid there
      for (const json of bodies) {
        // The agent protocol ignores fields it does not know (agents of other versions send them).
        if (route.access === 'agent' && json !== null && typeof json === 'object' && !Array.isArray(json))
          continue;
        const response = await master.api.request(route.method, route.path.replace(':id', String(userId)), {
          json,
          token: tokenFor(route),
        });
        const where = `${route.method} ${route.path} with ${JSON.stringify(json)} → ${response.text}`;
        expect(response.status, where).toBe(400);
        // Each route answers with its own validation code (SPEC names some), else INVALID_INPUT.
        expect((response.body as Envelope).code, where).toBe(route.invalidInputCode ?? 'INVALID_INPUT');
      }
    }
    for (const json of [
      { site_name: 7 },
      { unknown_key: 'x' },
      { language: 'fr-FR' },
      { audit_retention_days: '-1' },
      [],
    ]) {
      const response = await master.api.put('/api/settings', json, { token: admin });
      expect(response.status, JSON.stringify(json)).toBe(400);
      expect((response.body as Envelope).code).toBe('SETTINGS_INVALID');
    }
    expect(await snapshot(master)).toEqual(before);
  });

  it('lists the offending fields in `details`', async () => {
    const response = await master.api.post<Envelope & { details: { path: string }[] }>(
      '/api/users',
      { username: 'x', password: 'short', displayName: '', role: 'root' },
      { token: admin },
    );
    expect(response.status).toBe(400);
    expect(response.body.details.map((detail) => detail.path).sort()).toEqual([
      'displayName',
      'password',
      'role',
      'username',
    ]);
  });

  it('refuses oversized bodies with 413 PAYLOAD_TOO_LARGE', async () => {
    const before = await snapshot(master);
    const huge = JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024), role: 'viewer' });
    for (const path of ['/api/api-keys', '/api/users', '/api/auth/login']) {
      const response = await master.api.request('POST', path, { raw: huge, token: admin });
      expect(response.status, path).toBe(413);
      expect((response.body as Envelope).code).toBe('PAYLOAD_TOO_LARGE');
    }
    expect(await snapshot(master)).toEqual(before);
  });

  it('refuses other content types with 415', async () => {
    const response = await master.api.request('POST', '/api/api-keys', {
      raw: 'name=x&role=viewer',
      contentType: 'application/x-www-form-urlencoded',
      token: admin,
    });
    expect(response.status).toBe(415);
    expect((response.body as Envelope).code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers out-of-range and malformed ids with 400 INVALID_ID on every :id route', async () => {
    const before = await snapshot(master);
    const badIds = [
      '0',
      '-1',
      '4294967296',
      '99999999999999999999',
      'abc',
      '1.5',
      '1e3',
      '01',
      '%20',
      '1%27%20OR%201=1',
    ];
    for (const route of idRoutes) {
      for (const id of badIds) {
        const response = await master.api.request(
          route.method,
          route.path.replace(':id', id).replace(':targetId', '1'),
          {
            token: tokenFor(route),
            ...(route.body !== undefined ? { json: {} } : {}),
          },
        );
        const where = `${route.method} ${route.path} id=${id} → ${response.text}`;
        expect(response.status, where).toBe(400);
        expect((response.body as Envelope).code, where).toBe('INVALID_ID');
      }
      const largest = await master.api.request(
        route.method,
        route.path.replace(':id', '4294967295').replace(':targetId', '1'),
        {
          token: tokenFor(route),
          ...(route.body !== undefined ? { json: {} } : {}),
        },
      );
      expectClientError(largest.status, `${route.path} with the largest id`);
      expect((largest.body as Envelope).code).not.toBe('INVALID_ID');
    }
    expect(await snapshot(master)).toEqual(before);
  });

  it('treats SQL-looking strings as plain data', async () => {
    const hostile = [
      "' OR '1'='1",
      "admin'--",
      '"; DROP TABLE users; --',
      "x%' UNION SELECT password_hash FROM users --",
    ];
    for (const text of hostile) {
      const login = await master.api.post('/api/auth/login', {
        username: text,
        password: `${text}-password`,
      });
      expectClientError(login.status, text);
      const audit = await master.api.get<{ data: { items: unknown[] } }>(
        `/api/audit-logs?keyword=${encodeURIComponent(text)}&username=${encodeURIComponent(text)}`,
        { token: admin },
      );
      expect(audit.status).toBe(200);
      const created = await master.api.post<{ data: { apiKey: { id: number } } }>(
        '/api/api-keys',
        { name: text, role: 'viewer' },
        { token: admin },
      );
      expect(created.status).toBe(200);
      const id = created.body.data.apiKey.id;
      const listed = await master.api.get<{ data: { id: number; name: string }[] }>('/api/api-keys', {
        token: admin,
      });
      expect(listed.body.data.find((key) => key.id === id)?.name).toBe(text.trim());
      await master.api.delete(`/api/api-keys/${id}`, undefined, { token: admin });
    }
    await master.api.post('/api/auth/login', { username: 'admin', password: TEST_PASSWORD });
    const users = await master.api.get<{ data: unknown[] }>('/api/users', { token: admin });
    expect(users.body.data).toHaveLength(2);
  });

  it('rate-limits a password-guessing loop without ever answering 5xx', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 12; attempt += 1) {
      const response = await master.api.post(
        '/api/auth/login',
        { username: 'admin', password: `guess-${attempt}-wrong` },
        { headers: { 'X-Forwarded-For': '198.51.100.77' } },
      );
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual(Array(7).fill(429));
    const correct = await master.api.post(
      '/api/auth/login',
      { username: 'admin', password: TEST_PASSWORD },
      { headers: { 'X-Forwarded-For': '198.51.100.77' } },
    );
    expect(correct.status).toBe(429);
  });

  it('answers unknown API paths with JSON 404 NOT_FOUND, never the console', async () => {
    for (const path of ['/api/nope', '/api', '/install/abc/def', '/api/users/1/unknown']) {
      const response = await master.api.get<Envelope>(path, { token: admin });
      expect(response.status, path).toBe(404);
      expect(response.body.code).toBe('NOT_FOUND');
    }
  });
});
