import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import nodePath from 'node:path';
import { PassThrough, Transform, pipeline, type Readable } from 'node:stream';
import { rcloneConfigSchema } from '@backupx/contract';
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

/** Options rclone stores obscured (`rclone obscure`) in its config file. */
const obscuredOptions = new Set(['pass', 'password', 'password2', 'key_file_pass']);

/** rclone exit codes (docs: "Exit Code"). */
const EXIT_DIRECTORY_NOT_FOUND = 3;
const EXIT_FILE_NOT_FOUND = 4;
const EXIT_RETRY = 5;

const STDERR_LIMIT = 8192;

/** Renders the `[remote]` section of an rclone config file; values must be single-line. */
export const renderRcloneConfig = (backend: string, options: Record<string, string>): string => {
  const lines = ['[remote]', `type = ${backend}`];
  for (const [name, value] of Object.entries(options)) {
    if (!/^[a-z0-9_]+$/.test(name)) {
      throw new EngineError('STORAGE_CONFIG_INVALID', 'storage', `rclone option name "${name}" is invalid`);
    }
    if (/[\r\n]/.test(value)) {
      throw new EngineError('STORAGE_CONFIG_INVALID', 'storage', `rclone option "${name}" must be one line`);
    }
    lines.push(`${name} = ${value}`);
  }
  return `${lines.join('\n')}\n`;
};

/** Errors rclone reports for unreachable servers are worth retrying; answers of a server are not. */
export const isTransientRcloneFailure = (code: number | null, stderr: string): boolean =>
  code === EXIT_RETRY ||
  code === null ||
  /connection refused|connection reset|broken pipe|i\/o timeout|timed out|no route to host|unexpected EOF|\b(500|502|503|504|429)\b|TLS handshake|network is unreachable|EOF$/im.test(
    stderr,
  );

