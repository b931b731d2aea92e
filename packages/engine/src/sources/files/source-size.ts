import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/** Entries looked at, at most: beyond this the estimate is abandoned (huge trees). */
const MAX_ENTRIES = 500_000;

/**
 * Sum of the regular-file sizes under the source paths, for the progress bar of a file backup
 * (the archive is not sized up front). Runs beside the backup; null when it gives up or fails.
 */
export const estimateSourceBytes = async (
  sources: readonly string[],
  signal: AbortSignal,
): Promise<number | null> => {
  let total = 0;
  let entries = 0;
  const pending = [...sources];
  try {
    while (pending.length > 0) {
      if (signal.aborted || entries > MAX_ENTRIES) return null;
      const current = pending.pop() as string;
      const info = await lstat(current);
      entries += 1;
      if (info.isFile()) total += info.size;
      else if (info.isDirectory())
        for (const name of await readdir(current).catch(() => [])) pending.push(path.join(current, name));
    }
    return total;
  } catch {
    return null;
  }
};
