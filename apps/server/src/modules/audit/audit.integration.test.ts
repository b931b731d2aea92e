import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '@backupx/contract';
import { dialects, startTestMaster, TEST_PASSWORD, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };
type AuditPage = { items: AuditEntry[]; total: number };

const HOUR = 3_600_000;

/** RFC 4180 parser (enough for the export: quoted cells, doubled quotes, CRLF rows). */
const parseCsv = (text: string): string[][] => {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text.charAt(i);
    if (quoted) {
      if (char === '"' && text.charAt(i + 1) === '"') {
        cell += '"';
        i += 1;
      } else if (char === '"') {
        quoted = false;
      } else {
        cell += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\r' && text.charAt(i + 1) === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i += 1;
    } else {
      cell += char;
    }
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
};

/** The same instant written with a +08:00 offset. */
const atPlus8 = (iso: string): string => {
  const shifted = new Date(new Date(iso).getTime() + 8 * HOUR).toISOString();
  return `${shifted.slice(0, 23)}+08:00`;
};

const rawGet = async (master: TestMaster, path: string, token: string) => {
  const response = await fetch(new URL(path, master.url), { headers: { Authorization: `Bearer ${token}` } });
  return {
    status: response.status,
    headers: response.headers,
    bytes: Buffer.from(await response.arrayBuffer()),
  };
};

const alice = { userId: 101, username: 'alice', clientIp: '10.0.0.1' };
const bob = { userId: 102, username: 'bob', clientIp: '10.0.0.2' };
const carol = { userId: 103, username: 'carol', clientIp: '2001:db8::1' };

describe.each(dialects)('audit log on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let viewer: string;
  const seeded: AuditEntry[] = [];

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    viewer = (await master.createUser(admin, 'viewer1', 'viewer')).token;
    const { audit } = master.container.services;
    const events = [
      [
        alice,
        {
          category: 'backup_task',
          action: 'create',
          targetType: 'backup_task',
          targetId: 11,
          targetName: 'Nightly DB',
          detail: 'Created task; 100% of files selected',
        },
      ],
      [
        bob,
        {
          category: 'backup_task',
          action: 'update',
          targetType: 'backup_task',
          targetId: 11,
          targetName: 'Nightly DB',
          detail: 'Cron changed to 0 2 * * *',
        },
      ],
      [
        alice,
        {
          category: 'storage_target',
          action: 'create',
          targetType: 'storage_target',
          targetId: 5,
          targetName: 'S3_main',
          detail: 'Bucket backups',
        },
      ],
      [
        bob,
        {
          category: 'storage_target',
          action: 'delete',
          targetType: 'storage_target',
          targetId: 6,
          targetName: 'S3Xmain',
          detail: 'Path C:\\Backups\\old removed',
        },
      ],
      [
        carol,
        {
          category: 'node',
          action: 'update',
          targetType: 'node',
          targetId: 7,
          targetName: 'edge 1',
          detail: 'Renamed to 边缘节点 ✓, "quoted", comma',
        },
      ],
      [
        { userId: 0, username: '+evil', clientIp: '10.0.0.9' },
        {
          category: 'replication',
          action: '-run',
          targetType: 'replication',
          targetId: '-5',
          targetName: '@SUM(A1)',
          detail: '=HYPERLINK("http://x","y")',
        },
      ],
    ] as const;
    for (const [actor, event] of events) {
      master.clock.advance(HOUR);
      seeded.push(await audit.record(actor, event));
    }
    master.clock.advance(HOUR);
    for (let i = 0; i < 55; i += 1) {
      await audit.record(
        { userId: 0, username: 'system', clientIp: '' },
        { category: 'backup_record', action: 'bulk', targetId: `bulk-${i}`, detail: `bulk row ${i}` },
      );
    }
  });
  afterAll(async () => {
    await master.destroy();
  });

  const list = async (query: string, token = admin): Promise<AuditPage> => {
    const response = await master.api.get<Envelope<AuditPage>>(`/api/audit-logs${query}`, { token });
    expect(response.status, response.text).toBe(200);
    return response.body.data;
  };
  const ids = (page: AuditPage) => page.items.map((item) => item.id);
  const seededIds = (...indexes: number[]) => indexes.map((index) => seeded[index]!.id);

  it('records mutations and logins with user, category, action, target, detail, client IP and time', async () => {
    const page = await list('?category=user');
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({
      username: 'admin',
      action: 'create',
      targetType: 'user',
      targetName: 'viewer1',
      clientIp: '127.0.0.1',
    });
    expect(page.items[0]?.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const setup = await list('?category=auth&action=setup');
    expect(setup.items[0]).toMatchObject({ username: 'admin', targetName: 'admin' });
    expect(setup.items[0]?.userId).toBeGreaterThan(0);

    // Behind the trusted local proxy the forwarded client address is recorded.
    const forwarded = await master.api.post(
      '/api/auth/login',
      { username: 'viewer1', password: TEST_PASSWORD },
      { headers: { 'X-Forwarded-For': '203.0.113.7' } },
    );
    expect(forwarded.status).toBe(200);
    const logins = await list('?category=auth&action=login_success&username=viewer1');
    expect(logins.items[0]?.clientIp).toBe('203.0.113.7');
  });

  it('filters by category, action, username and target id, newest first', async () => {
    expect(ids(await list('?category=backup_task'))).toEqual(seededIds(1, 0));
    expect(ids(await list('?category=storage_target&action=create'))).toEqual(seededIds(2));
    expect(ids(await list('?username=alice'))).toEqual(seededIds(2, 0));
    expect(ids(await list('?username=bob&category=storage_target'))).toEqual(seededIds(3));
    expect(ids(await list('?targetId=11'))).toEqual(seededIds(1, 0));
    expect((await list('?category=nothing-like-this')).total).toBe(0);
    const node = await list('?category=node');
    expect(node.items[0]).toEqual(seeded[4]);
    expect(node.items[0]?.clientIp).toBe('2001:db8::1');

    const all = await list('?limit=500');
    for (let i = 1; i < all.items.length; i += 1) {
      const previous = all.items[i - 1]!;
      const current = all.items[i]!;
      expect(previous.createdAt >= current.createdAt).toBe(true);
      if (previous.createdAt === current.createdAt) expect(previous.id).toBeGreaterThan(current.id);
    }
  });

  it('matches keywords as literal, case-insensitive substrings of detail or target name', async () => {
    expect(ids(await list('?keyword=%25'))).toEqual(seededIds(0));
    expect(ids(await list('?keyword=_'))).toEqual(seededIds(2));
    expect(ids(await list('?keyword=S3_main'))).toEqual(seededIds(2));
    expect(ids(await list('?keyword=s3%25main'))).toEqual([]);
    expect(ids(await list(`?keyword=${encodeURIComponent('\\')}`))).toEqual(seededIds(3));
    expect(ids(await list(`?keyword=${encodeURIComponent('C:\\Backups')}`))).toEqual(seededIds(3));
    expect(ids(await list('?keyword=NIGHTLY'))).toEqual(seededIds(1, 0));
    expect(ids(await list(`?keyword=${encodeURIComponent('2 * *')}`))).toEqual(seededIds(1));
    expect(ids(await list(`?keyword=${encodeURIComponent('边缘节点')}`))).toEqual(seededIds(4));
    expect(ids(await list(`?keyword=${encodeURIComponent("'; drop table audit_logs; --")}`))).toEqual([]);
    expect(ids(await list('?keyword=bulk%20row%205&limit=500')).length).toBe(6); // 5 and 50–54
    expect(ids(await list('?keyword=nightly&category=backup_task&action=update'))).toEqual(seededIds(1));
  });

  it('filters by an inclusive RFC 3339 date range in any offset', async () => {
    const from = seeded[1]!.createdAt;
    const to = seeded[3]!.createdAt;
    expect(ids(await list(`?dateFrom=${from}&dateTo=${to}`))).toEqual(seededIds(3, 2, 1));
    expect(
      ids(
        await list(
          `?dateFrom=${encodeURIComponent(atPlus8(from))}&dateTo=${encodeURIComponent(atPlus8(to))}`,
        ),
      ),
    ).toEqual(seededIds(3, 2, 1));
    expect((await list(`?dateFrom=${seeded[5]!.createdAt}&category=backup_record`)).total).toBe(55);
    expect((await list(`?dateFrom=${seeded[5]!.createdAt}&dateTo=${seeded[5]!.createdAt}`)).total).toBe(1);
    const before = await list(`?dateTo=${encodeURIComponent(seeded[0]!.createdAt)}&category=backup_task`);
    expect(ids(before)).toEqual(seededIds(0));
    expect((await list(`?dateFrom=${to}&dateTo=${from}`)).total).toBe(0);
    // Far-away bounds in any offset still mean "no bound".
    const everything = (await list('?limit=1')).total;
    expect((await list(`?dateTo=${encodeURIComponent('9999-12-31T23:59:59-23:59')}&limit=1`)).total).toBe(
      everything,
    );
    expect((await list(`?dateFrom=${encodeURIComponent('0000-01-01T00:00:00+23:59')}&limit=1`)).total).toBe(
      everything,
    );
  });

  it('refuses invalid filters and paging with AUDIT_FILTER_INVALID', async () => {
    for (const query of [
      '?dateFrom=2024-01-01',
      '?dateTo=yesterday',
      '?dateFrom=2024-13-01T00:00:00Z',
      '?dateFrom=2024-02-30T00:00:00Z',
      '?dateTo=2024-01-01T10:00:00',
      '?limit=0',
      '?limit=501',
      '?limit=abc',
      '?limit=1.5',
      '?offset=-1',
      '?offset=x',
      '?unknown=1',
      `?category=${'c'.repeat(33)}`,
      `?keyword=${'k'.repeat(201)}`,
    ]) {
      for (const path of ['/api/audit-logs', '/api/audit-logs/export']) {
        if (path.endsWith('export') && /limit|offset/.test(query)) continue;
        const response = await master.api.get(`${path}${query}`, { token: admin });
        expect(response.status, `${path}${query}`).toBe(400);
        expect(response.body.code, `${path}${query}`).toBe('AUDIT_FILTER_INVALID');
      }
    }
    const exportWithLimit = await master.api.get('/api/audit-logs/export?limit=5', { token: admin });
    expect(exportWithLimit.body.code).toBe('AUDIT_FILTER_INVALID');
    const badLang = await master.api.get('/api/audit-logs/export?lang=fr-FR', { token: admin });
    expect(badLang.body.code).toBe('AUDIT_FILTER_INVALID');
  });

  it('pages with limit (default 50, max 500) and offset, reporting the filtered total', async () => {
    const first = await list('?category=backup_record');
    expect(first.items).toHaveLength(50);
    expect(first.total).toBe(55);
    const rest = await list('?category=backup_record&offset=50');
    expect(rest.items).toHaveLength(5);
    expect(rest.total).toBe(55);
    expect((await list('?category=backup_record&offset=55')).items).toHaveLength(0);
    const everything = await list('?category=backup_record&limit=500');
    expect(everything.items).toHaveLength(55);
    const paged: number[] = [];
    for (let offset = 0; offset < 55; offset += 20)
      paged.push(...ids(await list(`?category=backup_record&limit=20&offset=${offset}`)));
    expect(paged).toEqual(ids(everything));
    expect(new Set(paged).size).toBe(55);
    // Newest first: the last bulk row comes first.
    expect(everything.items[0]?.detail).toBe('bulk row 54');
  });

  it('exports CSV with a BOM, a header row and neutralised formulas', async () => {
    const response = await rawGet(master, '/api/audit-logs/export?category=replication', admin);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    const disposition = response.headers.get('content-disposition') ?? '';
    const match = /^attachment; filename="backupx-audit-(\d{8})-(\d{6})\.csv"$/.exec(disposition);
    expect(match, disposition).not.toBeNull();
    const [, day = '', time = ''] = match ?? [];
    const stamped = Date.parse(
      `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6)}T${time.slice(0, 2)}:${time.slice(2, 4)}:${time.slice(4)}Z`,
    );
    expect(Math.abs(stamped - master.clock.now().getTime())).toBeLessThan(5_000);
    expect([...response.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);

    const rows = parseCsv(response.bytes.subarray(3).toString('utf8'));
    expect(rows[0]).toEqual([
      'Time',
      'User',
      'Category',
      'Action',
      'Target type',
      'Target ID',
      'Target name',
      'Detail',
      'Client IP',
    ]);
    expect(rows).toHaveLength(2);
    const entry = seeded[5]!;
    expect(rows[1]).toEqual([
      entry.createdAt,
      "'+evil",
      'replication',
      "'-run",
      'replication',
      "'-5",
      "'@SUM(A1)",
      `'=HYPERLINK("http://x","y")`,
      '10.0.0.9',
    ]);
  });

  it('exports the filtered rows in list order, with Chinese headers on request', async () => {
    const response = await rawGet(
      master,
      '/api/audit-logs/export?lang=zh-CN&dateFrom=' +
        seeded[0]!.createdAt +
        '&dateTo=' +
        seeded[4]!.createdAt,
      admin,
    );
    expect(response.status).toBe(200);
    expect([...response.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parseCsv(response.bytes.subarray(3).toString('utf8'));
    expect(rows[0]).toEqual([
      '时间',
      '用户',
      '分类',
      '操作',
      '目标类型',
      '目标ID',
      '目标名称',
      '详情',
      '客户端IP',
    ]);
    const expected = seeded.slice(0, 5).reverse();
    expect(rows.slice(1)).toEqual(
      expected.map((entry) => [
        entry.createdAt,
        entry.username,
        entry.category,
        entry.action,
        entry.targetType,
        entry.targetId,
        entry.targetName,
        entry.detail,
        entry.clientIp,
      ]),
    );
    const english = await rawGet(master, '/api/audit-logs/export?lang=en-US&category=node', admin);
    expect(parseCsv(english.bytes.subarray(3).toString('utf8'))[0]?.[0]).toBe('Time');
  });

  it('lets a viewer read and export, but not anonymous callers', async () => {
    expect((await list('?category=backup_task', viewer)).total).toBe(2);
    const exported = await rawGet(master, '/api/audit-logs/export?category=backup_task', viewer);
    expect(exported.status).toBe(200);
    expect(parseCsv(exported.bytes.subarray(3).toString('utf8'))).toHaveLength(3);
    expect((await master.api.get('/api/audit-logs')).body.code).toBe('AUTH_REQUIRED');
    expect((await master.api.get('/api/audit-logs/export')).body.code).toBe('AUTH_REQUIRED');
  });
});

type Received = { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer };

describe.each(dialects)('audit webhook on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let server: Server;
  let base: string;
  let closedPortUrl: string;
  const received: Received[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({
          method: request.method ?? '',
          url: request.url ?? '',
          headers: request.headers,
          body: Buffer.concat(chunks),
        });
        if (request.url === '/hang') return; // never answers
        response.statusCode = request.url === '/fail' ? 500 : 204;
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    closedPortUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/hook`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
  });
  afterAll(async () => {
    await master.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const flush = () => master.container.services.audit.flush();
  const configure = async (settings: Record<string, string>) => {
    const response = await master.api.put('/api/settings', settings, { token: admin });
    expect(response.status, response.text).toBe(200);
    await flush();
    received.length = 0;
  };
  const sign = (secret: string, body: Buffer) =>
    `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

  it('posts every entry as signed JSON to the configured URL', async () => {
    const secret = 'wh-secret-✓-密钥';
    await master.api.put(
      '/api/settings',
      { audit_webhook_url: `${base}/hook`, audit_webhook_secret: secret },
      { token: admin },
    );
    await flush();
    // The settings change itself is the first delivered event.
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]!.body.toString('utf8'))).toMatchObject({
      category: 'settings',
      action: 'update',
    });
    received.length = 0;

    const created = await master.api.post<Envelope<{ apiKey: { id: number } }>>(
      '/api/api-keys',
      { name: 'hooked' },
      { token: admin },
    );
    expect(created.status).toBe(200);
    await flush();
    expect(received).toHaveLength(1);
    const delivery = received[0]!;
    expect(delivery.method).toBe('POST');
    expect(delivery.url).toBe('/hook');
    expect(delivery.headers['content-type']).toMatch(/^application\/json/);
    expect(delivery.headers['user-agent']).toBe('BackupX-Audit/1.0');
    expect(delivery.headers['x-backupx-signature']).toBe(sign(secret, delivery.body));

    const entry = (
      await master.api.get<Envelope<AuditPage>>('/api/audit-logs?category=api_key', { token: admin })
    ).body.data.items[0]!;
    const payload: unknown = JSON.parse(delivery.body.toString('utf8'));
    expect(payload).toEqual({
      eventType: 'audit.log',
      occurredAt: entry.createdAt,
      actor: { userId: entry.userId, username: 'admin' },
      category: 'api_key',
      action: 'create',
      targetType: 'api_key',
      targetId: String(created.body.data.apiKey.id),
      targetName: 'hooked',
      detail: entry.detail,
      clientIp: '127.0.0.1',
    });

    // Non-ASCII text: the signature covers the exact UTF-8 bytes sent.
    await master.container.services.audit.record(
      { userId: 7, username: '管理员', clientIp: '10.1.1.1' },
      { category: 'node', action: 'update', targetName: '节点 ✓', detail: 'Ünïcödé — 备份完成 "ok"' },
    );
    await flush();
    expect(received).toHaveLength(2);
    const unicode = received[1]!;
    expect(unicode.body.length).toBeGreaterThan(unicode.body.toString('utf8').length);
    expect(unicode.headers['x-backupx-signature']).toBe(sign(secret, unicode.body));
    expect(JSON.parse(unicode.body.toString('utf8'))).toMatchObject({
      actor: { userId: 7, username: '管理员' },
      targetName: '节点 ✓',
      detail: 'Ünïcödé — 备份完成 "ok"',
      targetType: '',
      targetId: '',
    });
  });

  it('sends no signature without a secret, and nothing with an empty URL', async () => {
    await configure({ audit_webhook_url: `${base}/hook`, audit_webhook_secret: '' });
    await master.api.post('/api/api-keys', { name: 'unsigned' }, { token: admin });
    await flush();
    expect(received).toHaveLength(1);
    expect(received[0]!.headers['x-backupx-signature']).toBeUndefined();
    expect(received[0]!.headers['user-agent']).toBe('BackupX-Audit/1.0');

    await configure({ audit_webhook_url: '' });
    await master.api.post('/api/api-keys', { name: 'silent' }, { token: admin });
    await master.login('admin', TEST_PASSWORD);
    await flush();
    expect(received).toHaveLength(0);
  });

  it('never lets a failing, unreachable or hanging webhook break the request', async () => {
    for (const url of [
      closedPortUrl,
      `${base}/fail`,
      'http://unresolvable-host.invalid/hook',
      `${base}/hang`,
    ]) {
      // Not flushed here: the deliveries of the settings change and of the request time out together.
      expect(
        (await master.api.put('/api/settings', { audit_webhook_url: url }, { token: admin })).status,
      ).toBe(200);
      const started = Date.now();
      const response = await master.api.post<Envelope<{ apiKey: { id: number } }>>(
        '/api/api-keys',
        { name: `via ${url}` },
        { token: admin },
      );
      expect(response.status, url).toBe(200);
      expect(Date.now() - started, url).toBeLessThan(2_000);
      const stored = await master.api.get<Envelope<AuditPage>>(
        `/api/audit-logs?category=api_key&targetId=${response.body.data.apiKey.id}`,
        { token: admin },
      );
      expect(stored.body.data.total, url).toBe(1);
      await flush();
    }
    expect(received.some((delivery) => delivery.url === '/hang')).toBe(true);
    await configure({ audit_webhook_url: '' });
  });
});

