/**
 * The repository format end to end on a real local disk (and s3rver for ranged reads): round
 * trips, deduplication across runs, a writer killed mid-upload, corruption of each object kind,
 * prune, and hostile snapshot metadata (SPEC §3.14).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFile,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageBackend } from '../storage/types.ts';
import { createLocalDiskBackend } from '../storage/local-disk.ts';
import type { RepositoryBackupOptions, RepositoryBackupResult } from './api.ts';
import {
  encodeSnapshotEnvelope,
  INDEXES_PREFIX,
  PACKS_PREFIX,
  parseIndexSegment,
  SNAPSHOTS_PREFIX,
  type Snapshot,
} from './format.ts';
import { backupToRepository } from './repository-backup.ts';
import { pruneRepository } from './repository-prune.ts';
import {
  exportRepositoryTar,
  loadIndex,
  loadSnapshot,
  restoreFromRepository,
  verifyRepository,
} from './repository-read.ts';

const MiB = 1024 * 1024;
let scratch: string;
const key = randomBytes(32);
const log = () => undefined;

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A tree with a big random file, a compressible file, small files, an empty file, a symlink. */
const makeTree = async (root: string): Promise<void> => {
  await mkdir(path.join(root, 'data', 'nested', 'deep'), { recursive: true });
  await writeFile(path.join(root, 'data', 'big.bin'), randomBytes(9 * MiB));
  await writeFile(path.join(root, 'data', 'text.log'), 'line of a log\n'.repeat(200_000));
  for (let i = 0; i < 20; i += 1)
    await writeFile(path.join(root, 'data', 'nested', `small-${String(i)}.txt`), `small file ${String(i)}\n`);
  await writeFile(path.join(root, 'data', 'nested', 'deep', 'empty'), '');
  await symlink('nested/small-1.txt', path.join(root, 'data', 'link'));
  await utimes(
    path.join(root, 'data', 'text.log'),
    new Date('2024-01-02T03:04:05Z'),
    new Date('2024-01-02T03:04:05.123Z'),
  );
};

const treeDigest = async (root: string): Promise<Record<string, string>> => {
  const out: Record<string, string> = {};
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const abs = path.join(dir, name);
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(abs);
      if (st.isSymbolicLink()) out[r] = `link:${await readlink(abs)}`;
      else if (st.isDirectory()) {
        out[r] = `dir:${(st.mode & 0o777).toString(8)}`;
        await walk(abs, r);
      } else
        out[r] =
          `file:${(st.mode & 0o777).toString(8)}:${String(Math.floor(st.mtimeMs))}:${sha(await readFile(abs))}`;
    }
  };
  await walk(root, '');
  return out;
};

const disk = (dir: string): StorageBackend => createLocalDiskBackend({ basePath: dir });

/** Counts what a backend receives, by kind of object. */
const counting = (backend: StorageBackend) => {
  const puts: string[] = [];
  const wrapped: StorageBackend = {
    ...backend,
    type: backend.type,
    put: async (k, body, options) => {
      puts.push(k);
      return backend.put(k, body, options);
    },
  };
  return { backend: wrapped, puts };
};

