/**
 * The file restore's writer (see file-restore.ts for the rules it enforces): extracts a chain of
 * archives into a private staging directory and, once every archive was read to its end, moves
 * the staged tree into the destination.
 *
 * Synchronous on purpose: it runs in the restore worker thread (file-restore.worker.ts), where a
 * blocking open/write/fchmod/futimes/close costs a few microseconds instead of five thread-pool
 * round trips per file, and the main thread stays free for download, decryption and
 * decompression.
 */
import {
  closeSync,
  constants,
  copyFileSync,
  fchmodSync,
  futimesSync,
  chmodSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { EngineError, describeError } from '../../errors.ts';
import { TarIntegrityError } from '../../verify/tar-verifier.ts';
import type { RunLogLevel } from '../types.ts';
import { TarParser } from './tar-parser.ts';
import type { ParsedTarHeader } from './tar-parser.ts';
import { DELETIONS_ENTRY } from './tar-walker.ts';

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

export class UnsafeEntryError extends EngineError {
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

const errnoCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

const parentOf = (rel: string): string => {
  const index = rel.lastIndexOf('/');
  return index === -1 ? '' : rel.slice(0, index);
};

const depthOf = (rel: string): number => rel.split('/').length;

const cancelledError = (): EngineError => new EngineError('ENGINE_CANCELLED', 'restore', 'cancelled');

/** Copies a staged entry across filesystems (rename's EXDEV case). */
const copyTree = (from: string, to: string): void => {
  const st = lstatSync(from);
  if (st.isSymbolicLink()) {
    rmSync(to, { force: true });
    symlinkSync(readlinkSync(from), to);
    lutimesSync(to, st.atime, st.mtime);
  } else if (st.isDirectory()) {
    mkdirSync(to, { mode: 0o755 });
    for (const name of readdirSync(from)) copyTree(path.join(from, name), path.join(to, name));
  } else {
    copyFileSync(from, to);
    chmodSync(to, st.mode & 0o7777);
    utimesSync(to, st.atime, st.mtime);
  }
};

/** Moves `from` to `to` (replacing a file/symlink at `to`); copies across filesystems. */
const moveEntry = (from: string, to: string): void => {
  try {
    renameSync(from, to);
  } catch (error) {
    if (errnoCode(error) !== 'EXDEV') throw error;
    copyTree(from, to);
    rmSync(from, { recursive: true, force: true });
  }
};

export interface RestoreStagerOptions {
  destination: string;
  /** Cleaned selected paths; empty = everything. */
  selected: readonly string[];
  archiveCount: number;
  log: (level: RunLogLevel, message: string) => void;
  cancelled: () => boolean;
}

type OpenEntry =
  | { kind: 'skip' }
  | { kind: 'file'; fd: number; header: ParsedTarHeader }
  | { kind: 'deletions'; name: string; parts: Buffer[]; bytes: number };

export class RestoreStager {
  readonly #options: RestoreStagerOptions;
  readonly #staging: string;
  readonly #stagedDirs = new Set<string>(['']);
  readonly #symlinks = new Set<string>();
  readonly #dirAttrs = new Map<string, { mode: number; mtime: number }>();
  readonly #pendingDeletions: string[] = [];
  readonly #counters = { entries: 0, files: 0, directories: 0, symlinks: 0, bytes: 0, deletions: 0 };
  #archive = 0;
  #parser: TarParser | null = null;
  #archiveEntries = 0;
  #archiveDeletions: string[] = [];
  #open: OpenEntry = { kind: 'skip' };

  constructor(options: RestoreStagerOptions) {
    this.#options = options;
    const parent = path.dirname(options.destination);
    mkdirSync(parent, { recursive: true });
    this.#staging = mkdtempSync(path.join(parent, '.backupx-restore-'));
  }

  /** Starts archive `index` (0-based) of the chain. */
  beginArchive(index: number): void {
    this.#archive = index;
    this.#archiveEntries = 0;
    this.#archiveDeletions = [];
    this.#parser = new TarParser({
      entry: (header) => this.#entry(header),
      data: (chunk) => this.#data(chunk),
      entryEnd: () => this.#entryEnd(),
    });
  }

  write(chunk: Buffer): void {
    if (this.#options.cancelled()) throw cancelledError();
    this.#parserOrThrow().push(chunk);
  }

  /** The archive was read to its end: check its end marker and apply its deletions in staging. */
  endArchive(): void {
    this.#parserOrThrow().finish();
    for (const rel of this.#archiveDeletions) {
      this.#assertNoSymlinkAncestor(rel, `${DELETIONS_ENTRY}: ${rel}`);
      this.#deleteBelow(this.#staging, rel);
      this.#forgetSubtree(rel);
      this.#pendingDeletions.push(rel);
    }
    const deletions = this.#archiveDeletions.length;
    this.#options.log(
      'info',
      `[RESTORE] archive ${this.#archive + 1}/${this.#options.archiveCount}: ${this.#archiveEntries} entries staged${deletions > 0 ? `, ${deletions} deletions` : ''}`,
    );
    this.#parser = null;
  }

  /** Every archive ended well: move the staged tree into place, then deletions and directory attributes. */
  commit(): FileRestoreResult {
    const { destination } = this.#options;
    mkdirSync(destination, { recursive: true });
    this.#merge(this.#staging, destination);
    for (const rel of this.#pendingDeletions)
      if (this.#deleteBelow(destination, rel)) this.#counters.deletions += 1;
    const dirs = [...this.#dirAttrs.entries()].sort((a, b) => depthOf(b[0]) - depthOf(a[0]));
    for (const [rel, attrs] of dirs) {
      const target = path.join(destination, ...rel.split('/'));
      try {
        if (!lstatSync(target).isDirectory()) continue;
      } catch {
        continue;
      }
      chmodSync(target, attrs.mode);
      utimesSync(target, attrs.mtime, attrs.mtime);
    }
    const c = this.#counters;
    const summary = `restored ${c.entries} entries (${c.files} files, ${c.directories} directories, ${c.symlinks} symlinks, ${c.bytes} bytes) from ${this.#options.archiveCount} archive(s) to ${destination}; ${c.deletions} deletions applied`;
    return { destination, ...c, summary };
  }

  /** Removes the staging directory (always, success or not). */
  dispose(): void {
    if (this.#open.kind === 'file') {
      closeSync(this.#open.fd);
      this.#open = { kind: 'skip' };
    }
    rmSync(this.#staging, { recursive: true, force: true });
  }

  #parserOrThrow(): TarParser {
    if (this.#parser === null) throw new Error('no archive started');
    return this.#parser;
  }

  #stagePath(rel: string): string {
    return rel === '' ? this.#staging : path.join(this.#staging, ...rel.split('/'));
  }

  #forgetSubtree(rel: string): void {
    const prefix = `${rel}/`;
    for (const set of [this.#stagedDirs, this.#symlinks]) {
      for (const key of set) if (key === rel || key.startsWith(prefix)) set.delete(key);
    }
    for (const key of this.#dirAttrs.keys())
      if (key === rel || key.startsWith(prefix)) this.#dirAttrs.delete(key);
  }

  /** An entry written after a deletion re-creates the path: that deletion no longer applies. */
  #revive(rel: string): void {
    const pending = this.#pendingDeletions;
    for (let index = pending.length - 1; index >= 0; index -= 1) {
      const deleted = pending[index] ?? '';
      if (rel === deleted || rel.startsWith(`${deleted}/`) || deleted.startsWith(`${rel}/`))
        pending.splice(index, 1);
    }
  }

  #assertNoSymlinkAncestor(rel: string, name: string): void {
    let index = rel.indexOf('/');
    while (index !== -1) {
      const ancestor = rel.slice(0, index);
      if (this.#symlinks.has(ancestor))
        throw new UnsafeEntryError(name, `its path goes through the symlink "${ancestor}" of the archive`);
      index = rel.indexOf('/', index + 1);
    }
  }

  /** Removes whatever staged entry is at `rel` (file, symlink or directory tree). */
  #clearStaged(rel: string): void {
    rmSync(this.#stagePath(rel), { recursive: true, force: true });
    this.#forgetSubtree(rel);
  }

  #ensureDir(rel: string): void {
    if (this.#stagedDirs.has(rel)) return;
    this.#ensureDir(parentOf(rel));
    const target = this.#stagePath(rel);
    try {
      mkdirSync(target, { mode: 0o755 });
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
      if (!lstatSync(target).isDirectory()) {
        this.#clearStaged(rel);
        mkdirSync(target, { mode: 0o755 });
      }
    }
    this.#stagedDirs.add(rel);
  }

  /** Deletes `rel` below `root` without ever descending through a symlink. */
  #deleteBelow(root: string, rel: string): boolean {
    const segments = rel.split('/');
    let current = root;
    for (const segment of segments.slice(0, -1)) {
      current = path.join(current, segment);
      try {
        if (!lstatSync(current).isDirectory()) return false;
      } catch (error) {
        if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return false;
        throw error;
      }
    }
    const target = path.join(root, ...segments);
    try {
      lstatSync(target);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return false;
      throw error;
    }
    rmSync(target, { recursive: true, force: true });
    return true;
  }

  /** Moves the staged tree into the destination, merging into existing real directories. */
  #merge(fromDir: string, toDir: string): void {
    for (const name of readdirSync(fromDir)) {
      if (this.#options.cancelled()) throw cancelledError();
      const from = path.join(fromDir, name);
      const to = path.join(toDir, name);
      const staged = lstatSync(from);
      let existing: Stats | null = null;
      try {
        existing = lstatSync(to);
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') throw error;
      }
      if (staged.isDirectory() && existing?.isDirectory() === true) {
        this.#merge(from, to);
        continue;
      }
      // A directory already at the destination is never replaced by a file or symlink of the
      // backup: its contents may be newer than the backup, and a restore must not lose data.
      if (existing?.isDirectory() === true) {
        this.#options.log(
          'warn',
          `[RESTORE] kept the existing directory ${to}: the backup has a ${staged.isSymbolicLink() ? 'symlink' : 'file'} there`,
        );
        continue;
      }
      if (existing !== null && staged.isDirectory()) rmSync(to, { force: true });
      moveEntry(from, to);
    }
  }

  #readDeletions(name: string, body: Buffer): string[] {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new TarIntegrityError(`deletion list is not JSON: ${describeError(error)}`, { cause: error });
    }
    if (parsed === null) return [];
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string'))
      throw new TarIntegrityError('deletion list is not an array of paths');
    const out: string[] = [];
    for (const item of parsed) {
      const segments = cleanArchivePath(item, `${name}: ${item}`);
      if (segments === null) throw new UnsafeEntryError(`${name}: ${item}`, 'would delete the restore root');
      const rel = segments.join('/');
      if (isSelected(rel, this.#options.selected)) out.push(rel);
    }
    return out;
  }

  #openStagedFile(rel: string): number {
    this.#ensureDir(parentOf(rel));
    const target = this.#stagePath(rel);
    if (this.#stagedDirs.has(rel) || this.#symlinks.has(rel)) this.#clearStaged(rel);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    try {
      return openSync(target, flags, 0o600);
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
      this.#clearStaged(rel);
      return openSync(target, flags, 0o600);
    }
  }

  #entry(header: ParsedTarHeader): void {
    if (this.#options.cancelled()) throw cancelledError();
    this.#open = { kind: 'skip' };
    const { name, type } = header;
    if (type === null) throw new UnsafeEntryError(name, 'unsupported entry type');
    const segments = cleanArchivePath(name);
    if (segments === null) return;
    const rel = segments.join('/');
    if (rel === DELETIONS_ENTRY && (type === 'file' || type === 'contiguous-file')) {
      if (header.size > MAX_DELETIONS_BYTES) throw new UnsafeEntryError(name, 'deletion list is too large');
      this.#open = { kind: 'deletions', name, parts: [], bytes: 0 };
      return;
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
      default:
        throw new UnsafeEntryError(name, `unexpected ${type} entry`);
    }
    this.#assertNoSymlinkAncestor(rel, name);
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
    if (!isSelected(rel, this.#options.selected)) return;
    this.#revive(rel);
    this.#archiveEntries += 1;
    this.#counters.entries += 1;
    if (type === 'directory') {
      if (this.#symlinks.has(rel)) this.#clearStaged(rel);
      this.#ensureDir(rel);
      this.#dirAttrs.set(rel, { mode: header.mode & 0o7777, mtime: header.mtimeSeconds });
      this.#counters.directories += 1;
    } else if (type === 'symlink') {
      this.#ensureDir(parentOf(rel));
      this.#clearStaged(rel);
      const target = this.#stagePath(rel);
      symlinkSync(header.linkname ?? '', target);
      this.#symlinks.add(rel);
      lutimesSync(target, header.mtimeSeconds, header.mtimeSeconds);
      this.#counters.symlinks += 1;
    } else {
      this.#open = { kind: 'file', fd: this.#openStagedFile(rel), header };
    }
  }

  #data(chunk: Buffer): void {
    const open = this.#open;
    if (open.kind === 'file') {
      let at = 0;
      while (at < chunk.length) at += writeSync(open.fd, chunk, at, chunk.length - at);
    } else if (open.kind === 'deletions') {
      open.parts.push(Buffer.from(chunk));
      open.bytes += chunk.length;
    }
  }

  #entryEnd(): void {
    const open = this.#open;
    this.#open = { kind: 'skip' };
    if (open.kind === 'file') {
      try {
        fchmodSync(open.fd, open.header.mode & 0o7777);
        futimesSync(open.fd, open.header.mtimeSeconds, open.header.mtimeSeconds);
      } finally {
        closeSync(open.fd);
      }
      this.#counters.files += 1;
      this.#counters.bytes += open.header.size;
    } else if (open.kind === 'deletions') {
      this.#archiveDeletions.push(...this.#readDeletions(open.name, Buffer.concat(open.parts, open.bytes)));
    }
  }
}
