import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  BlobServiceClient,
  ContainerClient,
  StorageSharedKeyCredential,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import { azureBlobConfigSchema } from '@backupx/contract';
import { EngineError, isAbortError, throwIfAborted } from '../errors.ts';
import { assertSafeKey } from './keys.ts';
import type { BackendDeps, StorageBackend, StorageObjectInfo } from './types.ts';
import { NETWORK_ERROR_CODES } from './retry.ts';

const MiB = 1024 * 1024;
const blockBytes = 8 * MiB;
const blocksInFlight = 4;

/** Splits `root` (`container[/prefix]`) into the container name and a key prefix (empty or ending in `/`). */
export const splitAzureRoot = (root: string): { container: string; prefix: string } => {
  const segments = root.split('/').filter((segment) => segment !== '');
  const container = segments[0];
  if (container === undefined || !/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/.test(container)) {
    throw new EngineError(
      'STORAGE_CONFIG_INVALID',
      'storage',
      `invalid Azure container name "${container ?? ''}" (3-63 lowercase letters, digits, single hyphens)`,
    );
  }
  const rest = segments.slice(1).join('/');
  if (rest !== '') assertSafeKey(rest);
  return { container, prefix: rest === '' ? '' : `${rest}/` };
};

interface RestError {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
}

const isMissing = (error: unknown): boolean => {
  const rest = (error ?? {}) as RestError;
  return rest.statusCode === 404 || rest.code === 'BlobNotFound' || rest.code === 'ContainerNotFound';
};

const toEngineError = (operation: string, error: unknown): unknown => {
  if (error instanceof EngineError || isAbortError(error)) return error;
  const rest = (error ?? {}) as RestError;
  const status = rest.statusCode;
  const retryable =
    status !== undefined && status !== 0
      ? status >= 500 || status === 429 || status === 408
      : NETWORK_ERROR_CODES.has(rest.code ?? '') || rest.name === 'RestError';
  const detail = `${rest.code ?? rest.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${rest.message ?? String(error)}`;
  return new EngineError(
    'STORAGE_REQUEST_FAILED',
    'storage',
    `Azure Blob ${operation} failed: ${detail.split('\n')[0] ?? ''}`,
    {
      retryable,
      cause: error,
    },
  );
};

/**
 * Azure Blob Storage (`azureblob`, rclone option names). Uploads stage 8 MiB blocks (at most 4 in
 * flight) and commit the block list only at the end, so an aborted or failed upload never creates or
 * changes the blob; uncommitted blocks are garbage-collected by the service.
 */
