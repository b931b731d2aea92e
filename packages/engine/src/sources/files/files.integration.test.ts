/**
 * File source + restore + tar verifier on real temp directories (SPEC §3.12, §3.13, §7.3, §8.3).
 *
 * Unreadable entries: the tests run as root, who can read a chmod-000 file, so "unreadable" is
 * exercised with a FIFO (never read, warned) and a file removed between the directory listing and
 * its read (the test's log hook deletes it when the walk logs `[DIR]` for its directory).
 *
 * `BACKUPX_TEST_BIG_FILE_BYTES` sets the size of the big file of the round trip (default 2 GiB).
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, unlinkSync } from 'node:fs';
import {
  chmod,
  lstat,
  lutimes,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../../errors.ts';
import { readTarEntries, verifyTar } from '../../verify/tar-verifier.ts';
import { createTestContext, readAll } from '../test-context.ts';
import type { TestContext } from '../test-context.ts';
import type { Manifest, SourceCompletion } from '../types.ts';
import { backupFiles } from './file-source.ts';
import type { FileBackupOptions } from './file-source.ts';
import { restoreFiles } from './file-restore.ts';
import type { FileRestoreOptions } from './file-restore.ts';
import { decodeManifest, encodeManifest } from './manifest.ts';
import { walkToTar } from './tar-walker.ts';

const BIG_FILE_BYTES = Number(process.env.BACKUPX_TEST_BIG_FILE_BYTES ?? 2 * 1024 ** 3);
const SMALL_FILES = 10_000;

let root: string;
let ctx: TestContext;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'bx-files-'));
  ctx = await createTestContext({});
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await ctx.cleanup();
});

// ---------------------------------------------------------------- helpers

interface Snap {
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  mtimeMs: number;
  size: number;
  sha256?: string;
  link?: string;
}

const sha256File = async (file: string, size = Infinity): Promise<string> => {
  if (size < 1024 * 1024)
    return createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
  const hash = createHash('sha256');
  await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), hash);
  return hash.digest('hex');
};

/** Every entry below `dir` (not `dir` itself), keyed by relative path. */
const snapshot = async (dir: string): Promise<Map<string, Snap>> => {
  const out = new Map<string, Snap>();
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const name of (await readdir(abs)).sort()) {
      const childAbs = path.join(abs, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(childAbs);
      if (st.isSymbolicLink()) {
        out.set(childRel, {
          type: 'symlink',
          mode: 0,
          mtimeMs: st.mtimeMs,
          size: 0,
          link: await readlink(childAbs),
        });
      } else if (st.isDirectory()) {
        out.set(childRel, { type: 'dir', mode: st.mode & 0o7777, mtimeMs: st.mtimeMs, size: 0 });
        await walk(childAbs, childRel);
      } else {
        out.set(childRel, {
          type: 'file',
          mode: st.mode & 0o7777,
          mtimeMs: st.mtimeMs,
          size: st.size,
          sha256: await sha256File(childAbs, st.size),
        });
      }
    }
  };
  await walk(dir, '');
  return out;
};

/** Differences between two snapshots (mtime to better than a millisecond). */
const diffSnapshots = (expected: Map<string, Snap>, actual: Map<string, Snap>): string[] => {
  const problems: string[] = [];
  for (const [key, want] of expected) {
    const got = actual.get(key);
    if (got === undefined) {
      problems.push(`missing ${key}`);
      continue;
    }
    for (const field of ['type', 'mode', 'size', 'sha256', 'link'] as const)
      if (want[field] !== got[field])
        problems.push(`${key}: ${field} ${String(want[field])} != ${String(got[field])}`);
    if (Math.abs(want.mtimeMs - got.mtimeMs) >= 1)
      problems.push(`${key}: mtime ${want.mtimeMs} != ${got.mtimeMs}`);
  }
  for (const key of actual.keys()) if (!expected.has(key)) problems.push(`unexpected ${key}`);
  return problems;
};

const backupToBuffer = async (
  options: FileBackupOptions,
  context: TestContext = ctx,
): Promise<{ archive: Buffer; completion: SourceCompletion; fileName: string }> => {
  const artifact = await backupFiles(context, options);
  const [archive, completion] = await Promise.all([readAll(artifact.stream), artifact.completion]);
  return { archive, completion, fileName: artifact.fileName };
};

interface Listed {
  name: string;
  type: string | null;
  mode: number;
  size: number;
  linkname: string | null;
  body: Buffer;
}

