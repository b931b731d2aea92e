/**
 * Records of repository (deduplicated) runs (SPEC §3.14) on the master's side: the run itself,
 * reading a copy back (restore, download as tar, drills), and pruning after snapshots are deleted.
 * Every write to a target's repository — a run or a prune — holds that target's lease.
 */
import type { Readable } from 'node:stream';
import type { RepositoryStats, UploadResult } from '@backupx/contract';
import {
  backupToRepository,
  isSnapshotKey,
  loadIndex,
  loadSnapshot,
  pruneRepository,
  snapshotTarBytes,
  snapshotTarStream,
  type Manifest,
  type RepositoryBackupResult,
  type RunLogger,
} from '@backupx/engine';
import type { BackupTaskRow } from '../../db/tables.ts';
import {
  openFirstReadableCopy,
  parseUploadResults,
  type ArtifactCopy,
  type CopyPruner,
  type OpenedTarget,
  type TargetAccess,
} from './artifacts.ts';
import type { RepositoryLeases } from './repository-leases.ts';
import type { RecordRow, RunsRepository } from './runs.repository.ts';

export const isRepositoryRecord = (record: { backupKind: string }): boolean =>
  record.backupKind === 'repository';

/**
 * The task's newest successful repository record: its snapshot is the previous one of the next
 * run (unchanged files are not read again), on the master or on an agent.
 */
export const previousSnapshotRecord = async (
  records: Pick<RunsRepository, 'successfulRecords'>,
  taskId: number,
): Promise<RecordRow | undefined> =>
  (await records.successfulRecords(taskId)).find(
    (record) => isRepositoryRecord(record) && record.storagePath !== '',
  );

/** The stored figures of a repository record; null for other records or unreadable JSON. */
export const repositoryStatsOf = (record: {
  backupKind: string;
  repositoryStats: string;
}): RepositoryStats | null => {
  if (!isRepositoryRecord(record) || record.repositoryStats === '') return null;
  try {
    const parsed = JSON.parse(record.repositoryStats) as Partial<RepositoryStats>;
    return {
      logicalBytes: parsed.logicalBytes ?? 0,
      uploadedBytes: parsed.uploadedBytes ?? 0,
      reusedBytes: parsed.reusedBytes ?? 0,
      uniqueChunks: parsed.uniqueChunks ?? 0,
      newChunks: parsed.newChunks ?? 0,
      unchangedFiles: parsed.unchangedFiles ?? 0,
      encrypted: parsed.encrypted === true,
    };
  } catch {
    return null;
  }
};

/** Digest of one copy's snapshot: encrypted snapshots differ per target (a fresh nonce each). */
export const snapshotChecksumOf = (
  record: { storageUploadResults: string; storageTargetId: number; checksum: string },
  storageTargetId: number,
): string => {
  const result = parseUploadResults(record.storageUploadResults).find(
    (item) => item.status === 'success' && item.storageTargetId === storageTargetId,
  );
  return result?.checksum ?? (storageTargetId === record.storageTargetId ? record.checksum : '');
};

/**
 * After a snapshot is deleted, prunes its target's repository under the target's lease (SPEC §6.3
 * "prune CDC repositories touched by deleted repository snapshots").
 */
export const createRepositoryPruner = (
  leases: RepositoryLeases,
  encryptionKey: Buffer,
  holder: string,
): CopyPruner => ({
  applies: (copy) => isSnapshotKey(copy.storagePath),
  run: (storageTargetId, backend) =>
    leases.withLeases([storageTargetId], `${holder}:prune`, (signal) =>
      pruneRepository({ backend, encryptionKey, signal }),
    ),
});

/**
 * Opens the first readable copy's snapshot as a plain tar stream (the download of a repository
 * record), its exact size known up front; the backend closes when the caller is done.
 */