const run = (
  source: string,
  backend: StorageBackend,
  extra: Partial<RepositoryBackupOptions> = {},
): Promise<RepositoryBackupResult> =>
  backupToRepository({
    taskId: 7,
    recordId: Math.floor(Math.random() * 1e6),
    createdAt: new Date(),
    sourcePaths: [source],
    compression: 'zstd',
    encryptionKey: key,
    targets: [{ name: 'disk', backend }],
    signal: new AbortController().signal,
    log,
    ...extra,
  });

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'bx-repo-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('repository round trip', () => {
  for (const encrypted of [true, false]) {
    it(`restores byte-exact ${encrypted ? 'with' : 'without'} encryption, and exports a plain tar`, async () => {
      const base = await mkdtemp(path.join(scratch, 'rt-'));
      const source = path.join(base, 'src');
      await makeTree(source);
      const repo = disk(path.join(base, 'repo'));
      const result = await run(
        path.join(source, 'data'),
        repo,
        encrypted ? {} : { encryptionKey: undefined },
      );
      const target = result.targets[0];
      expect(target?.status).toBe('success');
      expect(result.logicalBytes).toBeGreaterThan(11 * MiB);
      expect(result.manifest.entries.map((e) => e.p)).toContain('data/nested/deep/empty');
      const checksum = target?.snapshotSha256 ?? '';
      const readOptions = {
        backend: repo,
        snapshotKey: result.snapshotKey,
        checksum,
        ...(encrypted ? { encryptionKey: key } : {}),
      };
      const restored = path.join(base, 'restored');
      await restoreFromRepository({
        ...readOptions,
        signal: new AbortController().signal,
        log,
        sourcePaths: [],
        targetPath: restored,
      });
      expect(await treeDigest(path.join(restored, 'data'))).toEqual(
        await treeDigest(path.join(source, 'data')),
      );

      const verified = await verifyRepository(readOptions);
      expect(verified.entries).toBe(result.manifest.entries.length);
      expect(verified.chunks).toBe(result.uniqueChunks);

      const tarParts: Buffer[] = [];
      await exportRepositoryTar(
        readOptions,
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            tarParts.push(chunk);
            done();
          },
        }),
      );
      const names: string[] = [];
      const extract = tar.extract();
      extract.on('entry', (header, stream, next) => {
        names.push(header.name);
        stream.resume();
        stream.on('end', next);
      });
      await new Promise<void>((resolve, reject) => {
        extract.on('finish', resolve);
        extract.on('error', reject);
        Readable.from([Buffer.concat(tarParts)]).pipe(extract);
      });
      expect(names).toContain('data/');
      expect(names).toContain('data/big.bin');
      expect(names).toContain('data/link');
    });
  }

  it('restores only the selected paths, inside the root', async () => {
    const base = await mkdtemp(path.join(scratch, 'sel-'));
    const source = path.join(base, 'src');
    await makeTree(source);
    const repo = disk(path.join(base, 'repo'));
    const result = await run(path.join(source, 'data'), repo);
    const restored = path.join(base, 'restored');
    await restoreFromRepository({
      backend: repo,
      snapshotKey: result.snapshotKey,
      checksum: result.targets[0]?.snapshotSha256 ?? '',
      encryptionKey: key,
      signal: new AbortController().signal,
      log,
      sourcePaths: [],
      targetPath: restored,
      selectedPaths: ['data/nested'],
    });
    expect((await readdir(path.join(restored, 'data'))).sort()).toEqual(['nested']);
    expect(await readFile(path.join(restored, 'data', 'nested', 'small-3.txt'), 'utf8')).toBe(
      'small file 3\n',
    );
  });
});

