/**
 * SQLite source (SPEC §3.17, improved): a consistent online snapshot made with SQLite's backup API
 * (`node:sqlite` `backup()`) into the run's work dir, streamed with its size known. Restore writes
 * the artifact beside the target, checks it with `PRAGMA integrity_check`, then renames it over
 * the database atomically.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync, backup } from 'node:sqlite';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EngineError, isAbortError, throwIfAborted } from '../errors.ts';
import { compactTimestamp, sanitizeTaskNameA } from '../naming.ts';
import type { SourceArtifact, SourceContext } from './types.ts';

export const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** Copy every page in one step: one read transaction, so a busy writer cannot restart the copy. */
const ALL_PAGES = 2 ** 31 - 1;
const BUSY_TIMEOUT_MS = 5000;

/**
 * `<sanitizeA(name)>_<YYYYMMDDTHHMMSS><ext of the db file>`; a file without extension gets
 * `.sqlite` (the original produced `…..sqlite` here).
 */
export const sqliteArtifactName = (taskName: string, dbPath: string, startedAt: Date): string => {
  const ext = path.extname(dbPath);
  const suffix = ext === '' || ext === '.' ? '.sqlite' : ext;
  return `${sanitizeTaskNameA(taskName)}_${compactTimestamp(startedAt)}${suffix}`;
};

/** Runs `PRAGMA integrity_check` on a database file; returns the problems (empty when ok). */
export const sqliteIntegrityProblems = (file: string): string[] => {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(file, { readOnly: true, timeout: BUSY_TIMEOUT_MS });
    const rows = db.prepare('PRAGMA integrity_check').all();
    const messages = rows.map((row) => String(Object.values(row)[0]));
    return messages.length === 1 && messages[0] === 'ok' ? [] : messages;
  } catch (error) {
    // A badly damaged file makes SQLite throw ("database disk image is malformed").
    return [error instanceof Error ? error.message : String(error)];
  } finally {
    db?.close();
  }
};

/** True when the file starts with `SQLite format 3\0`. */
export const hasSqliteMagic = async (file: string): Promise<boolean> => {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(SQLITE_MAGIC.length);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return bytesRead === buffer.length && buffer.equals(SQLITE_MAGIC);
  } finally {
    await handle.close();
  }
};

/** Takes a consistent snapshot of `dbPath` and streams it. */
/**
 * Attempts of the online backup before a snapshot fails. A busy writer (rollback journal) can
 * hold its lock through several attempts on a loaded machine; the waits grow to about 1.5 s.
 */
const SNAPSHOT_ATTEMPTS = 10;

export const backupSqlite = async (
  ctx: SourceContext,
  dbPath: string,
  taskName: string,
): Promise<SourceArtifact> => {
  throwIfAborted(ctx.signal, 'source');
  const info = await stat(dbPath).catch((error: unknown) => {
    throw new EngineError('SOURCE_NOT_FOUND', 'source', `SQLite database ${dbPath} not found`, {
      cause: error,
    });
  });
  if (!info.isFile()) throw new EngineError('SOURCE_NOT_FOUND', 'source', `${dbPath} is not a file`);
  if (!(await hasSqliteMagic(dbPath)))
    throw new EngineError('SOURCE_INVALID', 'source', `${dbPath} is not a SQLite database`);

  const fileName = sqliteArtifactName(taskName, dbPath, ctx.now);
  const snapshot = path.join(ctx.workDir, `snapshot-${randomBytes(6).toString('hex')}-${fileName}`);
  const source = new DatabaseSync(dbPath, { readOnly: true, timeout: BUSY_TIMEOUT_MS });
  try {
    // A writer holding the lock (rollback journal) can make a step fail; the online backup is
    // simply taken again, a few times, before giving up.
    for (let attempt = 1; ; attempt += 1) {
      try {
        const pages = await backup(source, snapshot, { rate: ALL_PAGES });
        ctx.log('info', `SQLite snapshot of ${dbPath} taken (${String(pages)} pages)`);
        break;
      } catch (error) {
        if (attempt >= SNAPSHOT_ATTEMPTS || ctx.signal.aborted) throw error;
        ctx.log('warn', `SQLite snapshot attempt ${String(attempt)} failed (${String(error)}); retrying`);
        await rm(snapshot, { force: true });
        // Jittered, so a writer on a fixed rhythm does not hit the same instant every time.
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(1500, 150 * attempt) + Math.random() * 100),
        );
      }
    }
  } catch (error) {
    await rm(snapshot, { force: true });
    throw new EngineError(
      'SOURCE_SNAPSHOT_FAILED',
      'source',
      `SQLite snapshot of ${dbPath} failed: ${String(error)}`,
      {
        cause: error,
        retryable: true,
      },
    );
  } finally {
    source.close();
  }
  throwIfAborted(ctx.signal, 'source');

  const { size } = await stat(snapshot);
  const stream = createReadStream(snapshot, { highWaterMark: 1024 * 1024 });
  const completion = new Promise<{ backupKind: 'full'; summary: string }>((resolve, reject) => {
    let failed: unknown;
    stream.once('error', (error) => {
      failed = error;
    });
    stream.once('close', () => {
      if (failed !== undefined)
        reject(
          new EngineError('SOURCE_STREAM_FAILED', 'source', `reading the SQLite snapshot failed`, {
            cause: failed,
          }),
        );
      else resolve({ backupKind: 'full', summary: `SQLite snapshot, ${String(size)} bytes` });
    });
  });
  completion.catch(() => undefined);
  return { fileName, stream, sizeBytes: size, completion };
};

/** Replaces `dbPath` with the artifact after checking it (parent directories are created). */
export const restoreSqlite = async (
  ctx: SourceContext,
  dbPath: string,
  artifact: Readable,
): Promise<void> => {
  throwIfAborted(ctx.signal, 'restore');
  const target = path.resolve(dbPath);
  const dir = path.dirname(target);
  await mkdir(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(target)}.restore-${randomBytes(6).toString('hex')}`);
  const cleanupTemp = async (): Promise<void> => {
    await Promise.all(
      [temp, `${temp}-wal`, `${temp}-shm`, `${temp}-journal`].map((f) => rm(f, { force: true })),
    );
  };
  try {
    await pipeline(artifact, createWriteStream(temp, { flags: 'wx', mode: 0o600 }), { signal: ctx.signal });
    if (!(await hasSqliteMagic(temp)))
      throw new EngineError('RESTORE_ARTIFACT_INVALID', 'restore', 'the artifact is not a SQLite database');
    const problems = sqliteIntegrityProblems(temp);
    if (problems.length > 0)
      throw new EngineError(
        'RESTORE_ARTIFACT_INVALID',
        'restore',
        `the artifact fails PRAGMA integrity_check: ${problems.slice(0, 5).join('; ')}`,
      );
    throwIfAborted(ctx.signal, 'restore');
    // A stale WAL of the old database would be replayed onto the new file: remove it first.
    await Promise.all(
      [`${target}-wal`, `${target}-shm`, `${target}-journal`].map((f) => rm(f, { force: true })),
    );
    await rename(temp, target);
    ctx.log('info', `SQLite database ${target} replaced`);
  } catch (error) {
    await cleanupTemp();
    if (error instanceof EngineError) throw error;
    if (isAbortError(error) || ctx.signal.aborted)
      throw new EngineError('ENGINE_CANCELLED', 'restore', 'cancelled', { cause: error });
    throw new EngineError(
      'RESTORE_FAILED',
      'restore',
      `restoring SQLite database ${target} failed: ${String(error)}`,
      {
        cause: error,
      },
    );
  }
  await cleanupTemp();
};
