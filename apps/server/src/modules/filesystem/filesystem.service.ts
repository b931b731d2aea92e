import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FsList } from '@backupx/contract';
import { AppError } from '../../lib/errors.ts';

export type FilesystemService = ReturnType<typeof createFilesystemService>;

/** As BackupX's content browser: a listing stops here and says it was truncated. */
export const FS_LIST_MAX_ENTRIES = 10_000;

const invalidPath = (shown: string, why: string) =>
  new AppError('FS_PATH_INVALID', `Cannot list "${shown}": ${why}`);

const reasons: Record<string, string> = {
  ENOENT: 'it does not exist',
  ENOTDIR: 'it is not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
};

const reasonOf = (error: unknown): string => {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return reasons[code] ?? (code === '' ? 'it cannot be read' : code);
};

/**
 * The directory picker of the task form: one directory of the master's file system, never
 * recursing. Symbolic links are reported as what they point to (a link to a directory is a
 * directory) so they can be picked; their targets are not listed here.
 */
export const createFilesystemService = () => ({
  async list(requested: string | undefined): Promise<FsList> {
    const raw = (requested ?? '').trim();
    const shown = raw === '' ? '/' : raw;
    if (raw.includes('\0')) throw invalidPath('(invalid)', 'the path contains a NUL byte');
    if (raw !== '' && !path.posix.isAbsolute(raw)) throw invalidPath(shown, 'the path must be absolute');
    const dir = path.posix.resolve(shown);

    let dirents: Dirent[];
    try {
      const info = await stat(dir);
      if (!info.isDirectory()) throw invalidPath(dir, 'it is not a directory');
      dirents = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw invalidPath(dir, reasonOf(error));
    }

    // Only links need a stat to tell a directory from a file; sizes are read for what is shown.
    const typed = await Promise.all(
      dirents.map(async (dirent) => {
        const full = path.posix.join(dir, dirent.name);
        if (!dirent.isSymbolicLink()) return { name: dirent.name, path: full, isDir: dirent.isDirectory() };
        try {
          return { name: dirent.name, path: full, isDir: (await stat(full)).isDirectory() };
        } catch {
          return { name: dirent.name, path: full, isDir: false };
        }
      }),
    );
    typed.sort((a, b) =>
      a.isDir === b.isDir ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.isDir ? -1 : 1,
    );
    const truncated = typed.length > FS_LIST_MAX_ENTRIES;
    const entries = await Promise.all(
      typed.slice(0, FS_LIST_MAX_ENTRIES).map(async (entry) => {
        if (entry.isDir) return { ...entry, size: 0 };
        try {
          return { ...entry, size: (await stat(entry.path)).size };
        } catch {
          // A dangling link, or an entry that vanished meanwhile.
          return { ...entry, size: 0 };
        }
      }),
    );
    return {
      path: dir,
      parent: dir === '/' ? null : path.posix.dirname(dir),
      entries,
      truncated,
    };
  },
});
