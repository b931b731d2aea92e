import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeTree, mysql, psql } from '@backupx/testkit';
import { createLocalDiskBackend } from '../storage/local-disk.ts';
import { backupFiles } from '../sources/files/file-source.ts';
import { restoreFiles } from '../sources/files/file-restore.ts';
import { backupMysql, restoreMysql } from '../sources/mysql.ts';
import { backupPostgresql, restorePostgresql } from '../sources/postgresql.ts';
import { backupSqlite, restoreSqlite } from '../sources/sqlite.ts';
import { verifyTar } from '../verify/tar-verifier.ts';
import { createTestContext, type TestContext } from '../sources/test-context.ts';
import { masterObjectKey } from '../naming.ts';
import type { SourceArtifact } from '../sources/types.ts';
import { runBackupPipeline } from './backup-pipeline.ts';
import { openArtifact, spoolArtifact } from './restore-pipeline.ts';
import type { Compression } from './compression.ts';
import { createReadStream } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';

/**
 * Every source × {zstd, gzip, none} × {plain, encrypted} through the real pipeline to a real
 * local-disk target and back, byte-exact (files) or row-exact (databases).
 */
const combos = (['zstd', 'gzip', 'none'] as Compression[]).flatMap((compression) => [
  { compression, encrypted: false },
  { compression, encrypted: true },
]);
const key = randomBytes(32);

let workRoot: string;
let storageRoot: string;
let ctx: TestContext;

beforeAll(async () => {
  workRoot = mkdtempSync(path.join(tmpdir(), 'bx-roundtrip-'));
  storageRoot = path.join(workRoot, 'storage');
  mkdirSync(storageRoot);
  ctx = await createTestContext({ PATH: process.env.PATH });
});
afterAll(async () => {
  await ctx.cleanup();
  rmSync(workRoot, { recursive: true, force: true });
});

const backend = () => createLocalDiskBackend({ basePath: storageRoot });

const store = (artifact: SourceArtifact, compression: Compression, encrypted: boolean, type: string) =>
  runBackupPipeline({
    artifact,
    compression,
    ...(encrypted ? { encryptionKey: key } : {}),
    targets: [{ name: 'local', backend: backend() }],
    objectKeyFor: (fileName) => masterObjectKey(type, ctx.now, fileName),
    signal: ctx.signal,
    log: ctx.log,
  });

/** type, mode, mtime (ms), size, sha256, link target of every entry under `root`. */

describe('file backups round-trip through the pipeline to local disk', () => {
  let source: string;
  beforeAll(() => {
    source = path.join(workRoot, 'site');
    mkdirSync(path.join(source, 'données', 'empty-dir'), { recursive: true });
    mkdirSync(path.join(source, 'private'), { mode: 0o700 });
    writeFileSync(path.join(source, 'données', 'résumé 📄.txt'), 'unicode content ✓\n');
    writeFileSync(path.join(source, 'empty.txt'), '');
    writeFileSync(path.join(source, 'random.bin'), randomBytes(3 * 1024 * 1024));
    writeFileSync(path.join(source, 'private', 'secret.key'), 'k', { mode: 0o600 });
    chmodSync(path.join(source, 'private', 'secret.key'), 0o600);
    writeFileSync(path.join(source, 'readonly.txt'), 'ro');
    chmodSync(path.join(source, 'readonly.txt'), 0o444);
    symlinkSync('données/résumé 📄.txt', path.join(source, 'link-to-resume'));
    symlinkSync('/nonexistent/target', path.join(source, 'dangling'));
    for (let i = 0; i < 300; i += 1)
      writeFileSync(path.join(source, 'données', `f${i}.txt`), `file ${i}\n`.repeat(i));
    utimesSync(
      path.join(source, 'empty.txt'),
      new Date('2020-02-02T02:02:02.5Z'),
      new Date('2020-02-02T02:02:02.5Z'),
    );
  });

  it.each(combos)('$compression, encrypted: $encrypted', async ({ compression, encrypted }) => {
    const artifact = await backupFiles(ctx, {
      taskName: 'Web Site',
      sourcePaths: [source],
      excludePatterns: [],
    });
    const result = await store(artifact, compression, encrypted, 'file');
    expect(result.targets[0]?.status).toBe('success');
    expect(result.manifest?.entries.length).toBeGreaterThan(300);
    const target = path.join(workRoot, `restored-${compression}-${String(encrypted)}`);
    mkdirSync(target);
    const { stream } = await openArtifact(
      { backend: backend(), objectKey: result.objectKey, fileName: result.fileName, sha256: result.sha256 },
      encrypted ? { decryptionKey: key } : {},
    );
    await restoreFiles(ctx, [stream], { sourcePaths: [source], targetPath: target });
    expect(describeTree(path.join(target, 'site'))).toEqual(describeTree(source));
  });

  it('refuses a corrupted artifact in restore and verify, writing nothing to the target', async () => {
    for (const encrypted of [false, true]) {
      const artifact = await backupFiles(ctx, {
        taskName: 'corrupt me',
        sourcePaths: [source],
        excludePatterns: [],
      });
      const result = await store(artifact, 'zstd', encrypted, 'file');
      const stored = path.join(storageRoot, result.objectKey);
      const bytes = readFileSync(stored);
      bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)] ?? 0) ^ 0x01;
      writeFileSync(stored, bytes);
      const target = path.join(workRoot, `corrupt-target-${String(encrypted)}`);
      mkdirSync(target);
      const reference = {
        backend: backend(),
        objectKey: result.objectKey,
        fileName: result.fileName,
        sha256: result.sha256,
      };
      const options = encrypted ? { decryptionKey: key } : {};
      const { stream } = await openArtifact(reference, options);
      await expect(
        restoreFiles(ctx, [stream], { sourcePaths: [source], targetPath: target }),
      ).rejects.toBeTruthy();
      expect(readdirSync(target)).toEqual([]);
      const verify = await openArtifact(reference, options);
      const verdict = await verifyTar(verify.stream).catch((error: unknown) => ({
        ok: false,
        summary: String(error),
      }));
      expect(verdict.ok).toBe(false);
    }
  });
});