describe('deduplication', () => {
  it('an unchanged re-run uploads only a snapshot; a changed file uploads only its changed chunks', async () => {
    const base = await mkdtemp(path.join(scratch, 'dedup-'));
    const source = path.join(base, 'src');
    await makeTree(source);
    const { backend, puts } = counting(disk(path.join(base, 'repo')));
    const first = await run(path.join(source, 'data'), backend);
    expect(puts.filter((k) => k.startsWith(PACKS_PREFIX)).length).toBeGreaterThan(0);

    puts.length = 0;
    const second = await run(path.join(source, 'data'), backend, {
      previousSnapshot: { key: first.snapshotKey, checksum: first.targets[0]?.snapshotSha256 ?? '' },
    });
    expect(puts).toEqual([second.snapshotKey]);
    expect(second.unchangedFiles).toBeGreaterThan(20);
    expect(second.targets[0]?.newChunks).toBe(0);
    expect(second.targets[0]?.reusedBytes).toBe(second.logicalBytes);

    // Without the previous snapshot every file is read again, and still nothing new is stored.
    puts.length = 0;
    const reread = await run(path.join(source, 'data'), backend);
    expect(reread.unchangedFiles).toBe(0);
    expect(puts).toEqual([reread.snapshotKey]);

    // Append 100 KiB to the 9 MiB file: only the chunk(s) at its end are new.
    await appendFile(path.join(source, 'data', 'big.bin'), randomBytes(100 * 1024));
    puts.length = 0;
    const third = await run(path.join(source, 'data'), backend, {
      previousSnapshot: { key: second.snapshotKey },
    });
    const newChunks = third.targets[0]?.newChunks ?? 0;
    expect(newChunks).toBeGreaterThanOrEqual(1);
    expect(newChunks).toBeLessThanOrEqual(2);
    expect(third.targets[0]?.uploadedBytes ?? 0).toBeLessThan(5 * MiB);
    expect(puts.filter((k) => k.startsWith(PACKS_PREFIX))).toHaveLength(1);
    expect(puts.filter((k) => k.startsWith(INDEXES_PREFIX))).toHaveLength(1);
  });

  it('writes to two targets at once and fails one without failing the other', async () => {
    const base = await mkdtemp(path.join(scratch, 'two-'));
    const source = path.join(base, 'src');
    await makeTree(source);
    const good = disk(path.join(base, 'good'));
    const broken: StorageBackend = {
      ...disk(path.join(base, 'bad')),
      type: 'local_disk',
      put: () => Promise.reject(new Error('disk full')),
    };
    const result = await run(path.join(source, 'data'), good, {
      targets: [
        { name: 'good', backend: good },
        { name: 'bad', backend: broken },
      ],
    });
    expect(result.targets.map((t) => t.status)).toEqual(['success', 'failed']);
    expect(result.targets[1]?.error).toContain('disk full');
    expect(await broken.list(SNAPSHOTS_PREFIX)).toEqual([]);
    await verifyRepository({
      backend: good,
      snapshotKey: result.snapshotKey,
      checksum: result.targets[0]?.snapshotSha256 ?? '',
      encryptionKey: key,
    });
  });
});

describe('crash safety', () => {
  it('a writer killed mid-upload leaves no snapshot; the rerun reuses its packs and verifies', async () => {
    const base = await mkdtemp(path.join(scratch, 'crash-'));
    const source = path.join(base, 'src');
    await mkdir(source);
    // Incompressible, so packs fill: ~96 MiB → three packs.
    for (let i = 0; i < 12; i += 1)
      await writeFile(path.join(source, `part-${String(i)}.bin`), randomBytes(8 * MiB));
    const repoDir = path.join(base, 'repo');
    const child = spawn(
      process.execPath,
      [new URL('./testing/crash-writer.ts', import.meta.url).pathname, source, repoDir, key.toString('hex')],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (data: Buffer) => {
        out += data.toString();
        if (out.includes(`stored ${INDEXES_PREFIX}`)) {
          child.kill('SIGKILL');
          resolve();
        }
        if (out.includes('done')) reject(new Error('the writer finished before it was killed'));
      });
      child.on('error', reject);
    });
    await new Promise((resolve) => child.once('exit', resolve));
    const repo = disk(repoDir);
    expect(await repo.list(SNAPSHOTS_PREFIX)).toEqual([]);
    // Every index names a pack that exists.
    for (const object of await repo.list(INDEXES_PREFIX)) {
      const segment = parseIndexSegment(
        object.key,
        await readFile(path.join(repoDir, ...object.key.split('/'))),
      );
      expect(await repo.stat(segment.pack)).not.toBeNull();
    }
    const before = (await loadIndex(repo)).chunks.size;
    expect(before).toBeGreaterThan(0);
    const rerun = await run(source, repo);
    expect(rerun.targets[0]?.status).toBe('success');
    expect(rerun.targets[0]?.reusedBytes ?? 0).toBeGreaterThanOrEqual(before * 512 * 1024);
    // What the killed run stored is not sent again.
    expect(rerun.targets[0]?.uploadedBytes ?? 0).toBeLessThan(
      96 * MiB - (rerun.targets[0]?.reusedBytes ?? 0) + 2 * MiB,
    );
    expect(rerun.targets[0]?.reusedBytes ?? 0).toBeGreaterThanOrEqual(16 * MiB);
    const verified = await verifyRepository({
      backend: repo,
      snapshotKey: rerun.snapshotKey,
      checksum: rerun.targets[0]?.snapshotSha256 ?? '',
      encryptionKey: key,
    });
    expect(verified.bytes).toBe(96 * MiB);
  });
});

