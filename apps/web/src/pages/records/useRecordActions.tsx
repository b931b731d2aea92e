/** Download, lock/unlock and delete of backup records, shared by the table and the drawer. */
import { App } from 'antd';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import type { RecordSummary } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { formatBytes, percentOf } from '../../lib/format.ts';
import { errorText } from '../../lib/i18n-helpers.ts';
import { downloadRecordArtifact } from './download.ts';

export function useRecordActions(options: { onDeleted?: (ids: number[]) => void } = {}) {
  const { t } = useTranslation();
  const { message, modal } = App.useApp();
  const queryClient = useQueryClient();
  const invalidate = () => queryClient.invalidateQueries({ queryKey: ['records'] });

  const download = useMutation({
    mutationFn: async (record: RecordSummary) => {
      const key = `download-${String(record.id)}`;
      void message.open({ key, type: 'loading', content: t('records.download.preparing'), duration: 0 });
      try {
        const method = await downloadRecordArtifact({
          recordId: record.id,
          fileName: record.fileName,
          sizeBytes: record.fileSize,
          confirmInMemory: (sizeBytes) =>
            new Promise<boolean>((resolve) => {
              message.destroy(key);
              void modal.confirm({
                title: t('records.download.largeTitle'),
                content: t('records.download.largeDescription', { size: formatBytes(sizeBytes) }),
                okText: t('records.download.largeConfirm'),
                cancelText: t('common.cancel'),
                onOk: () => resolve(true),
                onCancel: () => resolve(false),
              });
            }),
          onProgress: (bytes, total) =>
            void message.open({
              key,
              type: 'loading',
              duration: 0,
              content:
                total > 0
                  ? t('records.download.progress', {
                      percent: percentOf(bytes, total),
                      size: formatBytes(total),
                    })
                  : formatBytes(bytes),
            }),
        });
        message.destroy(key);
        return method;
      } catch (error) {
        message.destroy(key);
        throw error;
      }
    },
    onSuccess: (method, record) => {
      if (method === null) return;
      void message.success(
        method === 'service-worker'
          ? t('records.download.started', { file: record.fileName })
          : t('records.download.saved', { file: record.fileName }),
      );
    },
    onError: (error) => void message.error(errorText(t, error)),
  });

  const lock = useMutation({
    mutationFn: (record: RecordSummary) =>
      apiCall(apiRoutes.records.lock, { params: { id: record.id }, body: { locked: !record.locked } }),
    onSuccess: (result) =>
      void message.success(
        result.locked ? t('records.lockDone', { id: result.id }) : t('records.unlockDone', { id: result.id }),
      ),
    onError: (error) => void message.error(errorText(t, error)),
    onSettled: () => invalidate(),
  });

  const remove = useMutation({
    mutationFn: (record: RecordSummary) => apiCall(apiRoutes.records.delete, { params: { id: record.id } }),
    onSuccess: (_result, record) => {
      void message.success(t('records.deleted', { id: record.id }));
      options.onDeleted?.([record.id]);
    },
    onError: (error) => void message.error(errorText(t, error)),
    onSettled: () => invalidate(),
  });

  const batchDelete = useMutation({
    mutationFn: (ids: number[]) => apiCall(apiRoutes.records.batchDelete, { body: { ids } }),
    onSuccess: (result, ids) => {
      const skipped = ids.length - result.deleted;
      if (skipped === 0) void message.success(t('records.batchDeleted', { count: result.deleted }));
      else void message.warning(t('records.batchDeletedSkipped', { count: result.deleted, skipped }));
      options.onDeleted?.(ids);
    },
    onError: (error) => void message.error(errorText(t, error)),
    onSettled: () => invalidate(),
  });

  return { download, lock, remove, batchDelete };
}
