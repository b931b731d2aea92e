/**
 * Public shapes of the deduplicating repository (SPEC §3.14). The functions live beside this file:
 * `backupToRepository` (repository-backup.ts), `restoreFromRepository`, `exportRepositoryTar`,
 * `verifyRepository` (repository-read.ts), `pruneRepository` (repository-prune.ts).
 */
import type { Compression } from '../pipeline/compression.ts';
import type { RunLogger, Manifest } from '../sources/types.ts';
import type { StorageBackend } from '../storage/types.ts';

export interface RepositoryTarget {
  name: string;
  backend: StorageBackend;
  /** Refuses the run on this target when the estimate of what it adds does not fit (SPEC step 2). */
  checkQuota?: (estimatedBytes: number) => string | null;
}

export interface RepositoryBackupOptions {
  taskId: number;
  recordId: number;
  createdAt: Date;
  sourcePaths: readonly string[];
  excludePatterns?: readonly string[];
  compression: Compression;
  /** 32-byte key (SPEC §3.6); absent = unencrypted repository chunks and snapshot. */
  encryptionKey?: Buffer;
  targets: readonly RepositoryTarget[];
  /**
   * Key of this task's previous snapshot (on every target that has it): files whose path, size,
   * mtime and mode are unchanged reuse its chunk list without being read, when every chunk is
   * still in the target's index.
   */
  previousSnapshot?: { key: string; checksum?: string };
  signal: AbortSignal;
  log: RunLogger;
  onProgress?: (progress: { bytesRead: number; bytesUploaded: number }) => void;
}

export interface RepositoryTargetResult {
  name: string;
  status: 'success' | 'failed';
  error?: string;
  snapshotSha256?: string;
  snapshotBytes?: number;
  /** Packs + indexes + snapshot written to this target. */
  uploadedBytes?: number;
  /** Logical bytes already stored on this target (or repeated within the run). */
  reusedBytes?: number;
  newChunks?: number;
}

export interface RepositoryBackupResult {
  snapshotKey: string;
  /** Base name of the snapshot key (the record's file name). */
  fileName: string;
  logicalBytes: number;
  uniqueChunks: number;
  unchangedFiles: number;
  manifest: Manifest;
  targets: RepositoryTargetResult[];
}

export interface RepositoryReadOptions {
  backend: StorageBackend;
  snapshotKey: string;
  /** SHA-256 of the snapshot object; required for restore, export and verify. */
  checksum: string;
  encryptionKey?: Buffer;
  signal?: AbortSignal;
  log?: RunLogger;
}
