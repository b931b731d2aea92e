import {
  App,
  Button,
  Card,
  Flex,
  Popconfirm,
  Progress,
  Skeleton,
  Tag,
  Tooltip,
  Typography,
  theme,
} from 'antd';
import {
  ApiOutlined,
  CheckCircleOutlined,
  CloseCircleOutlined,
  DeleteOutlined,
  EditOutlined,
  QuestionCircleOutlined,
  StarFilled,
  StarOutlined,
  WarningOutlined,
} from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import type { StorageTargetSummary, StorageTargetUsage } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { formatBytes, formatDateTime, formatRelativeTime, percentOf } from '../../lib/format.ts';
import { errorCode, errorText } from '../../lib/i18n-helpers.ts';
import { usageColor } from '../../lib/usageColor.ts';
import { StorageTypeIcon, useStorageTypeLabel } from './storageTypeLabels.tsx';
import { ErrorDetail } from './ErrorDetail.tsx';
import {
  CAPACITY_WARNING_PERCENT,
  STORAGE_TEST_TIMEOUT_MS,
  STORAGE_USAGE_TIMEOUT_MS,
  storageKeys,
} from './storageQueries.ts';

interface StorageTargetCardProps {
  target: StorageTargetSummary;
  canWrite: boolean;
  /** When the list was fetched: relative times are computed against it, which keeps rendering pure. */
  now: number;
  onEdit: (target: StorageTargetSummary) => void;
}

