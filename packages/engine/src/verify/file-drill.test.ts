/**
 * Deep file drills on real trees: the engine's own backup and restore, then the restored tree
 * against the manifest — untouched, tampered with, and after a full + differential chain.
 */
import { createHash, randomBytes } from 'node:crypto';
import { truncateSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../errors.ts';
import { backupFiles } from '../sources/files/file-source.ts';
import { restoreFiles } from '../sources/files/file-restore.ts';
import { decodeManifest, encodeManifest } from '../sources/files/manifest.ts';
import { TAR_CHUNK_BYTES, walkToTar } from '../sources/files/tar-walker.ts';
import { createTestContext, readAll } from '../sources/test-context.ts';
import type { TestContext } from '../sources/test-context.ts';
import type { Manifest, ManifestEntry } from '../sources/types.ts';
import { compareTreeWithManifest } from './file-drill.ts';

let root: string;
let ctx: TestContext;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'bx-file-drill-'));
  ctx = await createTestContext({});
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await ctx.cleanup();
});

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** Backs up `source` and returns the archive and its manifest, the latter as the database keeps it. */
const backup = async (source: string, baseline?: Manifest) => {
  const artifact = await backupFiles(ctx, {
    taskName: 'drill',
    sourcePaths: [source],
    ...(baseline === undefined ? {} : { baseline }),
  });
  const [archive, completion] = await Promise.all([readAll(artifact.stream), artifact.completion]);
  expect(completion.manifest).toBeDefined();
  return {
    archive,
    kind: completion.backupKind,
    manifest: decodeManifest(encodeManifest(completion.manifest as Manifest)),
  };
};

const restoreInto = async (name: string, source: string, archives: Buffer[]): Promise<string> => {
  const target = path.join(root, name);
  await restoreFiles(
    ctx,
    archives.map((archive) => Readable.from([archive])),
    { sourcePaths: [source], targetPath: target },
  );
  return target;
};

const byPath = (manifest: Manifest): Map<string, ManifestEntry> =>
  new Map(manifest.entries.map((entry) => [entry.p, entry]));

const setTime = (file: string, seconds: number) => utimes(file, seconds, seconds);

/** site/: files of several sizes (one spanning tar chunks, one empty), a symlink, modes. */
const makeSite = async (site: string): Promise<void> => {
  await mkdir(path.join(site, 'sub', 'deep'), { recursive: true });
  await mkdir(path.join(site, 'private'), { mode: 0o700 });
  await writeFile(path.join(site, 'a.txt'), 'hello, drill');
  await writeFile(path.join(site, 'b.txt'), 'b'.repeat(5000));
  await writeFile(path.join(site, 'empty.txt'), '');
  await writeFile(path.join(site, 'sub', 'big.bin'), randomBytes(TAR_CHUNK_BYTES * 2 + 12345));
  await writeFile(path.join(site, 'sub', 'deep', 'c.txt'), 'c');
  await writeFile(path.join(site, 'private', 'key.txt'), 'secret', { mode: 0o600 });
  await chmod(path.join(site, 'private', 'key.txt'), 0o600);
  await symlink('a.txt', path.join(site, 'link'));
};