const listTar = async (archive: Buffer): Promise<Listed[]> => {
  const out: Listed[] = [];
  for await (const { header, stream } of readTarEntries(Readable.from([archive]))) {
    out.push({
      name: header.name,
      type: header.type,
      mode: header.mode,
      size: header.size,
      linkname: header.linkname,
      body: await readAll(stream),
    });
  }
  return out;
};

const restore = (archives: Buffer[], options: FileRestoreOptions) =>
  restoreFiles(
    ctx,
    archives.map((buffer) => Readable.from([buffer])),
    options,
  );

const expectEngineError = async (promise: Promise<unknown>, code: string): Promise<EngineError> => {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code, (error as Error).message).toBe(code);
    return error as EngineError;
  }
  throw new Error(`expected ${code}, but it succeeded`);
};

const setTime = (file: string, seconds: number) => utimes(file, seconds, seconds);

/** Writes `bytes` of pseudo-random data without holding more than 1 MiB. */
const writeBigFile = async (file: string, bytes: number): Promise<void> => {
  const handle = await open(file, 'w');
  try {
    const block = randomBytes(1024 * 1024);
    let written = 0;
    let index = 0;
    while (written < bytes) {
      const chunk = Buffer.from(block.subarray(0, Math.min(block.length, bytes - written)));
      if (chunk.length >= 8) chunk.writeBigUInt64LE(BigInt(index), 0);
      await handle.write(chunk);
      written += chunk.length;
      index += 1;
    }
  } finally {
    await handle.close();
  }
};

const LONG = `long-${'n'.repeat(120)}`;

/** The round-trip tree: unicode, empty entries, symlinks, modes, mtimes, many small files, a big file. */
const makeTree = async (tree: string, smallFiles: number, bigBytes: number): Promise<void> => {
  await mkdir(tree, { recursive: true });
  await writeFile(path.join(tree, 'empty.txt'), '');
  await mkdir(path.join(tree, 'empty-dir'));
  await writeFile(path.join(tree, 'résumé.txt'), 'unicode ✓\n');
  await mkdir(path.join(tree, '日本語'));
  await writeFile(path.join(tree, '日本語', 'ファイル.txt'), 'こんにちは\n');
  await writeFile(path.join(tree, 'emoji-😀.txt'), '😀\n');
  await mkdir(path.join(tree, LONG));
  await writeFile(path.join(tree, LONG, `${LONG}.txt`), 'long name\n');
  await writeFile(path.join(tree, 'ro.txt'), 'read only\n');
  await writeFile(path.join(tree, 'private.txt'), 'private\n');
  await writeFile(path.join(tree, 'script.sh'), '#!/bin/sh\necho hi\n');
  await mkdir(path.join(tree, 'secret-dir'));
  await writeFile(path.join(tree, 'secret-dir', 'key'), 'k');
  await symlink('résumé.txt', path.join(tree, 'link-rel'));
  await symlink('日本語', path.join(tree, 'link-dir'));
  await symlink(path.join(tree, 'ro.txt'), path.join(tree, 'link-abs'));
  await symlink('does-not-exist', path.join(tree, 'link-dangling'));
  await symlink(`${LONG}/${LONG}.txt`, path.join(tree, 'link-long'));
  await mkdir(path.join(tree, 'many'));
  const perDir = 100;
  for (let d = 0; d * perDir < smallFiles; d += 1) {
    const dir = path.join(tree, 'many', `d${String(d).padStart(3, '0')}`);
    await mkdir(dir);
    const writes: Promise<void>[] = [];
    for (let f = 0; f < perDir && d * perDir + f < smallFiles; f += 1)
      writes.push(writeFile(path.join(dir, `f${String(f).padStart(3, '0')}.txt`), `file ${d}/${f}\n`));
    await Promise.all(writes);
  }
  await writeBigFile(path.join(tree, 'big.bin'), bigBytes);

  await chmod(path.join(tree, 'ro.txt'), 0o444);
  await chmod(path.join(tree, 'private.txt'), 0o600);
  await chmod(path.join(tree, 'script.sh'), 0o755);
  await setTime(path.join(tree, 'ro.txt'), 1_600_000_000.25);
  await setTime(path.join(tree, 'private.txt'), 1_500_000_000);
  await setTime(path.join(tree, 'résumé.txt'), 1_234_567_890.5);
  await lutimes(path.join(tree, 'link-rel'), 1_400_000_000.75, 1_400_000_000.75);
  await setTime(path.join(tree, '日本語'), 1_300_000_000);
  await setTime(path.join(tree, 'empty-dir'), 1_200_000_000.125);
  await chmod(path.join(tree, 'secret-dir'), 0o700);
  await setTime(path.join(tree, 'secret-dir'), 1_100_000_000);
};

