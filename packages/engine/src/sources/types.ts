import type { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

export type RunLogLevel = 'info' | 'warn' | 'error';
/** Where a source writes its log lines (the run log the user sees). Lines never contain secrets. */
export type RunLogger = (level: RunLogLevel, message: string) => void;

/** Everything a source may touch, passed in so tests and agents control it. */
export interface SourceContext {
  signal: AbortSignal;
  log: RunLogger;
  /** A private working directory for this run; the caller creates and removes it. */
  workDir: string;
  /** The run's start time; artifact names use it (UTC). */
  now: Date;
  /** Starts child processes (mysqldump, pg_dump, hdbsql, mongodump, …). */
  spawn: typeof spawn;
  /** Environment for child processes (PATH). Passwords are added per call, never logged. */
  env: Record<string, string | undefined>;
}

/** Connection details of a database source. */
export interface DatabaseConnection {
  host: string;
  port: number;
  user: string;
  password: string;
  /** One or more database names (SPEC: dbName split on `,`). */
  databases: string[];
}

/**
 * One entry of a file backup's manifest (SPEC §3.12, short keys on the wire). A differential
 * backup's manifest lists the whole tree a restore of full + differential yields.
 */
export interface ManifestEntry {
  /** Archive-relative path with `/` separators. */
  p: string;
  /** Size in bytes (0 for directories). */
  s: number;
  /** mtime in Unix nanoseconds. */
  m: number;
  /** Permission bits. */
  o: number;
  /** Present and true for directories. */
  d?: boolean;
  /** Symlink target (ours; BackupX has none). */
  l?: string;
  /**
   * Regular files (ours): lowercase hex SHA-256 of the bytes archived for the entry, i.e. what a
   * restore writes (zero padding included when the file shrank while read). Absent in manifests
   * written before it existed and in BackupX's.
   */
  h?: string;
}

export interface Manifest {
  entries: ManifestEntry[];
}

/** What a source produces: a stream of the raw artifact, and how it ended. */
export interface SourceArtifact {
  /** Base file name before compression/encryption suffixes, e.g. `web_20260421T020000.tar`. */
  fileName: string;
  /** The raw (uncompressed, unencrypted) artifact bytes. Read it to the end. */
  stream: Readable;
  /** Exact size when known before reading (a SQLite snapshot file). */
  sizeBytes?: number;
  /**
   * Hands a chunk read from `stream` back to the source once nothing references it any more, so
   * the source can fill it again instead of allocating (the file source: see backupFiles).
   */
  recycle?: (chunk: Buffer) => void;
  /**
   * Settles after the stream has ended: resolves when the producer finished cleanly (a dump tool
   * exited 0, every file was read), rejects with an EngineError otherwise. A backup is only good
   * when this resolves.
   */
  completion: Promise<SourceCompletion>;
}

export interface SourceCompletion {
  /** `differential` only when a differential archive against a baseline was written. */
  backupKind: 'full' | 'differential';
  /** Produced by file backups: the full tree after restoring this backup (and its full, for a differential). */
  manifest?: Manifest;
  /** Counters for the log (entries, files, bytes, warnings). */
  summary?: string;
}

export interface RestoreOptions {
  /** Restore into this absolute directory instead of the original place (file sources). */
  targetPath?: string;
  /** Only these archive paths and their descendants (file sources). */
  selectedPaths?: string[];
}
