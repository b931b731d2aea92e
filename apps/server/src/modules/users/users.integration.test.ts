import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { totpCode } from '@backupx/testkit';
import type { AuditEntry, UserSummary } from '@backupx/contract';
import { dialects, startTestMaster, TEST_PASSWORD, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

const countUsers = async (master: TestMaster): Promise<number> =>
  (await master.container.database.db.selectFrom('users').select('id').execute()).length;

const userAudit = async (master: TestMaster, token: string, targetId: number): Promise<AuditEntry[]> => {
  const response = await master.api.get<Envelope<{ items: AuditEntry[] }>>(
    `/api/audit-logs?category=user&targetId=${targetId}&limit=500`,
    { token },
  );
  expect(response.status).toBe(200);
  return response.body.data.items;
};

describe.each(dialects)('users on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let adminId: number;

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    const row = await master.container.database.db
      .selectFrom('users')
      .select('id')
      .where('username', '=', 'admin')
      .executeTakeFirstOrThrow();
    adminId = row.id;
  });
  afterAll(async () => {
    await master.destroy();
  });

  it('creates, lists (oldest first), updates and deletes a user, auditing every mutation', async () => {
    const { api } = master;
    const created = await api.post<Envelope<UserSummary>>(
      '/api/users',
      {
        username: 'carol',
        password: 'Carol-Password-1',
        displayName: 'Carol C.',
        email: 'carol@example.com',
        phone: '+1 555 0100',
        role: 'operator',
      },
      { token: admin },
    );
    expect(created.status).toBe(200);
    expect(created.body.data).toMatchObject({
      username: 'carol',
      displayName: 'Carol C.',
      email: 'carol@example.com',
      phone: '+1 555 0100',
      role: 'operator',
      disabled: false,
      twoFactorEnabled: false,
      mfaEnabled: false,
    });
    expect(created.body.data.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(created.text).not.toMatch(/passwordHash|password_hash|\$2[aby]\$|Carol-Password-1/);
    const id = created.body.data.id;

    const stored = await master.container.database.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(stored.passwordHash).toMatch(/^\$2b\$12\$/);
    expect(stored.passwordHash).not.toContain('Carol-Password-1');

    // The new user can sign in with the password the admin chose.
    const carolToken = await master.login('carol', 'Carol-Password-1');
    expect(
      (await api.get<Envelope<{ role: string }>>('/api/auth/profile', { token: carolToken })).body.data.role,
    ).toBe('operator');

    master.clock.advance(1_000);
    const second = await api.post<Envelope<UserSummary>>(
      '/api/users',
      {
        username: 'dave.d@x-1',
        password: 'Dave-Password-1',
        displayName: 'Dave',
        role: 'viewer',
        disabled: true,
      },
      { token: admin },
    );
    expect(second.status).toBe(200);
    expect(second.body.data).toMatchObject({ email: '', phone: '', disabled: true, role: 'viewer' });

    const list = await api.get<Envelope<UserSummary[]>>('/api/users', { token: admin });
    expect(list.status).toBe(200);
    const names = list.body.data.map((user) => user.username);
    expect(names.indexOf('admin')).toBe(0);
    expect(names.indexOf('carol')).toBeLessThan(names.indexOf('dave.d@x-1'));
    expect(list.text).not.toMatch(/passwordHash|password_hash|\$2[aby]\$|Secret|secret/);

    const updated = await api.put<Envelope<UserSummary>>(
      `/api/users/${id}`,
      { username: 'carol2', displayName: 'Carol Two', email: 'c2@example.org', phone: '', role: 'viewer' },
      { token: admin },
    );
    expect(updated.status).toBe(200);
    expect(updated.body.data).toMatchObject({
      id,
      username: 'carol2',
      displayName: 'Carol Two',
      email: 'c2@example.org',
      phone: '',
      role: 'viewer',
      disabled: false,
    });
    // Without a password in the update the password and the sessions stay.
    expect((await api.get('/api/auth/profile', { token: carolToken })).status).toBe(200);
    await master.login('carol2', 'Carol-Password-1');

    const removed = await api.delete<Envelope<{ deleted: boolean }>>(`/api/users/${id}`, undefined, {
      token: admin,
    });
    expect(removed.status).toBe(200);
    expect(removed.body.data).toEqual({ deleted: true });
    expect(
      (await api.get<Envelope<UserSummary[]>>('/api/users', { token: admin })).body.data.map((u) => u.id),
    ).not.toContain(id);
    // Sessions of a deleted user end with it.
    expect((await api.get('/api/auth/profile', { token: carolToken })).status).toBe(401);
    const again = await api.delete(`/api/users/${id}`, undefined, { token: admin });
    expect(again.status).toBe(404);
    expect(again.body.code).toBe('USER_NOT_FOUND');

    const audit = await userAudit(master, admin, id);
    expect(audit.map((entry) => entry.action)).toEqual(['delete', 'update', 'create']);
    for (const entry of audit) {
      expect(entry).toMatchObject({
        category: 'user',
        targetType: 'user',
        targetId: String(id),
        username: 'admin',
        userId: adminId,
      });
      expect(entry.clientIp).toBe('127.0.0.1');
    }
    expect(audit[0]?.targetName).toBe('carol2');
    expect(audit[2]?.targetName).toBe('carol');
    expect(JSON.stringify(audit)).not.toContain('Carol-Password-1');
    const secondAudit = await userAudit(master, admin, second.body.data.id);
    expect(secondAudit.map((entry) => entry.action)).toEqual(['create']);
  });

  it('refuses invalid input with INVALID_INPUT and creates nothing', async () => {
    const before = await countUsers(master);
    const valid = {
      username: 'valid-user',
      password: 'Valid-Password-1',
      displayName: 'Valid',
      role: 'viewer',
    };
    const invalidBodies: Record<string, unknown>[] = [
      { ...valid, username: 'ab' },
      { ...valid, username: 'x'.repeat(65) },
      { ...valid, username: 'has space' },
      { ...valid, password: 'short' },
      { ...valid, password: 'p'.repeat(129) },
      { ...valid, email: 'not-an-email' },
      { ...valid, displayName: '' },
      { ...valid, role: 'root' },
      { ...valid, disabled: 'yes' },
      { ...valid, username: 12345 },
      { ...valid, isAdmin: true },
      { username: 'valid-user', displayName: 'Valid', role: 'viewer' },
    ];
    for (const body of invalidBodies) {
      const response = await master.api.post('/api/users', body, { token: admin });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.code, JSON.stringify(body)).toBe('INVALID_INPUT');
    }
    const notJson = await master.api.request('POST', '/api/users', {
      token: admin,
      raw: '{"username":',
      contentType: 'application/json',
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({ code: 'INVALID_JSON' });
    expect(await countUsers(master)).toBe(before);

    // The boundaries themselves are accepted.
    const edge = await master.api.post<Envelope<UserSummary>>(
      '/api/users',
      { ...valid, username: 'abc', password: '12345678' },
      { token: admin },
    );
    expect(edge.status).toBe(200);

    // An update with bad input changes nothing either.
    const id = edge.body.data.id;
    const badUpdate = await master.api.put(
      `/api/users/${id}`,
      { username: 'abc', displayName: 'Valid', role: 'viewer', email: 'nope', extra: 1 },
      { token: admin },
    );
    expect(badUpdate.status).toBe(400);
    expect(badUpdate.body.code).toBe('INVALID_INPUT');
    const shortPassword = await master.api.put(
      `/api/users/${id}`,
      { username: 'abc', displayName: 'Valid', role: 'viewer', password: 'short' },
      { token: admin },
    );
    expect(shortPassword.body.code).toBe('INVALID_INPUT');
    const row = await master.container.database.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.email).toBe('');
    await master.login('abc', '12345678');
  });

  it('refuses a duplicate username on create and on rename', async () => {
    const first = await master.api.post<Envelope<UserSummary>>(
      '/api/users',
      { username: 'erin', password: TEST_PASSWORD, displayName: 'Erin', role: 'viewer' },
      { token: admin },
    );
    expect(first.status).toBe(200);
    const before = await countUsers(master);
    const duplicate = await master.api.post(
      '/api/users',
      { username: 'erin', password: TEST_PASSWORD, displayName: 'Erin 2', role: 'admin' },
      { token: admin },
    );
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe('USER_USERNAME_EXISTS');
    expect(await countUsers(master)).toBe(before);

    const other = await master.api.post<Envelope<UserSummary>>(
      '/api/users',
      { username: 'frank', password: TEST_PASSWORD, displayName: 'Frank', role: 'viewer' },
      { token: admin },
    );
    const rename = await master.api.put(
      `/api/users/${other.body.data.id}`,
      { username: 'erin', displayName: 'Frank', role: 'viewer' },
      { token: admin },
    );
    expect(rename.status).toBe(409);
    expect(rename.body.code).toBe('USER_USERNAME_EXISTS');
    // Keeping one's own name is not a conflict.
    const same = await master.api.put(
      `/api/users/${other.body.data.id}`,
      { username: 'frank', displayName: 'Frank F', role: 'viewer' },
      { token: admin },
    );
    expect(same.status).toBe(200);
  });

  it('keeps every field a PUT leaves out', async () => {
    const created = await master.api.post<Envelope<{ id: number }>>(
      '/api/users',
      {
        username: 'partial',
        displayName: 'Partial P',
        email: 'p@example.com',
        phone: '+1 555',
        role: 'operator',
        disabled: true,
        password: TEST_PASSWORD,
      },
      { token: admin },
    );
    const id = created.body.data.id;
    const renamed = await master.api.put<Envelope<Record<string, unknown>>>(
      `/api/users/${id}`,
      { displayName: 'Renamed' },
      { token: admin },
    );
    expect(renamed.status).toBe(200);
    expect(renamed.body.data).toMatchObject({
      username: 'partial',
      displayName: 'Renamed',
      email: 'p@example.com',
      phone: '+1 555',
      role: 'operator',
      disabled: true,
    });
    const empty = await master.api.put<Envelope<Record<string, unknown>>>(
      `/api/users/${id}`,
      {},
      { token: admin },
    );
    expect(empty.body.data).toMatchObject({ displayName: 'Renamed', disabled: true });
  });

  it('answers USER_NOT_FOUND for unknown ids and INVALID_ID for malformed ones', async () => {
    const body = { username: 'ghost', displayName: 'Ghost', role: 'viewer' };
    for (const id of ['4294967295', '999999']) {
      const update = await master.api.put(`/api/users/${id}`, body, { token: admin });
      expect(update.status).toBe(404);
      expect(update.body.code).toBe('USER_NOT_FOUND');
      const remove = await master.api.delete(`/api/users/${id}`, undefined, { token: admin });
      expect(remove.body.code).toBe('USER_NOT_FOUND');
      const reset = await master.api.post(`/api/users/${id}/2fa/reset`, undefined, { token: admin });
      expect(reset.body.code).toBe('USER_NOT_FOUND');
    }
    for (const id of ['0', 'abc', '4294967296', '-1', '01', '1.5', '99999999999']) {
      const update = await master.api.put(`/api/users/${id}`, body, { token: admin });
      expect(update.status, id).toBe(400);
      expect(update.body.code, id).toBe('INVALID_ID');
      const remove = await master.api.delete(`/api/users/${id}`, undefined, { token: admin });
      expect(remove.status, id).toBe(400);
      expect(remove.body.code, id).toBe('INVALID_ID');
      const reset = await master.api.post(`/api/users/${id}/2fa/reset`, undefined, { token: admin });
      expect(reset.status, id).toBe(400);
      expect(reset.body.code, id).toBe('INVALID_ID');
    }
  });

  it('is admin only', async () => {
    const viewer = await master.createUser(admin, 'vera', 'viewer');
    const operator = await master.createUser(admin, 'oscar', 'operator');
    for (const token of [viewer.token, operator.token]) {
      expect((await master.api.get('/api/users', { token })).body.code).toBe('AUTH_FORBIDDEN');
      const create = await master.api.post(
        '/api/users',
        { username: 'sneaky', password: TEST_PASSWORD, displayName: 'Sneaky', role: 'admin' },
        { token },
      );
      expect(create.status).toBe(403);
      expect(create.body.code).toBe('AUTH_FORBIDDEN');
      const promote = await master.api.put(
        `/api/users/${viewer.id}`,
        { username: 'vera', displayName: 'vera', role: 'admin' },
        { token },
      );
      expect(promote.status).toBe(403);
      expect((await master.api.delete(`/api/users/${adminId}`, undefined, { token })).status).toBe(403);
      expect((await master.api.post(`/api/users/${adminId}/2fa/reset`, undefined, { token })).status).toBe(
        403,
      );
    }
    expect((await master.api.get('/api/users')).body.code).toBe('AUTH_REQUIRED');
    expect(
      (
        await master.container.database.db
          .selectFrom('users')
          .select('role')
          .where('username', '=', 'vera')
          .executeTakeFirstOrThrow()
      ).role,
    ).toBe('viewer');
    expect(
      await master.container.database.db
        .selectFrom('users')
        .select('id')
        .where('username', '=', 'sneaky')
        .executeTakeFirst(),
    ).toBeUndefined();
  });

  it('signs a user out everywhere when an admin changes the password or disables the account', async () => {
    const { id, token } = await master.createUser(admin, 'henry', 'operator');
    const secondSession = await master.login('henry', TEST_PASSWORD);

    const changed = await master.api.put(
      `/api/users/${id}`,
      { username: 'henry', displayName: 'henry', role: 'operator', password: 'Henry-New-Pass-1' },
      { token: admin },
    );
    expect(changed.status).toBe(200);
    for (const old of [token, secondSession]) {
      const refused = await master.api.get('/api/auth/profile', { token: old });
      expect(refused.status).toBe(401);
      expect(refused.body.code).toBe('AUTH_INVALID_TOKEN');
    }
    // The admin's own session is untouched.
    expect((await master.api.get('/api/auth/profile', { token: admin })).status).toBe(200);
    const oldPassword = await master.api.post('/api/auth/login', {
      username: 'henry',
      password: TEST_PASSWORD,
    });
    expect(oldPassword.body.code).toBe('AUTH_INVALID_CREDENTIALS');
    const fresh = await master.login('henry', 'Henry-New-Pass-1');

    // An empty password keeps the current one (and the session).
    const keep = await master.api.put(
      `/api/users/${id}`,
      { username: 'henry', displayName: 'henry', role: 'operator', password: '' },
      { token: admin },
    );
    expect(keep.status).toBe(200);
    expect((await master.api.get('/api/auth/profile', { token: fresh })).status).toBe(200);

    const disabled = await master.api.put<Envelope<UserSummary>>(
      `/api/users/${id}`,
      { username: 'henry', displayName: 'henry', role: 'operator', disabled: true },
      { token: admin },
    );
    expect(disabled.body.data.disabled).toBe(true);
    expect((await master.api.get('/api/auth/profile', { token: fresh })).status).toBe(401);
    const login = await master.api.post('/api/auth/login', {
      username: 'henry',
      password: 'Henry-New-Pass-1',
    });
    expect(login.body.code).toBe('AUTH_USER_DISABLED');

    // Re-enabling does not bring the old session back: it was revoked, not just blocked.
    const enabled = await master.api.put<Envelope<UserSummary>>(
      `/api/users/${id}`,
      { username: 'henry', displayName: 'henry', role: 'operator', disabled: false },
      { token: admin },
    );
    expect(enabled.body.data.disabled).toBe(false);
    const revoked = await master.api.get('/api/auth/profile', { token: fresh });
    expect(revoked.status).toBe(401);
    expect(revoked.body.code).toBe('AUTH_INVALID_TOKEN');
    await master.login('henry', 'Henry-New-Pass-1');

    const details = (await userAudit(master, admin, id))
      .filter((entry) => entry.action === 'update')
      .map((entry) => entry.detail);
    expect(details.some((detail) => detail.includes('password reset'))).toBe(true);
    expect(details.some((detail) => detail.includes('disabled'))).toBe(true);
    expect(details.some((detail) => detail.includes('enabled'))).toBe(true);
    expect(JSON.stringify(details)).not.toContain('Henry-New-Pass-1');
  });

  it('turns off email and SMS one-time codes when the address or number is removed', async () => {
    const created = await master.api.post<Envelope<UserSummary>>(
      '/api/users',
      {
        username: 'iris',
        password: TEST_PASSWORD,
        displayName: 'Iris',
        role: 'viewer',
        email: 'iris@example.com',
        phone: '+86 138 0000',
      },
      { token: admin },
    );
    const id = created.body.data.id;
    await master.container.database.db
      .updateTable('users')
      .set({ emailOtpEnabled: 1, smsOtpEnabled: 1 })
      .where('id', '=', id)
      .execute();
    const noEmail = await master.api.put<Envelope<UserSummary>>(
      `/api/users/${id}`,
      { username: 'iris', displayName: 'Iris', role: 'viewer', email: '', phone: '+86 138 0000' },
      { token: admin },
    );
    expect(noEmail.body.data).toMatchObject({
      email: '',
      emailOtpEnabled: false,
      smsOtpEnabled: true,
      mfaEnabled: true,
    });
    const noPhone = await master.api.put<Envelope<UserSummary>>(
      `/api/users/${id}`,
      { username: 'iris', displayName: 'Iris', role: 'viewer', email: '', phone: '' },
      { token: admin },
    );
    expect(noPhone.body.data).toMatchObject({
      phone: '',
      emailOtpEnabled: false,
      smsOtpEnabled: false,
      mfaEnabled: false,
    });
    const row = await master.container.database.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.emailOtpEnabled).toBe(0);
    expect(row.smsOtpEnabled).toBe(0);
  });

  it('resets the second factors of a user', async () => {
    const { id, token } = await master.createUser(admin, 'jack', 'operator');
    const setup = await master.api.post<Envelope<{ secret: string }>>(
      '/api/auth/2fa/setup',
      { currentPassword: TEST_PASSWORD },
      { token },
    );
    expect(setup.status).toBe(200);
    const { secret } = setup.body.data;
    const enable = await master.api.post<Envelope<{ user: { twoFactorEnabled: boolean } }>>(
      '/api/auth/2fa/enable',
      { code: totpCode(secret, master.clock.now().getTime()) },
      { token },
    );
    expect(enable.status).toBe(200);
    expect(enable.body.data.user.twoFactorEnabled).toBe(true);
    const listed = (
      await master.api.get<Envelope<UserSummary[]>>('/api/users', { token: admin })
    ).body.data.find((user) => user.id === id);
    expect(listed).toMatchObject({
      twoFactorEnabled: true,
      mfaEnabled: true,
      twoFactorRecoveryCodesRemaining: 10,
    });
    const needCode = await master.api.post('/api/auth/login', { username: 'jack', password: TEST_PASSWORD });
    expect(needCode.body.code).toBe('AUTH_2FA_REQUIRED');

    const reset = await master.api.post<Envelope<UserSummary>>(`/api/users/${id}/2fa/reset`, undefined, {
      token: admin,
    });
    expect(reset.status).toBe(200);
    expect(reset.body.data).toMatchObject({
      id,
      twoFactorEnabled: false,
      mfaEnabled: false,
      twoFactorRecoveryCodesRemaining: 0,
      webAuthnEnabled: false,
      emailOtpEnabled: false,
      smsOtpEnabled: false,
    });
    const row = await master.container.database.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      twoFactorEnabled: 0,
      twoFactorSecretCiphertext: '',
      twoFactorRecoveryCodeHashes: '[]',
    });
    await master.login('jack', TEST_PASSWORD);
    // The user can enrol again afterwards.
    const again = await master.api.post('/api/auth/2fa/setup', { currentPassword: TEST_PASSWORD }, { token });
    expect(again.status).toBe(200);

    const audit = await userAudit(master, admin, id);
    expect(audit[0]).toMatchObject({
      action: 'reset_two_factor',
      category: 'user',
      username: 'admin',
      targetName: 'jack',
    });
  });
});

