/**
 * `delete_storage_object {targetType, targetConfig, storagePath}` (SPEC §4.6): the master deletes
 * a record whose copy lies on this node's own local disk (or any storage only the node reaches).
 * A missing object is not an error (the engine's delete contract), so a retried command succeeds.
 */
import { createStorageBackend } from '@backupx/engine';
import { record, text } from './payload.ts';
import type { CommandExecutor } from './types.ts';

export const deleteStorageObject: CommandExecutor = async (ctx, payload) => {
  const targetType = text(payload, 'targetType');
  const storagePath = text(payload, 'storagePath');
  if (targetType === '') throw new Error('invalid command payload: targetType is required');
  if (storagePath === '') throw new Error('invalid command payload: storagePath is required');
  const backend = await createStorageBackend(targetType, record(payload, 'targetConfig'), {
    tempDir: ctx.tempDir,
  });
  try {
    await backend.delete(storagePath, ctx.signal);
  } finally {
    await backend.close().catch(() => undefined);
  }
  return { deleted: true };
};
