import { randomBytes } from 'node:crypto';
import { constants as fsConstants, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, rmdir, stat, statfs, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable, addAbortSignal } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { localDiskConfigSchema } from '@backupx/contract';
import { EngineError, throwIfAborted } from '../errors.ts';
import { assertSafeKey, isPartialKey, partialKeyFor } from './keys.ts';
import type { BackendDeps, StorageBackend, StorageObjectInfo, StorageUsage } from './types.ts';
import { byteCounter } from './byte-counter.ts';

const errnoCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | null)?.code;

/** Validates a list/cleanup prefix: empty, or a safe key optionally ending in `/`. */
const assertSafePrefix = (prefix: string): string => {
  if (prefix === '') return prefix;
  assertSafeKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
};

/** The directory part of a prefix (`a/b/c` → `a/b`, `a/b/` → `a/b`, `x` → ``). */
const prefixDirectory = (prefix: string): string => {
  const slash = prefix.lastIndexOf('/');
  return slash >= 0 ? prefix.slice(0, slash) : '';
};

/**
 * The `local_disk` backend: objects are files under `basePath`. Writes go to a hidden partial file
 * in the target directory, are fsynced, then renamed over the key, so readers never see half a file.
 */
export const createLocalDiskBackend = (config: unknown, _deps: BackendDeps = {}): StorageBackend => {
  const settings = localDiskConfigSchema.parse(config);
  const basePath = path.resolve(settings.basePath);

  const fsPath = (key: string): string => path.join(basePath, ...key.split('/'));

  /** Real path of the base directory (symlinks resolved), cached once it exists. */
  let realBase: string | undefined;
  const resolvedBase = async (): Promise<string> => {
    realBase ??= await realpath(basePath);
    return realBase;
  };

  /** Resolves symlinks and refuses anything that leaves basePath. Missing files propagate ENOENT. */
  const confined = async (file: string): Promise<string> => {
    const [base, real] = await Promise.all([resolvedBase(), realpath(file)]);
    if (real !== base && !real.startsWith(base + path.sep)) {
      throw new EngineError(
        'STORAGE_PATH_ESCAPE',
        'storage',
        `"${path.relative(basePath, file)}" resolves outside the storage root`,
      );
    }
    return real;
  };

  const notFound = (key: string, cause?: unknown) =>
    new EngineError('STORAGE_NOT_FOUND', 'storage', `object "${key}" not found`, { cause });

  const syncDirectory = async (directory: string): Promise<void> => {
    try {
      const handle = await open(directory, fsConstants.O_RDONLY);
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch {
      // Directory fsync is best effort (not supported on every filesystem).
    }
  };

  const walk = async (relativeDir: string, out: StorageObjectInfo[], signal?: AbortSignal): Promise<void> => {
    throwIfAborted(signal, 'storage');
    const absoluteDir = relativeDir === '' ? basePath : fsPath(relativeDir);
    let entries;
    try {
      entries = await readdir(absoluteDir, { withFileTypes: true });
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return;
      throw error;
    }
    for (const entry of entries) {
      const key = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
      if (isPartialKey(key)) continue;
      const absolute = path.join(absoluteDir, entry.name);
      if (entry.isDirectory()) {
        await walk(key, out, signal);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        try {
          const real = entry.isSymbolicLink() ? await confined(absolute) : absolute;
          const info = await stat(real);
          if (info.isFile()) out.push({ key, sizeBytes: info.size, updatedAt: info.mtime });
          else if (info.isDirectory() && entry.isSymbolicLink()) continue;
        } catch (error) {
          if (error instanceof EngineError || errnoCode(error) === 'ENOENT') continue;
          throw error;
        }
      }
    }
  };

  /** Removes empty directories below `absolute`, deepest first; returns whether it is now empty. */
  const pruneEmpty = async (absolute: string): Promise<boolean> => {
    let entries;
    try {
      entries = await readdir(absolute, { withFileTypes: true });
    } catch {
      return false;
    }
    let empty = true;
    for (const entry of entries) {
      if (entry.isDirectory()) {
        const child = path.join(absolute, entry.name);
        if (await pruneEmpty(child)) {
          try {
            await rmdir(child);
          } catch {
            empty = false;
          }
        } else {
          empty = false;
        }
      } else {
        empty = false;
      }
    }
    return empty;
  };

  return {
    type: 'local_disk',

    async testConnection(signal) {
      throwIfAborted(signal, 'storage');
      await mkdir(basePath, { recursive: true });
      await readdir(basePath);
      realBase = undefined;
      await resolvedBase();
    },

    async put(key, body, options = {}) {
      assertSafeKey(key);
      const { signal } = options;
      const target = fsPath(key);
      const directory = path.dirname(target);
      await mkdir(directory, { recursive: true });
      await confined(directory);
      const temporary = fsPath(partialKeyFor(key, options.uploadId ?? randomBytes(8).toString('hex')));
      const counter = byteCounter(options.sizeBytes);
      let renamed = false;
      try {
        throwIfAborted(signal, 'storage');
        await pipeline(
          body,
          counter,
          createWriteStream(temporary, { flags: 'wx', mode: 0o644, highWaterMark: 1024 * 1024 }),
          signal ? { signal } : {},
        );
        const handle = await open(temporary, 'r+');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        throwIfAborted(signal, 'storage');
        await rename(temporary, target);
        renamed = true;
        await syncDirectory(directory);
        return { sizeBytes: counter.bytes };
      } catch (error) {
        if (!body.destroyed) body.destroy();
        throw error;
      } finally {
        if (!renamed) await unlink(temporary).catch(() => undefined);
      }
    },

    async get(key, options = {}) {
      assertSafeKey(key);
      throwIfAborted(options.signal, 'storage');
      let real: string;
      try {
        real = await confined(fsPath(key));
      } catch (error) {
        if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') throw notFound(key, error);
        throw error;
      }
      const handle = await open(real, 'r').catch((error: unknown) => {
        if (errnoCode(error) === 'ENOENT') throw notFound(key, error);
        throw error;
      });
      try {
        const info = await handle.stat();
        if (!info.isFile()) throw notFound(key);
        const start = options.offset ?? 0;
        if (options.length === 0 || start >= info.size) {
          await handle.close();
          return Readable.from([]);
        }
        const end = options.length === undefined ? undefined : start + options.length - 1;
        const stream = handle.createReadStream({
          start,
          ...(end === undefined ? {} : { end }),
          highWaterMark: 1024 * 1024,
        });
        return options.signal ? addAbortSignal(options.signal, stream) : stream;
      } catch (error) {
        await handle.close().catch(() => undefined);
        throw error;
      }
    },

    async stat(key, signal) {
      assertSafeKey(key);
      throwIfAborted(signal, 'storage');
      try {
        const info = await stat(await confined(fsPath(key)));
        return info.isFile() ? { key, sizeBytes: info.size, updatedAt: info.mtime } : null;
      } catch (error) {
        if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return null;
        throw error;
      }
    },

    async list(prefix, signal) {
      assertSafePrefix(prefix);
      const out: StorageObjectInfo[] = [];
      await walk(prefixDirectory(prefix), out, signal);
      return out.filter((entry) => entry.key.startsWith(prefix));
    },

    async delete(key, signal) {
      assertSafeKey(key);
      throwIfAborted(signal, 'storage');
      const file = fsPath(key);
      try {
        const info = await lstat(file);
        if (info.isDirectory()) return;
        await unlink(file);
      } catch (error) {
        if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return;
        throw error;
      }
    },

    async usage(signal) {
      throwIfAborted(signal, 'storage');
      // statfs of the nearest existing ancestor: the root may not have been created yet.
      let probe = basePath;
      for (;;) {
        try {
          const fs = await statfs(probe);
          const usage: StorageUsage = {
            totalBytes: fs.blocks * fs.bsize,
            usedBytes: (fs.blocks - fs.bfree) * fs.bsize,
            freeBytes: fs.bavail * fs.bsize,
          };
          return usage;
        } catch (error) {
          const parent = path.dirname(probe);
          if (errnoCode(error) !== 'ENOENT' || parent === probe) throw error;
          probe = parent;
        }
      }
    },

    async removeEmptyDirs(prefix) {
      assertSafePrefix(prefix);
      const relative = prefix.replace(/\/+$/, '');
      const absolute = relative === '' ? basePath : fsPath(relative);
      try {
        await confined(absolute);
      } catch {
        return;
      }
      const empty = await pruneEmpty(absolute);
      if (empty && relative !== '') await rmdir(absolute).catch(() => undefined);
    },

    close: () => Promise.resolve(),
  };
};
