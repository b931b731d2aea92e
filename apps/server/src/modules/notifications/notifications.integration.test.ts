import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, NotificationDetail, NotificationSummary } from '@backupx/contract';
import { startSmtpSink, type SmtpSink } from '@backupx/testkit/services/smtp-sink';
import { SecretBox, deriveEncryptionKey } from '../../lib/crypto.ts';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

interface CapturedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const TEST_TITLE = 'BackupX 通知测试';
const TEST_BODY = '这是一条来自 BackupX 的测试通知。';
const SMTP_USER = 'mailer';
const SMTP_PASSWORD = 'smtp-Pass-4711';
const BOT_TOKEN = '123456:ABC-def_GHI';

/**
 * A loopback HTTP receiver: `/hook/*` answers 200, `/fail` 500, `/redirect` 302, and the Telegram
 * stand-in `/bot<token>/sendMessage` answers like the Bot API (401 for any token but BOT_TOKEN).
 */
const startReceiver = async () => {
  const requests: CapturedRequest[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '';
      requests.push({ path, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (path === '/fail') {
        response.writeHead(500, { 'Content-Type': 'text/plain' }).end('receiver exploded');
      } else if (path === '/redirect') {
        response.writeHead(302, { Location: 'http://127.0.0.1:1/elsewhere' }).end();
      } else if (path.startsWith('/bot')) {
        if (path === `/bot${BOT_TOKEN}/sendMessage`) {
          response
            .writeHead(200, { 'Content-Type': 'application/json' })
            .end(JSON.stringify({ ok: true, result: { message_id: 1 } }));
        } else {
          response
            .writeHead(401, { 'Content-Type': 'application/json' })
            .end(JSON.stringify({ ok: false, error_code: 401, description: 'Unauthorized' }));
        }
      } else {
        response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"received":true}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    requests,
    to: (path: string) => requests.filter((request) => request.path === path),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

/** A port on 127.0.0.1 where nothing listens. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

describe.each(dialects)('notification channels on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let operator: string;
  let viewer: string;
  let smtp: SmtpSink;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    [smtp, receiver] = await Promise.all([
      startSmtpSink({ credentials: { username: SMTP_USER, password: SMTP_PASSWORD } }),
      startReceiver(),
    ]);
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    operator = (await master.createUser(admin, 'notify-operator', 'operator')).token;
    viewer = (await master.createUser(admin, 'notify-viewer', 'viewer')).token;
  });
  afterAll(async () => {
    await master.destroy();
    await Promise.all([smtp.stop(), receiver.stop()]);
  });

  const emailConfig = (overrides: Record<string, unknown> = {}) => ({
    host: '127.0.0.1',
    port: smtp.port,
    username: SMTP_USER,
    password: SMTP_PASSWORD,
    from: 'BackupX <backupx@example.com>',
    to: 'ops@example.com, dev@example.com',
    ...overrides,
  });

  const create = async (body: Record<string, unknown>, token = operator) => {
    const response = await master.api.post<Envelope<NotificationDetail>>('/api/notifications', body, {
      token,
    });
    expect(response.status, response.text).toBe(200);
    return response.body.data;
  };

  const storedRows = () =>
    master.container.database.db.selectFrom('notifications').selectAll().orderBy('id').execute();

  const storedConfig = async (id: number): Promise<Record<string, unknown>> => {
    const row = await master.container.database.db
      .selectFrom('notifications')
      .select('configCiphertext')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    const box = new SecretBox(deriveEncryptionKey(master.container.secrets.encryptionKey));
    return JSON.parse(box.open(row.configCiphertext)) as Record<string, unknown>;
  };

  const auditFor = async (id: number): Promise<AuditEntry[]> =>
    (
      await master.api.get<Envelope<{ items: AuditEntry[] }>>(
        `/api/audit-logs?category=notification&targetId=${id}`,
        { token: admin },
      )
    ).body.data.items;

  it('creates, reads, updates and deletes a channel with its secret encrypted and always masked', async () => {
    const secret = 'hook-Secret-0042';
    const created = await create({
      name: 'Ops webhook',
      type: 'webhook',
      enabled: true,
      onSuccess: true,
      onFailure: true,
      eventTypes: [],
      config: { url: `${receiver.base}/hook/crud`, secret },
    });
    expect(created).toMatchObject({
      name: 'Ops webhook',
      type: 'webhook',
      enabled: true,
      onSuccess: true,
      onFailure: true,
      eventTypes: [],
      config: { url: `${receiver.base}/hook/crud`, secret: '********' },
      maskedFields: ['secret'],
    });

    // At rest: encrypted, the secret nowhere in the row.
    const row = (await storedRows()).find((r) => r.id === created.id);
    expect(row).toBeDefined();
    for (const [column, value] of Object.entries(row ?? {}))
      expect(String(value), column).not.toContain(secret);
    expect(await storedConfig(created.id)).toEqual({ url: `${receiver.base}/hook/crud`, secret });

    const detail = await master.api.get<Envelope<NotificationDetail>>(`/api/notifications/${created.id}`, {
      token: viewer,
    });
    expect(detail.status).toBe(200);
    expect(detail.text).not.toContain(secret);
    expect(detail.body.data.config).toEqual({ url: `${receiver.base}/hook/crud`, secret: '********' });
    expect(detail.body.data.maskedFields).toEqual(['secret']);

    const list = await master.api.get<Envelope<NotificationSummary[]>>('/api/notifications', {
      token: viewer,
    });
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(secret);
    const summary = list.body.data.find((entry) => entry.id === created.id);
    expect(Object.keys(summary ?? {}).sort()).toEqual(
      ['enabled', 'eventTypes', 'id', 'name', 'onFailure', 'onSuccess', 'type', 'updatedAt'].sort(),
    );

    // Masked and empty secrets keep the stored value.
    const body = (config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      name: 'Ops webhook',
      type: 'webhook',
      enabled: true,
      onSuccess: false,
      onFailure: true,
      config,
      ...extra,
    });
    for (const kept of ['********', '', undefined]) {
      const config =
        kept === undefined
          ? { url: `${receiver.base}/hook/crud2` }
          : { url: `${receiver.base}/hook/crud2`, secret: kept };
      const updated = await master.api.put<Envelope<NotificationDetail>>(
        `/api/notifications/${created.id}`,
        body(config),
        { token: operator },
      );
      expect(updated.status, updated.text).toBe(200);
      expect(updated.body.data.config).toEqual({ url: `${receiver.base}/hook/crud2`, secret: '********' });
      expect(updated.body.data.onSuccess).toBe(false);
      expect(await storedConfig(created.id)).toEqual({ url: `${receiver.base}/hook/crud2`, secret });
    }

    // A new value replaces it; null clears it.
    const replaced = await master.api.put<Envelope<NotificationDetail>>(
      `/api/notifications/${created.id}`,
      body({ url: `${receiver.base}/hook/crud2`, secret: 'another-Secret-9' }),
      { token: operator },
    );
    expect(replaced.text).not.toContain('another-Secret-9');
    expect((await storedConfig(created.id)).secret).toBe('another-Secret-9');
    const cleared = await master.api.put<Envelope<NotificationDetail>>(
      `/api/notifications/${created.id}`,
      body({ url: `${receiver.base}/hook/crud2`, secret: null }),
      { token: operator },
    );
    expect(cleared.body.data.config).toEqual({ url: `${receiver.base}/hook/crud2`, secret: '' });
    expect(cleared.body.data.maskedFields).toEqual([]);

    const removed = await master.api.delete<Envelope<{ deleted: boolean }>>(
      `/api/notifications/${created.id}`,
      undefined,
      { token: operator },
    );
    expect(removed.status).toBe(200);
    expect(removed.body.data).toEqual({ deleted: true });
    const gone = await master.api.get(`/api/notifications/${created.id}`, { token: viewer });
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe('NOTIFICATION_NOT_FOUND');

    const audit = await auditFor(created.id);
    expect(audit.map((entry) => entry.action)).toEqual([
      'delete',
      'update',
      'update',
      'update',
      'update',
      'update',
      'create',
    ]);
    for (const entry of audit) {
      expect(entry).toMatchObject({
        category: 'notification',
        targetType: 'notification',
        targetName: 'Ops webhook',
        username: 'notify-operator',
      });
    }
    expect(JSON.stringify(audit)).not.toContain(secret);
    expect(JSON.stringify(audit)).not.toContain('another-Secret-9');
  });

  it('keeps the client values on create (false stays false) and tidies eventTypes', async () => {
    const created = await create({
      name: 'Quiet mail',
      type: 'email',
      enabled: false,
      onSuccess: false,
      onFailure: false,
      eventTypes: [' backup_failed ', 'backup_failed', '', 'restore_failed'],
      config: emailConfig({ port: String(smtp.port) }),
    });
    expect(created).toMatchObject({
      enabled: false,
      onSuccess: false,
      onFailure: false,
      eventTypes: ['backup_failed', 'restore_failed'],
      maskedFields: ['password'],
    });
    expect(created.config).toMatchObject({ port: smtp.port, password: '********', ignoreTLS: false });
    const row = (await storedRows()).find((r) => r.id === created.id);
    expect(row).toMatchObject({
      enabled: 0,
      onSuccess: 0,
      onFailure: 0,
      eventTypes: 'backup_failed,restore_failed',
    });

    // Defaults when omitted: enabled, failures only.
    const defaults = await create({
      name: 'Default flags',
      type: 'telegram',
      config: { botToken: BOT_TOKEN, chatId: 42 },
    });
    expect(defaults).toMatchObject({ enabled: true, onSuccess: false, onFailure: true, eventTypes: [] });
    expect(defaults.config).toEqual({
      botToken: '********',
      chatId: '42',
      apiBaseUrl: 'https://api.telegram.org',
    });

    // Most recently updated first.
    master.clock.advance(1_000);
    await master.api.put(
      `/api/notifications/${created.id}`,
      {
        name: 'Quiet mail',
        type: 'email',
        enabled: false,
        onFailure: false,
        config: { ...emailConfig(), password: '********' },
      },
      { token: operator },
    );
    const order = (
      await master.api.get<Envelope<NotificationSummary[]>>('/api/notifications', { token: viewer })
    ).body.data.map((entry) => entry.id);
    expect(order.indexOf(created.id)).toBeLessThan(order.indexOf(defaults.id));
    expect((await storedConfig(created.id)).password).toBe(SMTP_PASSWORD);
  });

  it('refuses bad input, unknown ids and the wrong role, and changes nothing', async () => {
    const existing = await create({
      name: 'Existing hook',
      type: 'webhook',
      config: { url: `${receiver.base}/hook/existing` },
    });
    const before = await storedRows();
    const sentBefore = receiver.requests.length;
    const mailsBefore = smtp.messages.length;

    const valid = { name: 'Fresh', type: 'webhook', config: { url: `${receiver.base}/hook/fresh` } };
    const invalidBodies: Record<string, unknown>[] = [
      {},
      { ...valid, name: '' },
      { ...valid, name: '   ' },
      { ...valid, name: 'x'.repeat(101) },
      { ...valid, type: 'sms' },
      { ...valid, type: undefined },
      { ...valid, config: undefined },
      { ...valid, config: 'url' },
      { ...valid, enabled: 'yes' },
      { ...valid, eventTypes: ['backup_success', 'nuclear_meltdown'] },
      { ...valid, eventTypes: 'backup_success' },
      { ...valid, extra: true },
      { ...valid, config: { url: 'ftp://127.0.0.1/hook' } },
      { ...valid, config: { url: 'file:///etc/passwd' } },
      { ...valid, config: { url: 'not a url' } },
      { ...valid, config: {} },
      { ...valid, config: { url: `${receiver.base}/hook`, unknown: 1 } },
      { ...valid, type: 'email', config: emailConfig({ host: '' }) },
      { ...valid, type: 'email', config: emailConfig({ port: 0 }) },
      { ...valid, type: 'email', config: emailConfig({ port: 70_000 }) },
      { ...valid, type: 'email', config: emailConfig({ from: undefined }) },
      { ...valid, type: 'email', config: emailConfig({ to: ' , ' }) },
      { ...valid, type: 'email', config: emailConfig({ from: 'a@example.com\r\nBcc: evil@example.com' }) },
      { ...valid, type: 'email', config: emailConfig({ to: 'a@example.com\nBcc: evil@example.com' }) },
      { ...valid, type: 'telegram', config: { chatId: '1' } },
      { ...valid, type: 'telegram', config: { botToken: BOT_TOKEN } },
      { ...valid, type: 'telegram', config: { botToken: '1/../../x', chatId: '1' } },
      { ...valid, type: 'telegram', config: { botToken: '********', chatId: '1' } },
      { ...valid, type: 'telegram', config: { botToken: BOT_TOKEN, chatId: '1', apiBaseUrl: 'gopher://x' } },
    ];
    for (const body of invalidBodies) {
      const created = await master.api.post('/api/notifications', body, { token: operator });
      expect(created.status, JSON.stringify(body)).toBe(400);
      expect(created.body.code, JSON.stringify(body)).toBe('NOTIFICATION_INVALID');
      const updated = await master.api.put(`/api/notifications/${existing.id}`, body, { token: operator });
      expect(updated.status, JSON.stringify(body)).toBe(400);
      expect(updated.body.code, JSON.stringify(body)).toBe('NOTIFICATION_INVALID');
      // A test send does not need a name; everything else is checked the same way.
      if (body.name === '' || body.name === '   ') continue;
      const tested = await master.api.post('/api/notifications/test', body, { token: operator });
      expect(tested.status, JSON.stringify(body)).toBe(400);
      expect(tested.body.code, JSON.stringify(body)).toBe('NOTIFICATION_INVALID');
    }

    // Name clash on create and on rename.
    const clash = await master.api.post(
      '/api/notifications',
      { ...valid, name: 'Existing hook' },
      { token: operator },
    );
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('NOTIFICATION_NAME_EXISTS');
    const other = await create({
      name: 'Other hook',
      type: 'webhook',
      config: { url: `${receiver.base}/hook/o` },
    });
    const rename = await master.api.put(
      `/api/notifications/${other.id}`,
      { ...valid, name: ' Existing hook ' },
      { token: operator },
    );
    expect(rename.status).toBe(409);
    expect(rename.body.code).toBe('NOTIFICATION_NAME_EXISTS');
    await master.api.delete(`/api/notifications/${other.id}`, undefined, { token: operator });

    // Unknown and malformed ids.
    for (const call of [
      master.api.get('/api/notifications/999999', { token: viewer }),
      master.api.put('/api/notifications/999999', valid, { token: operator }),
      master.api.delete('/api/notifications/999999', undefined, { token: operator }),
      master.api.post('/api/notifications/999999/test', undefined, { token: operator }),
      master.api.post('/api/notifications/test', { ...valid, id: 999_999 }, { token: operator }),
    ]) {
      const response = await call;
      expect(response.status, response.text).toBe(404);
      expect(response.body.code).toBe('NOTIFICATION_NOT_FOUND');
    }
    for (const id of ['0', 'abc', '4294967296', '-1']) {
      expect((await master.api.get(`/api/notifications/${id}`, { token: viewer })).body.code).toBe(
        'INVALID_ID',
      );
      expect(
        (await master.api.delete(`/api/notifications/${id}`, undefined, { token: operator })).body.code,
      ).toBe('INVALID_ID');
    }

    // A viewer reads but never changes or sends; nobody anonymous gets anything.
    for (const call of [
      master.api.post('/api/notifications', valid, { token: viewer }),
      master.api.put(`/api/notifications/${existing.id}`, valid, { token: viewer }),
      master.api.delete(`/api/notifications/${existing.id}`, undefined, { token: viewer }),
      master.api.post('/api/notifications/test', valid, { token: viewer }),
      master.api.post(`/api/notifications/${existing.id}/test`, undefined, { token: viewer }),
    ]) {
      const response = await call;
      expect(response.status).toBe(403);
      expect(response.body.code).toBe('AUTH_FORBIDDEN');
    }
    for (const call of [
      master.api.get('/api/notifications'),
      master.api.get(`/api/notifications/${existing.id}`),
      master.api.post('/api/notifications', valid),
      master.api.post('/api/notifications/test', valid),
    ]) {
      expect((await call).status).toBe(401);
    }

    expect(await storedRows()).toEqual(before);
    expect(receiver.requests.length).toBe(sentBefore);
    expect(smtp.messages.length).toBe(mailsBefore);
    await master.api.delete(`/api/notifications/${existing.id}`, undefined, { token: operator });
  });

  it('sends a test mail to a real SMTP server', async () => {
    const response = await master.api.post<Envelope<{ success: boolean }>>(
      '/api/notifications/test',
      { name: 'Mail test', type: 'email', config: emailConfig() },
      { token: operator },
    );
    expect(response.status, response.text).toBe(200);
    expect(response.body.data).toEqual({ success: true });
    const mail = await smtp.waitForMessage((m) => m.subject === TEST_TITLE);
    expect(mail.text).toBe(TEST_BODY);
    expect(mail.authUser).toBe(SMTP_USER);
    expect(mail.envelope.from).toBe('backupx@example.com');
    expect(mail.envelope.to.sort()).toEqual(['dev@example.com', 'ops@example.com']);
    expect(mail.header('from')).toBe('BackupX <backupx@example.com>');
    expect(mail.header('to')).toBe('ops@example.com, dev@example.com');
    expect(mail.header('mime-version')).toBe('1.0');
    expect(mail.header('content-type')?.toLowerCase()).toBe('text/plain; charset=utf-8');
    expect(mail.raw).not.toContain(SMTP_PASSWORD);
  });

  it('reports a failing mail server as NOTIFICATION_TEST_FAILED without the password', async () => {
    const wrongPassword = 'Wrong-Password-77';
    const refused = await master.api.post(
      '/api/notifications/test',
      { type: 'email', config: emailConfig({ password: wrongPassword }) },
      { token: operator },
    );
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('NOTIFICATION_TEST_FAILED');
    expect(refused.body.message).toMatch(/SMTP 127\.0\.0\.1:\d+/);
    expect(refused.text).not.toContain(wrongPassword);

    const port = await closedPort();
    const unreachable = await master.api.post(
      '/api/notifications/test',
      { type: 'email', config: emailConfig({ port }) },
      { token: operator },
    );
    expect(unreachable.status).toBe(400);
    expect(unreachable.body.code).toBe('NOTIFICATION_TEST_FAILED');
    expect(unreachable.body.message).toContain('ECONNREFUSED');
  });

  it('signs webhook tests with HMAC-SHA256 of the body and never sends the secret', async () => {
    const secret = 'Webhook-Signing-Key-1';
    const saved = await create({
      name: 'Signed hook',
      type: 'webhook',
      enabled: false,
      config: { url: `${receiver.base}/hook/signed`, secret },
    });
    const startedAt = Math.floor(Date.now() / 1000);

    // Saved channel, unsaved body with the masked secret of the saved one, and a plain unsaved body.
    expect(
      (await master.api.post(`/api/notifications/${saved.id}/test`, undefined, { token: operator })).body,
    ).toMatchObject({ code: 'OK', data: { success: true } });
    expect(
      (
        await master.api.post(
          '/api/notifications/test',
          {
            id: saved.id,
            type: 'webhook',
            config: { url: `${receiver.base}/hook/signed`, secret: '********' },
          },
          { token: operator },
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await master.api.post(
          '/api/notifications/test',
          { type: 'webhook', config: { url: `${receiver.base}/hook/signed`, secret } },
          { token: operator },
        )
      ).status,
    ).toBe(200);

    const received = receiver.to('/hook/signed');
    expect(received).toHaveLength(3);
    for (const request of received) {
      expect(request.headers['content-type']).toBe('application/json');
      const expected = `sha256=${createHmac('sha256', secret).update(request.body).digest('hex')}`;
      expect(request.headers['x-backupx-signature']).toBe(expected);
      const timestamp = Number(request.headers['x-backupx-timestamp']);
      expect(Number.isInteger(timestamp)).toBe(true);
      expect(timestamp).toBeGreaterThanOrEqual(startedAt - 5);
      expect(request.headers['x-backupx-secret']).toBeUndefined();
      expect(JSON.stringify(request.headers)).not.toContain(secret);
      expect(request.body).not.toContain(secret);
      const payload = JSON.parse(request.body) as {
        title: string;
        body: string;
        fields: Record<string, unknown>;
      };
      expect(payload).toEqual({
        title: TEST_TITLE,
        body: TEST_BODY,
        fields: { type: 'webhook', timestamp: expect.any(String) },
      });
      expect(Number.isNaN(Date.parse(String(payload.fields.timestamp)))).toBe(false);
    }

    // Without a secret: no signature.
    await master.api.post(
      '/api/notifications/test',
      { type: 'webhook', config: { url: `${receiver.base}/hook/unsigned` } },
      { token: operator },
    );
    const [unsigned] = receiver.to('/hook/unsigned');
    expect(unsigned?.headers['x-backupx-signature']).toBeUndefined();
    expect(unsigned?.headers['x-backupx-timestamp']).toBeDefined();
    await master.api.delete(`/api/notifications/${saved.id}`, undefined, { token: operator });
  });

  it('reports failing webhooks as NOTIFICATION_TEST_FAILED', async () => {
    const failing = await master.api.post(
      '/api/notifications/test',
      { type: 'webhook', config: { url: `${receiver.base}/fail`, secret: 'Fail-Secret-123' } },
      { token: operator },
    );
    expect(failing.status).toBe(400);
    expect(failing.body.code).toBe('NOTIFICATION_TEST_FAILED');
    expect(failing.body.message).toContain('HTTP 500');
    expect(failing.body.message).toContain('receiver exploded');
    expect(failing.text).not.toContain('Fail-Secret-123');

    const redirected = await master.api.post(
      '/api/notifications/test',
      { type: 'webhook', config: { url: `${receiver.base}/redirect` } },
      { token: operator },
    );
    expect(redirected.body.code).toBe('NOTIFICATION_TEST_FAILED');
    expect(redirected.body.message).toContain('HTTP 302');
    expect(receiver.requests.filter((r) => r.path === '/elsewhere')).toHaveLength(0);

    const port = await closedPort();
    const unreachable = await master.api.post(
      '/api/notifications/test',
      { type: 'webhook', config: { url: `http://127.0.0.1:${port}/hook` } },
      { token: operator },
    );
    expect(unreachable.status).toBe(400);
    expect(unreachable.body.code).toBe('NOTIFICATION_TEST_FAILED');
    expect(unreachable.body.message).toContain('ECONNREFUSED');
  });

  it('sends Telegram tests to the Bot API (loopback stand-in) and reports its refusals', async () => {
    const ok = await master.api.post(
      '/api/notifications/test',
      {
        type: 'telegram',
        config: { botToken: BOT_TOKEN, chatId: '-100123', apiBaseUrl: `${receiver.base}/` },
      },
      { token: operator },
    );
    expect(ok.status, ok.text).toBe(200);
    const [sent] = receiver.to(`/bot${BOT_TOKEN}/sendMessage`);
    expect(sent?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(sent?.body ?? '{}')).toEqual({
      chat_id: '-100123',
      text: `${TEST_TITLE}\n\n${TEST_BODY}`,
    });

    const badToken = '999:wrong-Token_x';
    const refused = await master.api.post(
      '/api/notifications/test',
      { type: 'telegram', config: { botToken: badToken, chatId: '1', apiBaseUrl: receiver.base } },
      { token: operator },
    );
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('NOTIFICATION_TEST_FAILED');
    expect(refused.body.message).toContain('HTTP 401');
    expect(refused.body.message).toContain('Unauthorized');
    expect(refused.text).not.toContain(badToken);
  });

  it('delivers published events to the channels that subscribe to them', async () => {
    // Start from no channels so only this test's channels receive.
    for (const row of await storedRows()) {
      await master.api.delete(`/api/notifications/${row.id}`, undefined, { token: operator });
    }
    const hook = (path: string) => ({ url: `${receiver.base}/hook/${path}` });
    await create({
      name: 'legacy success',
      type: 'webhook',
      onSuccess: true,
      onFailure: false,
      config: hook('success'),
    });
    await create({ name: 'legacy default', type: 'webhook', config: hook('default') });
    await create({
      name: 'explicit',
      type: 'webhook',
      onSuccess: false,
      onFailure: false,
      eventTypes: ['restore_failed', 'backup_success'],
      config: hook('explicit'),
    });
    await create({
      name: 'disabled',
      type: 'webhook',
      enabled: false,
      onSuccess: true,
      config: hook('disabled'),
    });
    await create({
      name: 'failing',
      type: 'webhook',
      eventTypes: ['verify_failed'],
      config: { url: `${receiver.base}/fail` },
    });
    await create({
      name: 'mail',
      type: 'email',
      eventTypes: ['storage_unhealthy'],
      config: emailConfig({ to: 'storage@example.com' }),
    });

    const { events, notificationDispatcher } = master.container.services;
    events.publish('backup_success', 'BackupX 备份成功通知', '任务：nightly\n状态：成功', {
      taskName: 'nightly',
      status: '成功',
      recordId: 7,
      durationSeconds: 12,
    });
    events.publish('backup_failed', 'BackupX 备份失败通知', '任务：nightly\n状态：失败', {
      taskName: 'nightly',
    });
    events.publish('restore_failed', 'BackupX 恢复失败', 'restore body', { restoreId: 3 });
    events.publish('verify_failed', 'BackupX 备份验证失败', 'verify body', { verifyId: 4 });
    // A title that tries to add headers: CR/LF are stripped, so it stays inside the Subject.
    events.publish(
      'storage_unhealthy',
      'Storage down\r\nBcc: evil@example.com\r\nX-Injected: yes',
      'storage body',
      { storageTargetId: 1 },
    );
    await notificationDispatcher.flush();

    const typesAt = (path: string) =>
      receiver
        .to(`/hook/${path}`)
        .map((request) => (JSON.parse(request.body) as { fields: { eventType: string } }).fields.eventType);
    expect(typesAt('success')).toEqual(['backup_success']);
    expect(typesAt('default')).toEqual(['backup_failed']);
    expect(typesAt('explicit')).toEqual(['backup_success', 'restore_failed']);
    expect(typesAt('disabled')).toEqual([]);

    const [first] = receiver.to('/hook/success');
    expect(JSON.parse(first?.body ?? '{}')).toEqual({
      title: 'BackupX 备份成功通知',
      body: '任务：nightly\n状态：成功',
      fields: {
        taskName: 'nightly',
        status: '成功',
        recordId: 7,
        durationSeconds: 12,
        eventType: 'backup_success',
        timestamp: expect.any(String),
      },
    });

    const mail = await smtp.waitForMessage((m) => m.envelope.to.includes('storage@example.com'));
    expect(mail.subject).toBe('Storage downBcc: evil@example.comX-Injected: yes');
    expect(mail.headerLines.map((line) => line.name)).not.toContain('bcc');
    expect(mail.headerLines.map((line) => line.name)).not.toContain('x-injected');
    expect(mail.envelope.to).toEqual(['storage@example.com']);
    expect(mail.text).toBe('storage body');

    const metrics = await master.api.get('/metrics');
    expect(metrics.text).toMatch(
      /backupx_notification_delivery_total\{channel="webhook",status="success"\} [1-9]/,
    );
    expect(metrics.text).toMatch(
      /backupx_notification_delivery_total\{channel="webhook",status="failed"\} 1/,
    );
    expect(metrics.text).toMatch(/backupx_notification_delivery_total\{channel="email",status="success"\} 1/);
  });
});