describe.each(dialects)('last administrator rules on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let adminId: number;
  beforeEach(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    adminId = (await master.container.database.db.selectFrom('users').select('id').executeTakeFirstOrThrow())
      .id;
  });
  afterEach(async () => {
    await master.destroy();
  });

  const createAdminKey = async (): Promise<string> => {
    const response = await master.api.post<Envelope<{ plainKey: string }>>(
      '/api/api-keys',
      { name: 'ops', role: 'admin' },
      { token: admin },
    );
    expect(response.status).toBe(200);
    return response.body.data.plainKey;
  };

  it('refuses to demote, disable or delete the last enabled admin', async () => {
    const demote = await master.api.put(
      `/api/users/${adminId}`,
      { username: 'admin', displayName: 'A', role: 'operator' },
      { token: admin },
    );
    expect(demote.status).toBe(400);
    expect(demote.body.code).toBe('USER_LAST_ADMIN');
    const disable = await master.api.put(
      `/api/users/${adminId}`,
      { username: 'admin', displayName: 'A', role: 'admin', disabled: true },
      { token: admin },
    );
    expect(disable.status).toBe(400);
    expect(disable.body.code).toBe('USER_LAST_ADMIN');
    // Deleting oneself is refused first for its own reason.
    const self = await master.api.delete(`/api/users/${adminId}`, undefined, { token: admin });
    expect(self.status).toBe(400);
    expect(self.body.code).toBe('USER_DELETE_SELF');
    // An admin API key is not a user, so it meets the last-admin rule.
    const apiKey = await createAdminKey();
    const remove = await master.api.delete(`/api/users/${adminId}`, undefined, { apiKey });
    expect(remove.status).toBe(400);
    expect(remove.body.code).toBe('USER_LAST_ADMIN');
    const row = await master.container.database.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', adminId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ role: 'admin', disabled: 0, displayName: 'Administrator' });
    expect((await master.api.get('/api/auth/profile', { token: admin })).status).toBe(200);
    // Other changes to the last admin are fine.
    const rename = await master.api.put(
      `/api/users/${adminId}`,
      { username: 'root', displayName: 'Root', role: 'admin' },
      { token: admin },
    );
    expect(rename.status).toBe(200);
  });

  it('counts only enabled admins, and allows changes while another enabled admin remains', async () => {
    const second = await master.createUser(admin, 'admin2', 'admin');
    const apiKey = await createAdminKey();
    // Two enabled admins: the first may be demoted by the second.
    const demote = await master.api.put(
      `/api/users/${adminId}`,
      { username: 'admin', displayName: 'A', role: 'viewer' },
      { token: second.token },
    );
    expect(demote.status).toBe(200);
    // Now admin2 is the last one.
    const demoteSecond = await master.api.put(
      `/api/users/${second.id}`,
      { username: 'admin2', displayName: 'B', role: 'operator' },
      { token: second.token },
    );
    expect(demoteSecond.body.code).toBe('USER_LAST_ADMIN');
    // A disabled admin does not count as a remaining admin.
    const promoteDisabled = await master.api.put(
      `/api/users/${adminId}`,
      { username: 'admin', displayName: 'A', role: 'admin', disabled: true },
      { token: second.token },
    );
    expect(promoteDisabled.status).toBe(200);
    const disableSecond = await master.api.put(
      `/api/users/${second.id}`,
      { username: 'admin2', displayName: 'B', role: 'admin', disabled: true },
      { apiKey },
    );
    expect(disableSecond.body.code).toBe('USER_LAST_ADMIN');
    const deleteSecond = await master.api.delete(`/api/users/${second.id}`, undefined, { apiKey });
    expect(deleteSecond.body.code).toBe('USER_LAST_ADMIN');
    // The disabled admin may be deleted.
    const deleteDisabled = await master.api.delete(`/api/users/${adminId}`, undefined, {
      token: second.token,
    });
    expect(deleteDisabled.status).toBe(200);
    const remaining = await master.container.database.db.selectFrom('users').selectAll().execute();
    expect(remaining.map((row) => [row.username, row.role, row.disabled])).toEqual([['admin2', 'admin', 0]]);

    const audit = await master.api.get<Envelope<{ items: AuditEntry[] }>>(
      '/api/audit-logs?category=user&action=delete',
      { token: second.token },
    );
    expect(audit.body.data.items).toHaveLength(1);
    expect(audit.body.data.items[0]).toMatchObject({
      username: 'admin2',
      targetId: String(adminId),
      targetName: 'admin',
    });
  });

  it('keeps one enabled admin when demotions or deletions race', async () => {
    const second = await master.createUser(admin, 'admin2', 'admin');
    const apiKey = await createAdminKey();
    const enabledAdmins = async () =>
      (
        await master.container.database.db
          .selectFrom('users')
          .select('id')
          .where('role', '=', 'admin')
          .where('disabled', '=', 0)
          .execute()
      ).length;
    for (let round = 0; round < 3; round += 1) {
      const demotions = await Promise.all([
        master.api.put(
          `/api/users/${adminId}`,
          { username: 'admin', displayName: 'A', role: 'viewer' },
          { apiKey },
        ),
        master.api.put(
          `/api/users/${second.id}`,
          { username: 'admin2', displayName: 'B', role: 'viewer', disabled: true },
          { apiKey },
        ),
      ]);
      expect(demotions.map((r) => r.status).sort()).toEqual([200, 400]);
      expect(demotions.find((r) => r.status === 400)?.body.code).toBe('USER_LAST_ADMIN');
      expect(await enabledAdmins()).toBe(1);
      // Restore both admins for the next round.
      for (const [id, username] of [
        [adminId, 'admin'],
        [second.id, 'admin2'],
      ] as const) {
        const restore = await master.api.put(
          `/api/users/${id}`,
          { username, displayName: username, role: 'admin' },
          { apiKey },
        );
        expect(restore.status).toBe(200);
      }
    }
    const deletions = await Promise.all([
      master.api.delete(`/api/users/${adminId}`, undefined, { apiKey }),
      master.api.delete(`/api/users/${second.id}`, undefined, { apiKey }),
    ]);
    expect(deletions.map((r) => r.status).sort()).toEqual([200, 400]);
    expect(deletions.find((r) => r.status === 400)?.body.code).toBe('USER_LAST_ADMIN');
    expect(await enabledAdmins()).toBe(1);
  });

  it('refuses deleting oneself even when other admins exist', async () => {
    const second = await master.createUser(admin, 'admin2', 'admin');
    const self = await master.api.delete(`/api/users/${second.id}`, undefined, { token: second.token });
    expect(self.status).toBe(400);
    expect(self.body.code).toBe('USER_DELETE_SELF');
    const other = await master.api.delete(`/api/users/${second.id}`, undefined, { token: admin });
    expect(other.status).toBe(200);
    expect((await master.api.get('/api/auth/profile', { token: second.token })).status).toBe(401);
  });
});
