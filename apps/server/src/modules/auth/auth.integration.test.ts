import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { totpCode } from '@backupx/testkit';
import { dialects, startTestMaster, TEST_PASSWORD, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

describe.each(dialects)('auth on %s', (dialect) => {
  let master: TestMaster;
  beforeEach(async () => {
    master = await startTestMaster(dialect);
  });
  afterEach(async () => {
    await master.destroy();
  });

  it('sets up the first admin once, then logs in and reads the profile', async () => {
    const { api } = master;
    expect(
      (await api.get<Envelope<{ initialized: boolean }>>('/api/auth/setup/status')).body.data.initialized,
    ).toBe(false);
    const token = await master.setupAdmin();
    expect(
      (await api.get<Envelope<{ initialized: boolean }>>('/api/auth/setup/status')).body.data.initialized,
    ).toBe(true);
    const again = await api.post('/api/auth/setup', {
      username: 'other',
      password: TEST_PASSWORD,
      displayName: 'Other',
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('AUTH_SETUP_DISABLED');

    const profile = await api.get<Envelope<Record<string, unknown>>>('/api/auth/profile', { token });
    expect(profile.status).toBe(200);
    expect(profile.body.data).toMatchObject({
      username: 'admin',
      role: 'admin',
      twoFactorEnabled: false,
      mfaEnabled: false,
    });
    expect(JSON.stringify(profile.body)).not.toMatch(/passwordHash|password_hash|\$2b\$/);

    const login = await api.post<Envelope<{ token: string; user: { username: string } }>>('/api/auth/login', {
      username: 'admin',
      password: TEST_PASSWORD,
    });
    expect(login.status).toBe(200);
    expect(login.body.data.user.username).toBe('admin');
  });

  it('races of two first-admin setups create exactly one user', async () => {
    const attempts = await Promise.all(
      ['alpha', 'bravo', 'charlie'].map((username) =>
        master.api.post('/api/auth/setup', { username, password: TEST_PASSWORD, displayName: username }),
      ),
    );
    expect(attempts.filter((r) => r.status === 200)).toHaveLength(1);
    expect(attempts.filter((r) => r.status === 409)).toHaveLength(2);
  });

  it('refuses wrong credentials with a stable code and audits them', async () => {
    await master.setupAdmin();
    const wrong = await master.api.post('/api/auth/login', {
      username: 'admin',
      password: 'not-the-password',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('AUTH_INVALID_CREDENTIALS');
    const unknown = await master.api.post('/api/auth/login', {
      username: 'nobody',
      password: 'not-the-password',
    });
    expect(unknown.body.code).toBe('AUTH_INVALID_CREDENTIALS');
    const token = await master.login('admin', TEST_PASSWORD);
    const audit = await master.api.get<
      Envelope<{ items: { action: string; username: string; clientIp: string }[] }>
    >('/api/audit-logs?category=auth&action=login_failed', { token });
    expect(audit.body.data.items.map((item) => item.username).sort()).toEqual(['admin', 'nobody']);
    expect(audit.body.data.items[0]?.clientIp).toBe('127.0.0.1');
  });

  it('rate-limits login to 5 attempts per minute per IP; success resets the count', async () => {
    await master.setupAdmin();
    for (let i = 0; i < 4; i += 1) {
      expect(
        (await master.api.post('/api/auth/login', { username: 'admin', password: 'wrong-password' })).status,
      ).toBe(401);
    }
    await master.login('admin', TEST_PASSWORD); // 5th attempt succeeds and resets
    for (let i = 0; i < 5; i += 1) {
      expect(
        (await master.api.post('/api/auth/login', { username: 'admin', password: 'wrong-password' })).status,
      ).toBe(401);
    }
    const limited = await master.api.post('/api/auth/login', { username: 'admin', password: TEST_PASSWORD });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('AUTH_RATE_LIMITED');
    // Another client (behind the trusted local proxy) has its own window.
    const other = await master.api.post(
      '/api/auth/login',
      { username: 'admin', password: TEST_PASSWORD },
      { headers: { 'X-Forwarded-For': '203.0.113.9' } },
    );
    expect(other.status).toBe(200);
    master.clock.advance(61_000);
    expect(
      (await master.api.post('/api/auth/login', { username: 'admin', password: TEST_PASSWORD })).status,
    ).toBe(200);
  });

  it('logout revokes the token; a password change signs out other sessions only', async () => {
    const first = await master.setupAdmin();
    const second = await master.login('admin', TEST_PASSWORD);
    const third = await master.login('admin', TEST_PASSWORD);

    const logout = await master.api.post<Envelope<{ loggedOut: boolean }>>('/api/auth/logout', undefined, {
      token: third,
    });
    expect(logout.body.data.loggedOut).toBe(true);
    expect((await master.api.get('/api/auth/profile', { token: third })).body.code).toBe(
      'AUTH_INVALID_TOKEN',
    );

    const wrongOld = await master.api.put(
      '/api/auth/password',
      { oldPassword: 'nope-nope', newPassword: 'New-Password-1' },
      { token: first },
    );
    expect(wrongOld.status).toBe(400);
    expect(wrongOld.body.code).toBe('AUTH_WRONG_PASSWORD');
    const changed = await master.api.put(
      '/api/auth/password',
      { oldPassword: TEST_PASSWORD, newPassword: 'New-Password-1' },
      { token: first },
    );
    expect(changed.status).toBe(200);
    expect((await master.api.get('/api/auth/profile', { token: first })).status).toBe(200);
    expect((await master.api.get('/api/auth/profile', { token: second })).status).toBe(401);
    await expect(master.login('admin', TEST_PASSWORD)).rejects.toThrow();
    await master.login('admin', 'New-Password-1');
  });

  it('rejects forged, garbage and expired tokens', async () => {
    const token = await master.setupAdmin();
    const [h, p] = token.split('.');
    expect((await master.api.get('/api/auth/profile', { token: `${h}.${p}.forged` })).body.code).toBe(
      'AUTH_INVALID_TOKEN',
    );
    expect((await master.api.get('/api/auth/profile', { token: 'garbage' })).body.code).toBe(
      'AUTH_INVALID_TOKEN',
    );
    expect((await master.api.get('/api/auth/profile')).body.code).toBe('AUTH_REQUIRED');
    master.clock.advance(25 * 3_600_000);
    expect((await master.api.get('/api/auth/profile', { token })).body.code).toBe('AUTH_INVALID_TOKEN');
  });

  it('re-checks role and disabled state on every request', async () => {
    const admin = await master.setupAdmin();
    const { id, token } = await master.createUser(admin, 'ops', 'admin');
    expect((await master.api.get('/api/users', { token })).status).toBe(200);
    const demote = await master.api.put(
      `/api/users/${id}`,
      { username: 'ops', displayName: 'ops', role: 'viewer' },
      { token: admin },
    );
    expect(demote.status).toBe(200);
    const forbidden = await master.api.get('/api/users', { token });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.code).toBe('AUTH_FORBIDDEN');
    await master.api.put(
      `/api/users/${id}`,
      { username: 'ops', displayName: 'ops', role: 'viewer', disabled: true },
      { token: admin },
    );
    const disabled = await master.api.get('/api/auth/profile', { token });
    expect(disabled.status).toBe(401);
    const login = await master.api.post('/api/auth/login', { username: 'ops', password: TEST_PASSWORD });
    expect(login.body.code).toBe('AUTH_USER_DISABLED');
  });

  it('runs the TOTP lifecycle: setup, enable, login with code, replay refused, recovery codes, disable', async () => {
    const token = await master.setupAdmin();
    const { api } = master;
    const wrongPassword = await api.post('/api/auth/2fa/setup', { currentPassword: 'wrong-one' }, { token });
    expect(wrongPassword.body.code).toBe('AUTH_WRONG_PASSWORD');
    const early = await api.post('/api/auth/2fa/enable', { code: '123456' }, { token });
    expect(early.body.code).toBe('AUTH_2FA_SETUP_REQUIRED');

    const setup = await api.post<Envelope<{ secret: string; otpAuthUrl: string; qrCodeDataUrl: string }>>(
      '/api/auth/2fa/setup',
      { currentPassword: TEST_PASSWORD },
      { token },
    );
    expect(setup.status).toBe(200);
    const { secret } = setup.body.data;
    expect(setup.body.data.otpAuthUrl).toContain('otpauth://totp/BackupX:admin');
    expect(setup.body.data.qrCodeDataUrl).toMatch(/^data:image\/png;base64,/);
    expect((await api.post('/api/auth/2fa/enable', { code: '000000' }, { token })).body.code).toBe(
      'AUTH_2FA_INVALID',
    );
    const enabled = await api.post<
      Envelope<{ recoveryCodes: string[]; user: { twoFactorEnabled: boolean } }>
    >('/api/auth/2fa/enable', { code: totpCode(secret, master.clock.now().getTime()) }, { token });
    expect(enabled.status).toBe(200);
    expect(enabled.body.data.user.twoFactorEnabled).toBe(true);
    const recoveryCodes = enabled.body.data.recoveryCodes;
    expect(recoveryCodes).toHaveLength(10);

    const needCode = await api.post('/api/auth/login', { username: 'admin', password: TEST_PASSWORD });
    expect(needCode.status).toBe(401);
    expect(needCode.body.code).toBe('AUTH_2FA_REQUIRED');
    const wrongCode = await api.post('/api/auth/login', {
      username: 'admin',
      password: TEST_PASSWORD,
      twoFactorCode: '000000',
    });
    expect(wrongCode.body.code).toBe('AUTH_2FA_INVALID');

    // The code used to enable was consumed; the next time step's code logs in once.
    master.clock.advance(30_000);
    const code = totpCode(secret, master.clock.now().getTime());
    await master.login('admin', TEST_PASSWORD, code);
    const replay = await api.post('/api/auth/login', {
      username: 'admin',
      password: TEST_PASSWORD,
      twoFactorCode: code,
    });
    expect(replay.body.code).toBe('AUTH_2FA_INVALID');

    const recovery = recoveryCodes[0]!;
    await master.login('admin', TEST_PASSWORD, recovery.toLowerCase());
    const reused = await api.post('/api/auth/login', {
      username: 'admin',
      password: TEST_PASSWORD,
      twoFactorCode: recovery,
    });
    expect(reused.body.code).toBe('AUTH_2FA_INVALID');
    const profile = await api.get<Envelope<{ twoFactorRecoveryCodesRemaining: number }>>(
      '/api/auth/profile',
      { token },
    );
    expect(profile.body.data.twoFactorRecoveryCodesRemaining).toBe(9);

    master.clock.advance(30_000);
    const regenerated = await api.post<Envelope<{ recoveryCodes: string[] }>>(
      '/api/auth/2fa/recovery-codes',
      { currentPassword: TEST_PASSWORD, code: totpCode(secret, master.clock.now().getTime()) },
      { token },
    );
    expect(regenerated.status).toBe(200);
    const oldCode = await api.post('/api/auth/login', {
      username: 'admin',
      password: TEST_PASSWORD,
      twoFactorCode: recoveryCodes[1],
    });
    expect(oldCode.body.code).toBe('AUTH_2FA_INVALID');
    await master.login('admin', TEST_PASSWORD, regenerated.body.data.recoveryCodes[0]);

    master.clock.advance(30_000);
    const disabled = await api.delete<Envelope<{ twoFactorEnabled: boolean }>>(
      '/api/auth/2fa',
      { currentPassword: TEST_PASSWORD, code: totpCode(secret, master.clock.now().getTime()) },
      { token },
    );
    expect(disabled.status).toBe(200);
    expect(disabled.body.data.twoFactorEnabled).toBe(false);
    await master.login('admin', TEST_PASSWORD);
  });

  it('keeps the TOTP secret encrypted at rest', async () => {
    const token = await master.setupAdmin();
    const setup = await master.api.post<Envelope<{ secret: string }>>(
      '/api/auth/2fa/setup',
      { currentPassword: TEST_PASSWORD },
      { token },
    );
    const row = await master.container.database.db.selectFrom('users').selectAll().executeTakeFirstOrThrow();
    expect(row.twoFactorSecretCiphertext).not.toContain(setup.body.data.secret);
    expect(row.passwordHash).toMatch(/^\$2b\$12\$/);
  });
});
