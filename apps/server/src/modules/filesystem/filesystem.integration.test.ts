import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FsList } from '@backupx/contract';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

describe.each(dialects)('directory picker on %s', (dialect) => {
  let master: TestMaster;
  let operator: string;
  let root: string;

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    const admin = await master.setupAdmin();
    operator = (await master.createUser(admin, 'picker', 'operator')).token;
    root = mkdtempSync(path.join(tmpdir(), 'bx-fs-'));
    mkdirSync(path.join(root, 'beta'));
    mkdirSync(path.join(root, 'alpha', 'deep', 'deeper'), { recursive: true });
    writeFileSync(path.join(root, 'alpha', 'deep', 'hidden.txt'), 'not listed from the root');
    writeFileSync(path.join(root, 'b-file.txt'), 'hello');
    writeFileSync(path.join(root, 'a-file.bin'), Buffer.alloc(1234));
    symlinkSync(path.join(root, 'alpha'), path.join(root, 'link-to-alpha'));
    symlinkSync(path.join(root, 'missing'), path.join(root, 'dangling'));
  });
  afterAll(async () => {
    rmSync(root, { recursive: true, force: true });
    await master.destroy();
  });

  const list = (query: string) =>
    master.api.get<Envelope<FsList>>(`/api/system/fs/list${query}`, { token: operator });

  it('lists one level, directories first then by name, with file sizes', async () => {
    const response = await list(`?path=${encodeURIComponent(root)}`);
    expect(response.status, response.text).toBe(200);
    expect(response.body.data).toEqual({
      path: root,
      parent: path.dirname(root),
      truncated: false,
      entries: [
        { name: 'alpha', path: path.join(root, 'alpha'), isDir: true, size: 0 },
        { name: 'beta', path: path.join(root, 'beta'), isDir: true, size: 0 },
        { name: 'link-to-alpha', path: path.join(root, 'link-to-alpha'), isDir: true, size: 0 },
        { name: 'a-file.bin', path: path.join(root, 'a-file.bin'), isDir: false, size: 1234 },
        { name: 'b-file.txt', path: path.join(root, 'b-file.txt'), isDir: false, size: 5 },
        { name: 'dangling', path: path.join(root, 'dangling'), isDir: false, size: 0 },
      ],
    });
    expect(response.text).not.toContain('deeper');
    expect(response.text).not.toContain('hidden.txt');
  });

  it('cleans the path and starts at / when it is empty', async () => {
    const cleaned = await list(`?path=${encodeURIComponent(`${root}/alpha/../alpha/./deep/`)}`);
    expect(cleaned.status, cleaned.text).toBe(200);
    expect(cleaned.body.data.path).toBe(path.join(root, 'alpha', 'deep'));
    expect(cleaned.body.data.entries.map((entry) => entry.name)).toEqual(['deeper', 'hidden.txt']);

    for (const query of ['', '?path=', '?path=%20']) {
      const top = await list(query);
      expect(top.status, query).toBe(200);
      expect(top.body.data.path).toBe('/');
      expect(top.body.data.parent).toBeNull();
      expect(top.body.data.entries.some((entry) => entry.name === 'tmp' && entry.isDir)).toBe(true);
    }
  });

  it('refuses missing, relative and non-directory paths with FS_PATH_INVALID', async () => {
    for (const [target, reason] of [
      [path.join(root, 'nope'), /does not exist/],
      [path.join(root, 'b-file.txt'), /not a directory/],
      [path.join(root, 'dangling'), /does not exist/],
      ['relative/path', /must be absolute/],
      ['a\u0000b', /NUL/],
    ] as const) {
      const response = await list(`?path=${encodeURIComponent(target)}`);
      expect(response.status, target).toBe(400);
      expect(response.body.code).toBe('FS_PATH_INVALID');
      expect(response.body.message).toMatch(reason);
    }
    const unknownQuery = await list('?dir=/');
    expect(unknownQuery.status).toBe(400);
  });
});
