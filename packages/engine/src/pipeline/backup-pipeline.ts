import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EngineError, isAbortError } from '../errors.ts';
import { finalFileName } from '../naming.ts';
import { defaultRetryPolicy, isTransientError, withRetries, type RetryPolicy } from '../storage/retry.ts';
import type { StorageBackend } from '../storage/types.ts';
import type { Manifest, RunLogger, SourceArtifact } from '../sources/types.ts';
import { createBxenc2Encryptor, createBxencEncryptor } from './bxenc.ts';
import { createCompressor, type Compression } from './compression.ts';
import { createChecksumVerifier, DigestTap } from './digest.ts';
import { fanOut } from './fanout.ts';
import { createProgressReporter, type TransferProgress } from './progress.ts';
import { createThrottle, parseBandwidthLimit } from './throttle.ts';

export interface BackupTarget {
  /** Shown in logs and errors. */
  name: string;
  backend: StorageBackend;
}

export interface BackupPipelineOptions {
  artifact: SourceArtifact;
  compression: Compression;
  /** 32-byte key: the artifact is written as BXENC1. Exclusive with `sealTo`. */
  encryptionKey?: Buffer;
  /**
   * The master's agent public key (raw X25519, `masterAgentKeyPair(key).publicKey`): the artifact
   * is written as BXENC2 under a fresh data key sealed to it, and the result carries
   * `keyEnvelope`. For agents, which never hold the master's encryption key. Exclusive with
   * `encryptionKey`.
   */
  sealTo?: Buffer;
  /**
   * rclone `--bwlimit` syntax (`10M`, `1M:500k`, `off`; see `parseBandwidthLimit`): the upload
   * side limits the bytes sent to storage, shared by all targets (applied before the fan-out),
   * and each retry copy.
   */
  bandwidthLimit?: string;
  targets: readonly BackupTarget[];
  /** Object key for a file name (the same key on every target). */
  objectKeyFor: (fileName: string) => string;
  signal: AbortSignal;
  log: RunLogger;
  onProgress?: (progress: TransferProgress) => void;
  metadata?: Record<string, string>;
  /** Retries of a failed target by copying from a target that succeeded. */
  retryPolicy?: RetryPolicy;
  /** zstd worker threads. */
  compressionWorkers?: number;
  /** Passed to every put (see PutOptions.uploadId) so a crashed run's leftovers can be found. */
  uploadId?: string;
}

export interface TargetOutcome {
  name: string;
  status: 'success' | 'failed';
  sizeBytes?: number;
  error?: string;
}

