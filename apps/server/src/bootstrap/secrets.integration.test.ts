import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresDatabase, type TemporaryPostgresDatabase } from '@backupx/testkit';
import { SecretBox, deriveEncryptionKey } from '../lib/crypto.ts';
import {
  dialects,
  startTestMaster,
  TEST_PASSWORD,
  type TestDialect,
  type TestMaster,
  type TestMasterOptions,
} from '../test-support/harness.ts';
import { SecretsError } from './secrets.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

const jwtSignature = (secret: string, token: string): string => {
  const [header = '', payload = ''] = token.split('.');
  return createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
};

describe.each(dialects)('master secrets on %s', (dialect: TestDialect) => {
  let stops: (() => Promise<void>)[] = [];
  let resources: (() => Promise<void> | void)[] = [];

  afterEach(async () => {
    for (const stop of stops) await stop();
    for (const release of resources) await release();
    stops = [];
    resources = [];
  });

  /** A data directory (and database) that outlive single masters, for restarts. */
  const newHome = async (): Promise<{ dataDir: string; postgres?: TemporaryPostgresDatabase }> => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'bx-secrets-'));
    resources.push(() => rmSync(dataDir, { recursive: true, force: true }));
    if (dialect === 'sqlite') return { dataDir };
    const postgres = await createPostgresDatabase();
    resources.push(() => postgres.drop());
    return { dataDir, postgres };
  };
  const start = async (options: TestMasterOptions): Promise<TestMaster> => {
    const master = await startTestMaster(dialect, options);
    stops.push(() => master.stop());
    return master;
  };
  const configRows = (master: TestMaster) =>
    master.container.database.db
      .selectFrom('systemConfigs')
      .select(['key', 'value', 'encrypted', 'updatedAt'])
      .orderBy('key')
      .execute();

  it('generates secrets.json (0600) on first start and reuses it on restart, so sessions survive', async () => {
    const home = await newHome();
    const file = path.join(home.dataDir, 'secrets.json');
    const first = await start({ reuse: home });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { jwtSecret: string; encryptionKey: string };
    expect(stored.jwtSecret).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(stored.encryptionKey).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(stored.jwtSecret).not.toBe(stored.encryptionKey);
    expect(first.container.secrets).toMatchObject({ ...stored, generated: ['jwtSecret', 'encryptionKey'] });

    const token = await first.setupAdmin();
    expect(jwtSignature(stored.jwtSecret, token)).toBe(token.split('.')[2]);
    const set = await first.api.put(
      '/api/settings',
      { audit_webhook_secret: 'kept-across-restarts' },
      { token },
    );
    expect(set.status).toBe(200);
    const bytesBefore = readFileSync(file);
    const mtimeBefore = statSync(file).mtimeMs;
    await first.stop();

    const second = await start({ reuse: home });
    expect(second.container.secrets).toMatchObject({ ...stored, generated: [] });
    expect(readFileSync(file)).toEqual(bytesBefore);
    expect(statSync(file).mtimeMs).toBe(mtimeBefore);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The session issued before the restart is still valid, and encrypted values still open.
    const profile = await second.api.get<Envelope<{ username: string }>>('/api/auth/profile', { token });
    expect(profile.status).toBe(200);
    expect(profile.body.data.username).toBe('admin');
    const row = (await configRows(second)).find((entry) => entry.key === 'audit_webhook_secret');
    expect(
      new SecretBox(deriveEncryptionKey(second.container.secrets.encryptionKey)).open(row?.value ?? ''),
    ).toBe('kept-across-restarts');
  });

  it('lets configured secrets win over the file', async () => {
    const home = await newHome();
    const file = path.join(home.dataDir, 'secrets.json');
    const fromFile = {
      jwtSecret: 'file-jwt-secret-0123456789abcdef',
      encryptionKey: 'file-encryption-key-0123456789abc',
    };
    writeFileSync(file, JSON.stringify(fromFile), { mode: 0o600 });
    const configured = {
      jwt_secret: 'configured-jwt-secret-0123456789',
      encryption_key: 'configured-encryption-key-012345',
    };
    const master = await start({ reuse: home, config: { security: configured } });
    expect(master.container.secrets).toMatchObject({
      jwtSecret: configured.jwt_secret,
      encryptionKey: configured.encryption_key,
      generated: [],
    });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(fromFile);
    const token = await master.setupAdmin();
    expect(jwtSignature(configured.jwt_secret, token)).toBe(token.split('.')[2]);
    expect(jwtSignature(fromFile.jwtSecret, token)).not.toBe(token.split('.')[2]);
    await master.api.put('/api/settings', { audit_webhook_secret: 'sealed-with-configured-key' }, { token });
    const row = (await configRows(master)).find((entry) => entry.key === 'audit_webhook_secret');
    expect(new SecretBox(deriveEncryptionKey(configured.encryption_key)).open(row?.value ?? '')).toBe(
      'sealed-with-configured-key',
    );
    expect(() => new SecretBox(deriveEncryptionKey(fromFile.encryptionKey)).open(row?.value ?? '')).toThrow();
  });

  it('uses the file for the secret that is not configured', async () => {
    const home = await newHome();
    const file = path.join(home.dataDir, 'secrets.json');
    const fromFile = {
      jwtSecret: 'file-jwt-secret-0123456789abcdef',
      encryptionKey: 'file-encryption-key-0123456789abc',
    };
    writeFileSync(file, JSON.stringify(fromFile), { mode: 0o600 });
    const master = await start({
      reuse: home,
      config: { security: { encryption_key: 'configured-encryption-key-012345' } },
    });
    expect(master.container.secrets).toMatchObject({
      jwtSecret: fromFile.jwtSecret,
      encryptionKey: 'configured-encryption-key-012345',
      generated: [],
    });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(fromFile);
  });

  it('writes only generated secrets to the file, never a configured one', async () => {
    const home = await newHome();
    const master = await start({
      reuse: home,
      config: { security: { encryption_key: 'configured-encryption-key-012345' } },
    });
    const written = JSON.parse(readFileSync(path.join(home.dataDir, 'secrets.json'), 'utf8')) as Record<
      string,
      string
    >;
    expect(Object.keys(written)).toEqual(['jwtSecret']);
    expect(written.jwtSecret).toBe(master.container.secrets.jwtSecret);
    expect(JSON.stringify(written)).not.toContain('configured-encryption-key-012345');
  });

  it('rotates a newly configured JWT secret: old sessions end, the encryption key stays checked', async () => {
    const home = await newHome();
    const first = await start({
      reuse: home,
      config: { security: { jwt_secret: 'first-jwt-secret-0123456789abcdef' } },
    });
    const oldToken = await first.setupAdmin();
    await first.stop();
    const second = await start({
      reuse: home,
      config: { security: { jwt_secret: 'second-jwt-secret-0123456789abcde' } },
    });
    expect(second.container.secrets.jwtSecretRotated).toBe(true);
    expect((await second.api.get<Envelope>('/api/auth/profile', { token: oldToken })).body.code).toBe(
      'AUTH_INVALID_TOKEN',
    );
    const newToken = await second.login('admin', TEST_PASSWORD);
    await second.stop();
    const third = await start({
      reuse: home,
      config: { security: { jwt_secret: 'second-jwt-secret-0123456789abcde' } },
    });
    expect(third.container.secrets.jwtSecretRotated).toBe(false);
    expect((await third.api.get('/api/auth/profile', { token: newToken })).status).toBe(200);
  });

  it('refuses to start with a different encryption key, naming the key, and changes nothing', async () => {
    const home = await newHome();
    const file = path.join(home.dataDir, 'secrets.json');
    const first = await start({ reuse: home });
    const token = await first.setupAdmin();
    const rowsBefore = await configRows(first);
    await first.stop();
    const fileBefore = readFileSync(file);

    const attempt = startTestMaster(dialect, {
      reuse: home,
      config: { security: { encryption_key: 'a-different-encryption-key-0123456789' } },
    });
    await expect(attempt).rejects.toThrow(SecretsError);
    await expect(attempt).rejects.toThrow(/encryption key \(security\.encryption_key/);
    expect(readFileSync(file)).toEqual(fileBefore);

    // A master with the right secrets still starts, sees the same configuration, and the session holds.
    const again = await start({ reuse: home });
    expect(await configRows(again)).toEqual(rowsBefore);
    expect((await again.api.get('/api/auth/profile', { token })).status).toBe(200);
  });

  it('never returns a secret from the setup and login flow, settings or system info', async () => {
    const home = await newHome();
    const master = await start({ reuse: home });
    const { jwtSecret, encryptionKey } = master.container.secrets;
    const derived = deriveEncryptionKey(encryptionKey);
    const forbidden = [
      jwtSecret,
      encryptionKey,
      derived.toString('hex'),
      derived.toString('base64'),
      derived.toString('base64url'),
    ];
    const { api } = master;
    const texts: string[] = [];
    const collect = async (response: Promise<{ status: number; text: string }>) => {
      const result = await response;
      expect(result.status).toBeLessThan(500);
      texts.push(result.text);
      return result;
    };
    await collect(api.get('/api/auth/setup/status'));
    const setup = await collect(
      api.post('/api/auth/setup', { username: 'admin', password: TEST_PASSWORD, displayName: 'Admin' }),
    );
    const token = (JSON.parse(setup.text) as Envelope<{ token: string }>).data.token;
    await collect(api.post('/api/auth/login', { username: 'admin', password: 'wrong-password' }));
    const login = await collect(api.post('/api/auth/login', { username: 'admin', password: TEST_PASSWORD }));
    const second = (JSON.parse(login.text) as Envelope<{ token: string }>).data.token;
    await collect(api.get('/api/auth/profile', { token }));
    await collect(api.get('/api/settings', { token }));
    await collect(api.put('/api/settings', { site_name: 'Secretless' }, { token }));
    await collect(api.get('/api/system/info', { token }));
    await collect(api.get('/api/health'));
    await collect(api.get('/api/ready'));
    await collect(api.get('/metrics'));
    await collect(api.get('/api/openapi.json'));
    await collect(api.get('/api/audit-logs?limit=500', { token }));
    await collect(api.get('/api/audit-logs/export', { token }));
    await collect(api.post('/api/auth/logout', undefined, { token: second }));
    expect(texts).toHaveLength(15);
    for (const text of texts) {
      for (const secret of forbidden) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/jwt_secret|encryption_key/);
    }
    const info = JSON.parse(texts[7] ?? '{}') as Envelope<{ databasePath: string }>;
    expect(info.data.databasePath).not.toContain('secrets.json');
  });

  it('stores only fingerprints of the secrets in system_configs', async () => {
    const home = await newHome();
    const master = await start({ reuse: home });
    const { jwtSecret, encryptionKey } = master.container.secrets;
    const rows = await configRows(master);
    expect(rows.map((row) => row.key)).toEqual([
      'security.encryption_key_check',
      'security.jwt_secret_check',
    ]);
    for (const row of rows) {
      expect(row.value).toMatch(/^[0-9a-f]{64}$/);
      expect(row.encrypted).toBe(0);
      expect(row.value).not.toContain(jwtSecret);
      expect(row.value).not.toContain(encryptionKey);
      expect(row.value).not.toBe(createHmac('sha256', '').update(jwtSecret).digest('hex'));
    }
    expect(rows[0]?.value).not.toBe(rows[1]?.value);
    // Nothing anywhere in the database holds a secret in the clear, also after some use.
    const token = await master.setupAdmin();
    await master.api.put('/api/settings', { audit_webhook_secret: 'webhook-secret' }, { token });
    await master.api.post('/api/api-keys', { name: 'key' }, { token });
    const dump = JSON.stringify(
      await Promise.all(
        (['users', 'userSessions', 'systemConfigs', 'apiKeys', 'auditLogs', 'rateLimitBuckets'] as const).map(
          (table) => master.container.database.db.selectFrom(table).selectAll().execute(),
        ),
      ),
    );
    expect(dump).not.toContain(jwtSecret);
    expect(dump).not.toContain(encryptionKey);
  });
});
