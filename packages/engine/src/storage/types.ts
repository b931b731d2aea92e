import type { Readable } from 'node:stream';

/** One stored object. Keys are `/`-separated, relative to the backend's root, never starting with `/`. */
export interface StorageObjectInfo {
  key: string;
  sizeBytes: number;
  updatedAt: Date;
}

/** Capacity as the backend reports it; unknown figures are absent. */
export interface StorageUsage {
  totalBytes?: number;
  usedBytes?: number;
  freeBytes?: number;
  objects?: number;
}

export interface PutOptions {
  /** Exact size when known; some backends need it up front, others stream without it. */
  sizeBytes?: number;
  /** Small string metadata (e.g. `taskId`, `recordId`); backends that cannot store it ignore it. */
  metadata?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * Lower-hex id of this upload, used in the name of the temporary sibling
   * (`.<name>.backupx-<uploadId>.partial`) where a backend writes one: whoever records it can
   * remove the leftover of an upload whose process died (a random id is used otherwise).
   */
  uploadId?: string;
}

export interface PutResult {
  /** Bytes the backend received (checked against the bytes sent). */
  sizeBytes: number;
}

/**
 * What every storage backend offers (SPEC §4.1), implemented natively per protocol.
 *
 * Atomicity: `put` either completes and the object appears at `key` with all its bytes, or it
 * throws and nothing is visible at `key` — a half-written upload is written under a temporary
 * name (or an uncommitted multipart/block list) and removed or abandoned on failure or abort.
 * Missing objects are not errors for `delete`; `get`/`stat` of a missing key throw
 * `STORAGE_NOT_FOUND` / return null.
 */
export interface StorageBackend {
  /** Provider type, e.g. `s3`, `sftp`. */
  readonly type: string;
  /** Creates the root if needed, then lists it: proves credentials and reachability. */
  testConnection(signal?: AbortSignal): Promise<void>;
  put(key: string, body: Readable, options?: PutOptions): Promise<PutResult>;
  /** Streams an object, or `length` bytes from `offset` (native ranged read where the protocol has one). */
  get(key: string, options?: { offset?: number; length?: number; signal?: AbortSignal }): Promise<Readable>;
  stat(key: string, signal?: AbortSignal): Promise<StorageObjectInfo | null>;
  /** Every object under `prefix` (recursive), in no particular order; a missing prefix is an empty list. */
  list(prefix: string, signal?: AbortSignal): Promise<StorageObjectInfo[]>;
  delete(key: string, signal?: AbortSignal): Promise<void>;
  /** Capacity, where the backend can tell (local disk, WebDAV quota, Drive, rclone about); else null. */
  usage(signal?: AbortSignal): Promise<StorageUsage | null>;
  /** Removes empty directories under `prefix`, deepest first (no-op for flat object stores). */
  removeEmptyDirs(prefix: string): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** Things a backend may need from its host: outbound fetch, process spawning, temp space, logging. */
export interface BackendDeps {
  fetch?: typeof fetch;
  tempDir?: string;
  log?: (level: 'info' | 'warn', message: string) => void;
}