describe('compareTreeWithManifest after a full backup', () => {
  const site = () => path.join(root, 'full', 'site');
  let manifest: Manifest;
  let archive: Buffer;

  beforeAll(async () => {
    await makeSite(site());
    ({ manifest, archive } = await backup(site()));
  });

  it('records h, the SHA-256 of each regular file, and only for regular files', async () => {
    const entries = byPath(manifest);
    for (const rel of ['a.txt', 'b.txt', 'empty.txt', 'sub/big.bin', 'sub/deep/c.txt', 'private/key.txt'])
      expect(entries.get(`site/${rel}`)?.h).toBe(sha256(await readFile(path.join(site(), rel))));
    expect(entries.get('site/empty.txt')?.h).toBe(sha256(''));
    for (const entry of manifest.entries)
      if (entry.d === true || entry.l !== undefined) expect(entry.h).toBeUndefined();
  });

  it('finds a faithful restore equal to the manifest, every file hashed', async () => {
    const target = await restoreInto('full-restore', site(), [archive]);
    const result = await compareTreeWithManifest(target, manifest);
    expect(result.mismatches).toEqual([]);
    expect(result).toMatchObject({ entries: 10, files: 6, directories: 3, symlinks: 1, hashed: 6 });
    expect(result.bytes).toBe(12 + 5000 + TAR_CHUNK_BYTES * 2 + 12345 + 1 + 6);
    expect(result.summary).toBe('10 entries match the manifest (6 files, 2.1 MB, 6 hashes checked)');
  });

  it('still compares manifests written before h (nothing hashed)', async () => {
    const target = path.join(root, 'full-restore');
    const old = decodeManifest(encodeManifest(manifest).replace(/,"h":"[0-9a-f]{64}"/g, ''));
    const result = await compareTreeWithManifest(target, old);
    expect(result.mismatches).toEqual([]);
    expect(result.hashed).toBe(0);
  });

  it('reports each kind of tampering by path, capped but counted', async () => {
    const target = await restoreInto('tampered', site(), [archive]);
    const at = (rel: string) => path.join(target, 'site', rel);
    await writeFile(at('a.txt'), 'HELLO, DRILL'); // same size, other bytes
    await truncate(at('b.txt'), 100);
    await rm(at('sub/deep/c.txt'));
    await writeFile(at('sub/extra.txt'), 'not backed up');
    await mkdir(at('stray/inner'), { recursive: true });
    await chmod(at('private/key.txt'), 0o644);
    await rm(at('link'));
    await symlink('b.txt', at('link'));

    const result = await compareTreeWithManifest(target, manifest);
    expect(result.mismatches).toEqual([
      'site/a.txt: content SHA-256 differs from the manifest',
      'site/b.txt: size 100 ≠ manifest 5000',
      'site/link: symlink target "b.txt" ≠ manifest "a.txt"',
      'site/private/key.txt: mode 0644 ≠ manifest 0600',
      'site/sub/deep/c.txt: missing',
      'site/stray: not in the manifest',
      'site/sub/extra.txt: not in the manifest',
    ]);
    // The truncated file is not hashed: its size already differs.
    expect(result.hashed).toBe(4);
    expect(result.summary).toBe('5 of 10 entries differ from the manifest; 2 entries not in the manifest');

    const capped = await compareTreeWithManifest(target, manifest, { maxMismatches: 2 });
    expect(capped.mismatches).toHaveLength(2);
    expect(capped.summary).toBe(
      '5 of 10 entries differ from the manifest; 2 entries not in the manifest (first 2 listed)',
    );
  });

  it('reports an entry of another type and a missing restore root', async () => {
    const target = await restoreInto('retyped', site(), [archive]);
    await rm(path.join(target, 'site', 'sub'), { recursive: true });
    await writeFile(path.join(target, 'site', 'sub'), 'a file now');
    const result = await compareTreeWithManifest(target, manifest);
    expect(result.mismatches).toEqual([
      'site/sub: is a file, the manifest has a directory',
      'site/sub/big.bin: missing',
      'site/sub/deep: missing',
      'site/sub/deep/c.txt: missing',
    ]);

    const nowhere = await compareTreeWithManifest(path.join(root, 'never-restored'), manifest);
    expect(nowhere.mismatches[0]).toBe('site/a.txt: missing');
    expect(nowhere.summary).toBe('10 of 10 entries differ from the manifest; 1 entry not in the manifest');
    expect(nowhere.mismatches.at(-1)).toMatch(/^\.: cannot be listed \(ENOENT/);
  });

  it('stops with ENGINE_CANCELLED when the signal fires', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const target = path.join(root, 'full-restore');
    await expect(compareTreeWithManifest(target, manifest, { signal: controller.signal })).rejects.toThrow(
      EngineError,
    );
    await expect(
      compareTreeWithManifest(target, manifest, { signal: controller.signal }),
    ).rejects.toMatchObject({ code: 'ENGINE_CANCELLED', stage: 'verify' });
  });
});

