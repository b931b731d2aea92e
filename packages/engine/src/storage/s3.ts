import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { s3ConfigSchema, s3PresetConfigSchema } from '@backupx/contract';
import { EngineError, isAbortError, throwIfAborted } from '../errors.ts';
import { assertSafeKey } from './keys.ts';
import type { BackendDeps, StorageBackend, StorageObjectInfo } from './types.ts';
import { byteCounter } from './byte-counter.ts';
import { NETWORK_ERROR_CODES } from './retry.ts';

export type S3StorageType = 's3' | 'aliyun_oss' | 'tencent_cos' | 'qiniu_kodo';

/** What the S3 client needs, after provider presets are applied (SPEC §4.2). */
export interface S3Settings {
  endpoint: string | undefined;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  /** Key prefix inside the bucket: empty, or ending in `/`. */
  prefix: string;
}

const qiniuRegions: Record<string, string> = {
  z0: 'cn-east-1',
  'cn-east-2': 'cn-east-2',
  z1: 'cn-north-1',
  z2: 'cn-south-1',
  na0: 'us-north-1',
  as0: 'ap-southeast-1',
};

const normalizePrefix = (prefix: string): string => {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  assertSafeKey(trimmed);
  return `${trimmed}/`;
};

const trimEndpoint = (endpoint: string): string | undefined => {
  const trimmed = endpoint.trim().replace(/\/+$/, '');
  return trimmed === '' ? undefined : trimmed;
};

/**
 * Validates a config of an S3-compatible type and maps provider presets to an endpoint: OSS
 * `https://oss-<region>[-internal].aliyuncs.com`, COS `https://cos.<region>.myqcloud.com`, Qiniu by
 * region table (path-style). An explicit `endpoint` always wins.
 */
export const resolveS3Settings = (type: S3StorageType, config: unknown): S3Settings => {
  if (type === 's3') {
    const parsed = s3ConfigSchema.parse(config);
    return {
      endpoint: trimEndpoint(parsed.endpoint),
      region: parsed.region === '' ? 'us-east-1' : parsed.region,
      bucket: parsed.bucket,
      accessKeyId: parsed.accessKeyId,
      secretAccessKey: parsed.secretAccessKey,
      forcePathStyle: parsed.forcePathStyle,
      prefix: normalizePrefix(parsed.prefix),
    };
  }
  const parsed = s3PresetConfigSchema.parse(config);
  const explicit = trimEndpoint(parsed.endpoint);
  const common = {
    region: parsed.region,
    bucket: parsed.bucket,
    accessKeyId: parsed.accessKeyId,
    secretAccessKey: parsed.secretAccessKey,
    prefix: normalizePrefix(parsed.prefix),
  };
  switch (type) {
    case 'aliyun_oss':
      return {
        ...common,
        endpoint:
          explicit ?? `https://oss-${parsed.region}${parsed.internalNetwork ? '-internal' : ''}.aliyuncs.com`,
        forcePathStyle: false,
      };
    case 'tencent_cos':
      return {
        ...common,
        endpoint: explicit ?? `https://cos.${parsed.region}.myqcloud.com`,
        forcePathStyle: false,
      };
    case 'qiniu_kodo': {
      const mapped = qiniuRegions[parsed.region];
      if (explicit === undefined && mapped === undefined) {
        throw new EngineError(
          'STORAGE_CONFIG_INVALID',
          'storage',
          `unsupported Qiniu Kodo region "${parsed.region}" (expected one of ${Object.keys(qiniuRegions).join(', ')})`,
        );
      }
      return {
        ...common,
        region: mapped ?? parsed.region,
        endpoint: explicit ?? `https://s3-${mapped ?? ''}.qiniucs.com`,
        forcePathStyle: true,
      };
    }
  }
};

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

const statusOf = (error: unknown): number | undefined =>
  (error as SdkError | null)?.$metadata?.httpStatusCode;

