import { useCallback } from 'react';
import {
  CloudOutlined,
  CloudServerOutlined,
  DatabaseOutlined,
  GoogleOutlined,
  HddOutlined,
  NodeIndexOutlined,
} from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { translateDynamic } from '../../lib/i18n-helpers.ts';

/** The translated name of a storage type (unknown types show as they are). */
export function useStorageTypeLabel(): (type: string) => string {
  const { t } = useTranslation();
  return useCallback((type: string) => translateDynamic(t, `storage.types.${type}`, type), [t]);
}

/** An icon per family of storage type. */
export function StorageTypeIcon({ type }: { type: string }) {
  switch (type) {
    case 'local_disk':
      return <HddOutlined />;
    case 's3':
    case 'aliyun_oss':
    case 'tencent_cos':
    case 'qiniu_kodo':
    case 'azureblob':
      return <CloudOutlined />;
    case 'webdav':
    case 'ftp':
    case 'sftp':
      return <CloudServerOutlined />;
    case 'google_drive':
      return <GoogleOutlined />;
    case 'rclone':
      return <NodeIndexOutlined />;
    default:
      return <DatabaseOutlined />;
  }
}
