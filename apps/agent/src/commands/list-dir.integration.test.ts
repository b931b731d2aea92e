import { writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LIST_DIR_MAX_ENTRIES, listDir, listDirectory } from './list-dir.ts';
import type { CommandContext } from './types.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bx-agent-ls-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('list_dir', () => {
  it('lists directories first, then by name, with file sizes and 0 for directories', async () => {
    await mkdir(path.join(dir, 'zeta'));
    await mkdir(path.join(dir, 'alpha'));
    await writeFile(path.join(dir, 'b.txt'), 'hello');
    await writeFile(path.join(dir, 'A.txt'), '');
    await symlink(path.join(dir, 'zeta'), path.join(dir, 'link-to-dir'));
    await symlink(path.join(dir, 'missing'), path.join(dir, 'dangling'));
    const { entries, truncated } = await listDirectory(dir);
    expect(truncated).toBeUndefined();
    expect(entries).toEqual([
      { name: 'alpha', path: path.join(dir, 'alpha'), isDir: true, size: 0 },
      { name: 'link-to-dir', path: path.join(dir, 'link-to-dir'), isDir: true, size: 0 },
      { name: 'zeta', path: path.join(dir, 'zeta'), isDir: true, size: 0 },
      { name: 'A.txt', path: path.join(dir, 'A.txt'), isDir: false, size: 0 },
      { name: 'b.txt', path: path.join(dir, 'b.txt'), isDir: false, size: 5 },
      { name: 'dangling', path: path.join(dir, 'dangling'), isDir: false, size: 0 },
    ]);
  });

  it('reads an empty path as the root', async () => {
    const { entries } = (await listDir({} as CommandContext, { path: '' })) as Awaited<
      ReturnType<typeof listDirectory>
    >;
    expect(entries.some((entry) => entry.path === '/tmp' && entry.isDir)).toBe(true);
  });

  it('fails with the OS message when the directory cannot be read', async () => {
    await expect(listDirectory(path.join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
    await writeFile(path.join(dir, 'file'), 'x');
    await expect(listDirectory(path.join(dir, 'file'))).rejects.toThrow(/ENOTDIR/);
  });

  it(`stops at ${String(LIST_DIR_MAX_ENTRIES)} entries, says so, and answers fast`, async () => {
    await mkdir(path.join(dir, 'sub'));
    for (let i = 0; i < LIST_DIR_MAX_ENTRIES + 10; i += 1)
      writeFileSync(path.join(dir, `f${String(i).padStart(5, '0')}`), 'x');
    const started = performance.now();
    const listing = await listDirectory(dir);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(listing.truncated).toBe(true);
    expect(listing.entries).toHaveLength(LIST_DIR_MAX_ENTRIES);
    expect(listing.entries[0]).toMatchObject({ name: 'sub', isDir: true });
    expect(listing.entries.at(-1)).toMatchObject({ name: 'f04998', size: 1 });
  });
});
