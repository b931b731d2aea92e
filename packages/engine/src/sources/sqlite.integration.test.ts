import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../errors.ts';
import { verifySqliteArtifact } from '../verify/database-verifiers.ts';
import { backupSqlite, restoreSqlite, sqliteIntegrityProblems } from './sqlite.ts';
import { createTestContext, type TestContext } from './test-context.ts';

const WRITER = `
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(process.argv[1], { timeout: 5000 });
let i = 0;
const insertA = db.prepare('INSERT INTO a (v, blob) VALUES (?, randomblob(3000))');
const insertB = db.prepare('INSERT INTO b (v) VALUES (?)');
process.stdout.write('ready\\n');
for (;;) {
  db.exec('BEGIN IMMEDIATE');
  for (let k = 0; k < 20; k++) { insertA.run('row ' + i); insertB.run('row ' + i); i++; }
  db.exec('COMMIT');
}
`;

const createDb = (file: string, rows: number, wal: boolean): void => {
  const db = new DatabaseSync(file);
  if (wal) db.exec('PRAGMA journal_mode = WAL');
  db.exec(
    'CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT, blob BLOB); CREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT)',
  );
  db.exec('BEGIN');
  const a = db.prepare('INSERT INTO a (v, blob) VALUES (?, randomblob(3000))');
  const b = db.prepare('INSERT INTO b (v) VALUES (?)');
  for (let i = 0; i < rows; i++) {
    a.run(`Zoë 世界 ${String(i)}`);
    b.run(`Zoë 世界 ${String(i)}`);
  }
  db.exec('COMMIT');
  db.close();
};

const counts = (file: string): { a: number; b: number } => {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const row = db.prepare('SELECT (SELECT count(*) FROM a) AS a, (SELECT count(*) FROM b) AS b').get() as {
      a: number;
      b: number;
    };
    return { a: row.a, b: row.b };
  } finally {
    db.close();
  }
};

describe('SQLite source (real files, node:sqlite backup API)', () => {
  let ctx: TestContext;
  beforeEach(async () => {
    ctx = await createTestContext({ PATH: process.env.PATH });
  });
  afterEach(async () => {
    await ctx.cleanup();
  });

  for (const wal of [true, false]) {
    it(`takes a consistent snapshot while another process writes in a loop (${wal ? 'WAL' : 'rollback journal'})`, async () => {
      const dbFile = path.join(ctx.workDir, 'live', 'app.db');
      await mkdir(path.dirname(dbFile), { recursive: true });
      createDb(dbFile, 2000, wal);
      const writer = spawn(process.execPath, ['-e', WRITER, dbFile], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        await new Promise<void>((resolve) => writer.stdout.once('data', () => resolve()));
        await sleep(150);
        const snapshots: { a: number; b: number }[] = [];
        for (let round = 0; round < 3; round++) {
          const artifact = await backupSqlite(ctx, dbFile, 'App DB');
          expect(artifact.fileName).toBe('app_db_20260421T020000.db');
          const out = path.join(ctx.workDir, `out-${String(round)}.db`);
          await pipeline(artifact.stream, createWriteStream(out));
          await expect(artifact.completion).resolves.toMatchObject({ backupKind: 'full' });
          expect((await stat(out)).size).toBe(artifact.sizeBytes);
          expect(sqliteIntegrityProblems(out)).toEqual([]);
          const snapshot = counts(out);
          // Every writer transaction inserts the same rows into a and b: equal counts = one point in time.
          expect(snapshot.a).toBe(snapshot.b);
          expect(snapshot.a % 20).toBe(0);
          snapshots.push(snapshot);
          await sleep(50);
        }
        expect(snapshots.at(-1)!.a).toBeGreaterThan(2000);
      } finally {
        writer.kill();
        await new Promise((resolve) => writer.once('close', resolve));
      }
    });
  }

  it('names a database without extension `.sqlite` (not the original `..sqlite`)', async () => {
    const dbFile = path.join(ctx.workDir, 'noext');
    createDb(dbFile, 3, false);
    const artifact = await backupSqlite(ctx, dbFile, 'plain');
    artifact.stream.resume();
    await artifact.completion;
    expect(artifact.fileName).toBe('plain_20260421T020000.sqlite');
  });

  it('refuses a missing database and a non-SQLite file', async () => {
    await expect(backupSqlite(ctx, path.join(ctx.workDir, 'nope.db'), 'x')).rejects.toMatchObject({
      code: 'SOURCE_NOT_FOUND',
    });
    const text = path.join(ctx.workDir, 'text.db');
    await writeFile(text, 'hello');
    await expect(backupSqlite(ctx, text, 'x')).rejects.toMatchObject({ code: 'SOURCE_INVALID' });
  });

  it('restores atomically over the target (stale WAL removed), creating parent dirs', async () => {
    const source = path.join(ctx.workDir, 'src.db');
    createDb(source, 50, true);
    const artifact = await backupSqlite(ctx, source, 'src');
    const file = path.join(ctx.workDir, artifact.fileName);
    await pipeline(artifact.stream, createWriteStream(file));
    await artifact.completion;
    expect(await verifySqliteArtifact(file, { tempDir: ctx.workDir })).toMatchObject({ ok: true });

    // a new location (parents created)
    const fresh = path.join(ctx.workDir, 'restore', 'deep', 'app.db');
    await restoreSqlite(ctx, fresh, createReadStream(file));
    expect(counts(fresh)).toEqual({ a: 50, b: 50 });

    // over an existing WAL database with an open reader: the reader keeps its old inode
    const target = path.join(ctx.workDir, 'target.db');
    createDb(target, 7, true);
    const reader = new DatabaseSync(target, { readOnly: true });
    reader.exec('BEGIN');
    expect((reader.prepare('SELECT count(*) AS n FROM a').get() as { n: number }).n).toBe(7);
    await restoreSqlite(ctx, target, createReadStream(file));
    expect((reader.prepare('SELECT count(*) AS n FROM a').get() as { n: number }).n).toBe(7);
    reader.exec('COMMIT');
    reader.close();
    expect(counts(target)).toEqual({ a: 50, b: 50 });
    expect(sqliteIntegrityProblems(target)).toEqual([]);
    expect((await readdir(ctx.workDir)).filter((n) => n.includes('.restore-'))).toEqual([]);
  });

  it('a corrupt artifact is rejected and the target stays untouched', async () => {
    const target = path.join(ctx.workDir, 'keep.db');
    createDb(target, 9, false);
    const original = await readFile(target);
    const corrupt = Buffer.from(original);
    corrupt.fill(0xab, 4096, 8192); // damage the second page
    const error = await restoreSqlite(ctx, target, Readable.from([corrupt])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('RESTORE_ARTIFACT_INVALID');
    expect((await readFile(target)).equals(original)).toBe(true);
    await expect(
      restoreSqlite(ctx, target, Readable.from([Buffer.from('not sqlite')])),
    ).rejects.toMatchObject({
      code: 'RESTORE_ARTIFACT_INVALID',
    });
    expect((await readdir(ctx.workDir)).filter((n) => n.includes('.restore-'))).toEqual([]);
    expect(await verifySqliteArtifact(Readable.from([corrupt]), { tempDir: ctx.workDir })).toMatchObject({
      ok: false,
    });
  });
});