describe('corruption is detected', () => {
  let base: string;
  let repoDir: string;
  let result: RepositoryBackupResult;
  const fsPath = (k: string) => path.join(repoDir, ...k.split('/'));
  const options = () => ({
    backend: disk(repoDir),
    snapshotKey: result.snapshotKey,
    checksum: result.targets[0]?.snapshotSha256 ?? '',
    encryptionKey: key,
  });

  beforeAll(async () => {
    base = await mkdtemp(path.join(scratch, 'corrupt-'));
    const source = path.join(base, 'src');
    await makeTree(source);
    repoDir = path.join(base, 'repo');
    result = await run(path.join(source, 'data'), disk(repoDir));
  });

  it('a flipped byte in a pack', async () => {
    const pack = (await disk(repoDir).list(PACKS_PREFIX))[0]?.key ?? '';
    const bytes = await readFile(fsPath(pack));
    const original = Buffer.from(bytes);
    bytes[100] = (bytes[100] ?? 0) ^ 0xff;
    await writeFile(fsPath(pack), bytes);
    await expect(verifyRepository(options())).rejects.toMatchObject({ code: 'REPOSITORY_CORRUPT' });
    await writeFile(fsPath(pack), original);
    await verifyRepository(options());
  });

  it('an index naming another pack, an oversized chunk location, a truncated index', async () => {
    const indexKey = (await disk(repoDir).list(INDEXES_PREFIX))[0]?.key ?? '';
    const original = await readFile(fsPath(indexKey));
    const segment = JSON.parse(original.toString()) as {
      pack: string;
      chunks: Record<string, { length: number; offset: number }>;
    };
    const tamper = async (mutate: (s: typeof segment) => void, why: RegExp) => {
      const copy = structuredClone(segment);
      mutate(copy);
      await writeFile(fsPath(indexKey), JSON.stringify(copy));
      await expect(verifyRepository(options())).rejects.toThrow(why);
    };
    await tamper((s) => {
      s.pack = `${PACKS_PREFIX}00/${'0'.repeat(64)}.pack`;
    }, /names pack/);
    await tamper((s) => {
      const first = Object.values(s.chunks)[0];
      if (first) first.length = 5 * MiB;
    }, /out of range/);
    await tamper((s) => {
      const first = Object.values(s.chunks)[0];
      if (first) first.offset = 40 * MiB;
    }, /outside the pack/);
    await writeFile(fsPath(indexKey), original.subarray(0, original.length - 10));
    await expect(verifyRepository(options())).rejects.toThrow(/not valid JSON/);
    await writeFile(fsPath(indexKey), original);
  });

  it('a tampered or swapped snapshot', async () => {
    const original = await readFile(fsPath(result.snapshotKey));
    const tampered = Buffer.from(original);
    tampered[tampered.length - 5] = 0x41;
    await writeFile(fsPath(result.snapshotKey), tampered);
    await expect(verifyRepository(options())).rejects.toMatchObject({ code: 'REPOSITORY_CHECKSUM_MISMATCH' });
    await expect(verifyRepository({ ...options(), checksum: '' })).rejects.toMatchObject({
      code: 'REPOSITORY_CORRUPT',
    });
    await writeFile(fsPath(result.snapshotKey), original);
    // The wrong key, and an encrypted snapshot read as plain.
    await expect(verifyRepository({ ...options(), encryptionKey: randomBytes(32) })).rejects.toThrow(
      /authentication failed/,
    );
    await expect(verifyRepository({ ...options(), encryptionKey: undefined })).rejects.toThrow(/encrypted/);
  });
});

