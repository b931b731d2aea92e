import { randomBytes } from 'node:crypto';
import path from 'node:path/posix';
import { PassThrough, Transform, Writable, pipeline, type Readable } from 'node:stream';
import { Client, FTPError, FileType, type FileInfo } from 'basic-ftp';
import { ftpConfigSchema } from '@backupx/contract';
import { EngineError, isAbortError, throwIfAborted } from '../errors.ts';
import { assertSafeKey, isPartialKey, partialKeyFor } from './keys.ts';
import type { BackendDeps, PutOptions, PutResult, StorageBackend, StorageObjectInfo } from './types.ts';

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * Parses the date of a Unix `LIST` line (`Jan 02 15:04` within the last ~6 months, else
 * `Jan 02  2024`), as UTC (vsftpd's default). Returns null when it cannot.
 */
export const parseUnixListDate = (raw: string, now: Date = new Date()): Date | null => {
  const match = /^([A-Za-z]{3})\s+(\d{1,2})\s+(?:(\d{1,2}):(\d{2})|(\d{4}))$/.exec(raw.trim());
  if (!match) return null;
  const month = MONTHS.indexOf((match[1] ?? '').toLowerCase());
  if (month < 0) return null;
  const day = Number(match[2]);
  if (match[5] !== undefined) return new Date(Date.UTC(Number(match[5]), month, day));
  const hours = Number(match[3]);
  const minutes = Number(match[4]);
  let year = now.getUTCFullYear();
  let date = new Date(Date.UTC(year, month, day, hours, minutes));
  // Without a year the date is within the last six months: a date in the future is last year's.
  if (date.getTime() > now.getTime() + 2 * 86_400_000) {
    year -= 1;
    date = new Date(Date.UTC(year, month, day, hours, minutes));
  }
  return date;
};

const ftpCode = (error: unknown): number | undefined => (error instanceof FTPError ? error.code : undefined);

const isMissing = (error: unknown): boolean => ftpCode(error) === 550;

/** 4xx replies are transient by definition (RFC 959); socket errors and timeouts are too. */
const wrapError = (operation: string, error: unknown): EngineError => {
  if (error instanceof EngineError) return error;
  if (isAbortError(error))
    return new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: error });
  const code = ftpCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return new EngineError('STORAGE_OPERATION_FAILED', 'storage', `ftp ${operation}: ${message}`, {
    cause: error,
    retryable: code === undefined ? true : code >= 400 && code < 500,
  });
};

export interface FtpBackendOptions extends BackendDeps {
  /** Control/data socket timeout (default 30 s). */
  timeoutMs?: number;
  /** Idle connections kept for reuse (default 2). */
  maxIdleConnections?: number;
}

interface Connection {
  client: Client;
  /** Login directory (`PWD` after login); relative base paths resolve against it. */
  home: string;
}

/**
 * FTP / explicit FTPS backend on basic-ftp. A basic-ftp Client runs one command at a time, so
 * every operation borrows a connection of its own from a small pool (downloads hold theirs
 * until the stream ends); idle ones are reused, broken ones dropped.
 */
