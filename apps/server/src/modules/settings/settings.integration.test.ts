import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingKeys, type AuditEntry, type Settings } from '@backupx/contract';
import { SecretBox, deriveEncryptionKey } from '../../lib/crypto.ts';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

const defaults: Settings = {
  site_name: 'BackupX',
  language: 'en-US',
  timezone: 'UTC',
  backup_notification_enabled: 'true',
  bandwidth_limit: '',
  audit_webhook_url: '',
  audit_webhook_secret: '',
  audit_retention_days: '0',
  verify_sandbox_mysql: '',
  verify_sandbox_postgresql: '',
};

describe.each(dialects)('settings on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let viewer: string;
  let operator: string;
  let viewerKey: string;

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    viewer = (await master.createUser(admin, 'viewer1', 'viewer')).token;
    operator = (await master.createUser(admin, 'operator1', 'operator')).token;
    const key = await master.api.post<Envelope<{ plainKey: string }>>(
      '/api/api-keys',
      { name: 'reader' },
      { token: admin },
    );
    viewerKey = key.body.data.plainKey;
  });
  afterAll(async () => {
    await master.destroy();
  });

  const getSettings = async (token = admin): Promise<Settings> => {
    const response = await master.api.get<Envelope<Settings>>('/api/settings', { token });
    expect(response.status).toBe(200);
    return response.body.data;
  };
  const storedRows = () =>
    master.container.database.db
      .selectFrom('systemConfigs')
      .select(['key', 'value', 'encrypted', 'updatedAt'])
      .orderBy('key')
      .execute();
  const secretBox = () => new SecretBox(deriveEncryptionKey(master.container.secrets.encryptionKey));
  const settingsAudit = async (): Promise<AuditEntry[]> =>
    (
      await master.api.get<Envelope<{ items: AuditEntry[] }>>('/api/audit-logs?category=settings&limit=500', {
        token: admin,
      })
    ).body.data.items;

  it('returns exactly the allow-listed keys with their defaults to every role', async () => {
    for (const token of [admin, viewer, operator]) {
      const settings = await getSettings(token);
      expect(settings).toEqual(defaults);
      expect(Object.keys(settings).sort()).toEqual([...settingKeys].sort());
    }
    const viaKey = await master.api.get<Envelope<Settings>>('/api/settings', { apiKey: viewerKey });
    expect(viaKey.status).toBe(200);
    expect(viaKey.body.data).toEqual(defaults);
    const anonymous = await master.api.get('/api/settings');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('AUTH_REQUIRED');
  });

  it('lets an admin update settings, which persist and are audited by key', async () => {
    const changes = {
      site_name: '备份中心 "Main"',
      language: 'zh-CN',
      timezone: 'Asia/Shanghai',
      backup_notification_enabled: 'false',
      bandwidth_limit: '1M:500k',
      audit_retention_days: '30',
    } as const;
    const response = await master.api.put<Envelope<Settings>>('/api/settings', changes, { token: admin });
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ ...defaults, ...changes });
    expect(await getSettings(viewer)).toEqual({ ...defaults, ...changes });

    const rows = await storedRows();
    for (const [key, value] of Object.entries(changes)) {
      expect(
        rows.find((row) => row.key === key),
        key,
      ).toMatchObject({ value, encrypted: 0 });
    }
    const entry = (await settingsAudit())[0];
    expect(entry).toMatchObject({
      category: 'settings',
      action: 'update',
      username: 'admin',
      targetType: 'settings',
    });
    for (const key of Object.keys(changes)) expect(entry?.detail).toContain(key);
    expect(entry?.detail).not.toContain('Asia/Shanghai');

    // A partial update changes only what it names.
    const partial = await master.api.put<Envelope<Settings>>(
      '/api/settings',
      { site_name: 'BackupX Prod' },
      { token: admin },
    );
    expect(partial.body.data).toEqual({ ...defaults, ...changes, site_name: 'BackupX Prod' });
    // Boundaries that are valid.
    for (const body of [
      { audit_retention_days: '99999' },
      { audit_retention_days: '0' },
      { bandwidth_limit: '10M' },
      { bandwidth_limit: '' },
      { site_name: 's'.repeat(128) },
    ]) {
      const ok = await master.api.put('/api/settings', body, { token: admin });
      expect(ok.status, JSON.stringify(body)).toBe(200);
    }
  });

  it('refuses updates from viewers and operators', async () => {
    const before = await storedRows();
    for (const token of [viewer, operator]) {
      const response = await master.api.put('/api/settings', { site_name: 'Not allowed' }, { token });
      expect(response.status).toBe(403);
      expect(response.body.code).toBe('AUTH_FORBIDDEN');
    }
    const viaKey = await master.api.put('/api/settings', { site_name: 'Not allowed' }, { apiKey: viewerKey });
    expect(viaKey.status).toBe(403);
    expect(await storedRows()).toEqual(before);
    expect((await getSettings()).site_name).not.toBe('Not allowed');
  });

  it('refuses unknown keys and bad values with SETTINGS_INVALID and changes nothing', async () => {
    const before = await storedRows();
    const settingsBefore = await getSettings();
    const auditBefore = (await settingsAudit()).length;
    const invalid: unknown[] = [
      { unknown_key: 'x' },
      { site_name: 'Changed', unknown_key: 'x' },
      { 'security.jwt_secret': 'x' },
      { 'security.encryption_key_check': 'x' },
      { language: 'fr-FR' },
      { backup_notification_enabled: 'yes' },
      { backup_notification_enabled: true },
      { audit_retention_days: '-1' },
      { audit_retention_days: '1.5' },
      { audit_retention_days: '007' },
      { audit_retention_days: '100000' },
      { audit_retention_days: 30 },
      { audit_webhook_url: 'ftp://example.com/hook' },
      { audit_webhook_url: 'not a url' },
      { audit_webhook_url: 'javascript:alert(1)' },
      { bandwidth_limit: '10 MB' },
      { site_name: 's'.repeat(129) },
      { site_name: null },
      { timezone: 'Mars/Olympus' },
      { timezone: '' },
      { timezone: 'Mars/Olympus', site_name: 'Changed' },
      [],
      'site_name',
    ];
    for (const body of invalid) {
      const response = await master.api.put('/api/settings', body, { token: admin });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.code, JSON.stringify(body)).toBe('SETTINGS_INVALID');
    }
    const timezone = await master.api.put<{ code: string; details?: { path: string }[] }>(
      '/api/settings',
      { timezone: 'Mars/Olympus' },
      { token: admin },
    );
    expect(timezone.body.details?.[0]?.path).toBe('timezone');
    expect(await storedRows()).toEqual(before);
    expect(await getSettings()).toEqual(settingsBefore);
    expect((await settingsAudit()).length).toBe(auditBefore);
  });

  it('masks the webhook secret, stores it encrypted, and keeps it when the mask is sent back', async () => {
    const secret = 'hook-secret-Ωmega-1234567890';
    const set = await master.api.put<Envelope<Settings>>(
      '/api/settings',
      { audit_webhook_secret: secret, audit_webhook_url: 'https://hooks.example.com/audit' },
      { token: admin },
    );
    expect(set.status).toBe(200);
    expect(set.body.data.audit_webhook_secret).toBe('********');
    expect(set.body.data.audit_webhook_url).toBe('https://hooks.example.com/audit');
    expect(set.text).not.toContain(secret);
    for (const token of [admin, viewer]) {
      const read = await master.api.get('/api/settings', { token });
      expect(read.text).not.toContain(secret);
      expect((read.body as Envelope<Settings>).data.audit_webhook_secret).toBe('********');
    }

    const row = (await storedRows()).find((stored) => stored.key === 'audit_webhook_secret');
    expect(row?.encrypted).toBe(1);
    expect(row?.value).not.toContain(secret);
    expect(row?.value).not.toContain(Buffer.from(secret).toString('base64'));
    expect(secretBox().open(row?.value ?? '')).toBe(secret);

    // Sending the mask back (as the console does) keeps the stored secret untouched.
    const echo = await master.api.put<Envelope<Settings>>(
      '/api/settings',
      { ...set.body.data, site_name: 'Echoed' },
      { token: admin },
    );
    expect(echo.status).toBe(200);
    expect(echo.body.data).toMatchObject({ site_name: 'Echoed', audit_webhook_secret: '********' });
    const afterEcho = (await storedRows()).find((stored) => stored.key === 'audit_webhook_secret');
    expect(afterEcho?.value).toBe(row?.value);
    expect(secretBox().open(afterEcho?.value ?? '')).toBe(secret);

    const replaced = await master.api.put<Envelope<Settings>>(
      '/api/settings',
      { audit_webhook_secret: 'a-new-secret' },
      { token: admin },
    );
    expect(replaced.body.data.audit_webhook_secret).toBe('********');
    const afterReplace = (await storedRows()).find((stored) => stored.key === 'audit_webhook_secret');
    expect(secretBox().open(afterReplace?.value ?? '')).toBe('a-new-secret');

    const cleared = await master.api.put<Envelope<Settings>>(
      '/api/settings',
      { audit_webhook_secret: '', audit_webhook_url: '' },
      { token: admin },
    );
    expect(cleared.body.data).toMatchObject({ audit_webhook_secret: '', audit_webhook_url: '' });
    const afterClear = (await storedRows()).find((stored) => stored.key === 'audit_webhook_secret');
    expect(afterClear).toMatchObject({ value: '', encrypted: 0 });
    // With no secret stored, sending the mask stores nothing.
    const maskOnly = await master.api.put<Envelope<Settings>>(
      '/api/settings',
      { audit_webhook_secret: '********' },
      { token: admin },
    );
    expect(maskOnly.body.data.audit_webhook_secret).toBe('');

    const auditText = JSON.stringify(await settingsAudit());
    expect(auditText).toContain('audit_webhook_secret');
    expect(auditText).not.toContain(secret);
    expect(auditText).not.toContain('a-new-secret');
  });

  it('never returns the master secrets; system_configs holds only their fingerprints', async () => {
    const { jwtSecret, encryptionKey } = master.container.secrets;
    for (const response of [
      await master.api.get('/api/settings', { token: admin }),
      await master.api.put('/api/settings', {}, { token: admin }),
      await master.api.get('/api/settings', { apiKey: viewerKey }),
    ]) {
      expect(response.status).toBe(200);
      expect(response.text).not.toContain(jwtSecret);
      expect(response.text).not.toContain(encryptionKey);
      expect(response.text).not.toMatch(/security\./);
    }
    const rows = await storedRows();
    const securityRows = rows.filter((row) => row.key.startsWith('security.'));
    expect(securityRows.map((row) => row.key)).toEqual([
      'security.encryption_key_check',
      'security.jwt_secret_check',
    ]);
    for (const row of securityRows) expect(row.value).toMatch(/^[0-9a-f]{64}$/);
    for (const row of rows) {
      expect(row.value).not.toContain(jwtSecret);
      expect(row.value).not.toContain(encryptionKey);
      expect([...settingKeys, 'security.encryption_key_check', 'security.jwt_secret_check']).toContain(
        row.key,
      );
    }
  });
});
