/**
 * SAP HANA source (SPEC §3.19): `hdbsql … "BACKUP DATA …"` writes backup pieces under
 * `<workDir>/hana_data/`, which are then streamed as a tar (names relative to `hana_data`).
 * Restore extracts the tar, finds the backup prefix and runs `RECOVER DATA … CLEAR LOG`.
 * hdbsql calls are retried (wait 5 s × n² before attempt n > 1; injectable for tests).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleepTimer } from 'node:timers/promises';
import tar from 'tar-stream';
import { EngineError, isAbortError, type EngineStage } from '../errors.ts';
import { compactTimestamp, sanitizeTaskNameA, underscoreTimestamp } from '../naming.ts';
import { requireExecutable, runToolCollect } from './process.ts';
import type { DatabaseConnection, SourceArtifact, SourceContext } from './types.ts';

const DEBIAN_PACKAGE = 'SAP HANA client (hdbclient, not in Debian)';
export const HANA_DEFAULT_PORT = 30015;
export const HANA_SYSTEM_DB = 'SYSTEMDB';

export type HanaBackupType = 'data' | 'log';
export type HanaBackupLevel = 'full' | 'incremental' | 'differential';

/** extraConfig of a HANA task (SPEC §3.19). */
export interface HanaExtraConfig {
  instanceNumber?: string;
  backupType?: HanaBackupType;
  backupLevel?: HanaBackupLevel;
  backupChannels?: number;
  maxRetries?: number;
}

export interface HanaSettings {
  host: string;
  port: number;
  user: string;
  tenant: string;
  instanceNumber: string;
  backupType: HanaBackupType;
  backupLevel: HanaBackupLevel;
  channels: number;
  maxRetries: number;
}

/** Retry timing, injectable so tests run fast. */
export interface HanaRetryOptions {
  /** Wait before attempt `attempt` (> 1). Default 5 s × attempt². */
  delayMs?: (attempt: number) => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export const hanaRetryDelayMs = (attempt: number): number => 5000 * attempt * attempt;

const defaultSleep = async (ms: number, signal: AbortSignal): Promise<void> => {
  await sleepTimer(ms, undefined, { signal });
};

/** Instance number: explicit, else `(port − 30000) / 100` for ports 30000–39999, else `00`. */
export const hanaInstanceNumber = (port: number, explicit?: string): string => {
  const given = explicit?.trim() ?? '';
  if (given !== '') return given;
  if (port >= 30000 && port <= 39999) return String(Math.floor((port - 30000) / 100)).padStart(2, '0');
  return '00';
};

const asPositiveInt = (value: unknown, fallback: number): number => {
  const parsed = typeof value === 'string' ? Number(value) : value;
  return typeof parsed === 'number' && Number.isInteger(parsed) && parsed > 0 ? parsed : fallback;
};

/** Settings from the connection and extraConfig, with the documented defaults. */
export const hanaSettings = (
  conn: DatabaseConnection,
  extra: HanaExtraConfig | Record<string, unknown> = {},
): HanaSettings => {
  const config = extra as Record<string, unknown>;
  const port = conn.port > 0 ? conn.port : HANA_DEFAULT_PORT;
  const tenant = conn.databases.map((name) => name.trim()).find((name) => name !== '') ?? HANA_SYSTEM_DB;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(tenant))
    throw new EngineError(
      'SOURCE_CONFIG_INVALID',
      'source',
      `invalid SAP HANA database name ${JSON.stringify(tenant)}`,
    );
  const backupType: HanaBackupType = config.backupType === 'log' ? 'log' : 'data';
  const backupLevel: HanaBackupLevel =
    config.backupLevel === 'incremental' || config.backupLevel === 'differential'
      ? config.backupLevel
      : 'full';
  const instanceNumber =
    typeof config.instanceNumber === 'string' || typeof config.instanceNumber === 'number'
      ? String(config.instanceNumber)
      : undefined;
  return {
    host: conn.host,
    port,
    user: conn.user,
    tenant,
    instanceNumber: hanaInstanceNumber(port, instanceNumber),
    backupType,
    backupLevel,
    channels: asPositiveInt(config.backupChannels, 1),
    maxRetries: asPositiveInt(config.maxRetries, 3),
  };
};

export const isSystemDb = (tenant: string): boolean => tenant.toUpperCase() === HANA_SYSTEM_DB;

const sqlString = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/**
 * Backup prefixes: one channel → `<hanaDir>/hana_<tenant>_<ts>`; n channels →
 * `<hanaDir>/chan_<i>/hana_<tenant>_<ts>` (tenant lower-cased in both).
 */
export const hanaBackupPrefixes = (
  hanaDir: string,
  tenant: string,
  startedAt: Date,
  channels: number,
): string[] => {
  const base = `hana_${tenant.toLowerCase()}_${underscoreTimestamp(startedAt)}`;
  if (channels <= 1) return [path.join(hanaDir, base)];
  return Array.from({ length: channels }, (_, index) => path.join(hanaDir, `chan_${String(index)}`, base));
};