// ---------------------------------------------------------------- full round trip

describe('file backup → restore round trip', () => {
  it(
    'restores a generated tree entry by entry (types, modes, mtimes, sizes, SHA-256, symlink targets)',
    { timeout: 60 * 60_000 },
    async () => {
      const src = path.join(root, 'rt-src');
      const tree = path.join(src, 'tree');
      const started = Date.now();
      await makeTree(tree, SMALL_FILES, BIG_FILE_BYTES);
      const expected = await snapshot(tree);
      const prepared = Date.now();

      const memory = { base: process.memoryUsage(), peak: 0 };
      const sample = (): void => {
        const usage = process.memoryUsage();
        memory.peak = Math.max(memory.peak, usage.heapUsed + usage.arrayBuffers);
      };
      const sampler = setInterval(sample, 50);

      const dst = path.join(root, 'rt-dst');
      const lines: string[] = [];
      const context: TestContext = { ...ctx, log: (level, message) => lines.push(`${level} ${message}`) };
      const artifact = await backupFiles(context, {
        taskName: 'Round Trip',
        sourcePaths: [tree],
        excludePatterns: [],
      });
      expect(artifact.fileName).toBe('round_trip_20260421T020000.tar');
      // The archive streams straight into the restore: nothing of it is ever held in memory.
      const [result, completion] = await Promise.all([
        restoreFiles(context, [artifact.stream], { sourcePaths: [tree], targetPath: dst }),
        artifact.completion,
      ]);
      clearInterval(sampler);
      sample();
      const transferred = Date.now();

      expect(completion.backupKind).toBe('full');
      expect(completion.manifest?.entries.length).toBe(expected.size);
      const manifest = new Map(completion.manifest?.entries.map((entry) => [entry.p, entry]));
      expect(manifest.get('tree/link-abs')).toMatchObject({ l: path.join(tree, 'ro.txt'), s: 0 });
      expect(manifest.get('tree/secret-dir')).toMatchObject({ d: true, o: 0o700 });
      expect(manifest.get('tree/ro.txt')).toMatchObject({ o: 0o444, s: 10, m: 1_600_000_000_250_000_000 });
      expect(manifest.has('tree')).toBe(false);
      expect(result.destination).toBe(dst);
      expect(result.files).toBe(
        expected.size - [...expected.values()].filter((s) => s.type !== 'file').length,
      );

      const actual = await snapshot(path.join(dst, 'tree'));
      expect(diffSnapshots(expected, actual)).toEqual([]);
      expect(await readdir(dst)).toEqual(['tree']);
      expect((await readdir(root)).filter((name) => name.startsWith('.backupx-restore-'))).toEqual([]);

      expect(lines.filter((line) => line.includes('[PROGRESS]')).length).toBeGreaterThanOrEqual(
        SMALL_FILES / 100,
      );
      expect(lines).toContain('info [DIR] tree/many/d000');
      expect(lines.some((line) => line.startsWith('warn'))).toBe(false);
      const peakMiB = (memory.peak - memory.base.heapUsed - memory.base.arrayBuffers) / 1024 ** 2;
      expect(peakMiB).toBeLessThan(200);
      console.log(
        `[round trip] ${SMALL_FILES} small files + ${BIG_FILE_BYTES} byte file: tree ${(prepared - started) / 1000}s, ` +
          `backup→restore ${(transferred - prepared) / 1000}s, verify ${(Date.now() - transferred) / 1000}s, ` +
          `peak heap+buffers growth ${peakMiB.toFixed(1)} MiB`,
      );
      await rm(src, { recursive: true, force: true });
      await rm(dst, { recursive: true, force: true });
    },
  );

  it('restores to the original place by default (parent of the first source) from several sources', async () => {
    const base = path.join(root, 'multi');
    await mkdir(path.join(base, 'app', 'conf'), { recursive: true });
    await writeFile(path.join(base, 'app', 'conf', 'a.ini'), 'a=1\n');
    await writeFile(path.join(base, 'single.txt'), 'one file\n');
    await mkdir(path.join(base, 'other'), { recursive: true });
    await writeFile(path.join(base, 'other', 'o.txt'), 'o\n');
    const expected = await snapshot(base);

    const { archive, completion } = await backupToBuffer({
      taskName: 'multi',
      sourcePaths: [path.join(base, 'app'), ` ${path.join(base, 'single.txt')} `, path.join(base, 'other')],
    });
    expect(completion.manifest?.entries.map((e) => e.p)).toEqual([
      'app/conf',
      'app/conf/a.ini',
      'single.txt',
      'other/o.txt',
    ]);
    expect((await verifyTar(Readable.from([archive]))).ok).toBe(true);

    await rm(path.join(base, 'app'), { recursive: true });
    await rm(path.join(base, 'single.txt'));
    await writeFile(path.join(base, 'other', 'o.txt'), 'changed locally\n');
    const result = await restore([archive], {
      sourcePaths: [path.join(base, 'app'), path.join(base, 'single.txt')],
    });
    expect(result.destination).toBe(base);
    // The source directories themselves are not archived: their own mtimes are not restored.
    const actual = await snapshot(base);
    expect(actual.get('app')?.type).toBe('dir');
    for (const sourceRoot of ['app', 'other']) {
      expected.delete(sourceRoot);
      actual.delete(sourceRoot);
    }
    expect(diffSnapshots(expected, actual)).toEqual([]);
  });

  it('fails with SOURCE_PATH_MISSING when a source path does not exist', async () => {
    const missing = path.join(root, 'no-such-dir');
    const error = await expectEngineError(
      backupFiles(ctx, { taskName: 'x', sourcePaths: [root, missing] }),
      'SOURCE_PATH_MISSING',
    );
    expect(error.message).toContain(missing);
    await expectEngineError(backupFiles(ctx, { taskName: 'x', sourcePaths: [' '] }), 'SOURCE_PATH_MISSING');
  });
});

