/**
 * File restore (SPEC §7.3, hardened): applies a chain of tar archives (a full, then its
 * differential) to a destination, all or nothing with respect to the archives' integrity.
 *
 * - Destination: `targetPath` (absolute) or the parent of the first source path.
 * - Every archive of the chain is extracted into a private staging directory created in the
 *   destination's parent (same filesystem), differential deletions applied there too. Only when
 *   every archive has been read to its end-of-archive marker are the staged entries moved into
 *   place (rename; a copy across mount points), then the deletions applied to the destination,
 *   then directory modes and mtimes (deepest first). A truncated or corrupt archive, or an unsafe
 *   entry anywhere in the chain, leaves the destination untouched.
 * - Refused (EngineError `RESTORE_UNSAFE_ENTRY`, naming the entry and why): absolute names, `..`
 *   components, entries whose path goes through a symlink of the archive, symlinks whose relative
 *   target leaves the restore root, hard links, devices, FIFOs, unknown types, unsafe deletion
 *   paths. Absolute symlink targets are kept as recorded (backups of real trees contain them);
 *   nothing is ever written through a symlink: files are created with O_EXCL|O_NOFOLLOW, and
 *   moving into place never descends into a symlink of the destination (it replaces it).
 * - Selective restore: an entry is kept iff its cleaned name equals a selected path or starts with
 *   `selected + "/"`; only deletions under selected paths apply.
 * - Modes (incl. setuid/setgid/sticky) and mtimes (pax sub-second precision) restored; ownership is not.
 */
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import {
  copyFile,
  lstat,
  lutimes,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readlink,
  rename,
  rm,
  symlink,
  utimes,
  chmod,
} from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { EngineError, isAbortError, throwIfAborted } from '../../errors.ts';
import { TarIntegrityError, readTarEntries } from '../../verify/tar-verifier.ts';
import type { TarHeader } from '../../verify/tar-verifier.ts';
import type { SourceContext } from '../types.ts';
import { DELETIONS_ENTRY } from './file-source.ts';

export interface FileRestoreOptions {
  /** The task's source paths; the default destination is the parent of the first one. */
  sourcePaths: readonly string[];
  /** Restore into this absolute directory instead. */
  targetPath?: string;
  /** Only these archive paths and their descendants. */
  selectedPaths?: readonly string[];
}

export interface FileRestoreResult {
  destination: string;
  entries: number;
  files: number;
  directories: number;
  symlinks: number;
  bytes: number;
  deletions: number;
  summary: string;
}

const MAX_DELETIONS_BYTES = 256 * 1024 * 1024;

class UnsafeEntryError extends EngineError {
  constructor(entry: string, why: string) {
    super('RESTORE_UNSAFE_ENTRY', 'restore', `refusing archive entry "${entry}": ${why}`);
  }
}

/**
 * Cleans an archive name into `/`-separated segments; `null` for the root (`.`, `./`). Throws
 * UnsafeEntryError for absolute names, `..` components and NUL bytes.
 */
export const cleanArchivePath = (name: string, what = name): string[] | null => {
  if (name.includes('\0')) throw new UnsafeEntryError(what, 'name contains a NUL byte');
  if (name.startsWith('/')) throw new UnsafeEntryError(what, 'absolute path escapes the restore root');
  const segments = name.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) throw new UnsafeEntryError(what, "'..' component escapes the restore root");
  return segments.length === 0 ? null : segments;
};

/** SPEC §7.3: kept iff the name equals a selected path or starts with `selected + "/"`. */
export const isSelected = (name: string, selected: readonly string[]): boolean =>
  selected.length === 0 || selected.some((s) => name === s || name.startsWith(`${s}/`));

const describe = (error: unknown): string => {
  const errno = error as NodeJS.ErrnoException;
  if (typeof errno.code === 'string') return `${errno.code}: ${errno.message}`;
  return error instanceof Error ? error.message : String(error);
};

const errnoCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

const parentOf = (rel: string): string => {
  const index = rel.lastIndexOf('/');
  return index === -1 ? '' : rel.slice(0, index);
};

const depthOf = (rel: string): number => rel.split('/').length;

/** mtime in seconds (fractional when the archive has a pax `mtime`). */
const mtimeSeconds = (header: TarHeader): number => {
  const pax = header.pax?.mtime;
  if (pax !== undefined) {
    const value = Number.parseFloat(pax);
    if (Number.isFinite(value)) return value;
  }
  return header.mtime.getTime() / 1000;
};