export const createFtpBackend = (rawConfig: unknown, deps: FtpBackendOptions = {}): StorageBackend => {
  const config = ftpConfigSchema.parse(rawConfig);
  const idle: Connection[] = [];
  const busy = new Set<Connection>();
  const maxIdle = deps.maxIdleConnections ?? 2;
  let closed = false;

  const open = async (): Promise<Connection> => {
    const client = new Client(deps.timeoutMs ?? 30_000);
    try {
      await client.access({
        host: config.host,
        port: config.port,
        user: config.username || 'anonymous',
        password: config.password,
        secure: config.useTLS,
        secureOptions: config.useTLS
          ? { rejectUnauthorized: !config.insecureSkipVerify, servername: config.host }
          : undefined,
      });
      return { client, home: await client.pwd() };
    } catch (error) {
      client.close();
      const code = ftpCode(error);
      if (code === 530) {
        throw new EngineError('STORAGE_AUTH_FAILED', 'storage', `ftp ${config.host}: login refused`, {
          cause: error,
        });
      }
      throw new EngineError(
        'STORAGE_CONNECTION_FAILED',
        'storage',
        `ftp ${config.host}:${config.port}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error, retryable: code === undefined || (code >= 400 && code < 500) },
      );
    }
  };

  const acquire = async (): Promise<Connection> => {
    if (closed) throw new EngineError('STORAGE_CLOSED', 'storage', 'ftp backend is closed');
    for (let connection = idle.pop(); connection; connection = idle.pop()) {
      if (!connection.client.closed) {
        busy.add(connection);
        return connection;
      }
    }
    const connection = await open();
    busy.add(connection);
    return connection;
  };

  const release = (connection: Connection) => {
    busy.delete(connection);
    if (closed || connection.client.closed || idle.length >= maxIdle) connection.client.close();
    else idle.push(connection);
  };

  /** Runs `task` on a pooled connection; a connection that failed at the socket level is dropped. */
  const withConnection = async <T>(
    operation: string,
    task: (connection: Connection) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> => {
    throwIfAborted(signal, 'storage');
    const connection = await acquire();
    try {
      return await task(connection);
    } catch (error) {
      if (ftpCode(error) === undefined) connection.client.close();
      throw wrapError(operation, error);
    } finally {
      release(connection);
    }
  };

  const base = (connection: Connection): string =>
    path.resolve(connection.home, config.basePath === '' ? '.' : config.basePath);
  const remote = (connection: Connection, key: string): string =>
    key === '' ? base(connection) : path.join(base(connection), key);

  const walk = async (client: Client, dir: string, relative: string, out: StorageObjectInfo[]) => {
    let entries: FileInfo[];
    try {
      entries = await client.list(dir);
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name === '.' || entry.name === '..') continue;
      const key = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.type === FileType.Directory) {
        await walk(client, `${dir}/${entry.name}`, key, out);
      } else if (entry.type === FileType.File && !isPartialKey(key)) {
        const updatedAt = entry.modifiedAt ?? parseUnixListDate(entry.rawModifiedAt) ?? new Date(0);
        out.push({ key, sizeBytes: entry.size, updatedAt });
      }
    }
  };

  const statRemote = async (client: Client, remotePath: string, key: string) => {
    let size: number;
    try {
      size = await client.size(remotePath);
    } catch (error) {
      // 550: missing, or a directory (SIZE only answers for files).
      if (isMissing(error)) return null;
      throw error;
    }
    let updatedAt: Date;
    try {
      updatedAt = await client.lastMod(remotePath);
    } catch (error) {
      if (isMissing(error)) return null;
      updatedAt = new Date(0);
    }
    return { key, sizeBytes: size, updatedAt };
  };

  const put = async (key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> => {
    assertSafeKey(key);
    const signal = options.signal;
    throwIfAborted(signal, 'storage');
    const tempKey = partialKeyFor(key, options.uploadId ?? randomBytes(6).toString('hex'));
    let written = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        written += chunk.length;
        callback(null, chunk);
      },
      flush(callback) {
        // vsftpd (OpenSSL 3) fails an FTPS upload whose data connection closes right after the
        // TLS handshake (nothing to send): give the server a moment first.
        if (config.useTLS && written === 0) setTimeout(() => callback(), 50);
        else callback();
      },
    });
    const onAbort = () => body.destroy(new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const temp: { path: string | null } = { path: null };
    try {
      return await withConnection(`upload of ${key}`, async (connection) => {
        const { client } = connection;
        const target = remote(connection, key);
        const tempPath = remote(connection, tempKey);
        temp.path = tempPath;
        await client.ensureDir(path.dirname(target));
        throwIfAborted(signal, 'storage');
        pipeline(body, counter, () => undefined);
        await client.uploadFrom(counter, tempPath);
        throwIfAborted(signal, 'storage');
        if (body.errored) throw body.errored;
        if (options.sizeBytes !== undefined && options.sizeBytes !== written) {
          throw new EngineError(
            'STORAGE_SIZE_MISMATCH',
            'storage',
            `ftp upload of ${key}: expected ${options.sizeBytes} bytes, got ${written}`,
          );
        }
        try {
          await client.rename(tempPath, target);
        } catch (error) {
          // Servers that refuse to rename onto an existing file: remove it, then rename.
          if (ftpCode(error) === undefined) throw error;
          await client.remove(target, true);
          await client.rename(tempPath, target);
        }
        return { sizeBytes: written };
      });
    } catch (error) {
      if (!body.destroyed) body.destroy();
      if (!counter.destroyed) counter.destroy();
      const leftover = temp.path;
      if (leftover !== null) {
        await withConnection('cleanup', ({ client }) => client.remove(leftover, true)).catch(() => undefined);
      }
      if (signal?.aborted === true) {
        throw new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: error });
      }
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  };

  const get = async (
    key: string,
    options: { offset?: number; length?: number; signal?: AbortSignal } = {},
  ): Promise<Readable> => {
    assertSafeKey(key);
    throwIfAborted(options.signal, 'storage');
    const connection = await acquire();
    const { client } = connection;
    const remotePath = remote(connection, key);
    let size: number;
    try {
      size = await client.size(remotePath);
    } catch (error) {
      if (ftpCode(error) === undefined) client.close();
      release(connection);
      if (isMissing(error)) {
        throw new EngineError('STORAGE_NOT_FOUND', 'storage', `ftp: object ${key} not found`, {
          cause: error,
        });
      }
      throw wrapError(`download of ${key}`, error);
    }
    const start = Math.min(options.offset ?? 0, size);
    const end = options.length === undefined ? size : Math.min(size, start + options.length);
    let remaining = end - start;
    const out = new PassThrough({ highWaterMark: 256 * 1024 });
    if (remaining === 0) {
      release(connection);
      out.end();
      return out;
    }
    let done = false;
    /** Stops the transfer early (range satisfied, consumer gone): dropping the connection is the only way. */
    const stopTransfer = () => {
      if (!done) client.close();
    };
    const sink = new Writable({
      highWaterMark: 256 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        if (remaining <= 0) {
          callback();
          return;
        }
        const data = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
        remaining -= data.length;
        const finished = remaining === 0;
        if (finished) {
          out.end(data);
          stopTransfer();
          callback();
        } else if (out.write(data)) {
          callback();
        } else {
          const onDrain = () => {
            out.off('close', onDrain);
            callback();
          };
          out.once('drain', onDrain);
          out.once('close', onDrain);
        }
      },
    });
    out.once('close', () => {
      if (remaining > 0) stopTransfer();
    });
    const signal = options.signal;
    const onAbort = () => out.destroy(new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    client
      .downloadTo(sink, remotePath, start)
      .then(
        () => {
          done = true;
          if (remaining > 0) {
            out.destroy(
              new EngineError('STORAGE_OPERATION_FAILED', 'storage', `ftp download of ${key}: ended early`, {
                retryable: true,
              }),
            );
          } else if (!out.writableEnded) out.end();
        },
        (error: unknown) => {
          done = true;
          if (remaining > 0 && !out.destroyed) out.destroy(wrapError(`download of ${key}`, error));
        },
      )
      .finally(() => {
        signal?.removeEventListener('abort', onAbort);
        release(connection);
      });
    return out;
  };

  return {
    type: 'ftp',
    testConnection: (signal) =>
      withConnection(
        'connection test',
        async (connection) => {
          await connection.client.ensureDir(base(connection));
          await connection.client.list(base(connection));
        },
        signal,
      ),
    put,
    get,
    stat: async (key, signal) => {
      assertSafeKey(key);
      return await withConnection(
        `stat of ${key}`,
        (connection) => statRemote(connection.client, remote(connection, key), key),
        signal,
      );
    },
    list: async (prefix, signal) => {
      const trimmed = prefix.replace(/\/+$/, '');
      if (trimmed !== '') assertSafeKey(trimmed);
      const slash = prefix.lastIndexOf('/');
      const dir = slash >= 0 ? prefix.slice(0, slash) : '';
      return await withConnection(
        `listing of ${prefix || '/'}`,
        async (connection) => {
          const out: StorageObjectInfo[] = [];
          await walk(connection.client, remote(connection, dir), dir, out);
          return out.filter((entry) => entry.key.startsWith(prefix));
        },
        signal,
      );
    },
    delete: async (key, signal) => {
      assertSafeKey(key);
      return await withConnection(
        `delete of ${key}`,
        async (connection) => {
          try {
            await connection.client.remove(remote(connection, key));
          } catch (error) {
            if (!isMissing(error)) throw error;
          }
        },
        signal,
      );
    },
    usage: () => Promise.resolve(null),
    removeEmptyDirs: async (prefix) => {
      const trimmed = prefix.replace(/\/+$/, '');
      if (trimmed !== '') assertSafeKey(trimmed);
      /** Returns true when `dir` is gone (empty after cleaning its subdirectories). */
      const clean = async (client: Client, dir: string, removeSelf: boolean): Promise<boolean> => {
        let entries: FileInfo[];
        try {
          entries = await client.list(dir);
        } catch {
          return false;
        }
        let remaining = 0;
        for (const entry of entries) {
          if (entry.name === '.' || entry.name === '..') continue;
          if (entry.isDirectory && (await clean(client, `${dir}/${entry.name}`, true))) continue;
          remaining += 1;
        }
        if (!removeSelf || remaining > 0) return false;
        try {
          await client.send(`RMD ${dir}`);
          return true;
        } catch {
          return false;
        }
      };
      await withConnection('cleanup', async (connection) => {
        await clean(connection.client, remote(connection, trimmed), trimmed !== '');
      }).catch(() => undefined);
    },
    close: () => {
      closed = true;
      for (const connection of idle.splice(0)) connection.client.close();
      for (const connection of busy) connection.client.close();
      busy.clear();
      return Promise.resolve();
    },
  };
};