// ---------------------------------------------------------------- excludes and unreadable entries

describe('walk rules', () => {
  it('prunes excluded entries, with ** across directories', async () => {
    const proj = path.join(root, 'ex', 'proj');
    for (const dir of ['src/lib', 'node_modules/pkg', 'logs/deep', 'cache', 'src/tmp/x', 'build'])
      await mkdir(path.join(proj, dir), { recursive: true });
    for (const file of [
      'src/a.ts',
      'src/lib/b.ts',
      'src/lib/debug.log',
      'node_modules/pkg/index.js',
      'logs/deep/app.log',
      'logs/keep.txt',
      'cache/c.bin',
      'src/tmp/x/t.txt',
    ])
      await writeFile(path.join(proj, file), file);
    await writeFile(path.join(proj, 'src', 'build'), 'a file named build is not a directory');

    const { archive } = await backupToBuffer({
      taskName: 'ex',
      sourcePaths: [proj],
      excludePatterns: ['**/*.log', 'proj/node_modules', 'cache/', '**/tmp/**', 'build/', ''],
    });
    const names = (await listTar(archive)).map((e) => e.name);
    expect(names).toEqual([
      'proj/logs/',
      'proj/logs/deep/',
      'proj/logs/keep.txt',
      'proj/src/',
      'proj/src/a.ts',
      'proj/src/build',
      'proj/src/lib/',
      'proj/src/lib/b.ts',
      'proj/src/tmp/',
    ]);
  });

  it('warns about and skips a FIFO and a file removed during the walk', async () => {
    const w = path.join(root, 'unreadable', 'w');
    await mkdir(path.join(w, 'victims'), { recursive: true });
    await writeFile(path.join(w, 'victims', 'gone.txt'), 'will vanish');
    await writeFile(path.join(w, 'victims', 'stay.txt'), 'stays');
    execFileSync('mkfifo', [path.join(w, 'fifo')]);
    // In the product the walker runs in a worker thread; here it runs in-process so the file can be
    // removed at an exact point of the walk (when its directory has been written).
    const lines: string[] = [];
    const chunks: Buffer[] = [];
    const completion = walkToTar(
      { sources: [w], excludePatterns: [], baseline: null, nowMs: Date.now() },
      {
        emit: (chunk, length) => chunks.push(chunk.subarray(0, length)),
        log: (level, message) => {
          lines.push(`${level} ${message}`);
          if (message === '[DIR] w/victims') unlinkSync(path.join(w, 'victims', 'gone.txt'));
        },
        cancelled: () => false,
      },
    );
    const archive = Buffer.concat(chunks);
    expect((await listTar(archive)).map((e) => e.name)).toEqual(['w/victims/', 'w/victims/stay.txt']);
    const warnings = lines.filter((line) => line.startsWith('warn'));
    expect(warnings).toEqual([
      `warn [WARN] cannot read ${path.join(w, 'fifo')}: not a regular file, directory or symlink (fifo)`,
      expect.stringMatching(
        new RegExp(`^warn \\[WARN\\] cannot read ${path.join(w, 'victims', 'gone.txt')}: ENOENT`),
      ),
    ]);
    expect(completion.summary).toContain('2 warnings');
    expect(completion.manifest?.entries.map((e) => e.p)).toEqual(['w/victims', 'w/victims/stay.txt']);
  });

  it('stops the walker thread when the run is cancelled mid-archive, and when the reader goes away', async () => {
    const big = path.join(root, 'cancel', 'big');
    await mkdir(big, { recursive: true });
    for (let index = 0; index < 4; index += 1)
      await writeFile(path.join(big, `part-${index}.bin`), randomBytes(16 * 1024 * 1024));

    const cancelling = await createTestContext({});
    const cancelled = await backupFiles(cancelling, { taskName: 'c', sourcePaths: [big] });
    const reading = (async () => {
      for await (const _chunk of cancelled.stream) cancelling.controller.abort();
    })();
    await expect(cancelled.completion).rejects.toMatchObject({ code: 'ENGINE_CANCELLED' });
    await expect(reading).rejects.toMatchObject({ code: 'ENGINE_CANCELLED' });
    await cancelling.cleanup();

    const abandoned = await backupFiles(ctx, { taskName: 'c', sourcePaths: [big] });
    for await (const _chunk of abandoned.stream) break; // destroys the stream after one chunk
    await expect(abandoned.completion).rejects.toBeInstanceOf(EngineError);
  });

  it('reports the FIFO through the walker thread too', async () => {
    const w = path.join(root, 'unreadable-thread', 'w');
    await mkdir(w, { recursive: true });
    await writeFile(path.join(w, 'ok.txt'), 'ok');
    execFileSync('mkfifo', [path.join(w, 'fifo')]);
    const lines: string[] = [];
    const context: TestContext = { ...ctx, log: (level, message) => lines.push(`${level} ${message}`) };
    const { archive, completion } = await backupToBuffer({ taskName: 'w', sourcePaths: [w] }, context);
    expect((await listTar(archive)).map((e) => e.name)).toEqual(['w/ok.txt']);
    expect(lines).toContain(
      `warn [WARN] cannot read ${path.join(w, 'fifo')}: not a regular file, directory or symlink (fifo)`,
    );
    expect(completion.summary).toContain('1 warnings');
  });
});