export const createAzureBlobBackend = (config: unknown, _deps: BackendDeps = {}): StorageBackend => {
  const settings = azureBlobConfigSchema.parse(config);
  const { container, prefix } = splitAzureRoot(settings.root);
  const pipelineOptions: StoragePipelineOptions = {
    retryOptions: { maxTries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 4000, tryTimeoutInMs: 600_000 },
    keepAliveOptions: { enable: true },
  };
  const endpoint =
    settings.endpoint.trim().replace(/\/+$/, '') || `https://${settings.account}.blob.core.windows.net`;

  let containerClient: ContainerClient;
  if (settings.sas_url !== '') {
    const sas = new URL(settings.sas_url);
    const sasContainer = sas.pathname.split('/').find((segment) => segment !== '');
    if (sasContainer === undefined) {
      containerClient = new BlobServiceClient(
        settings.sas_url,
        undefined,
        pipelineOptions,
      ).getContainerClient(container);
    } else {
      if (decodeURIComponent(sasContainer) !== container) {
        throw new EngineError(
          'STORAGE_CONFIG_INVALID',
          'storage',
          `the SAS URL grants container "${sasContainer}" but root names "${container}"`,
        );
      }
      containerClient = new ContainerClient(settings.sas_url, undefined, pipelineOptions);
    }
  } else if (settings.key !== '') {
    const credential = new StorageSharedKeyCredential(settings.account, settings.key);
    containerClient = new BlobServiceClient(endpoint, credential, pipelineOptions).getContainerClient(
      container,
    );
  } else {
    throw new EngineError('STORAGE_CONFIG_INVALID', 'storage', 'Azure Blob needs either "key" or "sas_url"');
  }

  const fullKey = (key: string) => `${prefix}${key}`;
  const abortOptions = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {});

  const call = async <T>(operation: string, run: () => Promise<T>, signal?: AbortSignal): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      if (signal?.aborted === true || isAbortError(error)) {
        throw new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: error });
      }
      throw toEngineError(operation, error);
    }
  };

  return {
    type: 'azureblob',

    async testConnection(signal) {
      await call('container creation', () => containerClient.createIfNotExists(abortOptions(signal)), signal);
      await call(
        'listing',
        async () => {
          const pages = containerClient.listBlobsFlat({ prefix }).byPage({ maxPageSize: 1 });
          await pages.next();
        },
        signal,
      );
    },

    async put(key, body, options = {}) {
      assertSafeKey(key);
      const { signal } = options;
      throwIfAborted(signal, 'storage');
      const blob = containerClient.getBlockBlobClient(fullKey(key));
      const uploadId = randomBytes(8).toString('hex');
      const blockIds: string[] = [];
      const inFlight = new Set<Promise<void>>();
      let failure: Error | undefined;
      let total = 0;

      const stage = (chunk: Buffer) => {
        const blockId = Buffer.from(`${uploadId}-${String(blockIds.length).padStart(6, '0')}`).toString(
          'base64',
        );
        blockIds.push(blockId);
        const task = blob
          .stageBlock(blockId, chunk, chunk.length, abortOptions(signal))
          .then(() => undefined)
          .catch((error: unknown) => {
            failure ??= error instanceof Error ? error : new Error(String(error));
          })
          .finally(() => inFlight.delete(task));
        inFlight.add(task);
      };

      const onAbort = () => {
        body.destroy(new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        let pending: Buffer[] = [];
        let pendingBytes = 0;
        const flushBlock = async (final: boolean) => {
          while (pendingBytes >= blockBytes || (final && pendingBytes > 0)) {
            const joined =
              pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
            const size = Math.min(blockBytes, joined.length);
            const block = joined.subarray(0, size);
            const rest = joined.subarray(size);
            pending = rest.length > 0 ? [rest] : [];
            pendingBytes = rest.length;
            while (inFlight.size >= blocksInFlight) await Promise.race(inFlight);
            if (failure !== undefined) throw failure;
            // Copy: the block must not pin the (possibly larger) joined buffer.
            stage(size === joined.length ? block : Buffer.from(block));
          }
        };
        for await (const chunk of body as AsyncIterable<Buffer | string>) {
          throwIfAborted(signal, 'storage');
          if (failure !== undefined) throw failure;
          const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          total += buffer.length;
          pending.push(buffer);
          pendingBytes += buffer.length;
          if (pendingBytes >= blockBytes) await flushBlock(false);
        }
        await flushBlock(true);
        await Promise.all(inFlight);
        if (failure !== undefined) throw failure;
        throwIfAborted(signal, 'storage');
        if (options.sizeBytes !== undefined && options.sizeBytes >= 0 && total !== options.sizeBytes) {
          throw new EngineError(
            'STORAGE_SIZE_MISMATCH',
            'storage',
            `expected ${options.sizeBytes} bytes but the source produced ${total}`,
          );
        }
        await blob.commitBlockList(blockIds, {
          ...abortOptions(signal),
          ...(options.metadata ? { metadata: options.metadata } : {}),
          blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
        });
        return { sizeBytes: total };
      } catch (error) {
        if (!body.destroyed) body.destroy();
        await Promise.allSettled(inFlight);
        if (signal?.aborted === true || isAbortError(error)) {
          throw new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', {
            cause: signal?.reason ?? error,
          });
        }
        throw toEngineError(`upload of ${key}`, error);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    },

    async get(key, options = {}) {
      assertSafeKey(key);
      const { signal } = options;
      const offset = options.offset ?? 0;
      const blob = containerClient.getBlobClient(fullKey(key));
      if (options.length === 0) {
        if ((await this.stat(key, signal)) === null) {
          throw new EngineError('STORAGE_NOT_FOUND', 'storage', `object "${key}" not found`);
        }
        return Readable.from([]);
      }
      try {
        const answer = await blob.download(offset, options.length, abortOptions(signal));
        const stream = answer.readableStreamBody;
        if (stream === undefined) return Readable.from([]);
        return stream instanceof Readable ? stream : Readable.from(stream as AsyncIterable<Buffer>);
      } catch (error) {
        if (isMissing(error)) {
          throw new EngineError('STORAGE_NOT_FOUND', 'storage', `object "${key}" not found`, {
            cause: error,
          });
        }
        if ((error as RestError).statusCode === 416) return Readable.from([]);
        if (signal?.aborted === true)
          throw new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: error });
        throw toEngineError(`download of ${key}`, error);
      }
    },

    async stat(key, signal) {
      assertSafeKey(key);
      try {
        const properties = await containerClient
          .getBlobClient(fullKey(key))
          .getProperties(abortOptions(signal));
        return {
          key,
          sizeBytes: properties.contentLength ?? 0,
          updatedAt: properties.lastModified ?? new Date(0),
        };
      } catch (error) {
        if (isMissing(error)) return null;
        throw toEngineError(`stat of ${key}`, error);
      }
    },

    async list(listPrefix, signal) {
      if (listPrefix !== '') assertSafeKey(listPrefix.endsWith('/') ? listPrefix.slice(0, -1) : listPrefix);
      const out: StorageObjectInfo[] = [];
      await call(
        'listing',
        async () => {
          for await (const item of containerClient.listBlobsFlat({
            prefix: fullKey(listPrefix),
            ...abortOptions(signal),
          })) {
            if (!item.name.startsWith(prefix)) continue;
            out.push({
              key: item.name.slice(prefix.length),
              sizeBytes: item.properties.contentLength ?? 0,
              updatedAt: item.properties.lastModified,
            });
          }
        },
        signal,
      ).catch((error: unknown) => {
        if (isMissing((error as { cause?: unknown }).cause)) return;
        throw error;
      });
      return out;
    },

    async delete(key, signal) {
      assertSafeKey(key);
      try {
        await containerClient.getBlobClient(fullKey(key)).deleteIfExists(abortOptions(signal));
      } catch (error) {
        if (isMissing(error)) return;
        throw toEngineError(`delete of ${key}`, error);
      }
    },

    usage: () => Promise.resolve(null),

    removeEmptyDirs: () => Promise.resolve(),

    close: () => Promise.resolve(),
  };
};