export interface RcloneBackendOptions extends BackendDeps {
  /** The rclone executable (default `rclone` on PATH). */
  rcloneBinary?: string;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Any rclone remote through the `rclone` binary (Debian 1.60): one temp config file (0600) per
 * backend with the remote's options (passwords obscured), deleted on close. Secrets never appear on
 * a command line.
 */
export const createRcloneBackend = (rawConfig: unknown, deps: RcloneBackendOptions = {}): StorageBackend => {
  const config = rcloneConfigSchema.parse(rawConfig);
  const binary = deps.rcloneBinary ?? 'rclone';
  const { backend: backendType, root: rawRoot, ...rest } = config;
  const root = rawRoot.replace(/\/+$/, '') || (rawRoot.startsWith('/') ? '/' : '');
  const remotePath = (key: string) => `remote:${key === '' ? root : joinRemotePath(root, key)}`;
  const baseArgs = (file: string) => [
    '--config',
    file,
    '--ask-password=false',
    '--retries',
    '1',
    '--low-level-retries',
    '2',
    '--contimeout',
    '15s',
    '--timeout',
    '5m',
    '--log-level',
    'ERROR',
  ];
  let configDir: Promise<{ dir: string; file: string }> | null = null;

  /** Spawns rclone; `stdin` feeds a stream (rcat) or a string (obscure). */
  const spawnRclone = (args: string[], file: string | null) =>
    spawn(binary, file === null ? args : [...baseArgs(file), ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });

  const collect = (
    args: string[],
    file: string | null,
    input?: string,
    signal?: AbortSignal,
  ): Promise<RunResult> =>
    new Promise((resolve, reject) => {
      const child = spawnRclone(args, file);
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-STDERR_LIMIT);
      });
      const onAbort = () => child.kill('SIGTERM');
      signal?.addEventListener('abort', onAbort, { once: true });
      child.once('error', (error) => {
        signal?.removeEventListener('abort', onAbort);
        reject(
          new EngineError('STORAGE_OPERATION_FAILED', 'storage', `cannot run ${binary}: ${error.message}`, {
            cause: error,
          }),
        );
      });
      child.once('close', (code) => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted === true) {
          reject(new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: signal.reason }));
        } else resolve({ code, stdout, stderr });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(input ?? '');
    });

  const failure = (operation: string, result: { code: number | null; stderr: string }) =>
    new EngineError(
      'STORAGE_OPERATION_FAILED',
      'storage',
      `rclone ${operation}: ${result.stderr.trim().split('\n').slice(-3).join(' ') || `exit code ${result.code}`}`,
      { retryable: isTransientRcloneFailure(result.code, result.stderr) },
    );

  const obscure = async (value: string): Promise<string> => {
    const result = await collect(['obscure', '-'], null, `${value}\n`);
    if (result.code !== 0) throw failure('obscure', result);
    return result.stdout.trim();
  };

  const configFile = (): Promise<string> => {
    configDir ??= (async () => {
      const options: Record<string, string> = {};
      for (const [name, value] of Object.entries(rest)) {
        if (value === '') continue;
        const text = typeof value === 'string' ? value : String(value);
        if (name === 'key_pem') options[name] = text.trim().replace(/\r?\n/g, '\\n');
        else options[name] = obscuredOptions.has(name) ? await obscure(text) : text;
      }
      const dir = await mkdtemp(nodePath.join(deps.tempDir ?? os.tmpdir(), 'backupx-rclone-'));
      const file = nodePath.join(dir, 'rclone.conf');
      await writeFile(file, renderRcloneConfig(backendType, options), { mode: 0o600 });
      return { dir, file };
    })();
    const pending = configDir;
    pending.catch(() => {
      if (configDir === pending) configDir = null;
    });
    return pending.then(({ file }) => file);
  };

  const rclone = async (args: string[], signal?: AbortSignal, input?: string): Promise<RunResult> => {
    throwIfAborted(signal, 'storage');
    return collect(args, await configFile(), input, signal);
  };

  const check = async (operation: string, args: string[], signal?: AbortSignal): Promise<string> => {
    const result = await rclone(args, signal);
    if (result.code !== 0) throw failure(operation, result);
    return result.stdout;
  };

  const deleteFile = async (key: string, signal?: AbortSignal) => {
    const result = await rclone(['deletefile', remotePath(key)], signal);
    if (
      result.code === 0 ||
      result.code === EXIT_FILE_NOT_FOUND ||
      result.code === EXIT_DIRECTORY_NOT_FOUND ||
      /not found|doesn't exist|no such file/i.test(result.stderr)
    ) {
      return;
    }
    throw failure(`delete of ${key}`, result);
  };

  interface LsEntry {
    Path: string;
    Name: string;
    Size: number;
    ModTime: string;
    IsDir: boolean;
  }

  const stat = async (key: string, signal?: AbortSignal): Promise<StorageObjectInfo | null> => {
    assertSafeKey(key);
    const result = await rclone(['lsjson', '--stat', remotePath(key)], signal);
    if (result.code === EXIT_DIRECTORY_NOT_FOUND || result.code === EXIT_FILE_NOT_FOUND) return null;
    if (result.code !== 0) {
      if (/not found|doesn't exist/i.test(result.stderr)) return null;
      throw failure(`stat of ${key}`, result);
    }
    const entry = JSON.parse(result.stdout) as LsEntry | null;
    if (!entry || entry.IsDir) return null;
    return { key, sizeBytes: entry.Size, updatedAt: new Date(entry.ModTime) };
  };

  const put = async (key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> => {
    assertSafeKey(key);
    const signal = options.signal;
    throwIfAborted(signal, 'storage');
    const file = await configFile();
    const tempKey = partialKeyFor(key, options.uploadId ?? randomBytes(6).toString('hex'));
    let written = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        written += chunk.length;
        callback(null, chunk);
      },
    });
    const child = spawnRclone(['rcat', remotePath(tempKey)], file);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_LIMIT);
    });
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code));
    });
    const onAbort = () => body.destroy(new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const sent = new Promise<void>((resolve, reject) => {
        pipeline(body, counter, child.stdin, (error) => {
          if (error) reject(error);
          else resolve();
        });
      });
      try {
        await sent;
      } catch (error) {
        child.kill('SIGTERM');
        await exited.catch(() => undefined);
        throw error;
      }
      const code = await exited;
      throwIfAborted(signal, 'storage');
      if (code !== 0) throw failure(`upload of ${key}`, { code, stderr });
      if (options.sizeBytes !== undefined && options.sizeBytes !== written) {
        throw new EngineError(
          'STORAGE_SIZE_MISMATCH',
          'storage',
          `rclone upload of ${key}: expected ${options.sizeBytes} bytes, got ${written}`,
        );
      }
      // --ignore-times: a same-sized older object at the key must still be replaced.
      await check(`upload of ${key}`, ['moveto', '--ignore-times', remotePath(tempKey), remotePath(key)]);
      return { sizeBytes: written };
    } catch (error) {
      if (!body.destroyed) body.destroy();
      await deleteFile(tempKey).catch(() => undefined);
      if (signal?.aborted === true || isAbortError(error)) {
        throw new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: error });
      }
      if (error instanceof EngineError) throw error;
      throw new EngineError(
        'STORAGE_OPERATION_FAILED',
        'storage',
        `rclone upload of ${key}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error, retryable: isTransientRcloneFailure(null, stderr) },
      );
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  };

  const get = async (
    key: string,
    options: { offset?: number; length?: number; signal?: AbortSignal } = {},
  ): Promise<Readable> => {
    assertSafeKey(key);
    // `rclone cat` of a directory prints every file in it: make sure the key is one object.
    const info = await stat(key, options.signal);
    if (!info) throw new EngineError('STORAGE_NOT_FOUND', 'storage', `rclone: object ${key} not found`);
    const args = ['cat', remotePath(key)];
    if (options.offset !== undefined && options.offset > 0) args.push('--offset', String(options.offset));
    if (options.length !== undefined) args.push('--count', String(options.length));
    const child = spawnRclone(args, await configFile());
    child.stdin.end();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_LIMIT);
    });
    const out = new PassThrough({ highWaterMark: 1024 * 1024 });
    child.stdout.pipe(out, { end: false });
    child.once('error', (error) => out.destroy(error));
    child.once('close', (code) => {
      if (code === 0) out.end();
      else if (!out.destroyed) out.destroy(failure(`download of ${key}`, { code, stderr }));
    });
    out.once('close', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    });
    const signal = options.signal;
    if (signal) {
      const onAbort = () => out.destroy(new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled'));
      signal.addEventListener('abort', onAbort, { once: true });
      out.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    return out;
  };

  return {
    type: backendType,
    testConnection: async (signal) => {
      await check('connection test', ['mkdir', remotePath('')], signal);
      await check('connection test', ['lsjson', '--max-depth', '1', remotePath('')], signal);
    },
    put,
    get,
    stat,
    list: async (prefix, signal) => {
      const trimmed = prefix.replace(/\/+$/, '');
      if (trimmed !== '') assertSafeKey(trimmed);
      const slash = prefix.lastIndexOf('/');
      const dir = slash >= 0 ? prefix.slice(0, slash) : '';
      const result = await rclone(['lsjson', '-R', '--files-only', remotePath(dir)], signal);
      if (result.code === EXIT_DIRECTORY_NOT_FOUND) return [];
      if (result.code !== 0) {
        if (/directory not found/i.test(result.stderr)) return [];
        throw failure(`listing of ${prefix || '/'}`, result);
      }
      const entries = JSON.parse(result.stdout) as LsEntry[];
      return entries
        .map((entry) => ({
          key: dir === '' ? entry.Path : `${dir}/${entry.Path}`,
          sizeBytes: entry.Size,
          updatedAt: new Date(entry.ModTime),
        }))
        .filter((entry) => entry.key.startsWith(prefix) && !isPartialKey(entry.key));
    },
    delete: async (key, signal) => {
      assertSafeKey(key);
      await deleteFile(key, signal);
    },
    usage: async (signal): Promise<StorageUsage | null> => {
      const result = await rclone(['about', '--json', remotePath('')], signal);
      if (result.code !== 0) {
        if (/doesn't support about|not supported|about not supported/i.test(result.stderr)) return null;
        throw failure('usage query', result);
      }
      const about = JSON.parse(result.stdout) as {
        total?: number;
        used?: number;
        free?: number;
        objects?: number;
      };
      const usage: StorageUsage = {};
      if (typeof about.total === 'number') usage.totalBytes = about.total;
      if (typeof about.used === 'number') usage.usedBytes = about.used;
      if (typeof about.free === 'number') usage.freeBytes = about.free;
      if (typeof about.objects === 'number') usage.objects = about.objects;
      return usage;
    },
    removeEmptyDirs: async (prefix) => {
      const trimmed = prefix.replace(/\/+$/, '');
      if (trimmed !== '') assertSafeKey(trimmed);
      const args = ['rmdirs', remotePath(trimmed)];
      if (trimmed === '') args.push('--leave-root');
      await rclone(args).catch(() => undefined);
    },
    close: async () => {
      const pending = configDir;
      configDir = null;
      if (!pending) return;
      try {
        const { dir } = await pending;
        await rm(dir, { recursive: true, force: true });
      } catch {
        // never written
      }
    },
  };
};