// ---------------------------------------------------------------- differential

describe('differential backups', () => {
  const site = () => path.join(root, 'diff', 'site');
  let fullArchive: Buffer;
  let manifest: Manifest;
  let diffArchive: Buffer;
  let oldState: Map<string, Snap>;

  beforeAll(async () => {
    const s = site();
    await mkdir(path.join(s, 'keep'), { recursive: true });
    await mkdir(path.join(s, 'keep2'), { recursive: true });
    await mkdir(path.join(s, 'gonedir', 'sub'), { recursive: true });
    await writeFile(path.join(s, 'a.txt'), 'version 1');
    await writeFile(path.join(s, 'b.txt'), 'same size');
    await writeFile(path.join(s, 'gone.txt'), 'deleted later');
    await writeFile(path.join(s, 'gonedir', 'sub', 'x.txt'), 'x');
    await writeFile(path.join(s, 'keep', 'k.txt'), 'k');
    await writeFile(path.join(s, 'keep2', 'k2.txt'), 'k2');
    await writeFile(path.join(s, 'becomes-dir'), 'file for now');
    await symlink('a.txt', path.join(s, 'link'));
    for (const f of ['a.txt', 'b.txt', 'gone.txt', 'keep/k.txt', 'becomes-dir'])
      await setTime(path.join(s, f), 1_700_000_000);
    oldState = await snapshot(s);
    const full = await backupToBuffer({ taskName: 'site', sourcePaths: [s] });
    expect(full.completion.backupKind).toBe('full');
    fullArchive = full.archive;
    // The baseline goes through the database as JSON.
    manifest = decodeManifest(encodeManifest(full.completion.manifest!));

    await writeFile(path.join(s, 'a.txt'), 'version 2, longer');
    await setTime(path.join(s, 'b.txt'), 1_700_000_001);
    await rm(path.join(s, 'gone.txt'));
    await rm(path.join(s, 'gonedir'), { recursive: true });
    await rm(path.join(s, 'becomes-dir'));
    await mkdir(path.join(s, 'becomes-dir'));
    await writeFile(path.join(s, 'becomes-dir', 'inner.txt'), 'inner');
    await mkdir(path.join(s, 'newdir'));
    await writeFile(path.join(s, 'newdir', 'n.txt'), 'new');
    await rm(path.join(s, 'link'));
    await symlink('b.txt', path.join(s, 'link'));
    const diff = await backupToBuffer({ taskName: 'site', sourcePaths: [s], baseline: manifest });
    expect(diff.completion.backupKind).toBe('differential');
    // Its manifest is the whole tree after restoring full + differential, not only what changed.
    expect(diff.completion.manifest?.entries.map((e) => e.p).sort()).toEqual(
      [...(await snapshot(s)).keys()].map((rel) => `site/${rel}`).sort(),
    );
    expect(diff.completion.summary).toContain('4 deletions');
    diffArchive = diff.archive;
  });

  it('contains only changed entries and the deletions as the last entry (mode 0600, sorted)', async () => {
    const entries = await listTar(diffArchive);
    expect(entries.map((e) => e.name)).toEqual([
      'site/a.txt',
      'site/b.txt',
      'site/becomes-dir/',
      'site/becomes-dir/inner.txt',
      'site/link',
      'site/newdir/',
      'site/newdir/n.txt',
      '.backupx/deletions.json',
    ]);
    const last = entries.at(-1)!;
    expect(last.mode).toBe(0o600);
    expect(JSON.parse(last.body.toString('utf8'))).toEqual([
      'site/gone.txt',
      'site/gonedir',
      'site/gonedir/sub',
      'site/gonedir/sub/x.txt',
    ]);
    expect(entries.find((e) => e.name === 'site/link')?.linkname).toBe('b.txt');
    expect((await verifyTar(Readable.from([diffArchive]))).ok).toBe(true);
  });

  it('restores the chain [full, differential] into a new directory', async () => {
    const target = path.join(root, 'diff-restore-new');
    const result = await restore([fullArchive, diffArchive], { sourcePaths: [site()], targetPath: target });
    expect(diffSnapshots(await snapshot(site()), await snapshot(path.join(target, 'site')))).toEqual([]);
    expect(result.deletions).toBe(0);
  });

  it('applies the differential over an earlier restore, deleting what was deleted', async () => {
    const target = path.join(root, 'diff-restore-over');
    await restore([fullArchive], { sourcePaths: [site()], targetPath: target });
    expect(diffSnapshots(oldState, await snapshot(path.join(target, 'site')))).toEqual([]);
    await writeFile(path.join(target, 'site', 'local-only.txt'), 'not in any backup');
    const result = await restore([fullArchive, diffArchive], { sourcePaths: [site()], targetPath: target });
    expect(result.deletions).toBe(2);
    const expected = await snapshot(site());
    const actual = await snapshot(path.join(target, 'site'));
    expect(actual.has('local-only.txt')).toBe(true);
    actual.delete('local-only.txt');
    expect(diffSnapshots(expected, actual)).toEqual([]);
  });

  it('is a full backup when there is no baseline or an empty one', async () => {
    for (const baseline of [undefined, { entries: [] }, decodeManifest('')]) {
      const { archive, completion } = await backupToBuffer({
        taskName: 'site',
        sourcePaths: [site()],
        baseline,
      });
      expect(completion.backupKind).toBe('full');
      expect(completion.manifest?.entries.length).toBe((await snapshot(site())).size);
      expect((await listTar(archive)).some((e) => e.name === '.backupx/deletions.json')).toBe(false);
    }
  });

  it('restores selected paths only (equal or below, not a sibling sharing the prefix)', async () => {
    const target = path.join(root, 'selective');
    const result = await restore([fullArchive], {
      sourcePaths: [site()],
      targetPath: target,
      selectedPaths: ['site/keep', '/site/a.txt/'],
    });
    expect(result.entries).toBe(3);
    const actual = await snapshot(target);
    expect([...actual.keys()]).toEqual(['site', 'site/a.txt', 'site/keep', 'site/keep/k.txt']);
    expect(actual.get('site/a.txt')?.sha256).toBe(oldState.get('a.txt')?.sha256);
  });

  it('applies only the deletions under the selected paths', async () => {
    const target = path.join(root, 'selective-deletions');
    await restore([fullArchive], { sourcePaths: [site()], targetPath: target });
    await restore([fullArchive, diffArchive], {
      sourcePaths: [site()],
      targetPath: target,
      selectedPaths: ['site/gonedir'],
    });
    expect(existsSync(path.join(target, 'site', 'gonedir'))).toBe(false);
    expect(existsSync(path.join(target, 'site', 'gone.txt'))).toBe(true);
    expect(await readFile(path.join(target, 'site', 'a.txt'), 'utf8')).toBe('version 1');
  });
});