const resolveDestination = (options: FileRestoreOptions): string => {
  const target = options.targetPath?.trim() ?? '';
  if (target !== '') {
    if (!path.isAbsolute(target))
      throw new EngineError(
        'RESTORE_TARGET_INVALID',
        'restore',
        `restore target path must be absolute: ${target}`,
      );
    return path.resolve(target);
  }
  const first = options.sourcePaths.map((p) => p.trim()).find((p) => p !== '');
  if (first === undefined)
    throw new EngineError('RESTORE_TARGET_INVALID', 'restore', 'no source path or target path to restore to');
  return path.dirname(path.resolve(first));
};

/** Moves `from` to `to` (replacing a file/symlink at `to`); copies across filesystems. */
const moveEntry = async (from: string, to: string): Promise<void> => {
  try {
    await rename(from, to);
  } catch (error) {
    if (errnoCode(error) !== 'EXDEV') throw error;
    await copyTree(from, to);
    await rm(from, { recursive: true, force: true });
  }
};

const copyTree = async (from: string, to: string): Promise<void> => {
  const st = await lstat(from);
  if (st.isSymbolicLink()) {
    await rm(to, { force: true });
    await symlink(await readlink(from), to);
    await lutimes(to, st.atime, st.mtime);
  } else if (st.isDirectory()) {
    await mkdir(to, { mode: 0o755 });
    for (const name of await readdir(from)) await copyTree(path.join(from, name), path.join(to, name));
  } else {
    await copyFile(from, to);
    await chmod(to, st.mode & 0o7777);
    await utimes(to, st.atime, st.mtime);
  }
};

/** Restores a chain of file archives; see the module comment. */
/** Files up to this size are written through the bounded pool of restoreFiles. */
const SMALL_WRITE_BYTES = 256 * 1024;
/** Small-file writes in flight at most. */
const WRITE_WINDOW = 32;
/** Bytes of small files held for writing at most. */
const WRITE_BUDGET_BYTES = 16 * 1024 * 1024;