/** One storage target: state of its connection, what it holds, and its actions. */
export function StorageTargetCard({ target, canWrite, now, onEdit }: StorageTargetCardProps) {
  const { t, i18n } = useTranslation();
  const { token } = theme.useToken();
  const { message, modal } = App.useApp();
  const queryClient = useQueryClient();
  const typeLabel = useStorageTypeLabel();
  const id = String(target.id);

  const usage = useQuery({
    queryKey: storageKeys.usage(target.id),
    queryFn: ({ signal }) =>
      apiCall(apiRoutes.storageTargets.usage, {
        params: { id: target.id },
        signal,
        timeoutMs: STORAGE_USAGE_TIMEOUT_MS,
      }),
    staleTime: 60_000,
  });

  const refreshList = () => queryClient.invalidateQueries({ queryKey: storageKeys.list });

  const star = useMutation({
    mutationFn: () => apiCall(apiRoutes.storageTargets.star, { params: { id: target.id } }),
    onSuccess: (updated) => {
      void message.success(
        updated.starred
          ? t('storage.starred', { name: target.name })
          : t('storage.unstarred', { name: target.name }),
      );
    },
    onError: (error) => void message.error(errorText(t, error)),
    onSettled: () => refreshList(),
  });

  const test = useMutation({
    mutationFn: () =>
      apiCall(apiRoutes.storageTargets.test, {
        params: { id: target.id },
        timeoutMs: STORAGE_TEST_TIMEOUT_MS,
      }),
    onSuccess: () => {
      void message.success(t('storage.testSucceeded', { name: target.name }));
    },
    onError: (error) => {
      modal.error({
        title: t('storage.testFailedTitle', { name: target.name }),
        content: <ErrorDetail error={error} />,
      });
    },
    onSettled: () => refreshList(),
  });

  const remove = useMutation({
    mutationFn: () => apiCall(apiRoutes.storageTargets.remove, { params: { id: target.id } }),
    onSuccess: () => {
      void message.success(t('storage.deleted', { name: target.name }));
    },
    onError: (error) => {
      if (errorCode(error) === 'STORAGE_TARGET_IN_USE') {
        modal.warning({
          title: t('storage.inUseTitle', { name: target.name }),
          content: <ErrorDetail error={error} />,
          okText: t('common.close'),
        });
        return;
      }
      void message.error(errorText(t, error));
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: storageKeys.all }),
  });

  const statusTag = (() => {
    switch (target.lastTestStatus) {
      case 'success':
        return (
          <Tag
            color="success"
            icon={<CheckCircleOutlined />}
            data-testid={`storage-status-${id}`}
            data-status="success"
          >
            {t('storage.statusOk')}
          </Tag>
        );
      case 'failed':
        return (
          <Tag
            color="error"
            icon={<CloseCircleOutlined />}
            data-testid={`storage-status-${id}`}
            data-status="failed"
          >
            {t('storage.statusFailed')}
          </Tag>
        );
      case 'unknown':
        return (
          <Tag icon={<QuestionCircleOutlined />} data-testid={`storage-status-${id}`} data-status="unknown">
            {t('storage.statusUntested')}
          </Tag>
        );
    }
  })();

  const actions = canWrite
    ? [
        <Tooltip key="test" title={t('storage.testHelp')}>
          <Button
            type="text"
            size="small"
            icon={<ApiOutlined />}
            loading={test.isPending}
            onClick={() => test.mutate()}
            data-testid={`storage-test-${id}`}
          >
            {test.isPending ? t('storage.testing') : t('storage.test')}
          </Button>
        </Tooltip>,
        <Button
          key="edit"
          type="text"
          size="small"
          icon={<EditOutlined />}
          onClick={() => onEdit(target)}
          data-testid={`storage-edit-${id}`}
        >
          {t('common.edit')}
        </Button>,
        <Popconfirm
          key="delete"
          title={t('storage.deleteConfirmTitle', { name: target.name })}
          description={t('storage.deleteConfirmDescription')}
          okText={t('common.delete')}
          okButtonProps={{ danger: true, loading: remove.isPending }}
          cancelText={t('common.cancel')}
          onConfirm={() => remove.mutate()}
        >
          <Button
            type="text"
            size="small"
            danger
            icon={<DeleteOutlined />}
            loading={remove.isPending}
            data-testid={`storage-delete-${id}`}
          >
            {t('common.delete')}
          </Button>
        </Popconfirm>,
      ]
    : undefined;

  return (
    <Card
      data-testid={`storage-card-${id}`}
      style={{ height: '100%', display: 'flex', flexDirection: 'column', opacity: target.enabled ? 1 : 0.78 }}
      styles={{ body: { flex: 1, display: 'flex', flexDirection: 'column', gap: 12 } }}
      actions={actions}
    >
      <Flex gap={12} align="flex-start">
        <Flex
          align="center"
          justify="center"
          style={{
            width: 40,
            height: 40,
            flex: '0 0 40px',
            borderRadius: token.borderRadiusLG,
            background: `color-mix(in srgb, ${token.colorPrimary} 12%, transparent)`,
            color: token.colorPrimary,
            fontSize: 20,
          }}
        >
          <StorageTypeIcon type={target.type} />
        </Flex>
        <div style={{ minWidth: 0, flex: 1 }}>
          <Flex align="center" gap={4}>
            <Typography.Text strong ellipsis style={{ fontSize: 16, minWidth: 0 }} title={target.name}>
              {target.name}
            </Typography.Text>
          </Flex>
          <Typography.Text type="secondary" style={{ fontSize: 13 }} data-testid={`storage-type-${id}`}>
            {typeLabel(target.type)}
          </Typography.Text>
        </div>
        {canWrite ? (
          <Tooltip title={target.starred ? t('storage.unstar') : t('storage.star')}>
            <Button
              type="text"
              size="small"
              aria-label={target.starred ? t('storage.unstar') : t('storage.star')}
              aria-pressed={target.starred}
              loading={star.isPending}
              onClick={() => star.mutate()}
              icon={target.starred ? <StarFilled style={{ color: '#faad14' }} /> : <StarOutlined />}
              data-testid={`storage-star-${id}`}
              data-starred={target.starred}
            />
          </Tooltip>
        ) : target.starred ? (
          <StarFilled style={{ color: '#faad14', marginTop: 6 }} aria-label={t('storage.favourite')} />
        ) : null}
      </Flex>

      {target.description ? (
        <Typography.Paragraph
          type="secondary"
          ellipsis={{ rows: 2, tooltip: target.description }}
          style={{ margin: 0 }}
        >
          {target.description}
        </Typography.Paragraph>
      ) : null}

      <Flex gap={6} wrap align="center">
        {target.enabled ? (
          <Tag color="blue" data-testid={`storage-enabled-${id}`} data-enabled="true">
            {t('common.enabled')}
          </Tag>
        ) : (
          <Tag data-testid={`storage-enabled-${id}`} data-enabled="false">
            {t('common.disabled')}
          </Tag>
        )}
        {statusTag}
        {target.lastTestedAt ? (
          <Tooltip title={formatDateTime(target.lastTestedAt)}>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {t('storage.lastTested', { time: formatRelativeTime(target.lastTestedAt, now, i18n.language) })}
            </Typography.Text>
          </Tooltip>
        ) : null}
      </Flex>
      {target.lastTestStatus === 'failed' && target.lastTestMessage ? (
        <Typography.Paragraph
          type="danger"
          style={{ margin: 0, fontSize: 12 }}
          ellipsis={{ rows: 2, tooltip: target.lastTestMessage }}
          data-testid={`storage-test-message-${id}`}
        >
          {target.lastTestMessage}
        </Typography.Paragraph>
      ) : null}

      <div style={{ marginTop: 'auto' }}>
        <UsageBlock target={target} usage={usage.data} loading={usage.isPending} failed={usage.isError} />
      </div>
    </Card>
  );
}