// ---------------------------------------------------------------- hostile and broken archives

interface HandEntry {
  header: Parameters<tar.Pack['entry']>[0];
  body?: string;
}

const buildTar = async (entries: HandEntry[]): Promise<Buffer> => {
  const pack = tar.pack();
  const done = readAll(Readable.from(pack as AsyncIterable<Buffer>));
  for (const { header, body } of entries) {
    await new Promise<void>((resolve, reject) => {
      const callback = (error?: Error | null) => (error ? reject(error) : resolve());
      if (body !== undefined) pack.entry(header, body, callback);
      else pack.entry(header, callback);
    });
  }
  pack.finalize();
  return done;
};

const benign: HandEntry[] = [
  { header: { name: 'okdir/', type: 'directory' } },
  { header: { name: 'okdir/ok.txt', type: 'file' }, body: 'fine' },
];

const expectUntouched = async (target: string): Promise<void> => {
  expect(await readdir(target)).toEqual(['sentinel']);
  expect(await readFile(path.join(target, 'sentinel'), 'utf8')).toBe('untouched');
  expect(await readdir(path.dirname(target))).toEqual(['target']);
};

const freshTarget = async (name: string): Promise<string> => {
  const target = path.join(root, 'hostile', name, 'target');
  await mkdir(target, { recursive: true });
  await writeFile(path.join(target, 'sentinel'), 'untouched');
  return target;
};