export const restoreFiles = async (
  ctx: Pick<SourceContext, 'signal' | 'log'>,
  archives: readonly Readable[],
  options: FileRestoreOptions,
): Promise<FileRestoreResult> => {
  let started = 0;
  // The archives may fail (checksum, decryption) while the staging area is being prepared, before
  // anything reads them: keep such an error instead of letting it escape as an unhandled event.
  for (const archive of archives) archive.on('error', () => undefined);
  const destroyUnread = (): void => {
    for (const archive of archives.slice(started)) archive.destroy();
  };
  let destination: string;
  let selected: string[];
  try {
    throwIfAborted(ctx.signal, 'restore');
    destination = resolveDestination(options);
    if (archives.length === 0)
      throw new EngineError('RESTORE_SOURCE_INVALID', 'restore', 'nothing to restore: no archive');
    selected = [];
    for (const raw of options.selectedPaths ?? []) {
      const wanted = raw.trim().replace(/^\/+/, '');
      if (wanted === '') continue;
      let segments: string[] | null;
      try {
        segments = cleanArchivePath(wanted);
      } catch {
        throw new EngineError('RESTORE_SELECTION_INVALID', 'restore', `invalid selected path: ${raw}`);
      }
      if (segments === null) {
        selected = [];
        break;
      }
      selected.push(segments.join('/'));
    }
  } catch (error) {
    destroyUnread();
    throw error;
  }

  const parent = path.dirname(destination);
  await mkdir(parent, { recursive: true });
  const staging = await mkdtemp(path.join(parent, '.backupx-restore-'));
  const stagePath = (rel: string): string => (rel === '' ? staging : path.join(staging, ...rel.split('/')));

  const stagedDirs = new Set<string>(['']);
  const symlinks = new Set<string>();
  const dirAttrs = new Map<string, { mode: number; mtime: number }>();
  const pendingDeletions: string[] = [];
  const counters = { entries: 0, files: 0, directories: 0, symlinks: 0, bytes: 0, deletions: 0 };

  const forgetSubtree = (rel: string): void => {
    const prefix = `${rel}/`;
    for (const set of [stagedDirs, symlinks]) {
      for (const key of set) if (key === rel || key.startsWith(prefix)) set.delete(key);
    }
    for (const key of dirAttrs.keys()) if (key === rel || key.startsWith(prefix)) dirAttrs.delete(key);
  };

  /** An entry written after a deletion re-creates the path: that deletion no longer applies. */
  const revive = (rel: string): void => {
    if (pendingDeletions.length === 0) return;
    for (let index = pendingDeletions.length - 1; index >= 0; index -= 1) {
      const deleted = pendingDeletions[index] ?? '';
      if (rel === deleted || rel.startsWith(`${deleted}/`) || deleted.startsWith(`${rel}/`))
        pendingDeletions.splice(index, 1);
    }
  };

  const assertNoSymlinkAncestor = (rel: string, name: string): void => {
    let index = rel.indexOf('/');
    while (index !== -1) {
      const ancestor = rel.slice(0, index);
      if (symlinks.has(ancestor))
        throw new UnsafeEntryError(name, `its path goes through the symlink "${ancestor}" of the archive`);
      index = rel.indexOf('/', index + 1);
    }
  };

  /** Removes whatever staged entry is at `rel` (file, symlink or directory tree). */
  const clearStaged = async (rel: string): Promise<void> => {
    await rm(stagePath(rel), { recursive: true, force: true });
    forgetSubtree(rel);
  };

  const ensureDir = async (rel: string): Promise<void> => {
    if (stagedDirs.has(rel)) return;
    await ensureDir(parentOf(rel));
    const target = stagePath(rel);
    try {
      await mkdir(target, { mode: 0o755 });
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
      const st = await lstat(target);
      if (!st.isDirectory()) {
        await clearStaged(rel);
        await mkdir(target, { mode: 0o755 });
      }
    }
    stagedDirs.add(rel);
  };

  /**
   * Small files are written through a bounded pool (open, write, chmod, utimes, close run while
   * the next entries are read): one after another, those round trips leave the restore idle.
   * The pool is drained before any other kind of entry, at the end of each archive, and before
   * the staging directory is committed or removed; its first error fails the restore.
   */
  const pendingWrites = new Map<string, Promise<void>>();
  let pendingBytes = 0;
  let writeError: unknown = null;
  const settleWrites = () => Promise.allSettled([...pendingWrites.values()]);
  const drainWrites = async (): Promise<void> => {
    await settleWrites();
    if (writeError !== null) {
      const error = writeError instanceof Error ? writeError : new Error(describe(writeError));
      writeError = null;
      throw error;
    }
  };
  const queueWrite = async (rel: string, bytes: number, task: () => Promise<void>): Promise<void> => {
    const earlier = pendingWrites.get(rel);
    if (earlier !== undefined) await earlier;
    while (
      pendingWrites.size >= WRITE_WINDOW ||
      (pendingWrites.size > 0 && pendingBytes + bytes > WRITE_BUDGET_BYTES)
    ) {
      await Promise.race(pendingWrites.values());
    }
    if (writeError !== null) await drainWrites();
    pendingBytes += bytes;
    const running: Promise<void> = task()
      .catch((error: unknown) => {
        writeError ??= error;
      })
      .finally(() => {
        pendingBytes -= bytes;
        if (pendingWrites.get(rel) === running) pendingWrites.delete(rel);
      });
    pendingWrites.set(rel, running);
  };

  const readEntryFully = async (header: TarHeader, data: Readable): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of data) {
        chunks.push(chunk as Buffer);
        size += (chunk as Buffer).length;
        if (ctx.signal.aborted) throwIfAborted(ctx.signal, 'restore');
      }
    } catch (error) {
      if (isAbortError(error) || error instanceof EngineError) throw error;
      throw new TarIntegrityError(`entry "${header.name}" unreadable: ${describe(error)}`, { cause: error });
    }
    if (size !== header.size)
      throw new TarIntegrityError(`entry "${header.name}" has ${size} of ${header.size} bytes`);
    return Buffer.concat(chunks, size);
  };

  const writeSmallFile = async (rel: string, header: TarHeader, data: Readable): Promise<number> => {
    const content = await readEntryFully(header, data);
    await ensureDir(parentOf(rel));
    const target = stagePath(rel);
    if (stagedDirs.has(rel) || symlinks.has(rel)) await clearStaged(rel);
    await queueWrite(rel, content.length, async () => {
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
      let handle;
      try {
        handle = await open(target, flags, 0o600);
      } catch (error) {
        if (errnoCode(error) !== 'EEXIST') throw error;
        await clearStaged(rel);
        handle = await open(target, flags, 0o600);
      }
      try {
        if (content.length > 0) await handle.write(content);
        await handle.chmod(header.mode & 0o7777);
        const mtime = mtimeSeconds(header);
        await handle.utimes(mtime, mtime);
      } finally {
        await handle.close();
      }
    });
    return content.length;
  };

  const writeFile = async (rel: string, header: TarHeader, data: Readable): Promise<number> => {
    if (header.size <= SMALL_WRITE_BYTES) return writeSmallFile(rel, header, data);
    await drainWrites();
    await ensureDir(parentOf(rel));
    const target = stagePath(rel);
    if (stagedDirs.has(rel) || symlinks.has(rel)) await clearStaged(rel);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    let handle;
    try {
      handle = await open(target, flags, 0o600);
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
      await clearStaged(rel);
      handle = await open(target, flags, 0o600);
    }
    let written = 0;
    try {
      const iterator = data[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      for (;;) {
        let next: IteratorResult<Buffer>;
        try {
          next = await iterator.next();
        } catch (error) {
          throw new TarIntegrityError(`entry "${header.name}" unreadable: ${describe(error)}`, {
            cause: error,
          });
        }
        if (next.done === true) break;
        written += next.value.length;
        await handle.write(next.value);
        if (ctx.signal.aborted) throwIfAborted(ctx.signal, 'restore');
      }
      const expected = header.size;
      if (written !== expected)
        throw new TarIntegrityError(`entry "${header.name}" has ${written} of ${expected} bytes`);
      await handle.chmod(header.mode & 0o7777);
      const mtime = mtimeSeconds(header);
      await handle.utimes(mtime, mtime);
    } finally {
      await handle.close();
    }
    return written;
  };

  const writeSymlink = async (rel: string, header: TarHeader): Promise<void> => {
    await ensureDir(parentOf(rel));
    await clearStaged(rel);
    const target = stagePath(rel);
    await symlink(header.linkname ?? '', target);
    symlinks.add(rel);
    const mtime = mtimeSeconds(header);
    await lutimes(target, mtime, mtime);
  };

  const readDeletions = async (data: Readable, name: string): Promise<string[]> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of data as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_DELETIONS_BYTES) throw new UnsafeEntryError(name, 'deletion list is too large');
      chunks.push(chunk);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (error) {
      throw new TarIntegrityError(`deletion list is not JSON: ${describe(error)}`, { cause: error });
    }
    if (parsed === null) return [];
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string'))
      throw new TarIntegrityError('deletion list is not an array of paths');
    const out: string[] = [];
    for (const item of parsed) {
      const segments = cleanArchivePath(item, `${name}: ${item}`);
      if (segments === null) throw new UnsafeEntryError(`${name}: ${item}`, 'would delete the restore root');
      const rel = segments.join('/');
      if (isSelected(rel, selected)) out.push(rel);
    }
    return out;
  };

  /** Deletes `rel` below `root` without ever descending through a symlink. */
  const deleteBelow = async (root: string, rel: string): Promise<boolean> => {
    const segments = rel.split('/');
    let current = root;
    for (const segment of segments.slice(0, -1)) {
      current = path.join(current, segment);
      try {
        const st = await lstat(current);
        if (!st.isDirectory()) return false;
      } catch (error) {
        if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return false;
        throw error;
      }
    }
    const target = path.join(root, ...segments);
    try {
      await lstat(target);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return false;
      throw error;
    }
    await rm(target, { recursive: true, force: true });
    return true;
  };

  const extractArchive = async (archive: Readable, index: number): Promise<void> => {
    const deletions: string[] = [];
    let entries = 0;
    for await (const { header, stream: data } of readTarEntries(archive, ctx.signal)) {
      throwIfAborted(ctx.signal, 'restore');
      const name = header.name;
      const type = header.type;
      if (type === null) throw new UnsafeEntryError(name, 'unsupported entry type');
      const segments = cleanArchivePath(name);
      if (segments === null) continue;
      const rel = segments.join('/');
      if (rel === DELETIONS_ENTRY && (type === 'file' || type === 'contiguous-file')) {
        deletions.push(...(await readDeletions(data, name)));
        continue;
      }
      switch (type) {
        case 'file':
        case 'contiguous-file':
        case 'directory':
        case 'symlink':
          break;
        case 'link':
          throw new UnsafeEntryError(name, `hard link (to "${header.linkname ?? ''}") refused`);
        case 'character-device':
        case 'block-device':
          throw new UnsafeEntryError(name, `device file (${type}) refused`);
        case 'fifo':
          throw new UnsafeEntryError(name, 'FIFO refused');
        case 'pax-header':
        case 'pax-global-header':
        case 'gnu-long-path':
        case 'gnu-long-link-path':
          throw new UnsafeEntryError(name, `unexpected ${type} entry`);
      }
      assertNoSymlinkAncestor(rel, name);
      if (type === 'symlink') {
        const link = header.linkname ?? '';
        if (link === '') throw new UnsafeEntryError(name, 'symlink without target');
        if (link.includes('\0')) throw new UnsafeEntryError(name, 'symlink target contains a NUL byte');
        if (!link.startsWith('/')) {
          const resolved = path.posix.normalize(path.posix.join(parentOf(rel), link));
          if (resolved === '..' || resolved.startsWith('../'))
            throw new UnsafeEntryError(name, `symlink target "${link}" resolves outside the restore root`);
        }
      }
      if (!isSelected(rel, selected)) continue;
      revive(rel);
      entries += 1;
      counters.entries += 1;
      if (type !== 'file' && type !== 'contiguous-file') await drainWrites();
      if (type === 'directory') {
        if (symlinks.has(rel)) await clearStaged(rel);
        await ensureDir(rel);
        dirAttrs.set(rel, { mode: header.mode & 0o7777, mtime: mtimeSeconds(header) });
        counters.directories += 1;
      } else if (type === 'symlink') {
        await writeSymlink(rel, header);
        counters.symlinks += 1;
      } else {
        counters.bytes += await writeFile(rel, header, data);
        counters.files += 1;
      }
    }
    await drainWrites();
    for (const rel of deletions) {
      assertNoSymlinkAncestor(rel, `${DELETIONS_ENTRY}: ${rel}`);
      await deleteBelow(staging, rel);
      forgetSubtree(rel);
      pendingDeletions.push(rel);
    }
    ctx.log(
      'info',
      `[RESTORE] archive ${index + 1}/${archives.length}: ${entries} entries staged${deletions.length > 0 ? `, ${deletions.length} deletions` : ''}`,
    );
  };

  /** Moves the staged tree into the destination, merging into existing real directories. */
  const merge = async (fromDir: string, toDir: string): Promise<void> => {
    for (const name of await readdir(fromDir)) {
      throwIfAborted(ctx.signal, 'restore');
      const from = path.join(fromDir, name);
      const to = path.join(toDir, name);
      const staged = await lstat(from);
      let existing: Stats | null = null;
      try {
        existing = await lstat(to);
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') throw error;
      }
      if (staged.isDirectory() && existing?.isDirectory() === true) {
        await merge(from, to);
        continue;
      }
      if (existing !== null && (existing.isDirectory() || staged.isDirectory()))
        await rm(to, { recursive: true, force: true });
      await moveEntry(from, to);
    }
  };

  try {
    for (const [index, archive] of archives.entries()) {
      started = index + 1;
      if (archive.errored !== null) throw archive.errored;
      await extractArchive(archive, index);
    }
    // Every archive read to its end: move into place.
    await mkdir(destination, { recursive: true });
    await merge(staging, destination);
    for (const rel of pendingDeletions) if (await deleteBelow(destination, rel)) counters.deletions += 1;
    const dirs = [...dirAttrs.entries()].sort((a, b) => depthOf(b[0]) - depthOf(a[0]));
    for (const [rel, attrs] of dirs) {
      const target = path.join(destination, ...rel.split('/'));
      try {
        const st = await lstat(target);
        if (!st.isDirectory()) continue;
      } catch {
        continue;
      }
      await chmod(target, attrs.mode);
      await utimes(target, attrs.mtime, attrs.mtime);
    }
  } catch (error) {
    destroyUnread();
    if (error instanceof EngineError) throw error;
    if (isAbortError(error) || ctx.signal.aborted)
      throw new EngineError('ENGINE_CANCELLED', 'restore', 'cancelled', { cause: error });
    if (error instanceof TarIntegrityError)
      throw new EngineError(
        'RESTORE_ARCHIVE_CORRUPT',
        'restore',
        `archive ${started}/${archives.length} is not a complete tar: ${error.message}`,
        {
          cause: error,
        },
      );
    throw new EngineError('RESTORE_WRITE_FAILED', 'restore', `file restore failed: ${describe(error)}`, {
      cause: error,
    });
  } finally {
    // No write may land in the staging directory after it is removed.
    await settleWrites();
    await rm(staging, { recursive: true, force: true });
  }

  const summary = `restored ${counters.entries} entries (${counters.files} files, ${counters.directories} directories, ${counters.symlinks} symlinks, ${counters.bytes} bytes) from ${archives.length} archive(s) to ${destination}; ${counters.deletions} deletions applied`;
  ctx.log('info', summary);
  return { destination, ...counters, summary };
};
