import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiKeySummary, AuditEntry, Role } from '@backupx/contract';
import { dialects, startTestMaster, TEST_PASSWORD, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };
type Created = { apiKey: ApiKeySummary; plainKey: string };

const PEPPER = 'backupx-api-key-hmac-pepper-v1';

describe.each(dialects)('API keys on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
  });
  afterAll(async () => {
    await master.destroy();
  });

  const createKey = async (name: string, role?: Role, ttlHours?: number): Promise<Created> => {
    const response = await master.api.post<Envelope<Created>>(
      '/api/api-keys',
      { name, ...(role === undefined ? {} : { role }), ...(ttlHours === undefined ? {} : { ttlHours }) },
      { token: admin },
    );
    expect(response.status, response.text).toBe(200);
    return response.body.data;
  };

  const storedRow = (id: number) =>
    master.container.database.db
      .selectFrom('apiKeys')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

  const auditFor = async (id: number): Promise<AuditEntry[]> => {
    const response = await master.api.get<Envelope<{ items: AuditEntry[] }>>(
      `/api/audit-logs?category=api_key&targetId=${id}`,
      {
        token: admin,
      },
    );
    return response.body.data.items;
  };

  it('creates a key whose plaintext is shown once and stored only as its HMAC', async () => {
    const response = await master.api.post<Envelope<Created>>(
      '/api/api-keys',
      { name: 'CI pipeline', role: 'operator' },
      { token: admin },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const { apiKey, plainKey } = response.body.data;
    expect(plainKey).toMatch(/^bax_[0-9a-f]{48}$/);
    expect(apiKey).toMatchObject({
      name: 'CI pipeline',
      role: 'operator',
      prefix: plainKey.slice(0, 12),
      createdBy: 'admin',
      lastUsedAt: null,
      expiresAt: null,
      disabled: false,
    });
    expect(apiKey.prefix).toHaveLength(12);
    expect(Object.keys(apiKey).sort()).toEqual(
      [
        'createdAt',
        'createdBy',
        'disabled',
        'expiresAt',
        'id',
        'lastUsedAt',
        'name',
        'prefix',
        'role',
      ].sort(),
    );

    const row = await storedRow(apiKey.id);
    expect(row.keyHash).toBe(createHmac('sha256', PEPPER).update(plainKey).digest('hex'));
    expect(row.prefix).toBe(plainKey.slice(0, 12));
    const secretPart = plainKey.slice(4);
    for (const [column, value] of Object.entries(row)) {
      expect(String(value), column).not.toContain(plainKey);
      expect(String(value), column).not.toContain(secretPart);
    }

    // Never again in any listing, nor its hash.
    const list = await master.api.get<Envelope<ApiKeySummary[]>>('/api/api-keys', { token: admin });
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(secretPart);
    expect(list.text).not.toContain(row.keyHash);
    expect(list.text).not.toMatch(/keyHash|key_hash|plainKey/);
    expect(list.body.data.find((key) => key.id === apiKey.id)).toEqual(apiKey);
    const audit = await auditFor(apiKey.id);
    expect(JSON.stringify(audit)).not.toContain(secretPart);
  });

  it('lists keys newest first and validates input', async () => {
    const older = await createKey('older');
    master.clock.advance(1_000);
    const newer = await createKey('newer');
    const list = (
      await master.api.get<Envelope<ApiKeySummary[]>>('/api/api-keys', { token: admin })
    ).body.data.map((key) => key.id);
    expect(list.indexOf(newer.apiKey.id)).toBeLessThan(list.indexOf(older.apiKey.id));
    // Defaults: viewer, never expires.
    expect(older.apiKey).toMatchObject({ role: 'viewer', expiresAt: null });

    const before = (await master.container.database.db.selectFrom('apiKeys').select('id').execute()).length;
    for (const body of [
      { name: '' },
      { name: '   ' },
      { name: 'x'.repeat(129) },
      { name: 'k', role: 'root' },
      { name: 'k', ttlHours: -1 },
      { name: 'k', ttlHours: 87_601 },
      { name: 'k', ttlHours: 1.5 },
      { name: 'k', ttlHours: '24' },
      { name: 'k', keyHash: 'abc' },
      {},
    ]) {
      const response = await master.api.post('/api/api-keys', body, { token: admin });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.code, JSON.stringify(body)).toBe('INVALID_INPUT');
    }
    expect((await master.container.database.db.selectFrom('apiKeys').select('id').execute()).length).toBe(
      before,
    );
    const maxTtl = await createKey('ten years', 'viewer', 87_600);
    expect(maxTtl.apiKey.expiresAt).not.toBeNull();
  });

  it('accepts the key as X-Api-Key or Authorization: Bearer and records lastUsedAt', async () => {
    const { apiKey, plainKey } = await createKey('reader', 'viewer');
    const viaHeader = await master.api.get('/api/settings', { apiKey: plainKey });
    expect(viaHeader.status).toBe(200);
    const firstUse = (await storedRow(apiKey.id)).lastUsedAt;
    expect(firstUse).not.toBeNull();
    expect(Math.abs(new Date(firstUse ?? '').getTime() - master.clock.now().getTime())).toBeLessThan(5_000);

    const viaBearer = await master.api.get('/api/settings', {
      headers: { Authorization: `Bearer ${plainKey}` },
    });
    expect(viaBearer.status).toBe(200);
    master.clock.advance(5 * 60_000);
    expect((await master.api.get('/api/settings', { apiKey: plainKey })).status).toBe(200);
    const later = (await storedRow(apiKey.id)).lastUsedAt;
    expect(later).not.toBeNull();
    expect(new Date(later ?? '').getTime()).toBeGreaterThan(new Date(firstUse ?? '').getTime());
    const listed = (
      await master.api.get<Envelope<ApiKeySummary[]>>('/api/api-keys', { token: admin })
    ).body.data.find((k) => k.id === apiKey.id);
    expect(listed?.lastUsedAt).toBe(later);
  });

  it('refuses unknown and malformed keys with AUTH_INVALID_TOKEN', async () => {
    const { plainKey } = await createKey('real');
    const unknown = `bax_${randomBytes(24).toString('hex')}`;
    for (const key of [
      unknown,
      'bax_',
      'bax_nothex',
      plainKey.toUpperCase().replace('BAX_', 'bax_'),
      `${plainKey}0`,
      plainKey.slice(0, -1),
    ]) {
      const viaHeader = await master.api.get('/api/settings', { apiKey: key });
      expect(viaHeader.status, key).toBe(401);
      expect(viaHeader.body.code, key).toBe('AUTH_INVALID_TOKEN');
      const viaBearer = await master.api.get('/api/settings', {
        headers: { Authorization: `Bearer ${key}` },
      });
      expect(viaBearer.status, key).toBe(401);
      expect(viaBearer.body.code, key).toBe('AUTH_INVALID_TOKEN');
    }
  });

  it('does not take a session token in X-Api-Key', async () => {
    const sent = await master.api.get<{ code: string }>('/api/settings', { headers: { 'X-Api-Key': admin } });
    expect(sent.status).toBe(401);
    expect(sent.body.code).toBe('AUTH_INVALID_TOKEN');
  });

  it('carries its role: viewer and operator keys read, only an admin key administers', async () => {
    const viewer = (await createKey('viewer key', 'viewer')).plainKey;
    const operator = (await createKey('operator key', 'operator')).plainKey;
    const adminKey = (await createKey('admin key', 'admin')).plainKey;

    for (const key of [viewer, operator]) {
      expect((await master.api.get('/api/settings', { apiKey: key })).status).toBe(200);
      expect((await master.api.get('/api/audit-logs', { apiKey: key })).status).toBe(200);
      expect((await master.api.get('/api/system/info', { apiKey: key })).status).toBe(200);
      const put = await master.api.put('/api/settings', { site_name: 'Hijacked' }, { apiKey: key });
      expect(put.status).toBe(403);
      expect(put.body.code).toBe('AUTH_FORBIDDEN');
      expect((await master.api.get('/api/users', { apiKey: key })).body.code).toBe('AUTH_FORBIDDEN');
      expect((await master.api.get('/api/api-keys', { apiKey: key })).body.code).toBe('AUTH_FORBIDDEN');
      const mint = await master.api.post(
        '/api/api-keys',
        { name: 'escalate', role: 'admin' },
        { apiKey: key },
      );
      expect(mint.status).toBe(403);
    }
    const settings = await master.api.get<Envelope<{ site_name: string }>>('/api/settings', {
      apiKey: viewer,
    });
    expect(settings.body.data.site_name).not.toBe('Hijacked');

    expect((await master.api.get('/api/users', { apiKey: adminKey })).status).toBe(200);
    expect((await master.api.get('/api/api-keys', { apiKey: adminKey })).status).toBe(200);
    const put = await master.api.put<Envelope<{ site_name: string }>>(
      '/api/settings',
      { site_name: 'Via key' },
      { apiKey: adminKey },
    );
    expect(put.status).toBe(200);
    expect(put.body.data.site_name).toBe('Via key');
  });

  it('cannot call session-only routes', async () => {
    for (const role of ['viewer', 'admin'] as const) {
      const { plainKey } = await createKey(`session ${role}`, role);
      const calls = [
        master.api.get('/api/auth/profile', { apiKey: plainKey }),
        master.api.put(
          '/api/auth/password',
          { oldPassword: TEST_PASSWORD, newPassword: 'Another-Pass-1' },
          { apiKey: plainKey },
        ),
        master.api.post('/api/auth/2fa/setup', { currentPassword: TEST_PASSWORD }, { apiKey: plainKey }),
        master.api.post('/api/auth/2fa/enable', { code: '123456' }, { apiKey: plainKey }),
        master.api.post(
          '/api/auth/2fa/recovery-codes',
          { currentPassword: TEST_PASSWORD, code: '123456' },
          { apiKey: plainKey },
        ),
        master.api.delete(
          '/api/auth/2fa',
          { currentPassword: TEST_PASSWORD, code: '123456' },
          { apiKey: plainKey },
        ),
        master.api.post('/api/auth/logout', undefined, { apiKey: plainKey }),
        master.api.get('/api/auth/profile', { headers: { Authorization: `Bearer ${plainKey}` } }),
      ];
      for (const response of await Promise.all(calls)) {
        expect(response.status, response.text).toBe(403);
        expect(response.body.code).toBe('AUTH_USER_SESSION_REQUIRED');
      }
      // The key still works afterwards (logout did not revoke it).
      expect((await master.api.get('/api/settings', { apiKey: plainKey })).status).toBe(200);
    }
    await master.login('admin', TEST_PASSWORD);
  });

  it('expires after ttlHours', async () => {
    const { apiKey, plainKey } = await createKey('short-lived', 'viewer', 2);
    expect(new Date(apiKey.expiresAt ?? '').getTime() - new Date(apiKey.createdAt).getTime()).toBe(
      2 * 3_600_000,
    );
    expect((await master.api.get('/api/settings', { apiKey: plainKey })).status).toBe(200);
    master.clock.advance(2 * 3_600_000 - 60_000);
    expect((await master.api.get('/api/settings', { apiKey: plainKey })).status).toBe(200);
    master.clock.advance(61_000);
    const expired = await master.api.get('/api/settings', { apiKey: plainKey });
    expect(expired.status).toBe(401);
    expect(expired.body.code).toBe('AUTH_KEY_EXPIRED');
  });

  it('is disabled and re-enabled by toggle, and revoked for good', async () => {
    const { apiKey, plainKey } = await createKey('toggled', 'operator');
    const disable = await master.api.put<Envelope<{ disabled: boolean }>>(
      `/api/api-keys/${apiKey.id}/toggle`,
      { disabled: true },
      { token: admin },
    );
    expect(disable.status).toBe(200);
    expect(disable.body.data).toEqual({ disabled: true });
    const refused = await master.api.get('/api/settings', { apiKey: plainKey });
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('AUTH_KEY_DISABLED');
    const listed = (
      await master.api.get<Envelope<ApiKeySummary[]>>('/api/api-keys', { token: admin })
    ).body.data.find((k) => k.id === apiKey.id);
    expect(listed?.disabled).toBe(true);

    const enable = await master.api.put<Envelope<{ disabled: boolean }>>(
      `/api/api-keys/${apiKey.id}/toggle`,
      { disabled: false },
      { token: admin },
    );
    expect(enable.body.data).toEqual({ disabled: false });
    expect((await master.api.get('/api/settings', { apiKey: plainKey })).status).toBe(200);

    const badToggle = await master.api.put(
      `/api/api-keys/${apiKey.id}/toggle`,
      { disabled: 'yes' },
      { token: admin },
    );
    expect(badToggle.body.code).toBe('INVALID_INPUT');

    const revoke = await master.api.delete<Envelope<{ revoked: boolean }>>(
      `/api/api-keys/${apiKey.id}`,
      undefined,
      { token: admin },
    );
    expect(revoke.status).toBe(200);
    expect(revoke.body.data).toEqual({ revoked: true });
    const gone = await master.api.get('/api/settings', { apiKey: plainKey });
    expect(gone.status).toBe(401);
    expect(gone.body.code).toBe('AUTH_INVALID_TOKEN');
    expect(
      await master.container.database.db
        .selectFrom('apiKeys')
        .select('id')
        .where('id', '=', apiKey.id)
        .executeTakeFirst(),
    ).toBeUndefined();

    const again = await master.api.delete(`/api/api-keys/${apiKey.id}`, undefined, { token: admin });
    expect(again.status).toBe(404);
    expect(again.body.code).toBe('API_KEY_NOT_FOUND');
    const toggleGone = await master.api.put(
      `/api/api-keys/${apiKey.id}/toggle`,
      { disabled: true },
      { token: admin },
    );
    expect(toggleGone.status).toBe(404);
    expect(toggleGone.body.code).toBe('API_KEY_NOT_FOUND');
    for (const id of ['0', 'abc', '4294967296']) {
      expect((await master.api.delete(`/api/api-keys/${id}`, undefined, { token: admin })).body.code).toBe(
        'INVALID_ID',
      );
      expect(
        (await master.api.put(`/api/api-keys/${id}/toggle`, { disabled: true }, { token: admin })).body.code,
      ).toBe('INVALID_ID');
    }

    const audit = await auditFor(apiKey.id);
    expect(audit.map((entry) => entry.action)).toEqual(['revoke', 'enable', 'disable', 'create']);
    for (const entry of audit) {
      expect(entry).toMatchObject({
        category: 'api_key',
        targetType: 'api_key',
        targetId: String(apiKey.id),
        targetName: 'toggled',
        username: 'admin',
      });
    }
  });

  it('records what a key does as api_key:<id>:<name>', async () => {
    const { apiKey, plainKey } = await createKey('automation', 'admin');
    const created = await master.api.post<Envelope<{ id: number }>>(
      '/api/users',
      { username: 'made-by-key', password: TEST_PASSWORD, displayName: 'Key-made', role: 'viewer' },
      { apiKey: plainKey },
    );
    expect(created.status).toBe(200);
    const child = await master.api.post<Envelope<Created>>(
      '/api/api-keys',
      { name: 'child' },
      { apiKey: plainKey },
    );
    expect(child.status).toBe(200);
    expect(child.body.data.apiKey.createdBy).toBe(`api_key:${apiKey.id}:automation`);

    const response = await master.api.get<Envelope<{ items: AuditEntry[] }>>(
      `/api/audit-logs?username=${encodeURIComponent(`api_key:${apiKey.id}:automation`)}`,
      { token: admin },
    );
    const entries = response.body.data.items;
    expect(entries.map((entry) => `${entry.category}/${entry.action}`)).toEqual([
      'api_key/create',
      'user/create',
    ]);
    for (const entry of entries) {
      expect(entry).toMatchObject({
        userId: 0,
        username: `api_key:${apiKey.id}:automation`,
        clientIp: '127.0.0.1',
      });
    }
    expect(entries[1]?.targetId).toBe(String(created.body.data.id));
  });

  it('is admin only for users and refuses anonymous callers', async () => {
    const viewer = await master.createUser(admin, 'key-viewer', 'viewer');
    const operator = await master.createUser(admin, 'key-operator', 'operator');
    for (const token of [viewer.token, operator.token]) {
      expect((await master.api.get('/api/api-keys', { token })).body.code).toBe('AUTH_FORBIDDEN');
      expect((await master.api.post('/api/api-keys', { name: 'mine' }, { token })).body.code).toBe(
        'AUTH_FORBIDDEN',
      );
      expect((await master.api.put('/api/api-keys/1/toggle', { disabled: true }, { token })).body.code).toBe(
        'AUTH_FORBIDDEN',
      );
      expect((await master.api.delete('/api/api-keys/1', undefined, { token })).body.code).toBe(
        'AUTH_FORBIDDEN',
      );
    }
    expect((await master.api.get('/api/api-keys')).body.code).toBe('AUTH_REQUIRED');
  });
});