describe('hostile snapshot metadata is rejected before anything is written', () => {
  const hostile = async (
    mutate: (snapshot: Snapshot) => void,
  ): Promise<{ error: unknown; restored: string }> => {
    const base = await mkdtemp(path.join(scratch, 'hostile-'));
    const source = path.join(base, 'src');
    await makeTree(source);
    const repoDir = path.join(base, 'repo');
    const repo = disk(repoDir);
    const result = await run(path.join(source, 'data'), repo);
    const { snapshot } = await loadSnapshot(repo, result.snapshotKey, { encryptionKey: key });
    mutate(snapshot);
    const body = encodeSnapshotEnvelope(snapshot, key);
    await writeFile(path.join(repoDir, ...result.snapshotKey.split('/')), body);
    const restored = path.join(base, 'restored');
    const error = await restoreFromRepository({
      backend: repo,
      snapshotKey: result.snapshotKey,
      checksum: sha(body),
      encryptionKey: key,
      signal: new AbortController().signal,
      log,
      sourcePaths: [],
      targetPath: restored,
    }).then(
      () => null,
      (e: unknown) => e,
    );
    return { error, restored };
  };
  const setPath = (snapshot: Snapshot, value: string): void => {
    const entry = snapshot.entries[1];
    if (entry) entry.path = value;
  };
  const cases: [string, (s: Snapshot) => void, RegExp][] = [
    ['a path with ..', (s) => setPath(s, 'data/../../etc/passwd'), /unsafe path/],
    ['an absolute path', (s) => setPath(s, '/etc/cron.d/x'), /unsafe path/],
    ['a backslash path', (s) => setPath(s, 'data\\x'), /unsafe path/],
    [
      'a symlink leaving the root',
      (s) => {
        const link = s.entries.find((e) => e.kind === 'symlink');
        if (link) link.linkTarget = '../../../../etc';
      },
      /leaves the restore root/,
    ],
    [
      'an absolute symlink',
      (s) => {
        const link = s.entries.find((e) => e.kind === 'symlink');
        if (link) link.linkTarget = '/etc';
      },
      /leaves the restore root/,
    ],
    [
      'an entry under a symlink',
      (s) => {
        s.entries.push({ path: 'data/link/evil', kind: 'file', mode: 0o644, modTime: 0, size: 0 });
      },
      /under symlink/,
    ],
    [
      'setuid bits',
      (s) => {
        const file = s.entries.find((e) => e.kind === 'file');
        if (file) file.mode = 0o4755;
      },
      /permission bits/,
    ],
    [
      'a duplicate path',
      (s) => void s.entries.push({ ...(s.entries[1] as Snapshot['entries'][number]) }),
      /appears twice/,
    ],
    [
      'a file with size but no chunks',
      (s) => {
        const file = s.entries.find((e) => e.kind === 'file' && e.size > 0);
        if (file) delete file.chunks;
      },
      /disagree/,
    ],
    [
      'a malformed chunk id',
      (s) => {
        const file = s.entries.find((e) => e.kind === 'file' && e.size > 0);
        if (file?.chunks) file.chunks[0] = 'p-../../x';
      },
      /malformed chunk ids/,
    ],
  ];
  for (const [name, mutate, why] of cases)
    it(name, async () => {
      const { error, restored } = await hostile(mutate);
      expect(error).toMatchObject({ code: 'REPOSITORY_CORRUPT' });
      expect(String(error)).toMatch(why);
      await expect(lstat(restored)).rejects.toThrow();
    });

  it('absolute symlinks inside the source are stored relative; outside ones are skipped', async () => {
    const base = await mkdtemp(path.join(scratch, 'links-'));
    const source = path.join(base, 'data');
    await mkdir(path.join(source, 'dir'), { recursive: true });
    await writeFile(path.join(source, 'dir', 'file'), 'x');
    await symlink(path.join(source, 'dir', 'file'), path.join(source, 'inside'));
    await symlink('/etc/passwd', path.join(source, 'outside'));
    const repo = disk(path.join(base, 'repo'));
    const warnings: string[] = [];
    const result = await run(source, repo, { log: (_level, message) => warnings.push(message) });
    expect(warnings.some((w) => w.includes('outside'))).toBe(true);
    const { snapshot } = await loadSnapshot(repo, result.snapshotKey, { encryptionKey: key });
    expect(snapshot.entries.find((e) => e.path === 'data/inside')?.linkTarget).toBe('dir/file');
    expect(snapshot.entries.find((e) => e.path === 'data/outside')).toBeUndefined();
    // A restore over an existing directory of the same name as a symlink keeps the directory.
    const restored = path.join(base, 'restored');
    await mkdir(path.join(restored, 'data', 'inside'), { recursive: true });
    await writeFile(path.join(restored, 'data', 'inside', 'keep'), 'mine');
    await restoreFromRepository({
      backend: repo,
      snapshotKey: result.snapshotKey,
      checksum: result.targets[0]?.snapshotSha256 ?? '',
      encryptionKey: key,
      signal: new AbortController().signal,
      log,
      sourcePaths: [],
      targetPath: restored,
    });
    expect(await readFile(path.join(restored, 'data', 'inside', 'keep'), 'utf8')).toBe('mine');
    expect(await readFile(path.join(restored, 'data', 'dir', 'file'), 'utf8')).toBe('x');
  });
});