/** `BACKUP DATA[ FOR t][ INCREMENTAL|DIFFERENTIAL] USING FILE (…)` or `BACKUP LOG[ FOR t] USING FILE (…)`. */
export const hanaBackupSql = (
  tenant: string,
  backupType: HanaBackupType,
  backupLevel: HanaBackupLevel,
  prefixes: readonly string[],
): string => {
  const target = isSystemDb(tenant) ? '' : ` FOR ${tenant}`;
  const files = `USING FILE (${prefixes.map(sqlString).join(', ')})`;
  if (backupType === 'log') return `BACKUP LOG${target} ${files}`;
  const level =
    backupLevel === 'incremental' ? ' INCREMENTAL' : backupLevel === 'differential' ? ' DIFFERENTIAL' : '';
  return `BACKUP DATA${target}${level} ${files}`;
};

/** `RECOVER DATA[ FOR t] USING FILE ('<prefix>') CLEAR LOG`. */
export const hanaRecoverSql = (tenant: string, prefix: string): string =>
  isSystemDb(tenant)
    ? `RECOVER DATA USING FILE (${sqlString(prefix)}) CLEAR LOG`
    : `RECOVER DATA FOR ${tenant} USING FILE (${sqlString(prefix)}) CLEAR LOG`;

/** `-n host:port -u user -p password -d <tenant> -j -A -xC <SQL>` */
export const hdbsqlArgs = (settings: HanaSettings, password: string, sql: string): string[] => [
  '-n',
  `${settings.host}:${String(settings.port)}`,
  '-u',
  settings.user,
  '-p',
  password,
  '-d',
  settings.tenant,
  '-j',
  '-A',
  '-xC',
  sql,
];

/** Runs one SQL statement through hdbsql with the retry policy. */
export const runHdbsqlWithRetry = async (
  ctx: SourceContext,
  settings: HanaSettings,
  password: string,
  sql: string,
  stage: EngineStage,
  retry: HanaRetryOptions = {},
): Promise<string> => {
  const command = await requireExecutable(ctx, ['hdbsql'], DEBIAN_PACKAGE, stage);
  const delayMs = retry.delayMs ?? hanaRetryDelayMs;
  const sleep = retry.sleep ?? defaultSleep;
  let lastError: unknown;
  for (let attempt = 1; attempt <= settings.maxRetries; attempt += 1) {
    if (attempt > 1) {
      const wait = delayMs(attempt);
      ctx.log(
        'warn',
        `hdbsql attempt ${String(attempt - 1)} failed; retrying in ${String(Math.round(wait / 1000))} s`,
      );
      try {
        await sleep(wait, ctx.signal);
      } catch (error) {
        throw new EngineError('ENGINE_CANCELLED', stage, 'cancelled', { cause: error });
      }
    }
    if (ctx.signal.aborted)
      throw new EngineError('ENGINE_CANCELLED', stage, 'cancelled', { cause: ctx.signal.reason });
    ctx.log('info', `hdbsql (attempt ${String(attempt)}/${String(settings.maxRetries)}): ${sql}`);
    try {
      return await runToolCollect(ctx, {
        command,
        label: 'hdbsql',
        args: hdbsqlArgs(settings, password, sql),
        redact: [password],
        debianPackage: DEBIAN_PACKAGE,
        stage,
      });
    } catch (error) {
      lastError = error;
      if (isAbortError(error)) throw error;
      if (error instanceof EngineError && error.code === 'SOURCE_TOOL_MISSING') throw error;
    }
  }
  const message = lastError instanceof Error ? lastError.message : String(lastError);
  throw new EngineError(
    stage === 'restore' ? 'RESTORE_FAILED' : 'SOURCE_TOOL_FAILED',
    stage,
    `SAP HANA ${stage === 'restore' ? 'recovery' : 'backup'} failed after ${String(settings.maxRetries)} attempt(s): ${message}`,
    { cause: lastError },
  );
};

