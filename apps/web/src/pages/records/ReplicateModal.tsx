/**
 * "Replicate to…" of one successful backup (SPEC §9): choose an enabled storage target that does
 * not hold a copy yet, start the copy (it runs in the background), then follow it on the
 * replication page.
 */
import { useMemo, useState } from 'react';
import { Alert, App, Form, Modal, Select, Space, Tag, Typography } from 'antd';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { apiRoutes } from '@backupx/contract';
import type { RecordDetail } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { errorText } from '../../lib/i18n-helpers.ts';
import { LoadError } from '../../components/LoadError.tsx';
import { StorageTypeIcon, useStorageTypeLabel } from '../storage/storageTypeLabels.tsx';
import { storageTargetsQueryKey } from '../tasks/TaskFormDrawer.tsx';
import { replicationKeys } from '../replication/ReplicationPage.tsx';
import { replicationDestinations } from './posture.ts';

export const replicationPagePath = '/replication/records';

interface ReplicateModalProps {
  open: boolean;
  record: RecordDetail;
  onClose: () => void;
}

export function ReplicateModal({ open, record, onClose }: ReplicateModalProps) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const typeLabel = useStorageTypeLabel();
  const [destTargetId, setDestTargetId] = useState<number | null>(null);

  const targets = useQuery({
    queryKey: storageTargetsQueryKey,
    queryFn: ({ signal }) => apiCall(apiRoutes.storageTargets.list, { signal }),
    enabled: open,
  });
  const destinations = useMemo(
    () => replicationDestinations(targets.data ?? [], record),
    [targets.data, record],
  );
  const typeOf = useMemo(
    () => new Map(destinations.map((target) => [target.id, target.type])),
    [destinations],
  );

  const replicate = useMutation({
    mutationFn: (dest: number) =>
      apiCall(apiRoutes.replication.replicate, { params: { id: record.id }, body: { destTargetId: dest } }),
    onSuccess: (copy) => {
      void queryClient.invalidateQueries({ queryKey: replicationKeys.all });
      void queryClient.invalidateQueries({ queryKey: ['records'] });
      void message.success(t('replication.replicateStarted', { id: record.id, target: copy.destTargetName }));
      onClose();
      void navigate(replicationPagePath);
    },
  });

  return (
    <Modal
      open={open}
      title={t('replication.replicateTitle', { id: record.id })}
      okText={t('replication.replicateSubmit')}
      cancelText={t('common.cancel')}
      onCancel={onClose}
      onOk={() => {
        if (destTargetId !== null) replicate.mutate(destTargetId);
      }}
      okButtonProps={{
        disabled: destTargetId === null,
        loading: replicate.isPending,
        'data-testid': 'replicate-submit',
      }}
      destroyOnHidden
      data-testid="replicate-modal"
    >
      <Typography.Paragraph type="secondary">{t('replication.replicateDescription')}</Typography.Paragraph>
      {targets.isError ? (
        <LoadError
          error={targets.error}
          onRetry={() => void targets.refetch()}
          style={{ marginBottom: 16 }}
        />
      ) : null}
      <Form layout="vertical">
        <Form.Item label={t('replication.replicateTarget')} required style={{ marginBottom: 12 }}>
          <Select<number>
            value={destTargetId ?? undefined}
            onChange={(value) => {
              setDestTargetId(value);
              replicate.reset();
            }}
            loading={targets.isPending}
            showSearch={{ optionFilterProp: 'label' }}
            placeholder={t('replication.replicateTargetPlaceholder')}
            options={destinations.map((target) => ({
              value: target.id,
              label: target.name,
            }))}
            optionRender={(option) => {
              const type = typeOf.get(Number(option.value)) ?? '';
              return (
                <Space size={8}>
                  <span>{option.label}</span>
                  <Tag icon={<StorageTypeIcon type={type} />} style={{ marginInlineEnd: 0, fontSize: 11 }}>
                    {typeLabel(type)}
                  </Tag>
                </Space>
              );
            }}
            notFoundContent={
              targets.isPending ? null : (
                <Typography.Text type="secondary">{t('replication.replicateNoTarget')}</Typography.Text>
              )
            }
            data-testid="replicate-target"
          />
        </Form.Item>
      </Form>
      {targets.isSuccess && destinations.length === 0 ? (
        <Alert
          type="info"
          showIcon
          title={t('replication.replicateNoTarget')}
          description={<Link to="/storage-targets">{t('tasks.form.createTarget')}</Link>}
          data-testid="replicate-no-target"
        />
      ) : null}
      {replicate.isError ? (
        <Alert
          type="error"
          showIcon
          title={t('replication.replicateFailed')}
          description={errorText(t, replicate.error)}
          data-testid="replicate-error"
        />
      ) : null}
    </Modal>
  );
}