const isMissing = (error: unknown): boolean => {
  const name = (error as SdkError | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
};

/** Wraps an SDK failure; network faults, 5xx, 429 and timeouts are retryable. Aborts pass through. */
const toEngineError = (operation: string, error: unknown): unknown => {
  if (error instanceof EngineError || isAbortError(error)) return error;
  const sdk = (error ?? {}) as SdkError;
  const status = statusOf(error);
  const retryable =
    (status !== undefined && (status >= 500 || status === 429 || status === 408)) ||
    NETWORK_ERROR_CODES.has(sdk.code ?? '') ||
    sdk.name === 'TimeoutError' ||
    sdk.$retryable !== undefined;
  const detail = `${sdk.name ?? 'Error'}${status === undefined ? '' : ` (HTTP ${status})`}: ${sdk.message ?? String(error)}`;
  return new EngineError('STORAGE_REQUEST_FAILED', 'storage', `S3 ${operation} failed: ${detail}`, {
    retryable,
    cause: error,
  });
};

const MiB = 1024 * 1024;

/**
 * S3 and S3-compatible providers. Uploads stream through multipart (`Upload`, 4 parts of 8 MiB in
 * flight at most); the object only appears when the upload completes, and an abort or a failing
 * source aborts the multipart upload. Checksums are computed only when required, so S3-compatible
 * servers that do not decode `aws-chunked` bodies store the exact bytes.
 */
export const createS3Backend = (
  config: unknown,
  _deps: BackendDeps = {},
  type: S3StorageType = 's3',
): StorageBackend => {
  const settings = resolveS3Settings(type, config);
  const client = new S3Client({
    region: settings.region,
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    forcePathStyle: settings.forcePathStyle,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
  const { bucket, prefix } = settings;
  const fullKey = (key: string) => `${prefix}${key}`;

  const send = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw toEngineError(operation, error);
    }
  };

  const listAll = async (listPrefix: string, signal?: AbortSignal, maxKeys?: number) => {
    const out: StorageObjectInfo[] = [];
    let token: string | undefined;
    do {
      throwIfAborted(signal, 'storage');
      const page: ListObjectsV2CommandOutput = await send('list', () =>
        client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: fullKey(listPrefix),
            ...(token === undefined ? {} : { ContinuationToken: token }),
            ...(maxKeys === undefined ? {} : { MaxKeys: maxKeys }),
          }),
          signal ? { abortSignal: signal } : {},
        ),
      );
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined || !item.Key.startsWith(prefix)) continue;
        const key = item.Key.slice(prefix.length);
        if (key === '' || key.endsWith('/')) continue;
        out.push({ key, sizeBytes: item.Size ?? 0, updatedAt: item.LastModified ?? new Date(0) });
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      if (maxKeys !== undefined) break;
    } while (token !== undefined);
    return out;
  };

  return {
    type,

    async testConnection(signal) {
      // One page of the default size: some S3-compatible servers (s3rver) fail on a truncated page.
      try {
        await listAll('', signal, 1000);
      } catch (error) {
        if ((error as { cause?: SdkError }).cause?.name !== 'NoSuchBucket') throw error;
        await send('bucket creation', () =>
          client.send(new CreateBucketCommand({ Bucket: bucket }), signal ? { abortSignal: signal } : {}),
        );
        await listAll('', signal, 1000);
      }
    },

    async put(key, body, options = {}) {
      assertSafeKey(key);
      const { signal } = options;
      throwIfAborted(signal, 'storage');
      const counter = byteCounter(options.sizeBytes);
      // The source feeds the counter; a failing source (or an abort) destroys the counter, so the
      // upload's reader fails, the uploader aborts the multipart upload, and only then `done()` rejects.
      let sourceError: unknown;
      body.on('error', (error) => {
        sourceError = error;
        counter.destroy(error);
      });
      body.pipe(counter);
      const upload = new Upload({
        client,
        params: {
          Bucket: bucket,
          Key: fullKey(key),
          Body: counter,
          ...(options.metadata ? { Metadata: options.metadata } : {}),
        },
        queueSize: 4,
        partSize: 8 * MiB,
        leavePartsOnError: false,
      });
      const onAbort = () => {
        body.unpipe(counter);
        body.destroy();
        counter.destroy(
          new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: signal?.reason }),
        );
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await upload.done();
        return { sizeBytes: counter.bytes };
      } catch (error) {
        await upload.abort().catch(() => undefined);
        if (!body.destroyed) body.destroy();
        if (signal?.aborted === true) {
          throw new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: signal.reason });
        }
        // A failing source is the real cause, even if aborting the multipart upload failed too.
        throw toEngineError(`upload of ${key}`, sourceError ?? error);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    },

    async get(key, options = {}) {
      assertSafeKey(key);
      const { signal } = options;
      const offset = options.offset ?? 0;
      if (options.length === 0) {
        if ((await this.stat(key, signal)) === null) {
          throw new EngineError('STORAGE_NOT_FOUND', 'storage', `object "${key}" not found`);
        }
        return Readable.from([]);
      }
      const range =
        options.length !== undefined
          ? `bytes=${offset}-${offset + options.length - 1}`
          : offset > 0
            ? `bytes=${offset}-`
            : undefined;
      try {
        const answer = await client.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: fullKey(key),
            ...(range === undefined ? {} : { Range: range }),
          }),
          signal ? { abortSignal: signal } : {},
        );
        const stream = answer.Body;
        if (!(stream instanceof Readable)) {
          throw new EngineError(
            'STORAGE_REQUEST_FAILED',
            'storage',
            `S3 download of ${key} returned no stream`,
          );
        }
        return stream;
      } catch (error) {
        if (isMissing(error)) {
          throw new EngineError('STORAGE_NOT_FOUND', 'storage', `object "${key}" not found`, {
            cause: error,
          });
        }
        if ((error as SdkError).name === 'InvalidRange' || statusOf(error) === 416) return Readable.from([]);
        throw toEngineError(`download of ${key}`, error);
      }
    },

    async stat(key, signal) {
      assertSafeKey(key);
      try {
        const head = await client.send(
          new HeadObjectCommand({ Bucket: bucket, Key: fullKey(key) }),
          signal ? { abortSignal: signal } : {},
        );
        return { key, sizeBytes: head.ContentLength ?? 0, updatedAt: head.LastModified ?? new Date(0) };
      } catch (error) {
        if (isMissing(error)) return null;
        throw toEngineError(`stat of ${key}`, error);
      }
    },

    async list(listPrefix, signal) {
      if (listPrefix !== '') assertSafeKey(listPrefix.endsWith('/') ? listPrefix.slice(0, -1) : listPrefix);
      return listAll(listPrefix, signal);
    },

    async delete(key, signal) {
      assertSafeKey(key);
      try {
        await client.send(
          new DeleteObjectCommand({ Bucket: bucket, Key: fullKey(key) }),
          signal ? { abortSignal: signal } : {},
        );
      } catch (error) {
        if (isMissing(error)) return;
        throw toEngineError(`delete of ${key}`, error);
      }
    },

    usage: () => Promise.resolve(null),

    removeEmptyDirs: () => Promise.resolve(),

    close() {
      client.destroy();
      return Promise.resolve();
    },
  };
};