export const openRepositoryExport = async (
  targets: TargetAccess,
  copies: readonly ArtifactCopy[],
  record: {
    storageUploadResults: string;
    storageTargetId: number;
    checksum: string;
    repositoryStats: string;
    backupKind: string;
  },
  encryptionKey: Buffer,
): Promise<{ stream: Readable; sizeBytes: number; close: () => Promise<void> }> => {
  const encrypted = repositoryStatsOf(record)?.encrypted === true;
  let sizeBytes = 0;
  const opened = await openFirstReadableCopy(targets, copies, async (backend, copy) => {
    const { snapshot } = await loadSnapshot(backend, copy.storagePath, {
      checksum: snapshotChecksumOf(record, copy.storageTargetId),
      ...(encrypted ? { encryptionKey } : {}),
    });
    const index = await loadIndex(backend);
    sizeBytes = snapshotTarBytes(snapshot);
    return snapshotTarStream(backend, snapshot, index, encrypted ? { encryptionKey } : {});
  });
  return { stream: opened.stream, sizeBytes, close: opened.close };
};

export interface RepositoryRunInput {
  task: BackupTaskRow;
  recordId: number;
  startedAt: Date;
  sourcePaths: string[];
  excludePatterns: string[];
  compression: 'zstd' | 'gzip' | 'none';
  encryptionKey?: Buffer;
  opened: readonly OpenedTarget[];
  usedBytes: ReadonlyMap<number, number>;
  /** Newest successful repository record of the task (its snapshot lets unchanged files be skipped). */
  previous?: { storagePath: string };
  holder: string;
  leases: RepositoryLeases;
  signal: AbortSignal;
  log: RunLogger;
  onProgress: (progress: { bytesRead: number; bytesUploaded: number }) => void;
}

export interface RepositoryRunOutput {
  result: RepositoryBackupResult;
  uploadResults: UploadResult[];
  stats: RepositoryStats;
  manifest: Manifest;
}

/** One repository run on this master, holding the lease of every target while it writes. */
export const runRepositoryBackup = async (input: RepositoryRunInput): Promise<RepositoryRunOutput> => {
  const { opened, log } = input;
  const result = await input.leases.withLeases(
    opened.map(({ target }) => target.id),
    input.holder,
    (signal) =>
      backupToRepository({
        taskId: input.task.id,
        recordId: input.recordId,
        createdAt: input.startedAt,
        sourcePaths: input.sourcePaths,
        excludePatterns: input.excludePatterns,
        compression: input.compression,
        ...(input.encryptionKey === undefined ? {} : { encryptionKey: input.encryptionKey }),
        targets: opened.map(({ target, backend }) => ({
          name: target.name,
          backend,
          checkQuota: (estimate: number) => {
            const used = input.usedBytes.get(target.id) ?? 0;
            return target.quotaBytes > 0 && used + estimate > target.quotaBytes
              ? `exceeds quota: ${String(used)} bytes used + about ${String(estimate)} new bytes > quota ${String(target.quotaBytes)} bytes`
              : null;
          },
        })),
        ...(input.previous === undefined ? {} : { previousSnapshot: { key: input.previous.storagePath } }),
        signal,
        log,
        onProgress: input.onProgress,
      }),
    {
      signal: input.signal,
      onWait: (id) =>
        log(
          'info',
          `waiting for the repository lease of storage target #${String(id)} (another writer is using it)`,
        ),
    },
  );
  const uploadResults = result.targets.map((outcome, index): UploadResult => {
    const target = opened[index]?.target;
    return {
      storageTargetId: target?.id ?? 0,
      storageTargetName: outcome.name,
      status: outcome.status,
      ...(outcome.status === 'success'
        ? {
            storagePath: result.snapshotKey,
            fileSize: outcome.uploadedBytes ?? 0,
            transferMode: '',
            checksum: outcome.snapshotSha256 ?? '',
          }
        : { error: outcome.error ?? 'failed' }),
    };
  });
  const first = result.targets.find((outcome) => outcome.status === 'success');
  return {
    result,
    uploadResults,
    manifest: result.manifest,
    stats: {
      logicalBytes: result.logicalBytes,
      uploadedBytes: first?.uploadedBytes ?? 0,
      reusedBytes: first?.reusedBytes ?? 0,
      uniqueChunks: result.uniqueChunks,
      newChunks: first?.newChunks ?? 0,
      unchangedFiles: result.unchangedFiles,
      encrypted: input.encryptionKey !== undefined,
    },
  };
};
