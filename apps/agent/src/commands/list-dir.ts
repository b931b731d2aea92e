/**
 * `list_dir {path}` (SPEC §11.2): the directory picker of the console browsing this node.
 * Directories first, then by name; size 0 for directories. It must answer fast even on huge
 * directories and while backups run (the master waits 15 s at most), so it stops at 5000 entries
 * and stats only those, a bounded number at a time.
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { text } from './payload.ts';
import type { CommandExecutor } from './types.ts';

export const LIST_DIR_MAX_ENTRIES = 5000;
const STAT_CONCURRENCY = 64;

export interface DirEntry {
  name: string;
  path: string;
  isDir: boolean;
  size: number;
}

export interface DirListing {
  entries: DirEntry[];
  truncated?: true;
}

const compareNames = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Lists `dir`; unreadable directories throw with the OS message (`EACCES: permission denied, …`). */
export const listDirectory = async (
  rawPath: string,
  maxEntries = LIST_DIR_MAX_ENTRIES,
): Promise<DirListing> => {
  // An empty path is the root; relative paths are taken from the root, as the console sends them.
  const dir = path.resolve('/', rawPath.trim() === '' ? '/' : rawPath.trim());
  const dirents: Dirent[] = await readdir(dir, { withFileTypes: true });
  // A symlink to a directory is shown as a directory: a backup source may be one (/var/www → /srv/www).
  const classified = await Promise.all(
    dirents.map(async (dirent) => {
      let isDir = dirent.isDirectory();
      if (dirent.isSymbolicLink())
        isDir = await stat(path.join(dir, dirent.name)).then(
          (s) => s.isDirectory(),
          () => false,
        );
      return { name: dirent.name, isDir };
    }),
  );
  classified.sort((a, b) => (a.isDir === b.isDir ? compareNames(a.name, b.name) : a.isDir ? -1 : 1));
  const kept = classified.slice(0, maxEntries);
  const entries: DirEntry[] = new Array<DirEntry>(kept.length);
  for (let start = 0; start < kept.length; start += STAT_CONCURRENCY) {
    await Promise.all(
      kept.slice(start, start + STAT_CONCURRENCY).map(async (item, offset) => {
        const full = path.join(dir, item.name);
        const size = item.isDir
          ? 0
          : await stat(full).then(
              (s) => s.size,
              () => 0,
            );
        entries[start + offset] = { name: item.name, path: full, isDir: item.isDir, size };
      }),
    );
  }
  return classified.length > maxEntries ? { entries, truncated: true } : { entries };
};

export const listDir: CommandExecutor = (_ctx, payload) => listDirectory(text(payload, 'path'));