describe('database backups round-trip through the pipeline to local disk', () => {
  it.each(combos)('MariaDB: $compression, encrypted: $encrypted', async ({ compression, encrypted }) => {
    const db = `bx_rt_${randomBytes(4).toString('hex')}`;
    mysql(`CREATE DATABASE ${db} CHARACTER SET utf8mb4`);
    try {
      mysql(
        `CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(100), note TEXT NULL, data BLOB);
         INSERT INTO items VALUES (1,'ünïcödé ✓',NULL,UNHEX('00FF10')),(2,'two','x',NULL),(3,'three','y',REPEAT('z',5000));
         CREATE TABLE tags (id INT PRIMARY KEY, tag VARCHAR(20)); INSERT INTO tags VALUES (1,'a'),(2,'b');`,
        db,
      );
      const before = mysql('CHECKSUM TABLE items, tags EXTENDED', db);
      const conn = { host: '127.0.0.1', port: 3306, user: 'root', password: '', databases: [db] };
      const result = await store(await backupMysql(ctx, conn, 'shop db'), compression, encrypted, 'mysql');
      mysql(`DROP DATABASE ${db}`);
      const file = await spoolArtifact(
        { backend: backend(), objectKey: result.objectKey, fileName: result.fileName, sha256: result.sha256 },
        ctx.workDir,
        encrypted ? { decryptionKey: key } : {},
      );
      await restoreMysql(ctx, conn, createReadStream(file));
      expect(mysql('CHECKSUM TABLE items, tags EXTENDED', db)).toBe(before);
      expect(mysql('SELECT COUNT(*) FROM items', db).trim()).toBe('3');
    } finally {
      mysql(`DROP DATABASE IF EXISTS ${db}`);
    }
  });

  it.each(combos)('PostgreSQL: $compression, encrypted: $encrypted', async ({ compression, encrypted }) => {
    const db = `bx_rt_${randomBytes(4).toString('hex')}`;
    psql(`CREATE DATABASE ${db}`);
    try {
      psql(
        `CREATE TABLE items (id int PRIMARY KEY, name text, note text, data bytea);
         INSERT INTO items VALUES (1,'ünïcödé ✓',NULL,'\\x00ff10'),(2,'two','x',NULL),(3,'three','y',decode(repeat('7a',5000),'hex'));`,
        db,
      );
      const fingerprint = () =>
        psql("SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY id)) FROM items t", db);
      const before = fingerprint();
      const conn = { host: '127.0.0.1', port: 5432, user: 'postgres', password: '', databases: [db] };
      const result = await store(
        await backupPostgresql(ctx, conn, 'shop pg'),
        compression,
        encrypted,
        'postgresql',
      );
      psql(`DROP DATABASE ${db} WITH (FORCE)`);
      const file = await spoolArtifact(
        { backend: backend(), objectKey: result.objectKey, fileName: result.fileName, sha256: result.sha256 },
        ctx.workDir,
        encrypted ? { decryptionKey: key } : {},
      );
      await restorePostgresql(ctx, conn, createReadStream(file));
      expect(fingerprint()).toBe(before);
    } finally {
      psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    }
  });

  it.each(combos)('SQLite: $compression, encrypted: $encrypted', async ({ compression, encrypted }) => {
    const dbPath = path.join(workRoot, `app-${compression}-${String(encrypted)}.db`);
    const db = new DatabaseSync(dbPath);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a'), ('b'), ('ç');");
    db.close();
    const result = await store(await backupSqlite(ctx, dbPath, 'app db'), compression, encrypted, 'sqlite');
    writeFileSync(dbPath, 'clobbered');
    const file = await spoolArtifact(
      { backend: backend(), objectKey: result.objectKey, fileName: result.fileName, sha256: result.sha256 },
      ctx.workDir,
      encrypted ? { decryptionKey: key } : {},
    );
    await restoreSqlite(ctx, dbPath, createReadStream(file));
    const reopened = new DatabaseSync(dbPath);
    expect(reopened.prepare('SELECT group_concat(v) AS v FROM t').get()).toEqual({ v: 'a,b,ç' });
    reopened.close();
  });
});