describe('restore refuses unsafe archives and writes nothing', () => {
  const escapee = `backupx-hostile-${randomBytes(6).toString('hex')}`;
  const cases: [string, HandEntry[], string][] = [
    ['dotdot', [{ header: { name: '../x', type: 'file' }, body: 'evil' }], '../x'],
    ['absolute', [{ header: { name: '/etc/x', type: 'file' }, body: 'evil' }], '/etc/x'],
    ['nested-dotdot', [{ header: { name: 'a/../../x', type: 'file' }, body: 'evil' }], 'a/../../x'],
    [
      'through-symlink',
      [
        { header: { name: 'link', type: 'symlink', linkname: '/tmp' } },
        { header: { name: `link/${escapee}`, type: 'file' }, body: 'evil' },
      ],
      `link/${escapee}`,
    ],
    [
      'relative-symlink-escape',
      [{ header: { name: 'okdir/up', type: 'symlink', linkname: '../../etc' } }],
      'okdir/up',
    ],
    ['hardlink', [{ header: { name: 'hl', type: 'link', linkname: 'okdir/ok.txt' } }], 'hl'],
    [
      'char-device',
      [{ header: { name: 'null', type: 'character-device', devmajor: 1, devminor: 3 } }],
      'null',
    ],
    ['fifo', [{ header: { name: 'pipe', type: 'fifo' } }], 'pipe'],
    [
      'deletion-escape',
      [
        {
          header: { name: '.backupx/deletions.json', type: 'file', mode: 0o600 },
          body: JSON.stringify(['../x']),
        },
      ],
      '../x',
    ],
    [
      'deletion-through-symlink',
      [
        { header: { name: 'l2', type: 'symlink', linkname: '/tmp' } },
        {
          header: { name: '.backupx/deletions.json', type: 'file', mode: 0o600 },
          body: JSON.stringify(['l2/x']),
        },
      ],
      'l2/x',
    ],
  ];

  for (const [label, hostile, entryName] of cases) {
    it(`refuses ${label}`, async () => {
      const archive = await buildTar([...benign, ...hostile]);
      const target = await freshTarget(label);
      const error = await expectEngineError(
        restore([archive], { sourcePaths: [], targetPath: target }),
        'RESTORE_UNSAFE_ENTRY',
      );
      expect(error.stage).toBe('restore');
      expect(error.message).toContain(entryName);
      await expectUntouched(target);
      expect(existsSync(path.join('/tmp', escapee))).toBe(false);
    });
  }

  it('refuses a hostile differential after a good full: nothing of the full is written either', async () => {
    const good = await buildTar(benign);
    const bad = await buildTar([{ header: { name: '../x', type: 'file' }, body: 'evil' }]);
    const target = await freshTarget('chain');
    await expectEngineError(
      restore([good, bad], { sourcePaths: [], targetPath: target }),
      'RESTORE_UNSAFE_ENTRY',
    );
    await expectUntouched(target);
  });

  it('refuses truncated archives (mid-entry, at an entry boundary, without the end marker) and writes nothing', async () => {
    const archive = await buildTar([
      ...benign,
      { header: { name: 'okdir/second.txt', type: 'file' }, body: 'x'.repeat(3000) },
    ]);
    const cuts = [archive.length - 1024, archive.length - 512, 2048, 1536 + 100, 700, 100];
    for (const [index, cut] of cuts.entries()) {
      const target = await freshTarget(`truncated-${index}`);
      const error = await expectEngineError(
        restore([archive.subarray(0, cut)], { sourcePaths: [], targetPath: target }),
        'RESTORE_ARCHIVE_CORRUPT',
      );
      expect(error.stage).toBe('restore');
      await expectUntouched(target);
    }
    const target = await freshTarget('truncated-second-of-chain');
    await expectEngineError(
      restore([archive, archive.subarray(0, archive.length - 1024)], { sourcePaths: [], targetPath: target }),
      'RESTORE_ARCHIVE_CORRUPT',
    );
    await expectUntouched(target);
    // The intact archive restores.
    const okTarget = await freshTarget('intact');
    await restore([archive], { sourcePaths: [], targetPath: okTarget });
    expect((await readdir(okTarget)).sort()).toEqual(['okdir', 'sentinel']);
  });

  it('rejects a relative target path', async () => {
    await expectEngineError(
      restore([], { sourcePaths: [], targetPath: 'relative/dir' }),
      'RESTORE_TARGET_INVALID',
    );
  });
});

