import { storageTypes, type StorageType } from '@backupx/contract';
import { EngineError } from '../errors.ts';
import { createAzureBlobBackend } from './azure-blob.ts';
import { createFtpBackend } from './ftp.ts';
import { createGoogleDriveBackend } from './google-drive.ts';
import { createLocalDiskBackend } from './local-disk.ts';
import { createRcloneBackend } from './rclone.ts';
import { createS3Backend } from './s3.ts';
import { createSftpBackend } from './sftp.ts';
import type { BackendDeps, StorageBackend } from './types.ts';
import { createWebdavBackend } from './webdav.ts';

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
 * Builds the backend of a storage type from its (decrypted) config. Unknown types are refused
 * with `STORAGE_PROVIDER_UNSUPPORTED`; an invalid config with `STORAGE_CONFIG_INVALID`.
 */
export const createStorageBackend = (
  type: string,
  config: unknown,
  deps: BackendDeps = {},
): StorageBackend => {
  const resolved = aliases[type] ?? type;
  if (!isStorageType(resolved)) {
    throw new EngineError('STORAGE_PROVIDER_UNSUPPORTED', 'storage', `unsupported storage type "${type}"`);
  }
  try {
    switch (resolved) {
      case 'local_disk':
        return createLocalDiskBackend(config, deps);
      case 's3':
      case 'aliyun_oss':
      case 'tencent_cos':
      case 'qiniu_kodo':
        return createS3Backend(config, deps, resolved);
      case 'webdav':
        return createWebdavBackend(config, deps);
      case 'ftp':
        return createFtpBackend(config, deps);
      case 'sftp':
        return createSftpBackend(config, deps);
      case 'azureblob':
        return createAzureBlobBackend(config, deps);
      case 'google_drive':
        return createGoogleDriveBackend(config, deps);
      case 'rclone':
        return createRcloneBackend(config, deps);
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