export interface BackupPipelineResult {
  fileName: string;
  objectKey: string;
  /** Size of the stored object (after compression and encryption). */
  sizeBytes: number;
  /** Lower-hex SHA-256 of the stored object. */
  sha256: string;
  backupKind: 'full' | 'differential';
  manifest?: Manifest;
  summary?: string;
  targets: TargetOutcome[];
  /**
   * BXENC2 only (`sealTo`): base64 of the sealed data key envelope (also in the artifact's
   * header). The master opens it with `openDataKey` to hand an agent the data key for a restore.
   */
  keyEnvelope?: string;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Hands each chunk back to the source once `compressor` has consumed it. Only for a stage that
 * copies its input (zstd, gzip): when its write callback runs, nothing references the chunk any
 * more. (A pass-through stage hands the chunk itself on, so it must never be recycled.)
 */
const recycleAfterWrite = (compressor: Transform, recycle: (chunk: Buffer) => void): void => {
  const write = compressor._write.bind(compressor);
  compressor._write = (chunk: Buffer, encoding, callback) => {
    write(chunk, encoding, (error?: Error | null) => {
      if (error === null || error === undefined) recycle(chunk);
      callback(error);
    });
  };
};

/**
 * source → compress → (encrypt) → SHA-256 → N uploads at once, with bounded memory and no
 * temporary copy. A target that fails is retried by copying the finished object from a target
 * that succeeded (verified by checksum on the way). A run that fails or is cancelled removes every
 * object it wrote, so nothing half-made ever looks like a backup.
 */
export const runBackupPipeline = async (options: BackupPipelineOptions): Promise<BackupPipelineResult> => {
  const { artifact, targets, signal, log } = options;
  if (targets.length === 0)
    throw new EngineError('BACKUP_NO_TARGET', 'upload', 'no storage target to write to');
  if (options.encryptionKey !== undefined && options.sealTo !== undefined)
    throw new EngineError(
      'ENCRYPTION_KEY_INVALID',
      'encrypt',
      'encryptionKey (BXENC1) and sealTo (BXENC2) are exclusive: give one of them',
    );
  // Checked before anything starts: a bad key or limit must not leave a half-built pipeline.
  const uploadBytesPerSecond =
    options.bandwidthLimit === undefined
      ? 0
      : parseBandwidthLimit(options.bandwidthLimit).uploadBytesPerSecond;
  const sealed = options.sealTo === undefined ? undefined : createBxenc2Encryptor(options.sealTo);
  const encryptor =
    sealed?.stream ??
    (options.encryptionKey === undefined ? undefined : createBxencEncryptor(options.encryptionKey));
  const fileName = finalFileName(artifact.fileName, options.compression, encryptor !== undefined);
  const objectKey = options.objectKeyFor(fileName);
  const tap = new DigestTap();
  const progress = createProgressReporter(
    targets.length === 1 ? (targets[0]?.name ?? '') : `${targets.length} targets`,
    options.onProgress,
  );
  tap.on('data', () => progress.update(tap.bytes));

  const compressor = createCompressor(options.compression, { workers: options.compressionWorkers ?? 2 });
  if (artifact.recycle !== undefined && options.compression !== 'none')
    recycleAfterWrite(compressor, artifact.recycle);
  const stages: NodeJS.ReadWriteStream[] = [compressor];
  if (encryptor !== undefined) stages.push(encryptor);
  if (uploadBytesPerSecond > 0) stages.push(createThrottle(uploadBytesPerSecond));
  const producing = pipeline([artifact.stream, ...stages, tap], { signal }).catch((error: unknown) => {
    tap.destroy(error as Error);
    throw error;
  });
  producing.catch(() => undefined);

  log('info', `writing ${fileName} to ${targets.map((target) => target.name).join(', ')}`);
  const uploads = await fanOut(
    tap,
    targets.map((target) => ({
      name: target.name,
      consume: (branch: Readable) =>
        target.backend.put(objectKey, branch, {
          signal,
          ...(options.metadata ? { metadata: options.metadata } : {}),
          ...(options.uploadId ? { uploadId: options.uploadId } : {}),
        }),
    })),
  );

  const removeWritten = async (reason: string) => {
    for (const [index, upload] of uploads.entries()) {
      const target = targets[index];
      if (upload.status !== 'fulfilled' || target === undefined) continue;
      try {
        await target.backend.delete(objectKey);
        log('warn', `removed ${objectKey} from ${target.name} (${reason})`);
      } catch (error) {
        log('error', `could not remove ${objectKey} from ${target.name}: ${messageOf(error)}`);
      }
    }
  };

  let completion: Awaited<SourceArtifact['completion']>;
  try {
    await producing;
    completion = await artifact.completion;
  } catch (error) {
    await removeWritten(isAbortError(error) || signal.aborted ? 'cancelled' : 'the source failed');
    if (isAbortError(error) || signal.aborted)
      throw new EngineError('ENGINE_CANCELLED', 'source', 'cancelled', { cause: error });
    throw error instanceof EngineError
      ? error
      : new EngineError('SOURCE_FAILED', 'source', messageOf(error), { cause: error });
  }
  progress.finish(tap.bytes);
  const sizeBytes = tap.bytes;
  const sha256 = tap.digest();

  const outcomes: TargetOutcome[] = [];
  for (const [index, upload] of uploads.entries()) {
    const target = targets[index] as BackupTarget;
    if (upload.status === 'rejected') {
      outcomes.push({ name: target.name, status: 'failed', error: messageOf(upload.reason) });
      continue;
    }
    if (upload.value.sizeBytes !== sizeBytes) {
      // The post-upload integrity check of SPEC §3.8.
      await target.backend.delete(objectKey).catch(() => undefined);
      outcomes.push({
        name: target.name,
        status: 'failed',
        error: `integrity check failed: expected ${sizeBytes} bytes, transferred ${upload.value.sizeBytes}`,
      });
      continue;
    }
    outcomes.push({ name: target.name, status: 'success', sizeBytes });
  }

  const source = outcomes.findIndex((outcome) => outcome.status === 'success');
  const sourceTarget = source >= 0 ? targets[source] : undefined;
  if (sourceTarget !== undefined) {
    for (const [index, outcome] of outcomes.entries()) {
      const target = targets[index] as BackupTarget;
      if (outcome.status === 'success' || signal.aborted) continue;
      log('warn', `${target.name} failed (${outcome.error ?? ''}); copying from ${sourceTarget.name}`);
      try {
        const result = await withRetries(
          { target: target.name, operation: `upload of ${objectKey}` },
          async () => {
            const downloaded = await sourceTarget.backend.get(objectKey, { signal });
            let readBack: Readable = downloaded.pipe(createChecksumVerifier(sha256));
            downloaded.on('error', (error) => readBack.destroy(error));
            if (uploadBytesPerSecond > 0) {
              const verified = readBack;
              readBack = verified.pipe(createThrottle(uploadBytesPerSecond));
              verified.on('error', (error) => readBack.destroy(error));
            }
            return target.backend.put(objectKey, readBack, {
              signal,
              sizeBytes,
              ...(options.metadata ? { metadata: options.metadata } : {}),
              ...(options.uploadId ? { uploadId: options.uploadId } : {}),
            });
          },
          { policy: options.retryPolicy ?? defaultRetryPolicy, signal },
        );
        if (result.sizeBytes !== sizeBytes)
          throw new Error(
            `integrity check failed: expected ${sizeBytes} bytes, transferred ${result.sizeBytes}`,
          );
        outcomes[index] = { name: target.name, status: 'success', sizeBytes };
        log('info', `${target.name}: copied after the first attempt failed`);
      } catch (error) {
        outcomes[index] = { name: target.name, status: 'failed', error: messageOf(error) };
      }
    }
  }

  if (signal.aborted) {
    await removeWritten('cancelled');
    throw new EngineError('ENGINE_CANCELLED', 'upload', 'cancelled');
  }
  for (const outcome of outcomes) {
    if (outcome.status === 'failed')
      log(sourceTarget ? 'warn' : 'error', `${outcome.name}: ${outcome.error ?? 'failed'}`);
  }
  if (!outcomes.some((outcome) => outcome.status === 'success')) {
    const failure = outcomes.map((outcome) => `${outcome.name}: ${outcome.error ?? 'failed'}`).join('; ');
    throw new EngineError('BACKUP_UPLOAD_FAILED', 'upload', failure, {
      retryable: uploads.some((upload) => upload.status === 'rejected' && isTransientError(upload.reason)),
    });
  }
  log('info', `stored ${fileName}: ${sizeBytes} bytes, sha256 ${sha256}`);
  return {
    fileName,
    objectKey,
    sizeBytes,
    sha256,
    backupKind: completion.backupKind,
    ...(completion.manifest ? { manifest: completion.manifest } : {}),
    ...(completion.summary ? { summary: completion.summary } : {}),
    targets: outcomes,
    ...(sealed ? { keyEnvelope: sealed.envelope.toString('base64') } : {}),
  };
};
