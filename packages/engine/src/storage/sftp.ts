import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import path from 'node:path/posix';
import { Readable } from 'node:stream';
import { Client, type ConnectConfig, type SFTPWrapper, type Stats } from 'ssh2';
import { sftpConfigSchema } from '@backupx/contract';
import { EngineError, isAbortError, throwIfAborted } from '../errors.ts';
import { assertSafeKey, isPartialKey, joinRemotePath, partialKeyFor } from './keys.ts';
import type {
  BackendDeps,
  PutOptions,
  PutResult,
  StorageBackend,
  StorageObjectInfo,
  StorageUsage,
} from './types.ts';

/** SFTP status codes (draft-ietf-secsh-filexfer-02). */
const SFTP_NO_SUCH_FILE = 2;

/** Pipelining: requests of 32 KiB, at most 32 in flight (~1 MiB per transfer). */
const BLOCK_BYTES = 32 * 1024;
const MAX_IN_FLIGHT = 32;
/** Reads: OpenSSH answers up to 255 KiB per request; fewer, larger requests cost less per byte. */
const READ_BLOCK_BYTES = 128 * 1024;
const MAX_READS_IN_FLIGHT = 16;

interface Session {
  client: Client;
  sftp: SFTPWrapper;
}

const sftpCode = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;

const isNoSuchFile = (error: unknown): boolean => sftpCode(error) === SFTP_NO_SUCH_FILE;

/**
 * SFTP status errors carry a numeric code and are answers of a working server (not retryable);
 * anything else (socket errors, "No response from server", closed channels) is a connection fault.
 */
const wrapError = (operation: string, error: unknown): EngineError => {
  if (error instanceof EngineError) return error;
  if (isAbortError(error))
    return new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new EngineError('STORAGE_OPERATION_FAILED', 'storage', `sftp ${operation}: ${message}`, {
    cause: error,
    retryable: typeof sftpCode(error) !== 'number',
  });
};

/** `SHA256:<base64>` (as `ssh-keygen -lf` prints it) → the raw 32-byte digest, or null if malformed. */
export const parseHostKeyFingerprint = (fingerprint: string): Buffer | null => {
  const base64 = fingerprint
    .trim()
    .replace(/^SHA256:/i, '')
    .replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]{43}$/.test(base64)) return null;
  const digest = Buffer.from(base64, 'base64');
  return digest.length === 32 ? digest : null;
};

/** Constant-time comparison of a host key blob's SHA-256 with the expected digest. */
export const hostKeyMatches = (keyBlob: Buffer, expected: Buffer): boolean => {
  const actual = createHash('sha256').update(keyBlob).digest();
  return actual.length === expected.length && timingSafeEqual(actual, expected);
};

const promisify = <T>(run: (callback: (error: Error | undefined | null, value: T) => void) => void) =>
  new Promise<T>((resolve, reject) => {
    run((error, value) => {
      if (error) reject(error);
      else resolve(value);
    });
  });

const isDirectory = (attrs: Stats): boolean => (attrs.mode & 0o170000) === 0o040000;
const isRegularFile = (attrs: Stats): boolean => (attrs.mode & 0o170000) === 0o100000;