/** Regular files under `dir`, as sorted `/`-separated relative paths. */
const listFiles = async (dir: string, prefix = ''): Promise<string[]> => {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listFiles(path.join(dir, entry.name), rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
};

/** Streams `files` (relative to `root`) as a tar, one file after the other. */
const tarFiles = (
  root: string,
  files: readonly string[],
  signal: AbortSignal,
): { stream: Readable; done: Promise<number> } => {
  const pack = tar.pack();
  const done = (async () => {
    let bytes = 0;
    for (const rel of files) {
      if (signal.aborted)
        throw new EngineError('ENGINE_CANCELLED', 'archive', 'cancelled', { cause: signal.reason });
      const full = path.join(root, ...rel.split('/'));
      const info = await stat(full);
      const entry = pack.entry({
        name: rel,
        size: info.size,
        mode: info.mode & 0o777,
        mtime: info.mtime,
        type: 'file',
      });
      await pipeline(createReadStream(full), entry);
      bytes += info.size;
    }
    pack.finalize();
    return bytes;
  })();
  done.catch((error: unknown) => pack.destroy(error instanceof Error ? error : new Error(String(error))));
  return { stream: Readable.from(pack, { objectMode: false }), done };
};

export const hanaArtifactName = (taskName: string, startedAt: Date): string =>
  `${sanitizeTaskNameA(taskName)}_${compactTimestamp(startedAt)}.tar`;

export const backupSaphana = async (
  ctx: SourceContext,
  conn: DatabaseConnection,
  taskName: string,
  extra: HanaExtraConfig | Record<string, unknown> = {},
  retry: HanaRetryOptions = {},
): Promise<SourceArtifact> => {
  const settings = hanaSettings(conn, extra);
  ctx.log(
    'info',
    `SAP HANA ${settings.backupType} backup of ${settings.tenant} on ${settings.host}:${String(settings.port)} ` +
      `(instance ${settings.instanceNumber}, level ${settings.backupType === 'log' ? 'n/a' : settings.backupLevel}, ` +
      `${String(settings.channels)} channel(s))`,
  );
  const hanaDir = path.join(ctx.workDir, 'hana_data');
  const prefixes = hanaBackupPrefixes(hanaDir, settings.tenant, ctx.now, settings.channels);
  for (const prefix of prefixes) await mkdir(path.dirname(prefix), { recursive: true, mode: 0o777 });
  const sql = hanaBackupSql(settings.tenant, settings.backupType, settings.backupLevel, prefixes);
  await runHdbsqlWithRetry(ctx, settings, conn.password, sql, 'source', retry);

  const files = await listFiles(hanaDir);
  if (files.length === 0)
    throw new EngineError(
      'SOURCE_EMPTY_OUTPUT',
      'source',
      `SAP HANA backup produced no files under ${hanaDir}`,
    );
  ctx.log('info', `packaging ${String(files.length)} SAP HANA backup file(s)`);
  const { stream, done } = tarFiles(hanaDir, files, ctx.signal);
  const completion = done.then((bytes) => ({
    backupKind: 'full' as const,
    summary: `SAP HANA backup: ${String(files.length)} file(s), ${String(bytes)} bytes`,
  }));
  completion.catch(() => undefined);
  return { fileName: hanaArtifactName(taskName, ctx.now), stream, completion };
};

/** Extracts a tar into `dir`, skipping entries that would escape it; returns the regular files written. */
export const extractTarSafely = async (
  input: Readable,
  dir: string,
  log?: (message: string) => void,
): Promise<string[]> => {
  const root = path.resolve(dir);
  const written: string[] = [];
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const target = path.resolve(root, header.name);
    const inside = target.startsWith(`${root}${path.sep}`);
    if (!inside || header.type !== 'file') {
      if (!inside) log?.(`skipping tar entry outside the restore directory: ${header.name}`);
      stream.resume();
      stream.once('end', () => next());
      return;
    }
    mkdir(path.dirname(target), { recursive: true }).then(
      () =>
        pipeline(stream, createWriteStream(target, { mode: 0o640 })).then(
          () => {
            written.push(path.relative(root, target).split(path.sep).join('/'));
            next();
          },
          (error: unknown) => next(error as Error),
        ),
      (error: unknown) => next(error as Error),
    );
  });
  await pipeline(input, extract);
  return written.sort();
};

/**
 * The recovery prefix among extracted files (relative paths): the first containing `_databackup_`
 * → the part before it; else the first whose base name starts with `hana_` → without extension.
 */
export const findHanaPrefix = (files: readonly string[]): string | null => {
  const sorted = [...files].sort();
  const piece = sorted.find((file) => file.includes('_databackup_'));
  if (piece !== undefined) return piece.slice(0, piece.indexOf('_databackup_'));
  const named = sorted.find((file) => path.posix.basename(file).startsWith('hana_'));
  if (named === undefined) return null;
  const ext = path.posix.extname(named);
  return ext === '' ? named : named.slice(0, -ext.length);
};

export const restoreSaphana = async (
  ctx: SourceContext,
  conn: DatabaseConnection,
  artifact: Readable,
  extra: HanaExtraConfig | Record<string, unknown> = {},
  retry: HanaRetryOptions = {},
): Promise<void> => {
  const settings = hanaSettings(conn, extra);
  const dir = await mkdtemp(path.join(ctx.workDir, `hana-restore-${randomBytes(3).toString('hex')}-`));
  let files: string[];
  try {
    files = await extractTarSafely(artifact, dir, (message) => ctx.log('warn', message));
  } catch (error) {
    throw new EngineError(
      'RESTORE_ARTIFACT_INVALID',
      'restore',
      `SAP HANA artifact is not a readable tar: ${String(error)}`,
      {
        cause: error,
      },
    );
  }
  const prefix = findHanaPrefix(files);
  if (prefix === null)
    throw new EngineError(
      'RESTORE_ARTIFACT_INVALID',
      'restore',
      'no SAP HANA backup files found in the artifact',
    );
  const fullPrefix = path.join(dir, ...prefix.split('/'));
  ctx.log('info', `recovering SAP HANA ${settings.tenant} from ${fullPrefix}`);
  await runHdbsqlWithRetry(
    ctx,
    settings,
    conn.password,
    hanaRecoverSql(settings.tenant, fullPrefix),
    'restore',
    retry,
  );
};
