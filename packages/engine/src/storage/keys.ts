import { EngineError } from '../errors.ts';

/**
 * Validates an object key: relative, `/`-separated, no empty, `.` or `..` segments, no NUL or
 * backslash. Every backend calls this before touching the remote side.
 */
export const assertSafeKey = (key: string): string => {
  const bad =
    key === '' ||
    key.startsWith('/') ||
    key.includes('\0') ||
    key.includes('\\') ||
    key.split('/').some((segment) => segment === '' || segment === '.' || segment === '..');
  if (bad) throw new EngineError('STORAGE_KEY_INVALID', 'storage', `invalid object key "${key}"`);
  return key;
};

/** Joins a backend root and a key into a remote path with single slashes. */
export const joinRemotePath = (root: string, key: string): string => {
  const trimmedRoot = root.replace(/\/+$/, '');
  return trimmedRoot === '' ? key : `${trimmedRoot}/${key}`;
};

/**
 * The upload id of a record's puts, on the master and on agents alike: its temporary objects are
 * `.<name>.backupx-<id>.partial`, so whoever cleans up after a dead run can name them.
 */
export const uploadIdOf = (recordId: number): string => recordId.toString(16).padStart(12, '0');

/** A temporary sibling name for atomic writes: `<dir>/.<base>.backupx-<random>.partial`. */
export const partialKeyFor = (key: string, random: string): string => {
  const slash = key.lastIndexOf('/');
  const dir = slash >= 0 ? key.slice(0, slash + 1) : '';
  return `${dir}.${key.slice(slash + 1)}.backupx-${random}.partial`;
};

/** True for keys written by `partialKeyFor` (hidden from `list`). */
export const isPartialKey = (key: string): boolean => /(^|\/)\.[^/]*\.backupx-[0-9a-f]+\.partial$/.test(key);