/** Sends `length` bytes from `source` with up to MAX_IN_FLIGHT outstanding write requests. */
const pipelinedWrite = async (
  sftp: SFTPWrapper,
  handle: Buffer,
  source: AsyncIterable<unknown>,
): Promise<number> => {
  let position = 0;
  let inFlight = 0;
  const state: { failure: Error | null } = { failure: null };
  let wake: (() => void) | null = null;
  const notify = () => {
    const resolve = wake;
    wake = null;
    resolve?.();
  };
  const waitUntil = async (condition: () => boolean) => {
    while (!condition()) {
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  const send = (block: Buffer) => {
    inFlight += 1;
    sftp.write(handle, block, 0, block.length, position, (error) => {
      inFlight -= 1;
      if (error && state.failure === null)
        state.failure = error instanceof Error ? error : new Error(String(error));
      notify();
    });
    position += block.length;
  };
  try {
    for await (const chunk of source) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      for (let offset = 0; offset < buffer.length; offset += BLOCK_BYTES) {
        await waitUntil(() => inFlight < MAX_IN_FLIGHT || state.failure !== null);
        if (state.failure !== null) throw state.failure;
        send(buffer.subarray(offset, Math.min(offset + BLOCK_BYTES, buffer.length)));
      }
    }
  } finally {
    // Never leave write callbacks racing with close/unlink.
    await waitUntil(() => inFlight === 0);
  }
  if (state.failure !== null) throw state.failure;
  return position;
};

/**
 * A Readable over an open SFTP handle from `start` (inclusive) to `end` (exclusive), keeping up
 * to MAX_IN_FLIGHT read requests outstanding; short reads are re-requested in order.
 */
const pipelinedReader = (
  sftp: SFTPWrapper,
  handle: Buffer,
  start: number,
  end: number,
  onClose: () => void,
): Readable => {
  interface Request {
    position: number;
    length: number;
    result: Promise<Buffer>;
  }
  let next = start;
  const queue: Request[] = [];
  let closed = false;
  const request = (position: number, length: number): Request => ({
    position,
    length,
    result: new Promise<Buffer>((resolve, reject) => {
      const buffer = Buffer.allocUnsafe(length);
      sftp.read(handle, buffer, 0, length, position, (error, bytesRead) => {
        if (error) reject(error);
        else resolve(buffer.subarray(0, bytesRead));
      });
    }),
  });
  const fill = () => {
    while (queue.length < MAX_READS_IN_FLIGHT && next < end) {
      const length = Math.min(READ_BLOCK_BYTES, end - next);
      queue.push(request(next, length));
      next += length;
    }
  };
  const release = () => {
    if (closed) return;
    closed = true;
    // Outstanding reads still answer into their own buffers; close after they settle.
    void Promise.allSettled(queue.map((entry) => entry.result)).then(() => {
      sftp.close(handle, () => onClose());
    });
  };
  return new Readable({
    highWaterMark: READ_BLOCK_BYTES * 2,
    read() {
      fill();
      const head = queue[0];
      if (head === undefined) {
        this.push(null);
        return;
      }
      head.result.then(
        (data) => {
          queue.shift();
          if (data.length === 0) {
            // EOF before the expected end (the file shrank): stop here.
            queue.length = 0;
            next = end;
            this.push(null);
            return;
          }
          if (data.length < head.length) {
            queue.unshift(request(head.position + data.length, head.length - data.length));
          }
          this.push(data);
        },
        (error: unknown) => this.destroy(wrapError('read', error)),
      );
    },
    destroy(error, callback) {
      release();
      callback(error);
    },
  });
};

export interface SftpBackendOptions extends BackendDeps {
  /** Connection timeout for the SSH handshake (default 20 s). */
  readyTimeoutMs?: number;
}

/** SFTP backend on ssh2: one connection per backend, reopened on the next call after a failure. */
export const createSftpBackend = (rawConfig: unknown, deps: SftpBackendOptions = {}): StorageBackend => {
  const config = sftpConfigSchema.parse(rawConfig);
  const expectedHostKey =
    config.host_key_sha256 === '' ? null : parseHostKeyFingerprint(config.host_key_sha256);
  if (config.host_key_sha256 !== '' && expectedHostKey === null) {
    throw new EngineError(
      'STORAGE_CONFIG_INVALID',
      'storage',
      'host_key_sha256 must look like SHA256:<base64>',
    );
  }
  if (config.pass === '' && config.key_pem === '') {
    throw new EngineError('STORAGE_CONFIG_INVALID', 'storage', 'sftp needs a password or a private key');
  }
  const root = config.root.replace(/\/+$/, '') || (config.root.startsWith('/') ? '/' : '');
  const remotePath = (key: string) => (key === '' ? root || '.' : joinRemotePath(root, key));
  let warnedAboutHostKey = false;
  let session: Promise<Session> | null = null;

  const connect = (): Promise<Session> => {
    if (session) return session;
    const attempt = new Promise<Session>((resolve, reject) => {
      const client = new Client();
      let hostKeyRejected = false;
      let ready = false;
      const connectConfig: ConnectConfig = {
        host: config.host,
        port: config.port,
        username: config.user,
        readyTimeout: deps.readyTimeoutMs ?? 20_000,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
        hostVerifier: (key: Buffer) => {
          if (expectedHostKey === null) {
            if (!warnedAboutHostKey) {
              warnedAboutHostKey = true;
              deps.log?.(
                'warn',
                `sftp ${config.host}:${config.port}: host key not verified (set host_key_sha256 to ${'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '')})`,
              );
            }
            return true;
          }
          const matches = hostKeyMatches(key, expectedHostKey);
          if (!matches) hostKeyRejected = true;
          return matches;
        },
      };
      if (config.pass !== '') connectConfig.password = config.pass;
      if (config.key_pem !== '') {
        connectConfig.privateKey = config.key_pem;
        if (config.key_file_pass !== '') connectConfig.passphrase = config.key_file_pass;
      }
      const forget = () => {
        if (session === current) session = null;
      };
      client.on('error', (error: Error & { level?: string }) => {
        forget();
        if (ready) return;
        if (hostKeyRejected) {
          reject(
            new EngineError(
              'STORAGE_HOST_KEY_MISMATCH',
              'storage',
              `sftp ${config.host}:${config.port}: host key does not match host_key_sha256`,
              { cause: error },
            ),
          );
        } else if (error.level === 'client-authentication') {
          reject(
            new EngineError('STORAGE_AUTH_FAILED', 'storage', `sftp ${config.host}: authentication failed`, {
              cause: error,
            }),
          );
        } else {
          reject(
            new EngineError(
              'STORAGE_CONNECTION_FAILED',
              'storage',
              `sftp ${config.host}:${config.port}: ${error.message}`,
              { cause: error, retryable: true },
            ),
          );
        }
        client.end();
      });
      client.on('close', () => {
        forget();
        if (!ready) {
          reject(
            new EngineError(
              'STORAGE_CONNECTION_FAILED',
              'storage',
              `sftp ${config.host}: connection closed`,
              {
                retryable: true,
              },
            ),
          );
        }
      });
      client.on('ready', () => {
        client.sftp((error, sftp) => {
          if (error) {
            client.end();
            reject(wrapError('session', error));
            return;
          }
          ready = true;
          sftp.on('close', () => {
            forget();
            client.end();
          });
          resolve({ client, sftp });
        });
      });
      client.connect(connectConfig);
    });
    const current = attempt;
    session = attempt;
    attempt.catch(() => {
      if (session === current) session = null;
    });
    return attempt;
  };

  const sftpOp = async <T>(
    operation: string,
    run: (sftp: SFTPWrapper) => Promise<T>,
    signal?: AbortSignal,
  ) => {
    throwIfAborted(signal, 'storage');
    const { sftp } = await connect();
    try {
      return await run(sftp);
    } catch (error) {
      throw wrapError(operation, error);
    }
  };

  const statPath = (sftp: SFTPWrapper, remote: string) =>
    promisify<Stats>((callback) => sftp.stat(remote, callback)).catch((error: unknown) => {
      if (isNoSuchFile(error)) return null;
      throw error;
    });

  const mkdirs = async (sftp: SFTPWrapper, dir: string) => {
    if (dir === '' || dir === '.' || dir === '/') return;
    const existing = await statPath(sftp, dir);
    if (existing && isDirectory(existing)) return;
    if (existing) throw new Error(`${dir} exists and is not a directory`);
    await mkdirs(sftp, path.dirname(dir));
    try {
      await promisify<undefined>((callback) => sftp.mkdir(dir, (error) => callback(error, undefined)));
    } catch (error) {
      const now = await statPath(sftp, dir);
      if (!now || !isDirectory(now)) throw error;
    }
  };

  const unlink = (sftp: SFTPWrapper, remote: string) =>
    promisify<undefined>((callback) => sftp.unlink(remote, (error) => callback(error, undefined)));

  const rename = async (sftp: SFTPWrapper, from: string, to: string) => {
    try {
      await promisify<undefined>((callback) =>
        sftp.ext_openssh_rename(from, to, (error) => callback(error, undefined)),
      );
      return;
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes('does not support')) throw error;
    }
    // Plain SFTP rename refuses to overwrite: remove the old object first.
    await unlink(sftp, to).catch((error: unknown) => {
      if (!isNoSuchFile(error)) throw error;
    });
    await promisify<undefined>((callback) => sftp.rename(from, to, (error) => callback(error, undefined)));
  };

  const closeHandle = (sftp: SFTPWrapper, handle: Buffer) =>
    promisify<undefined>((callback) => sftp.close(handle, (error) => callback(error, undefined)));

  const walk = async (sftp: SFTPWrapper, dir: string, relative: string, out: StorageObjectInfo[]) => {
    let entries;
    try {
      entries = await promisify<{ filename: string; attrs: Stats }[]>((callback) =>
        sftp.readdir(dir, callback),
      );
    } catch (error) {
      if (isNoSuchFile(error)) return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.filename === '.' || entry.filename === '..') continue;
      const key = relative === '' ? entry.filename : `${relative}/${entry.filename}`;
      if (isDirectory(entry.attrs)) {
        await walk(sftp, `${dir}/${entry.filename}`, key, out);
      } else if (isRegularFile(entry.attrs) && !isPartialKey(key)) {
        out.push({ key, sizeBytes: entry.attrs.size, updatedAt: new Date(entry.attrs.mtime * 1000) });
      }
    }
  };

  const prefixDir = (prefix: string): string => {
    const trimmed = prefix.replace(/\/+$/, '');
    if (trimmed !== '') assertSafeKey(trimmed);
    const slash = prefix.lastIndexOf('/');
    return slash >= 0 ? prefix.slice(0, slash) : '';
  };

  const put = async (key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> => {
    assertSafeKey(key);
    const signal = options.signal;
    throwIfAborted(signal, 'storage');
    const { sftp } = await connect();
    const target = remotePath(key);
    const temp = remotePath(partialKeyFor(key, options.uploadId ?? randomBytes(6).toString('hex')));
    let handle: Buffer | null = null;
    const onAbort = () => body.destroy(new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await mkdirs(sftp, path.dirname(target));
      throwIfAborted(signal, 'storage');
      handle = await promisify<Buffer>((callback) => sftp.open(temp, 'w', callback));
      const written = await pipelinedWrite(sftp, handle, body);
      throwIfAborted(signal, 'storage');
      if (options.sizeBytes !== undefined && options.sizeBytes !== written) {
        throw new EngineError(
          'STORAGE_SIZE_MISMATCH',
          'storage',
          `sftp upload of ${key}: expected ${options.sizeBytes} bytes, got ${written}`,
        );
      }
      const opened = handle;
      handle = null;
      await closeHandle(sftp, opened);
      await rename(sftp, temp, target);
      return { sizeBytes: written };
    } catch (error) {
      if (!body.destroyed) body.destroy();
      const opened = handle;
      if (opened) await closeHandle(sftp, opened).catch(() => undefined);
      await unlink(sftp, temp).catch(() => undefined);
      if (signal?.aborted === true) {
        throw new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: error });
      }
      throw wrapError(`upload of ${key}`, error);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  };

  const get = async (
    key: string,
    options: { offset?: number; length?: number; signal?: AbortSignal } = {},
  ): Promise<Readable> => {
    assertSafeKey(key);
    return await sftpOp(
      `download of ${key}`,
      async (sftp) => {
        const remote = remotePath(key);
        let handle: Buffer;
        try {
          handle = await promisify<Buffer>((callback) => sftp.open(remote, 'r', callback));
        } catch (error) {
          if (isNoSuchFile(error)) {
            throw new EngineError('STORAGE_NOT_FOUND', 'storage', `sftp: object ${key} not found`, {
              cause: error,
            });
          }
          throw error;
        }
        let size: number;
        try {
          const attrs = await promisify<Stats>((callback) => sftp.fstat(handle, callback));
          if (!isRegularFile(attrs)) {
            throw new EngineError('STORAGE_NOT_FOUND', 'storage', `sftp: ${key} is not a file`);
          }
          size = attrs.size;
        } catch (error) {
          await closeHandle(sftp, handle).catch(() => undefined);
          throw error;
        }
        const start = Math.min(options.offset ?? 0, size);
        const end = options.length === undefined ? size : Math.min(size, start + options.length);
        const stream = pipelinedReader(sftp, handle, start, end, () => undefined);
        const signal = options.signal;
        if (signal) {
          const onAbort = () => stream.destroy(new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled'));
          signal.addEventListener('abort', onAbort, { once: true });
          stream.once('close', () => signal.removeEventListener('abort', onAbort));
        }
        return stream;
      },
      options.signal,
    );
  };

  const backend: StorageBackend = {
    type: 'sftp',
    testConnection: (signal) =>
      sftpOp(
        'connection test',
        async (sftp) => {
          if (root !== '') await mkdirs(sftp, root);
          await promisify((callback) => sftp.readdir(remotePath(''), callback));
        },
        signal,
      ),
    put,
    get,
    stat: async (key, signal) => {
      assertSafeKey(key);
      return await sftpOp(
        `stat of ${key}`,
        async (sftp) => {
          const attrs = await statPath(sftp, remotePath(key));
          if (!attrs || !isRegularFile(attrs)) return null;
          return { key, sizeBytes: attrs.size, updatedAt: new Date(attrs.mtime * 1000) };
        },
        signal,
      );
    },
    list: async (prefix, signal) => {
      const dir = prefixDir(prefix);
      return await sftpOp(
        `listing of ${prefix || '/'}`,
        async (sftp) => {
          const out: StorageObjectInfo[] = [];
          await walk(sftp, remotePath(dir), dir, out);
          return out.filter((entry) => entry.key.startsWith(prefix));
        },
        signal,
      );
    },
    delete: async (key, signal) => {
      assertSafeKey(key);
      return await sftpOp(
        `delete of ${key}`,
        async (sftp) => {
          await unlink(sftp, remotePath(key)).catch((error: unknown) => {
            if (!isNoSuchFile(error)) throw error;
          });
        },
        signal,
      );
    },
    usage: (signal) =>
      sftpOp(
        'usage query',
        async (sftp): Promise<StorageUsage | null> => {
          let info: {
            f_frsize?: number;
            f_bsize?: number;
            f_blocks: number;
            f_bfree: number;
            f_bavail: number;
          };
          try {
            info = await promisify((callback) => sftp.ext_openssh_statvfs(remotePath(''), callback));
          } catch (error) {
            if (error instanceof Error && error.message.includes('does not support')) return null;
            throw error;
          }
          const unit = info.f_frsize || info.f_bsize || 0;
          return {
            totalBytes: info.f_blocks * unit,
            usedBytes: (info.f_blocks - info.f_bfree) * unit,
            freeBytes: info.f_bavail * unit,
          };
        },
        signal,
      ),
    removeEmptyDirs: async (prefix) => {
      const trimmed = prefix.replace(/\/+$/, '');
      if (trimmed !== '') assertSafeKey(trimmed);
      let sftp: SFTPWrapper;
      try {
        ({ sftp } = await connect());
      } catch {
        return;
      }
      /** Returns true when `dir` is gone (it was empty after cleaning its subdirectories). */
      const clean = async (dir: string, removeSelf: boolean): Promise<boolean> => {
        let entries: { filename: string; attrs: Stats }[];
        try {
          entries = await promisify((callback) => sftp.readdir(dir, callback));
        } catch {
          return false;
        }
        let remaining = 0;
        for (const entry of entries) {
          if (entry.filename === '.' || entry.filename === '..') continue;
          if (isDirectory(entry.attrs) && (await clean(`${dir}/${entry.filename}`, true))) continue;
          remaining += 1;
        }
        if (!removeSelf || remaining > 0) return false;
        try {
          await promisify<undefined>((callback) => sftp.rmdir(dir, (error) => callback(error, undefined)));
          return true;
        } catch {
          return false;
        }
      };
      await clean(remotePath(trimmed), trimmed !== '');
    },
    close: async () => {
      const current = session;
      session = null;
      if (!current) return;
      try {
        const { client } = await current;
        await new Promise<void>((resolve) => {
          client.once('close', () => resolve());
          client.end();
          setTimeout(resolve, 2000).unref();
        });
      } catch {
        // never connected
      }
    },
  };
  return backend;
};
