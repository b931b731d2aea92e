import { Readable } from 'node:stream';
import { EngineError, assertSafeKey, type StorageBackend, type StorageObjectInfo } from '@backupx/engine';

/**
 * An in-memory StorageBackend for unit tests of the pipeline (not for large data), with fault
 * injection: `failPutAfterBytes` makes the next put fail after that many bytes.
 */
export const createMemoryBackend = (type = 'memory') => {
  const objects = new Map<string, { data: Buffer; updatedAt: Date }>();
  const faults = { failPutAfterBytes: undefined as number | undefined, failPutsRemaining: 0 };
  const backend: StorageBackend & { objects: typeof objects; faults: typeof faults } = {
    type,
    objects,
    faults,
    testConnection: () => Promise.resolve(),
    async put(key, body, options) {
      assertSafeKey(key);
      const chunks: Buffer[] = [];
      let bytes = 0;
      const failAt = faults.failPutsRemaining > 0 ? (faults.failPutAfterBytes ?? 0) : undefined;
      if (failAt !== undefined) faults.failPutsRemaining -= 1;
      for await (const chunk of body) {
        if (options?.signal?.aborted === true)
          throw new EngineError('ENGINE_CANCELLED', 'upload', 'cancelled');
        const buffer = chunk as Buffer;
        bytes += buffer.length;
        if (failAt !== undefined && bytes > failAt) {
          body.destroy();
          throw new EngineError('STORAGE_OPERATION_FAILED', 'upload', 'injected upload failure', {
            retryable: true,
          });
        }
        chunks.push(buffer);
      }
      objects.set(key, { data: Buffer.concat(chunks), updatedAt: new Date() });
      return { sizeBytes: bytes };
    },
    get(key, options) {
      assertSafeKey(key);
      const object = objects.get(key);
      if (!object)
        return Promise.reject(new EngineError('STORAGE_NOT_FOUND', 'download', `${key} not found`));
      const start = options?.offset ?? 0;
      const end = options?.length === undefined ? object.data.length : start + options.length;
      return Promise.resolve(Readable.from([object.data.subarray(start, end)]));
    },
    stat(key) {
      const object = objects.get(key);
      return Promise.resolve(
        object ? { key, sizeBytes: object.data.length, updatedAt: object.updatedAt } : null,
      );
    },
    list(prefix) {
      const listed: StorageObjectInfo[] = [];
      for (const [key, object] of objects) {
        if (key.startsWith(prefix))
          listed.push({ key, sizeBytes: object.data.length, updatedAt: object.updatedAt });
      }
      return Promise.resolve(listed);
    },
    delete(key) {
      objects.delete(key);
      return Promise.resolve();
    },
    usage: () => Promise.resolve(null),
    removeEmptyDirs: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return backend;
};
