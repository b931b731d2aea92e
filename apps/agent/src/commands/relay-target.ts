/**
 * Master-relay storage (SPEC §4.6): a `local_disk` target with `masterRelay` lives on the master's
 * disk, so the agent hands the artifact to the master instead of writing it itself.
 *
 * The master requires `Content-Length` (and the SHA-256 as a header) before it accepts a byte, so
 * the artifact is spooled to a file under the run's work directory first; only relay targets pay
 * for this, direct targets stream through the pipeline. The spool is kept until the run ends: the
 * pipeline may read the object back from this target to repair another target that failed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EngineError, type PutOptions, type StorageBackend } from '@backupx/engine';
import { createBackoff, sleep } from '../backoff.ts';
import { isRetryableMasterError, type MasterClient } from '../master-client.ts';

export interface SpoolResult {
  file: string;
  sizeBytes: number;
  /** Lower-hex SHA-256 of the spooled bytes. */
  sha256: string;
}

/** Writes `body` to `file` (0600) while counting and hashing it; removes the file on failure. */
export const spoolToFile = async (
  body: Readable,
  file: string,
  signal?: AbortSignal,
): Promise<SpoolResult> => {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    await pipeline(body, tap, createWriteStream(file, { mode: 0o600 }), signal ? { signal } : {});
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
  return { file, sizeBytes, sha256: hash.digest('hex') };
};

export interface RelayTargetOptions {
  client: MasterClient;
  recordId: number;
  targetId: number;
  /** Where spools are written (the run's work directory). */
  spoolDir: string;
  /** Upload attempts per artifact: a master restart during the upload is survived. */
  attempts?: number;
  /** First pause between attempts (doubles each time). */
  retryDelayMs?: number;
  log?: (level: 'info' | 'warn', message: string) => void;
}

const unsupported = (operation: string): EngineError =>
  new EngineError('STORAGE_UNSUPPORTED', 'storage', `${operation} is not available for master-relay targets`);

/** A write-only StorageBackend that relays each put to `PUT /api/agent/records/:id/artifacts/:targetId`. */
export const createRelayTarget = (options: RelayTargetOptions): StorageBackend => {
  const spools = new Map<string, string>();
  const attempts = options.attempts ?? 3;

  const upload = async (key: string, spool: SpoolResult, signal: AbortSignal | undefined): Promise<void> => {
    const backoff = createBackoff({ initialMs: options.retryDelayMs ?? 2000, maxMs: 30_000 });
    for (let attempt = 1; ; attempt += 1) {
      try {
        // A fresh stream per attempt: a request body cannot be replayed.
        await options.client.uploadArtifact(
          options.recordId,
          options.targetId,
          {
            body: createReadStream(spool.file),
            sizeBytes: spool.sizeBytes,
            objectKey: key,
            sha256: spool.sha256,
          },
          signal,
        );
        return;
      } catch (error) {
        if (attempt >= attempts || !isRetryableMasterError(error) || signal?.aborted === true) throw error;
        const delay = backoff.next();
        options.log?.(
          'warn',
          `relay upload failed (${(error as Error).message}); retrying in ${String(Math.round(delay / 1000))} s`,
        );
        if (!(await sleep(delay, signal))) throw error;
      }
    }
  };

  return {
    type: 'master_relay',
    async testConnection() {
      // Reachability of the master is what the heartbeat proves.
    },
    async put(key: string, body: Readable, putOptions: PutOptions = {}) {
      const file = path.join(
        options.spoolDir,
        `relay-${String(options.targetId)}-${randomBytes(6).toString('hex')}.spool`,
      );
      const spool = await spoolToFile(body, file, putOptions.signal);
      try {
        options.log?.('info', `relaying ${String(spool.sizeBytes)} bytes to the master`);
        await upload(key, spool, putOptions.signal);
      } catch (error) {
        await rm(file, { force: true });
        throw error;
      }
      const previous = spools.get(key);
      if (previous !== undefined && previous !== file) await rm(previous, { force: true });
      spools.set(key, file);
      return { sizeBytes: spool.sizeBytes };
    },
    get(key: string) {
      const file = spools.get(key);
      return file === undefined
        ? Promise.reject(
            new EngineError('STORAGE_NOT_FOUND', 'storage', `${key} was not relayed by this run`),
          )
        : Promise.resolve(createReadStream(file));
    },
    async stat(key: string) {
      const file = spools.get(key);
      if (file === undefined) return null;
      const info = await stat(file);
      return { key, sizeBytes: info.size, updatedAt: info.mtime };
    },
    list: () => Promise.reject(unsupported('listing')),
    async delete(key: string) {
      // The agent protocol has no delete for relayed objects: the master removes what a failed
      // record left in its namespace. Only the local spool goes.
      const file = spools.get(key);
      spools.delete(key);
      if (file !== undefined) await rm(file, { force: true });
      options.log?.(
        'warn',
        `the relayed copy of ${key} stays on the master until it cleans up the failed record`,
      );
    },
    usage: () => Promise.resolve(null),
    removeEmptyDirs: () => Promise.resolve(),
    async close() {
      for (const file of spools.values()) await rm(file, { force: true });
      spools.clear();
    },
  };
};

/**
 * The read side for restores: `GET /api/agent/restores/:id/artifact` as a StorageBackend whose
 * only operation is `get`, so the engine's openArtifact/spoolArtifact verify and decode it.
 */
export const createRelaySource = (client: MasterClient, restoreId: number): StorageBackend => ({
  type: 'master_relay',
  testConnection: () => Promise.resolve(),
  put: () => Promise.reject(unsupported('writing')),
  get: (_key, getOptions) => client.restoreArtifact(restoreId, getOptions?.signal),
  stat: () => Promise.resolve(null),
  list: () => Promise.reject(unsupported('listing')),
  delete: () => Promise.reject(unsupported('deleting')),
  usage: () => Promise.resolve(null),
  removeEmptyDirs: () => Promise.resolve(),
  close: () => Promise.resolve(),
});
