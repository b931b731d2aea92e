/**
 * `backupx backint`: the SAP HANA Backint adapter (SPEC §3.21). HANA runs it with a function,
 * an input file of requests, an output file for the answers and a parameter file; data goes to
 * and from any BackupX storage backend, and a SQLite catalog maps EBIDs to object keys.
 */
import { constants as fsConstants, createWriteStream, type WriteStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { StorageBackend } from '../storage/types.ts';
import { BackintCatalog } from './catalog.ts';
import { parseBackintParams, parseConfigJson, type BackintParams } from './params.ts';
import {
  backupLine,
  deletedLine,
  errorLine,
  newEbid,
  notFoundLine,
  objectKeyFor,
  parseBackupRequests,
  parseDeleteRequests,
  parseFunction,
  parseInquireRequests,
  parseRestoreRequests,
  restoredLine,
  savedLine,
  type BackintFunction,
} from './protocol.ts';

export interface BackintDeps {
  /** Builds the storage backend of a type from its config. */
  createStorage: (type: string, config: Record<string, unknown>) => StorageBackend | Promise<StorageBackend>;
  /** Where diagnostics go unless LOG_FILE redirects them. */
  stderr: (text: string) => void;
  /** Base for relative paths (input/output/parameter files, CATALOG_DB, LOG_FILE, STORAGE_CONFIG_JSON). */
  cwd: string;
  now?: () => Date;
  /** 16 hex characters for EBIDs. */
  randomHex?: () => string;
  signal?: AbortSignal;
}

export interface BackintArgs {
  fn: string;
  input: string;
  output: string;
  paramFile: string;
}

export const BACKINT_USAGE =
  'usage: backupx backint -f backup|restore|inquire|delete -i <input> -o <output> -p <paramfile> [-u SID] [-c n] [-l level] [-v]';

/** Parses argv (after `backint`); `null` when a required option is missing. `-u -c -l -v -s` are ignored. */
export const parseBackintArgs = (argv: readonly string[]): BackintArgs | null => {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    const flag = /^-([a-zA-Z])$/.exec(arg)?.[1];
    if (flag === undefined) continue;
    const next = argv[i + 1];
    if (['f', 'i', 'o', 'p'].includes(flag)) {
      if (next === undefined) return null;
      values[flag] = next;
      i += 1;
    } else if (['u', 'c', 'l', 's'].includes(flag) && next !== undefined && !next.startsWith('-')) {
      i += 1;
    }
  }
  const { f, i, o, p } = values;
  if (f === undefined || i === undefined || o === undefined || p === undefined) return null;
  if (f === '' || i === '' || o === '' || p === '') return null;
  return { fn: f, input: i, output: o, paramFile: p };
};

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

interface Session {
  params: BackintParams;
  storage: StorageBackend;
  catalog: BackintCatalog;
  diag: (text: string) => void;
  out: WriteStream;
  now: () => Date;
  randomHex: (() => string) | undefined;
  signal: AbortSignal | undefined;
}

const write = (out: WriteStream, line: string): Promise<void> =>
  new Promise((resolve, reject) => {
    out.write(line, (error) => (error ? reject(error) : resolve()));
  });

const backupOne = async (session: Session, request: { isPipe: boolean; path: string }): Promise<string> => {
  const { params, storage, catalog } = session;
  const info = await stat(request.path);
  if (!request.isPipe && !info.isFile()) throw new Error(`${request.path} is not a regular file`);
  const ebid = newEbid(session.now(), session.randomHex);
  const key = objectKeyFor(params.keyPrefix, ebid, params.compress);
  // Pipes are opened read-only; the open waits (in the thread pool) until HANA opens the writer.
  const handle = await open(request.path, fsConstants.O_RDONLY);
  const source = handle.createReadStream({ highWaterMark: 1024 * 1024 });
  // Count the source bytes in a transform (a 'data' listener would start the flow before put reads).
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  source.once('error', (error) => counter.destroy(error));
  let body: Readable = source.pipe(counter);
  if (params.compress) {
    const gzip = createGzip();
    counter.once('error', (error) => gzip.destroy(error));
    body = counter.pipe(gzip);
  }
  const sizeKnown = !params.compress && info.isFile();
  try {
    await storage.put(key, body, {
      ...(sizeKnown ? { sizeBytes: info.size } : {}),
      metadata: { 'source-path': request.path, ebid, compress: String(params.compress) },
      ...(session.signal ? { signal: session.signal } : {}),
    });
  } finally {
    source.destroy();
  }
  catalog.put({ ebid, objectKey: key, sourcePath: request.path, size: bytes, createdAt: session.now() });
  return ebid;
};

const restoreOne = async (
  session: Session,
  request: { isPipe: boolean; ebid: string; path: string },
): Promise<void> => {
  const entry = session.catalog.get(request.ebid);
  if (entry === null) throw new Error(`unknown EBID ${request.ebid}`);
  const object = await session.storage.get(entry.objectKey, session.signal ? { signal: session.signal } : {});
  // Pipes are opened write-only and never created (the open waits for HANA's reader); files are
  // created or truncated.
  const handle = await open(request.path, request.isPipe ? fsConstants.O_WRONLY : 'w').catch(
    (error: unknown) => {
      object.destroy();
      throw error;
    },
  );
  const target = handle.createWriteStream();
  await (entry.objectKey.endsWith('.gz')
    ? pipeline(object, createGunzip(), target)
    : pipeline(object, target));
};

