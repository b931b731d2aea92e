import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SearchResult } from '@backupx/contract';
import { insertBackupRecord } from '../../test-support/fixtures.ts';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

const DAY = 86_400_000;
const MYSQL_PASSWORD = 'mysql-Secret-777';
const DAV_PASSWORD = 'dav-Secret-999';

/**
 * Global search (SPEC §14.5) over tasks, storage targets, nodes and the 100 most recent records:
 * case-insensitive substrings, LIKE wildcards taken literally, ≤10 per group, never a secret.
 */
describe.each(dialects)('global search on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let viewer: string;
  let work: string;
  let diskId: number;
  let davId: number;
  let nodeId: number;
  const tasks: Record<string, number> = {};

  const db = () => master.container.database.db;
  const search = async (q: string) => {
    const response = await master.api.get<Envelope<SearchResult>>(`/api/search?q=${encodeURIComponent(q)}`, {
      token: viewer,
    });
    expect(response.status, response.text).toBe(200);
    return { ...response.body.data, text: response.text };
  };
  const taskTitles = (result: SearchResult) => result.tasks.map((item) => item.title).sort();

  const createTask = async (body: Record<string, unknown>) => {
    const response = await master.api.post<Envelope<{ id: number }>>(
      '/api/backup/tasks',
      { type: 'file', sourcePaths: [work], storageTargetIds: [diskId], ...body },
      { token: admin },
    );
    expect(response.status, response.text).toBe(200);
    tasks[body.name as string] = response.body.data.id;
    return response.body.data.id;
  };
  const insertRecord = async (taskId: number, fileName: string, startedAt: Date) => {
    const id = await insertBackupRecord(db(), { taskId, status: 'success', startedAt });
    await db()
      .updateTable('backupRecords')
      .set({ fileName, storagePath: `archive/${fileName}` })
      .where('id', '=', id)
      .execute();
    return id;
  };

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    viewer = (await master.createUser(admin, 'search-viewer', 'viewer')).token;
    work = mkdtempSync(path.join(tmpdir(), 'bx-search-'));
    const disk = await master.api.post<Envelope<{ id: number }>>(
      '/api/storage-targets',
      {
        name: 'Primary-Disk',
        type: 'local_disk',
        description: 'Main NAS volume',
        config: { basePath: work },
      },
      { token: admin },
    );
    expect(disk.status, disk.text).toBe(200);
    diskId = disk.body.data.id;
    const dav = await master.api.post<Envelope<{ id: number }>>(
      '/api/storage-targets',
      {
        name: 'Offsite DAV',
        type: 'webdav',
        config: { endpoint: 'https://dav.example.com/remote', username: 'bob', password: DAV_PASSWORD },
      },
      { token: admin },
    );
    expect(dav.status, dav.text).toBe(200);
    davId = dav.body.data.id;

    await createTask({ name: 'Website Files', sourcePaths: ['/srv/WWW/html'], tags: 'prod,web' });
    await createTask({
      name: 'Orders DB',
      type: 'mysql',
      sourcePaths: undefined,
      dbHost: 'db.Internal.example',
      dbPort: 3306,
      dbUser: 'root',
      dbPassword: MYSQL_PASSWORD,
      dbName: 'orders',
    });
    await createTask({ name: 'Windows share', sourcePaths: ['/srv/a', 'D:\\Backups\\Db'] });
    await createTask({ name: '100% sure' });
    await createTask({ name: '100X sure' });
    await createTask({ name: 'snap_shot' });
    await createTask({ name: 'snapXshot' });
    await createTask({ name: 'back\\slash' });
    await createTask({ name: 'Record Holder' });
    for (let index = 1; index <= 12; index += 1)
      await createTask({ name: `bulk-${String(index).padStart(2, '0')}` });

    const node = await master.api.post<Envelope<{ id: number }>>(
      '/api/nodes',
      { name: 'edge-Berlin' },
      { token: admin },
    );
    expect(node.status, node.text).toBe(200);
    nodeId = node.body.data.id;
    await db()
      .updateTable('nodes')
      .set({ hostname: 'berlin-01.example.net', ipAddress: '10.20.30.40' })
      .where('id', '=', nodeId)
      .execute();
  });
  afterAll(async () => {
    await master.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it('finds tasks by name, type, tags, source path and database, whatever the case', async () => {
    const website = tasks['Website Files'];
    const orders = tasks['Orders DB'];
    expect((await search('WEBSITE')).tasks).toEqual([
      {
        kind: 'task',
        id: website,
        title: 'Website Files',
        subtitle: 'file',
        highlight: 'Website Files',
        url: '/backup/tasks',
      },
    ]);
    expect((await search('Prod')).tasks).toEqual([
      {
        kind: 'task',
        id: website,
        title: 'Website Files',
        subtitle: 'file',
        highlight: 'prod,web',
        url: '/backup/tasks',
      },
    ]);
    expect((await search('/srv/www')).tasks.map((item) => [item.id, item.highlight])).toEqual([
      [website, '/srv/WWW/html'],
    ]);
    for (const [q, highlight] of [
      ['DB.INTERNAL', 'db.Internal.example'],
      ['ORDERS', 'Orders DB'],
      ['MySQL', 'mysql'],
    ] as const) {
      const result = await search(q);
      expect(
        result.tasks.map((item) => item.id),
        q,
      ).toEqual([orders]);
      expect(result.tasks[0]?.highlight).toBe(highlight);
      expect(result.tasks[0]?.subtitle).toBe('mysql');
    }
    // A later source path, stored in a JSON list, matches as written (backslashes and all).
    const windows = await search('d:\\backups\\db');
    expect(windows.tasks.map((item) => [item.title, item.highlight])).toEqual([
      ['Windows share', 'D:\\Backups\\Db'],
    ]);
    // ...but the JSON syntax around the paths does not.
    expect((await search('"')).tasks).toEqual([]);
    expect((await search('","')).tasks).toEqual([]);
  });

  it('finds storage targets by name, description and type', async () => {
    expect((await search('primary')).storage).toEqual([
      {
        kind: 'storage',
        id: diskId,
        title: 'Primary-Disk',
        subtitle: 'local_disk',
        highlight: 'Primary-Disk',
        url: '/storage-targets',
      },
    ]);
    expect((await search('nas VOLUME')).storage.map((item) => [item.id, item.highlight])).toEqual([
      [diskId, 'Main NAS volume'],
    ]);
    expect((await search('WebDAV')).storage.map((item) => [item.id, item.highlight])).toEqual([
      [davId, 'webdav'],
    ]);
  });

  it('finds nodes by name, hostname and IP address', async () => {
    const expected = {
      kind: 'node',
      id: nodeId,
      title: 'edge-Berlin',
      subtitle: 'berlin-01.example.net',
      url: '/nodes',
    };
    expect((await search('EDGE-berlin')).nodes).toEqual([{ ...expected, highlight: 'edge-Berlin' }]);
    expect((await search('BERLIN-01')).nodes).toEqual([{ ...expected, highlight: 'berlin-01.example.net' }]);
    expect((await search('10.20.30')).nodes).toEqual([{ ...expected, highlight: '10.20.30.40' }]);
  });

  it('takes %, _ and \\ literally', async () => {
    expect(taskTitles(await search('100%'))).toEqual(['100% sure']);
    const percent = await search('%');
    expect(taskTitles(percent)).toEqual(['100% sure']);
    expect(percent.totalCount).toBe(1);
    expect(taskTitles(await search('snap_'))).toEqual(['snap_shot']);
    expect(taskTitles(await search('_'))).toEqual(['snap_shot']);
    expect(taskTitles(await search('\\'))).toEqual(['Windows share', 'back\\slash']);
    expect(taskTitles(await search('k\\s'))).toEqual(['back\\slash']);
  });

  it('returns at most 10 results per group, by name', async () => {
    const result = await search('BULK-');
    expect(result.tasks.map((item) => item.title)).toEqual(
      Array.from({ length: 10 }, (_, index) => `bulk-${String(index + 1).padStart(2, '0')}`),
    );
    expect(result.totalCount).toBe(10);
  });

  it('searches records among the 100 most recent only, newest first, by file name, path and task name', async () => {
    const holder = tasks['Record Holder'] ?? 0;
    const now = master.clock.now().getTime();
    const ancient = await insertRecord(holder, 'ancient-archive.tar.zst', new Date(now - 30 * DAY));
    const recent: number[] = [];
    for (let index = 0; index < 100; index += 1)
      recent.push(
        await insertRecord(
          holder,
          `Recent-${String(index).padStart(3, '0')}.tar.zst`,
          new Date(now - 20 * DAY + index * 60_000),
        ),
      );

    expect((await search('ancient')).records).toEqual([]);
    const newest = await search('recent-');
    expect(newest.records).toHaveLength(10);
    expect(newest.records.map((item) => item.id)).toEqual(recent.slice(-10).reverse());
    expect(newest.records[0]).toEqual({
      kind: 'record',
      id: recent[99],
      title: 'Recent-099.tar.zst',
      subtitle: 'Record Holder',
      highlight: 'Recent-099.tar.zst',
      url: `/backup/records?recordId=${recent[99]}`,
    });
    expect((await search('ARCHIVE/recent-050')).records.map((item) => [item.id, item.highlight])).toEqual([
      [recent[50], 'archive/Recent-050.tar.zst'],
    ]);
    const byTask = await search('record holder');
    expect(byTask.tasks.map((item) => item.id)).toEqual([holder]);
    expect(byTask.records).toHaveLength(10);
    expect(byTask.records[0]?.highlight).toBe('Record Holder');

    // Once a newer record is gone, the old one is among the 100 most recent again.
    await db()
      .deleteFrom('backupRecords')
      .where('id', '=', recent[0] ?? 0)
      .execute();
    expect((await search('ANCIENT')).records.map((item) => item.id)).toEqual([ancient]);
  });

  it('answers an empty or blank query with empty groups', async () => {
    const empty = { query: '', tasks: [], records: [], storage: [], nodes: [], totalCount: 0 };
    const absent = await master.api.get<Envelope<SearchResult>>('/api/search', { token: viewer });
    expect(absent.status, absent.text).toBe(200);
    expect(absent.body.data).toEqual(empty);
    const { text: _blankText, ...blank } = await search('   ');
    expect(blank).toEqual(empty);
    const { text: _noneText, ...none } = await search('no-such-thing-anywhere');
    expect(none).toEqual({ ...empty, query: 'no-such-thing-anywhere' });
    expect((await search('  Website  ')).query).toBe('Website');
  });

  it('refuses a query longer than 200 characters with 400 SEARCH_QUERY_INVALID', async () => {
    expect((await search('x'.repeat(200))).totalCount).toBe(0);
    for (const url of [
      `/api/search?q=${'x'.repeat(201)}`,
      '/api/search?q=a&q=b',
      '/api/search?q=a&limit=5',
    ]) {
      const response = await master.api.get<Envelope>(url, { token: viewer });
      expect(response.status, response.text).toBe(400);
      expect(response.body.code).toBe('SEARCH_QUERY_INVALID');
    }
  });

  it('never returns or searches secrets', async () => {
    for (const q of [MYSQL_PASSWORD, 'mysql-Secret', DAV_PASSWORD, 'bob', 'dav.example.com']) {
      const result = await search(q);
      expect(result.totalCount, q).toBe(0);
    }
    const orders = await search('Orders');
    const dav = await search('Offsite');
    expect(dav.storage.map((item) => item.id)).toEqual([davId]);
    const configs = await db().selectFrom('storageTargets').select('configCiphertext').execute();
    const taskSecrets = await db().selectFrom('backupTasks').select('dbPasswordCiphertext').execute();
    const nodeTokens = await db().selectFrom('nodes').select(['tokenHash', 'tokenCiphertext']).execute();
    for (const text of [orders.text, dav.text, (await search('e')).text]) {
      expect(text).not.toContain(MYSQL_PASSWORD);
      expect(text).not.toContain(DAV_PASSWORD);
      for (const secret of [
        ...configs.map((row) => row.configCiphertext),
        ...taskSecrets.map((row) => row.dbPasswordCiphertext),
        ...nodeTokens.flatMap((row) => [row.tokenHash, row.tokenCiphertext]),
      ].filter((value) => value !== ''))
        expect(text).not.toContain(secret);
    }
    for (const group of [orders.tasks, dav.storage])
      for (const item of group)
        expect(
          Object.keys(item).every((key) =>
            ['kind', 'id', 'title', 'subtitle', 'highlight', 'url'].includes(key),
          ),
        ).toBe(true);
  });
});