describe.each(dialects)('audit retention on %s', (dialect) => {
  let master: TestMaster;
  beforeAll(async () => {
    master = await startTestMaster(dialect);
  });
  afterAll(async () => {
    await master.destroy();
  });

  it('deletes entries older than audit_retention_days, keeping everything while it is 0', async () => {
    const admin = await master.setupAdmin();
    const { audit } = master.container.services;
    const old = await audit.record(alice, { category: 'node', action: 'old', detail: 'old entry' });
    master.clock.advance(23 * HOUR);
    const recent = await audit.record(alice, { category: 'node', action: 'recent', detail: 'recent entry' });
    master.clock.advance(2 * HOUR);
    // Default retention 0 keeps everything.
    expect(await audit.purgeExpired()).toBe(0);

    const token = await master.login('admin', TEST_PASSWORD);
    expect((await master.api.get('/api/auth/profile', { token: admin })).status).toBe(401); // the first session expired
    const set = await master.api.put('/api/settings', { audit_retention_days: '1' }, { token });
    expect(set.status).toBe(200);
    const before = (await master.api.get<Envelope<AuditPage>>('/api/audit-logs?limit=500', { token })).body
      .data;
    const cutoff = new Date(master.clock.now().getTime() - 24 * HOUR).toISOString();
    const expected = before.items.filter((item) => item.createdAt >= cutoff);
    const purged = await audit.purgeExpired();
    expect(purged).toBe(before.total - expected.length);
    expect(purged).toBeGreaterThanOrEqual(2); // the old entry and the first setup

    const after = (await master.api.get<Envelope<AuditPage>>('/api/audit-logs?limit=500', { token })).body
      .data;
    expect(after.items.map((item) => item.id)).toEqual(expected.map((item) => item.id));
    expect(after.items.map((item) => item.id)).toContain(recent.id);
    expect(after.items.map((item) => item.id)).not.toContain(old.id);
    expect(after.items.some((item) => item.category === 'auth' && item.action === 'setup')).toBe(false);
    // A second purge finds nothing more.
    expect(await audit.purgeExpired()).toBe(0);

    master.clock.advance(22 * HOUR);
    expect(await audit.purgeExpired()).toBeGreaterThanOrEqual(1);
    const last = (await master.container.database.db.selectFrom('auditLogs').select('id').execute()).map(
      (row) => row.id,
    );
    expect(last).not.toContain(recent.id);
  });
});