describe('verifyTar', () => {
  let archive: Buffer;

  beforeAll(async () => {
    archive = await buildTar([
      ...benign,
      { header: { name: 'okdir/link', type: 'symlink', linkname: 'ok.txt' } },
      { header: { name: `okdir/${'ü'.repeat(80)}.txt`, type: 'file' }, body: 'y'.repeat(1000) },
    ]);
  });

  it('reports an intact archive with entries and regular-file bytes', async () => {
    expect(await verifyTar(Readable.from([archive]))).toEqual({
      ok: true,
      entries: 4,
      fileBytes: 1004,
      summary: 'tar intact (4 entries, 1004 bytes)',
    });
    // Streamed in small chunks too.
    const chunks = [];
    for (let offset = 0; offset < archive.length; offset += 100)
      chunks.push(archive.subarray(offset, offset + 100));
    expect((await verifyTar(Readable.from(chunks))).ok).toBe(true);
  });

  it('fails truncated archives, wherever the cut is', async () => {
    for (let cut = 0; cut < archive.length; cut += 256) {
      const result = await verifyTar(Readable.from([archive.subarray(0, cut)]));
      expect(result.ok, `cut at ${cut}`).toBe(false);
      expect(result.reason).toBeTruthy();
      expect(result.summary).toMatch(/^tar corrupt: /);
    }
  });

  it('fails corrupt archives (bad header checksum, garbage)', async () => {
    const corrupt = Buffer.from(archive);
    corrupt[5] = (corrupt[5] ?? 0) ^ 0xff;
    expect((await verifyTar(Readable.from([corrupt]))).ok).toBe(false);
    expect((await verifyTar(Readable.from([randomBytes(10_240)]))).ok).toBe(false);
    const trailingGarbage = Buffer.concat([
      archive.subarray(0, archive.length - 1024),
      Buffer.from('garbage'),
      Buffer.alloc(1017),
    ]);
    expect((await verifyTar(Readable.from([trailingGarbage]))).ok).toBe(false);
  });

  it('fails when the stream errors', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('download failed'));
      },
    });
    expect(await verifyTar(failing)).toMatchObject({ ok: false, reason: 'download failed' });
  });
});