describe('prune', () => {
  it('frees exactly the data no snapshot references, and refuses when a snapshot is unreadable', async () => {
    const base = await mkdtemp(path.join(scratch, 'prune-'));
    const source = path.join(base, 'src');
    await mkdir(source);
    await writeFile(path.join(source, 'keep.bin'), randomBytes(40 * MiB));
    const repoDir = path.join(base, 'repo');
    const repo = disk(repoDir);
    const first = await run(source, repo);
    await writeFile(path.join(source, 'keep.bin'), randomBytes(40 * MiB));
    const second = await run(source, repo);
    const packsBefore = await repo.list(PACKS_PREFIX);
    expect(packsBefore.length).toBeGreaterThanOrEqual(4);
    // Nothing is dead yet.
    expect(await pruneRepository({ backend: repo, encryptionKey: key })).toMatchObject({
      deletedPacks: 0,
      deletedIndexes: 0,
    });
    // An unreadable snapshot stops the prune.
    await writeFile(path.join(repoDir, ...`${SNAPSHOTS_PREFIX}7/broken.bxrs`.split('/')), '{');
    await repo.delete(first.snapshotKey);
    await expect(pruneRepository({ backend: repo, encryptionKey: key })).rejects.toMatchObject({
      code: 'REPOSITORY_PRUNE_ABORTED',
    });
    expect(await repo.list(PACKS_PREFIX)).toHaveLength(packsBefore.length);
    await repo.delete(`${SNAPSHOTS_PREFIX}7/broken.bxrs`);
    // The first run's packs go, exactly; the second still verifies.
    const secondSnapshot = (await loadSnapshot(repo, second.snapshotKey, { encryptionKey: key })).snapshot;
    const liveIds = new Set(secondSnapshot.entries.flatMap((e) => e.chunks ?? []));
    const index = await loadIndex(repo);
    const deadPacks = [...index.segments.values()]
      .filter((s) => !s.chunkIds.some((id) => liveIds.has(id)))
      .map((s) => s.pack);
    const deadBytes = (await repo.list(PACKS_PREFIX))
      .filter((o) => deadPacks.includes(o.key))
      .reduce((n, o) => n + o.sizeBytes, 0);
    const pruned = await pruneRepository({ backend: repo, encryptionKey: key });
    expect(pruned.deletedPacks).toBe(deadPacks.length);
    expect(pruned.deletedIndexes).toBe(deadPacks.length);
    expect(pruned.reclaimedBytes).toBeGreaterThanOrEqual(deadBytes);
    const packsAfter = (await repo.list(PACKS_PREFIX)).map((o) => o.key);
    expect(packsAfter.some((k) => deadPacks.includes(k))).toBe(false);
    expect(packsAfter).toHaveLength(packsBefore.length - deadPacks.length);
    await verifyRepository({
      backend: repo,
      snapshotKey: second.snapshotKey,
      checksum: second.targets[0]?.snapshotSha256 ?? '',
      encryptionKey: key,
    });
    // An orphan pack (a crashed writer's, with no index) goes too.
    await mkdir(path.join(repoDir, ...`${PACKS_PREFIX}ab`.split('/')), { recursive: true });
    await writeFile(path.join(repoDir, ...`${PACKS_PREFIX}ab/${'ab'.repeat(32)}.pack`.split('/')), 'orphan');
    expect((await pruneRepository({ backend: repo, encryptionKey: key })).deletedPacks).toBe(1);
  });
});