/** Capacity (when the backend reports it) or what the backups take, plus the quota. */
function UsageBlock({
  target,
  usage,
  loading,
  failed,
}: {
  target: StorageTargetSummary;
  usage: StorageTargetUsage | undefined;
  loading: boolean;
  failed: boolean;
}) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const id = String(target.id);
  if (loading) return <Skeleton active paragraph={{ rows: 1 }} title={false} />;

  const disk = usage?.diskUsage;
  const hasCapacity = disk?.total !== undefined && disk.total > 0 && disk.used !== undefined;
  const diskPercent = hasCapacity ? percentOf(disk.used ?? 0, disk.total ?? 0) : 0;
  const quotaPercent = target.quotaBytes > 0 && usage ? percentOf(usage.totalSize, target.quotaBytes) : 0;

  return (
    <Flex vertical gap={8} style={{ borderTop: `1px solid ${token.colorSplit}`, paddingTop: 12 }}>
      {failed || !usage ? (
        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
          {t('storage.usageUnavailable')}
        </Typography.Text>
      ) : hasCapacity ? (
        <div data-testid={`storage-capacity-${id}`} data-percent={diskPercent}>
          <Flex justify="space-between" align="center" gap={8}>
            <Typography.Text style={{ fontSize: 12 }}>
              {t('storage.capacityUsed', {
                used: formatBytes(disk.used ?? 0),
                total: formatBytes(disk.total ?? 0),
              })}
            </Typography.Text>
            {diskPercent >= CAPACITY_WARNING_PERCENT ? (
              <Tag
                color="error"
                icon={<WarningOutlined />}
                style={{ marginInlineEnd: 0 }}
                data-testid={`storage-capacity-warning-${id}`}
              >
                {t('storage.capacityWarning')}
              </Tag>
            ) : null}
          </Flex>
          <Progress
            percent={diskPercent}
            size="small"
            strokeColor={
              diskPercent >= CAPACITY_WARNING_PERCENT ? token.colorError : usageColor(diskPercent, token)
            }
            style={{ margin: 0 }}
          />
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {t('storage.backupUsage', { size: formatBytes(usage.totalSize), count: usage.recordCount })}
          </Typography.Text>
        </div>
      ) : (
        <Typography.Text style={{ fontSize: 12 }} data-testid={`storage-usage-${id}`}>
          {t('storage.backupUsage', { size: formatBytes(usage.totalSize), count: usage.recordCount })}
        </Typography.Text>
      )}
      <div data-testid={`storage-quota-${id}`}>
        {target.quotaBytes > 0 ? (
          <>
            <Flex justify="space-between" align="center" gap={8}>
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {t('storage.quotaOf', {
                  used: formatBytes(usage?.totalSize ?? 0),
                  quota: formatBytes(target.quotaBytes),
                })}
              </Typography.Text>
              {quotaPercent >= 100 ? (
                <Tag
                  color="error"
                  style={{ marginInlineEnd: 0 }}
                  data-testid={`storage-quota-exceeded-${id}`}
                >
                  {t('storage.quotaExceeded')}
                </Tag>
              ) : null}
            </Flex>
            <Progress
              percent={quotaPercent}
              size="small"
              showInfo={false}
              strokeColor={usageColor(quotaPercent, token)}
              style={{ margin: 0 }}
            />
          </>
        ) : (
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {t('storage.quotaUnlimited')}
          </Typography.Text>
        )}
      </div>
    </Flex>
  );
}
