import path from 'node:path';
import type { Readable } from 'node:stream';
import type { UploadResult } from '@backupx/contract';
import type { StorageBackend } from '@backupx/engine';
import type { BackupTaskRow } from '../../db/tables.ts';

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

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
  /** Summaries (type included) of the targets among `ids` that exist. */
  getSummaries(ids: readonly number[]): Promise<{ id: number; type: string }[]>;
}

/** Reaches the copies an agent keeps on its own disk (implemented by the nodes' command queue). */
export interface AgentDiskAccess {
  /** Queues `delete_storage_object` for the node's agent; does not wait for it (best effort). */
  deleteOnNode(nodeId: number, copy: ArtifactCopy): Promise<void>;
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
  /** `master_relay` or `direct` when an agent wrote it; empty when this master did. */
  transferMode: string;
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
  storageTransferMode: string;
}): ArtifactCopy[] => {
  const results = parseUploadResults(record.storageUploadResults).filter(
    (result) => result.status === 'success',
  );
  if (results.length === 0) {
    return record.storagePath === '' || record.storageTargetId === 0
      ? []
      : [
          {
            storageTargetId: record.storageTargetId,
            storagePath: record.storagePath,
            transferMode: record.storageTransferMode,
          },
        ];
  }
  return results.map((result) => ({
    storageTargetId: result.storageTargetId,
    storagePath: result.storagePath ?? record.storagePath,
    // BackupX agents report the mode on the record only.
    transferMode: result.transferMode ?? record.storageTransferMode,
  }));
};

/**
 * Splits a record's copies by who can reach them (SPEC §4.6). A copy an agent wrote `direct` to a
 * `local_disk` target is on that agent's own disk: the master must neither read it nor touch the
 * same path on its own disk. Everything else (network storage, master-relay disks) the master reaches.
 */
export const partitionCopies = async (
  targets: Pick<TargetAccess, 'getSummaries'>,
  copies: readonly ArtifactCopy[],
): Promise<{ reachable: ArtifactCopy[]; onAgentDisk: ArtifactCopy[] }> => {
  const agentWritten = copies.filter((copy) => copy.transferMode === 'direct');
  const localDisks = new Set(
    agentWritten.length === 0
      ? []
      : (await targets.getSummaries(agentWritten.map((copy) => copy.storageTargetId)))
          .filter((target) => target.type === 'local_disk')
          .map((target) => target.id),
  );
  const onAgentDisk = agentWritten.filter((copy) => localDisks.has(copy.storageTargetId));
  return { reachable: copies.filter((copy) => !onAgentDisk.includes(copy)), onAgentDisk };
};

/**
 * Deletes every copy of a record: the master's own reach directly, an agent's own disk through a
 * `delete_storage_object` command to the node that made it. Returns the problems; an empty list
 * means the row may go.
 */
export const removeRecordCopies = async (
  targets: TargetAccess,
  agentDisks: AgentDiskAccess | undefined,
  record: Parameters<typeof copiesOf>[0] & { nodeId: number },
  prune?: CopyPruner,
): Promise<string[]> => {
  const { reachable, onAgentDisk } = await partitionCopies(targets, copiesOf(record));
  const problems = await deleteCopies(targets, reachable, prune);
  for (const copy of onAgentDisk) {
    try {
      if (agentDisks === undefined) throw new Error('no agent can be reached from this master');
      await agentDisks.deleteOnNode(record.nodeId, copy);
    } catch (error) {
      problems.push(
        `target #${String(copy.storageTargetId)} on node #${String(record.nodeId)}: ${messageOf(error)}`,
      );
    }
  }
  return problems;
};

/** Prunes the repository a deleted copy belonged to (repository snapshots only). */
export interface CopyPruner {
  applies(copy: ArtifactCopy): boolean;
  run(storageTargetId: number, backend: StorageBackend): Promise<unknown>;
}

/** Marks the problem of a copy whose snapshot went but whose repository could not be pruned. */
export const REPOSITORY_PRUNE_FAILED = 'repository prune failed';

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
  prune?: CopyPruner,
): Promise<string[]> => {
  const problems: string[] = [];
  for (const copy of copies) {
    try {
      await withBackend(targets, copy.storageTargetId, async ({ backend }) => {
        await backend.delete(copy.storagePath);
        if (prune !== undefined && prune.applies(copy)) {
          try {
            await prune.run(copy.storageTargetId, backend);
          } catch (error) {
            throw new Error(`${REPOSITORY_PRUNE_FAILED}: ${messageOf(error)}`, { cause: error });
          }
          return;
        }
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
