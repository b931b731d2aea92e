/**
 * Garbage collection of a repository (SPEC §3.14 "Prune"): the live chunks are those of every
 * snapshot of every task; an index segment none of whose chunks is live goes, with its pack; then
 * packs that no kept index names (left by an interrupted run) go too. Any snapshot or index that
 * cannot be read stops the prune before anything is deleted: a chunk it references might look dead.
 *
 * The caller holds the target's repository lease: no writer is uploading a pack whose index or
 * snapshot is not there yet.
 */
import { EngineError, describeError, throwIfAborted } from '../errors.ts';
import type { StorageBackend } from '../storage/types.ts';
import { PACKS_PREFIX, SNAPSHOTS_PREFIX, isSnapshotKey } from './format.ts';
import { loadAnySnapshot, loadIndex, mapLimit } from './repository-read.ts';

export interface PruneResult {
  snapshots: number;
  deletedIndexes: number;
  deletedPacks: number;
  reclaimedBytes: number;
}

export const pruneRepository = async (options: {
  backend: StorageBackend;
  encryptionKey?: Buffer;
  signal?: AbortSignal;
}): Promise<PruneResult> => {
  const { backend, signal } = options;
  const snapshotKeys = (await backend.list(SNAPSHOTS_PREFIX, signal)).map((o) => o.key).filter(isSnapshotKey);
  const live = new Set<string>();
  await mapLimit(snapshotKeys, 4, async (key) => {
    try {
      const snapshot = await loadAnySnapshot(backend, key, options.encryptionKey, signal);
      for (const entry of snapshot.entries) for (const id of entry.chunks ?? []) live.add(id);
    } catch (error) {
      throw new EngineError(
        'REPOSITORY_PRUNE_ABORTED',
        'storage',
        `prune stopped, nothing was deleted: snapshot ${key} cannot be read (${describeError(error)})`,
        { cause: error },
      );
    }
  });
  let index;
  try {
    index = await loadIndex(backend, signal === undefined ? {} : { signal });
  } catch (error) {
    throw new EngineError(
      'REPOSITORY_PRUNE_ABORTED',
      'storage',
      `prune stopped, nothing was deleted: ${describeError(error)}`,
      { cause: error },
    );
  }
  const sizes = new Map<string, number>();
  const packObjects = await backend.list(PACKS_PREFIX, signal);
  for (const object of packObjects) sizes.set(object.key, object.sizeBytes);
  for (const object of await backend.list('.backupx/repository/v1/indexes/', signal))
    sizes.set(object.key, object.sizeBytes);

  const keptPacks = new Set<string>();
  const doomed: { indexKey: string; pack: string }[] = [];
  for (const [indexKey, segment] of index.segments) {
    if (segment.chunkIds.some((id) => live.has(id))) keptPacks.add(segment.pack);
    else doomed.push({ indexKey, pack: segment.pack });
  }
  const result: PruneResult = {
    snapshots: snapshotKeys.length,
    deletedIndexes: 0,
    deletedPacks: 0,
    reclaimedBytes: 0,
  };
  // Index first, then its pack: an interruption leaves at worst a pack no index names.
  for (const { indexKey, pack } of doomed) {
    throwIfAborted(signal, 'storage');
    await backend.delete(indexKey, signal);
    result.deletedIndexes += 1;
    result.reclaimedBytes += sizes.get(indexKey) ?? 0;
    if (!keptPacks.has(pack) && sizes.has(pack)) {
      await backend.delete(pack, signal);
      sizes.delete(pack);
      result.deletedPacks += 1;
      result.reclaimedBytes += packObjects.find((o) => o.key === pack)?.sizeBytes ?? 0;
    }
  }
  for (const object of packObjects) {
    if (!object.key.endsWith('.pack') || keptPacks.has(object.key) || !sizes.has(object.key)) continue;
    throwIfAborted(signal, 'storage');
    await backend.delete(object.key, signal);
    result.deletedPacks += 1;
    result.reclaimedBytes += object.sizeBytes;
  }
  await backend.removeEmptyDirs(PACKS_PREFIX).catch(() => undefined);
  return result;
};