describe('differential manifests', () => {
  const site = () => path.join(root, 'diff', 'site');

  it('list the whole tree after full + differential, unchanged files keeping the baseline h', async () => {
    const s = site();
    await makeSite(s);
    for (const rel of ['a.txt', 'b.txt', 'sub/deep/c.txt']) await setTime(path.join(s, rel), 1_700_000_000);
    const full = await backup(s);
    expect(full.kind).toBe('full');

    await writeFile(path.join(s, 'a.txt'), 'version 2 of a, longer');
    await writeFile(path.join(s, 'b.txt'), 'B'.repeat(5000)); // same size, new mtime
    await rm(path.join(s, 'sub', 'deep'), { recursive: true });
    await mkdir(path.join(s, 'added'));
    await writeFile(path.join(s, 'added', 'new.txt'), 'new file');
    await rm(path.join(s, 'link'));
    await symlink('b.txt', path.join(s, 'link'));
    const diff = await backup(s, full.manifest);
    expect(diff.kind).toBe('differential');

    const before = byPath(full.manifest);
    const after = byPath(diff.manifest);
    expect([...after.keys()].sort()).toEqual(
      [
        'site/a.txt',
        'site/added',
        'site/added/new.txt',
        'site/b.txt',
        'site/empty.txt',
        'site/link',
        'site/private',
        'site/private/key.txt',
        'site/sub',
        'site/sub/big.bin',
      ].sort(),
    );
    expect(after.get('site/a.txt')?.h).toBe(sha256('version 2 of a, longer'));
    expect(after.get('site/b.txt')?.h).toBe(sha256('B'.repeat(5000)));
    expect(after.get('site/added/new.txt')?.h).toBe(sha256('new file'));
    expect(after.get('site/link')?.l).toBe('b.txt');
    // Not read again: the baseline's entries, h included.
    for (const rel of ['site/empty.txt', 'site/sub/big.bin', 'site/private/key.txt', 'site/sub'])
      expect(after.get(rel)).toEqual(before.get(rel));

    // What it describes is what a fresh full backup of the tree sees (directory mtimes aside:
    // unchanged directories are not written, so a restore keeps the full's).
    const fresh = await backup(s);
    const shape = (manifest: Manifest) =>
      manifest.entries
        .map((entry) => ({ ...entry, m: entry.d === true ? 0 : entry.m }))
        .sort((a, b) => (a.p < b.p ? -1 : 1));
    expect(shape(diff.manifest)).toEqual(shape(fresh.manifest));

    const target = await restoreInto('diff-restore', s, [full.archive, diff.archive]);
    const result = await compareTreeWithManifest(target, diff.manifest);
    expect(result.mismatches).toEqual([]);
    expect(result.hashed).toBe(result.files);
    expect(result.files).toBe(6);

    // The full's manifest no longer describes that tree.
    const stale = await compareTreeWithManifest(target, full.manifest);
    expect(stale.mismatches).toEqual([
      'site/a.txt: size 22 ≠ manifest 12',
      'site/b.txt: content SHA-256 differs from the manifest',
      'site/link: symlink target "b.txt" ≠ manifest "a.txt"',
      'site/sub/deep: missing',
      'site/sub/deep/c.txt: missing',
      'site/added: not in the manifest',
    ]);
  });
});

describe('h of a file that shrank while it was read', () => {
  it('covers the zero padding, which is what a restore writes', async () => {
    const dir = path.join(root, 'shrink');
    await mkdir(dir);
    const file = path.join(dir, 'log.bin');
    const original = randomBytes(TAR_CHUNK_BYTES * 3);
    await writeFile(file, original);
    const keep = TAR_CHUNK_BYTES + 777;
    const chunks: Buffer[] = [];
    let cut = false;
    const completion = walkToTar(
      { sources: [dir], excludePatterns: [], baseline: null, nowMs: Date.now() },
      {
        emit: (chunk, length) => {
          // The first chunk leaves mid-file: the rest of the file goes before the walk reads on.
          if (!cut) truncateSync(file, keep);
          cut = true;
          chunks.push(Buffer.from(chunk.subarray(0, length)));
        },
        log: () => undefined,
        cancelled: () => false,
      },
    );
    const expected = Buffer.concat([original.subarray(0, keep), Buffer.alloc(original.length - keep)]);
    const entry = completion.manifest?.entries.find((e) => e.p === 'shrink/log.bin');
    expect(entry).toMatchObject({ s: original.length, h: sha256(expected) });

    const target = path.join(root, 'shrink-restore');
    await restoreFiles(ctx, [Readable.from([Buffer.concat(chunks)])], {
      sourcePaths: [dir],
      targetPath: target,
    });
    const result = await compareTreeWithManifest(target, completion.manifest as Manifest);
    expect(result.mismatches).toEqual([]);
    expect(result.hashed).toBe(1);
  });
});