const runFunction = async (session: Session, fn: BackintFunction, input: string): Promise<void> => {
  const { out, diag, catalog } = session;
  switch (fn) {
    case 'backup':
      for (const request of parseBackupRequests(input)) {
        try {
          const ebid = await backupOne(session, request);
          await write(out, savedLine(ebid, request.path));
        } catch (error) {
          diag(`backint: backup ${JSON.stringify(request.path)} failed: ${message(error)}\n`);
          await write(out, errorLine(request.path));
        }
      }
      return;
    case 'restore':
      for (const request of parseRestoreRequests(input)) {
        try {
          await restoreOne(session, request);
          await write(out, restoredLine(request.ebid, request.path));
        } catch (error) {
          diag(`backint: restore ${JSON.stringify(request.ebid)} failed: ${message(error)}\n`);
          await write(out, errorLine(request.path));
        }
      }
      return;
    case 'inquire':
      for (const request of parseInquireRequests(input)) {
        try {
          if (request.all) {
            for (const entry of catalog.list()) await write(out, backupLine(entry.ebid));
          } else {
            const entry = catalog.get(request.ebid);
            await write(out, entry === null ? notFoundLine(request.ebid) : backupLine(entry.ebid));
          }
        } catch (error) {
          diag(
            `backint: inquire ${JSON.stringify(request.all ? '#NULL' : request.ebid)} failed: ${message(error)}\n`,
          );
          await write(out, errorLine(request.all ? '#NULL' : request.ebid));
        }
      }
      return;
    case 'delete':
      for (const request of parseDeleteRequests(input)) {
        try {
          const entry = catalog.get(request.ebid);
          if (entry === null) throw new Error(`unknown EBID ${request.ebid}`);
          try {
            await session.storage.delete(entry.objectKey, session.signal);
          } catch (error) {
            diag(`backint: storage delete warning for ${entry.objectKey}: ${message(error)}\n`);
          }
          catalog.delete(request.ebid);
          await write(out, deletedLine(request.ebid));
        } catch (error) {
          diag(`backint: delete ${JSON.stringify(request.ebid)} failed: ${message(error)}\n`);
          await write(out, errorLine(request.ebid));
        }
      }
      return;
  }
};

/**
 * Runs one Backint call. Exit codes: 0 done (per-item failures are `#ERROR` lines), 1 startup
 * or I/O/parse failure, 2 usage error.
 */
export const runBackint = async (argv: readonly string[], deps: BackintDeps): Promise<number> => {
  const args = parseBackintArgs(argv);
  if (args === null) {
    deps.stderr(`backint: -f, -i, -o and -p are required\n${BACKINT_USAGE}\n`);
    return 2;
  }
  let fn: BackintFunction;
  try {
    fn = parseFunction(args.fn);
  } catch (error) {
    deps.stderr(`backint: ${message(error)}\n${BACKINT_USAGE}\n`);
    return 2;
  }
  const resolve = (file: string): string => path.resolve(deps.cwd, file);

  let diag = deps.stderr;
  let logStream: WriteStream | undefined;
  let storage: StorageBackend | undefined;
  let catalog: BackintCatalog | undefined;
  let out: WriteStream | undefined;
  try {
    const params = parseBackintParams(await readFile(resolve(args.paramFile), 'utf8'));
    if (params.logFile !== undefined) {
      const stream = createWriteStream(resolve(params.logFile), { flags: 'a' });
      logStream = stream;
      diag = (text) => {
        stream.write(`${new Date().toISOString()} ${text}`);
      };
    }
    const config =
      params.storageConfig ??
      parseConfigJson(
        await readFile(resolve(params.storageConfigJsonPath ?? ''), 'utf8'),
        'STORAGE_CONFIG_JSON',
      );
    try {
      storage = await deps.createStorage(params.storageType, config);
      await storage.testConnection(deps.signal);
    } catch (error) {
      diag(`backint: storage ${params.storageType} unavailable: ${message(error)}\n`);
      return 1;
    }
    catalog = BackintCatalog.open(resolve(params.catalogDb));
    const input = await readFile(resolve(args.input), 'utf8');
    const outputStream = createWriteStream(resolve(args.output), { flags: 'w' });
    out = outputStream;
    await new Promise<void>((ok, fail) => {
      outputStream.once('open', () => ok());
      outputStream.once('error', fail);
    });
    await runFunction(
      {
        params,
        storage,
        catalog,
        diag,
        out: outputStream,
        now: deps.now ?? (() => new Date()),
        randomHex: deps.randomHex,
        signal: deps.signal,
      },
      fn,
      input,
    );
    await new Promise<void>((ok, fail) => {
      outputStream.end((error?: Error | null) => (error ? fail(error) : ok()));
    });
    out = undefined;
    return 0;
  } catch (error) {
    diag(`backint: ${fn} failed: ${message(error)}\n`);
    return 1;
  } finally {
    out?.destroy();
    catalog?.close();
    await storage?.close().catch(() => undefined);
    if (logStream !== undefined) {
      const stream = logStream;
      await new Promise<void>((ok) => stream.end(() => ok()));
    }
  }
};
