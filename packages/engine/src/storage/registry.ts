import { storageTypes, type StorageType } from '@backupx/contract';
import { EngineError } from '../errors.ts';
import type { BackendDeps, StorageBackend } from './types.ts';

/** Storage type names BackupX and rclone use for the same native backends. */
const aliases: Record<string, StorageType> = {
  azure_blob: 'azureblob',
  googledrive: 'google_drive',
  drive: 'google_drive',
  local: 'local_disk',
};

export const isStorageType = (type: string): type is StorageType =>
  (storageTypes as readonly string[]).includes(type);

/**
 * Builds the backend of a storage type from its (decrypted) config. Each backend's module (and
 * its protocol SDK) is loaded on first use only: importing every SDK up front costs ~80 MB of
 * memory in every master and agent. Unknown types are refused with
 * `STORAGE_PROVIDER_UNSUPPORTED`; an invalid config with `STORAGE_CONFIG_INVALID`.
 */
export const createStorageBackend = async (
  type: string,
  config: unknown,
  deps: BackendDeps = {},
): Promise<StorageBackend> => {
  const resolved = aliases[type] ?? type;
  if (!isStorageType(resolved)) {
    throw new EngineError('STORAGE_PROVIDER_UNSUPPORTED', 'storage', `unsupported storage type "${type}"`);
  }
  try {
    switch (resolved) {
      case 'local_disk':
        return (await import('./local-disk.ts')).createLocalDiskBackend(config, deps);
      case 's3':
      case 'aliyun_oss':
      case 'tencent_cos':
      case 'qiniu_kodo':
        return (await import('./s3.ts')).createS3Backend(config, deps, resolved);
      case 'webdav':
        return (await import('./webdav.ts')).createWebdavBackend(config, deps);
      case 'ftp':
        return (await import('./ftp.ts')).createFtpBackend(config, deps);
      case 'sftp':
        return (await import('./sftp.ts')).createSftpBackend(config, deps);
      case 'azureblob':
        return (await import('./azure-blob.ts')).createAzureBlobBackend(config, deps);
      case 'google_drive':
        return (await import('./google-drive.ts')).createGoogleDriveBackend(config, deps);
      case 'rclone':
        return (await import('./rclone.ts')).createRcloneBackend(config, deps);
    }
  } catch (error) {
    if (error instanceof EngineError) throw error;
    throw new EngineError(
      'STORAGE_CONFIG_INVALID',
      'storage',
      `invalid ${type} configuration: ${(error as Error).message}`,
      { cause: error },
    );
  }
};
