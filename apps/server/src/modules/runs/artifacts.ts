import path from 'node:path';
import type { Readable } from 'node:stream';
import type { UploadResult } from '@backupx/contract';
import type { StorageBackend } from '@backupx/engine';
import type { BackupTaskRow } from '../../db/tables.ts';

/** A storage target opened for use; the runs module only needs these fields of it. */
export interface OpenedTarget {
  target: { id: number; name: string; type: string; quotaBytes: number };
  backend: StorageBackend;
}

/** How the runs module reaches storage targets (implemented by the storage-targets service). */
export interface TargetAccess {
  /** `allowDisabled` for reading or deleting copies that already exist on a disabled target. */
  openBackend(targetId: number, options?: { allowDisabled?: boolean }): Promise<OpenedTarget>;
  /** Bytes used per target by successful records (every copy counts), for hard quotas. */
  usedBytesByTarget(): Promise<Map<number, number>>;
}

/** How the runs module reads tasks (implemented by the tasks repository). */
export interface TaskReader {
  findById(id: number): Promise<BackupTaskRow | undefined>;
  /** Ordered targets of the tasks. */
  targetsOf(taskIds: readonly number[]): Promise<{ storageTargetId: number }[]>;
}

/** The task's storage target ids in the configured order. */
export const targetIdsOf = async (tasks: TaskReader, taskId: number): Promise<number[]> =>
  (await tasks.targetsOf([taskId])).map((link) => link.storageTargetId);

/** One stored copy of a record's artifact. */
export interface ArtifactCopy {
  storageTargetId: number;
  storagePath: string;
}

export const parseUploadResults = (json: string): UploadResult[] => {
  try {
    const parsed: unknown = JSON.parse(json === '' ? '[]' : json);
    return Array.isArray(parsed) ? (parsed as UploadResult[]) : [];
  } catch {
    return [];
  }
};

/**
 * Every successful copy of a record: one per target from its upload results, or — for records
 * without results — the record's own target and path.
 */
export const copiesOf = (record: {
  storageUploadResults: string;
  storageTargetId: number;
  storagePath: string;
}): ArtifactCopy[] => {
  const results = parseUploadResults(record.storageUploadResults).filter(
    (result) => result.status === 'success',
  );
  if (results.length === 0) {
    return record.storagePath === '' || record.storageTargetId === 0
      ? []
      : [{ storageTargetId: record.storageTargetId, storagePath: record.storagePath }];
  }
  return results.map((result) => ({
    storageTargetId: result.storageTargetId,
    storagePath: result.storagePath ?? record.storagePath,
  }));
};

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Runs `use` with an opened backend and always closes it. */
export const withBackend = async <T>(
  targets: TargetAccess,
  targetId: number,
  use: (opened: OpenedTarget) => Promise<T>,
): Promise<T> => {
  const opened = await targets.openBackend(targetId, { allowDisabled: true });
  try {
    return await use(opened);
  } finally {
    await opened.backend.close().catch(() => undefined);
  }
};

/**
 * Deletes every copy (quirk 7: not only the primary). Returns the problems; an empty list means
 * every copy is gone and the record row may be deleted.
 */
export const deleteCopies = async (
  targets: TargetAccess,
  copies: readonly ArtifactCopy[],
): Promise<string[]> => {
  const problems: string[] = [];
  for (const copy of copies) {
    try {
      await withBackend(targets, copy.storageTargetId, async ({ backend }) => {
        await backend.delete(copy.storagePath);
        const directory = path.posix.dirname(copy.storagePath);
        if (directory !== '.' && directory !== '')
          await backend.removeEmptyDirs(directory).catch(() => undefined);
      });
    } catch (error) {
      problems.push(`target #${String(copy.storageTargetId)}: ${messageOf(error)}`);
    }
  }
  return problems;
};

/**
 * Opens the first readable copy, primary first: a download or restore still works when one
 * target is down. Returns the stream and which copy served it.
 */
export const openFirstReadableCopy = async (
  targets: TargetAccess,
  copies: readonly ArtifactCopy[],
  open: (backend: StorageBackend, copy: ArtifactCopy) => Promise<Readable>,
): Promise<{ stream: Readable; copy: ArtifactCopy; close: () => Promise<void> }> => {
  const problems: string[] = [];
  for (const copy of copies) {
    let opened: OpenedTarget | undefined;
    try {
      opened = await targets.openBackend(copy.storageTargetId, { allowDisabled: true });
      const stream = await open(opened.backend, copy);
      const backend = opened.backend;
      return { stream, copy, close: () => backend.close().catch(() => undefined) };
    } catch (error) {
      await opened?.backend.close().catch(() => undefined);
      problems.push(
        `${opened?.target.name ?? `target #${String(copy.storageTargetId)}`}: ${messageOf(error)}`,
      );
    }
  }
  throw new Error(problems.length === 0 ? 'the record has no stored copy' : problems.join('; '));
};
