/**
 * Restore records (SPEC §15.6): status filter synced to the URL, paged table, and `?restoreId=`
 * opens a drawer with the result and the live log (the same component as backup records).
 */
import { useMemo, useState } from 'react';
import type { HTMLAttributes } from 'react';
import {
  Alert,
  Button,
  Card,
  Descriptions,
  Drawer,
  Empty,
  Flex,
  Select,
  Skeleton,
  Space,
  Table,
  Tooltip,
  Typography,
} from 'antd';
import type { DescriptionsProps, TableColumnsType } from 'antd';
import { EyeOutlined, ReloadOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { apiRoutes, recordStatuses } from '@backupx/contract';
import type { RecordStatus, RestoreDetail, RestoreSummary } from '@backupx/contract';
import { apiCall, apiCallWithTotal } from '../../api/client.ts';
import { PageHeader } from '../../components/PageHeader.tsx';
import { LoadError } from '../../components/LoadError.tsx';
import { formatDateTime, formatDuration } from '../../lib/format.ts';
import { useDurationUnits } from '../../lib/useFormatters.ts';
import { LiveLog } from '../records/LiveLog.tsx';
import { RunStatusTag } from '../records/recordUi.tsx';
import { RecordNodeTag, useNodeName } from '../nodes/nodeUi.tsx';

const PAGE_SIZES = [20, 50, 100];
const recordLink = (id: number) => `/backup/records?recordId=${String(id)}`;

const positiveInt = (value: string | null): number | undefined => {
  const number = Number(value);
  return Number.isInteger(number) && number > 0 ? number : undefined;
};

const isStatus = (value: string | null): value is RecordStatus =>
  value !== null && (recordStatuses as readonly string[]).includes(value);

export function RestoresPage() {
  const { t } = useTranslation();
  const units = useDurationUnits();
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  const statusParam = params.get('status');
  const status = isStatus(statusParam) ? statusParam : undefined;
  const restoreId = positiveInt(params.get('restoreId')) ?? null;
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(PAGE_SIZES[0] ?? 20);

  const query = { status, page, pageSize };
  const restores = useQuery({
    queryKey: ['restores', 'list', query],
    queryFn: ({ signal }) => apiCallWithTotal(apiRoutes.restores.list, { query, signal }),
    placeholderData: keepPreviousData,
    refetchInterval: (current) =>
      current.state.data?.data.some((restore) => restore.status === 'running') ? 5000 : false,
  });
  const rows = useMemo(() => restores.data?.data ?? [], [restores.data]);

  const updateParams = (changes: Record<string, string | undefined>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined || value === '') next.delete(key);
      else next.set(key, value);
    }
    setParams(next);
  };
  const openRestore = (id: number | null) =>
    updateParams({ restoreId: id === null ? undefined : String(id) });

  const none = <Typography.Text type="secondary">{t('common.none')}</Typography.Text>;
  const destination = (restore: RestoreSummary) =>
    restore.targetPath === '' ? (
      <Typography.Text type="secondary">{t('restores.originalLocation')}</Typography.Text>
    ) : (
      <Typography.Text
        className="bx-mono"
        ellipsis={{ tooltip: restore.targetPath }}
        style={{ fontSize: 13 }}
      >
        {restore.targetPath}
      </Typography.Text>
    );

  const columns: TableColumnsType<RestoreSummary> = [
    {
      title: t('restores.columns.task'),
      key: 'task',
      render: (_value, restore) => (
        <Flex vertical gap={4} style={{ minWidth: 150 }}>
          <Typography.Link
            strong
            onClick={() => openRestore(restore.id)}
            data-testid={`restore-open-${String(restore.id)}`}
          >
            {restore.taskName || `#${String(restore.taskId)}`}
          </Typography.Link>
          <Flex gap={4} wrap>
            <RunStatusTag status={restore.status} testId={`restore-status-${String(restore.id)}`} />
            <RecordNodeTag nodeId={restore.nodeId} testId={`restore-node-${String(restore.id)}`} />
          </Flex>
        </Flex>
      ),
    },
    {
      title: t('restores.columns.source'),
      key: 'source',
      render: (_value, restore) => (
        <Flex vertical style={{ maxWidth: 230 }}>
          <Typography.Text
            className="bx-mono"
            ellipsis={{ tooltip: restore.backupFileName }}
            style={{ fontSize: 13 }}
          >
            {restore.backupFileName || t('common.none')}
          </Typography.Text>
          <Link to={recordLink(restore.backupRecordId)} style={{ fontSize: 12 }}>
            {t('restores.backupRecord', { id: restore.backupRecordId })}
          </Link>
        </Flex>
      ),
    },
    {
      title: t('restores.columns.destination'),
      key: 'destination',
      render: (_value, restore) => (
        <Flex vertical style={{ maxWidth: 200 }}>
          {destination(restore)}
          {restore.selectedPaths.length > 0 ? (
            <Tooltip title={restore.selectedPaths.slice(0, 20).join('\n')}>
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {t('restores.selectedPaths', { count: restore.selectedPaths.length })}
              </Typography.Text>
            </Tooltip>
          ) : null}
        </Flex>
      ),
    },
    {
      title: t('records.columns.time'),
      key: 'time',
      render: (_value, restore) => (
        <Flex vertical style={{ whiteSpace: 'nowrap', fontSize: 13 }}>
          <span>{formatDateTime(restore.startedAt)}</span>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {restore.completedAt ? formatDateTime(restore.completedAt) : t('records.inProgress')}
          </Typography.Text>
        </Flex>
      ),
    },
    {
      title: t('records.columns.duration'),
      key: 'duration',
      render: (_value, restore) =>
        restore.status === 'running' ? (
          none
        ) : (
          <span style={{ whiteSpace: 'nowrap' }}>{formatDuration(restore.durationSeconds, units)}</span>
        ),
    },
    {
      title: t('restores.columns.triggeredBy'),
      dataIndex: 'triggeredBy',
      key: 'triggeredBy',
      render: (value: string) => value || none,
    },
    {
      title: t('records.columns.error'),
      key: 'error',
      render: (_value, restore) =>
        restore.errorMessage ? (
          <Typography.Text
            type="danger"
            ellipsis={{ tooltip: restore.errorMessage }}
            style={{ maxWidth: 170, fontSize: 13 }}
          >
            {restore.errorMessage}
          </Typography.Text>
        ) : (
          none
        ),
    },
    {
      title: t('common.actions'),
      key: 'actions',
      fixed: 'right',
      render: (_value, restore) => (
        <Tooltip title={t('restores.details')}>
          <Button
            type="text"
            size="small"
            icon={<EyeOutlined />}
            aria-label={t('restores.details')}
            onClick={() => openRestore(restore.id)}
            data-testid={`restore-details-${String(restore.id)}`}
          />
        </Tooltip>
      ),
    },
  ];

  return (
    <>
      <PageHeader
        title={t('restores.title')}
        description={t('restores.description')}
        extra={
          <Tooltip title={t('common.refresh')}>
            <Button
              icon={<ReloadOutlined />}
              aria-label={t('common.refresh')}
              loading={restores.isFetching && !restores.isPending}
              onClick={() => void queryClient.invalidateQueries({ queryKey: ['restores'] })}
              data-testid="restores-refresh"
            />
          </Tooltip>
        }
      />
      <Card>
        <Flex gap={12} wrap align="center" style={{ marginBottom: 16 }}>
          <Select<RecordStatus>
            allowClear
            value={status}
            onChange={(value) => {
              updateParams({ status: value });
              setPage(1);
            }}
            placeholder={t('records.filterStatus')}
            options={recordStatuses
              .filter((value) => value !== 'skipped')
              .map((value) => ({ value, label: t(`records.status.${value}`) }))}
            style={{ width: 160 }}
            data-testid="restores-filter-status"
          />
        </Flex>
        {restores.isError ? (
          <LoadError
            error={restores.error}
            onRetry={() => void restores.refetch()}
            style={{ marginBottom: 16 }}
          />
        ) : null}
        <div data-testid="restores-table">
          <Table<RestoreSummary>
            rowKey="id"
            size="middle"
            columns={columns}
            dataSource={rows}
            loading={restores.isPending || (restores.isFetching && restores.isPlaceholderData)}
            scroll={{ x: 'max-content' }}
            onRow={(restore) =>
              ({
                'data-testid': `restore-row-${String(restore.id)}`,
                'data-status': restore.status,
              }) as HTMLAttributes<HTMLElement>
            }
            pagination={{
              current: page,
              pageSize,
              total: restores.data?.total ?? 0,
              showSizeChanger: true,
              pageSizeOptions: PAGE_SIZES,
              showTotal: (total) => t('records.total', { count: total }),
              onChange: (nextPage, nextSize) => {
                setPage(nextSize === pageSize ? nextPage : 1);
                setPageSize(nextSize);
              },
            }}
            locale={{
              emptyText: (
                <Empty
                  image={Empty.PRESENTED_IMAGE_SIMPLE}
                  description={status ? t('records.emptyFiltered') : t('restores.empty')}
                >
                  {status ? null : (
                    <Link to="/backup/records?status=success">{t('restores.emptyAction')}</Link>
                  )}
                </Empty>
              ),
            }}
          />
        </div>
      </Card>
      <RestoreDetailDrawer restoreId={restoreId} onClose={() => openRestore(null)} />
    </>
  );
}

function RestoreDetailDrawer({ restoreId, onClose }: { restoreId: number | null; onClose: () => void }) {
  const { t } = useTranslation();
  const nodeName = useNodeName();
  const units = useDurationUnits();
  const queryClient = useQueryClient();
  const detail = useQuery({
    queryKey: ['restores', 'detail', restoreId],
    queryFn: ({ signal }) => apiCall(apiRoutes.restores.get, { params: { id: restoreId ?? 0 }, signal }),
    enabled: restoreId !== null,
  });
  const restore = detail.data;

  const items = (item: RestoreDetail): DescriptionsProps['items'] => [
    { key: 'task', label: t('restores.columns.task'), children: item.taskName || `#${String(item.taskId)}` },
    {
      key: 'status',
      label: t('common.status'),
      children: <RunStatusTag status={item.status} testId="restore-detail-status" />,
    },
    {
      key: 'source',
      label: t('restores.columns.source'),
      span: 2,
      children: (
        <Space size={8} wrap>
          <Typography.Text className="bx-mono bx-break" style={{ fontSize: 13 }}>
            {item.backupFileName || t('common.none')}
          </Typography.Text>
          <Link to={recordLink(item.backupRecordId)}>
            {t('restores.backupRecord', { id: item.backupRecordId })}
          </Link>
        </Space>
      ),
    },
    {
      key: 'destination',
      label: t('restores.columns.destination'),
      span: 2,
      children:
        item.targetPath === '' ? (
          t('restores.originalLocation')
        ) : (
          <Typography.Text className="bx-mono bx-break" copyable>
            {item.targetPath}
          </Typography.Text>
        ),
    },
    ...(item.selectedPaths.length > 0
      ? [
          {
            key: 'paths',
            label: t('restores.selection'),
            span: 2,
            children: (
              <div style={{ maxHeight: 120, overflow: 'auto' }}>
                {item.selectedPaths.map((path) => (
                  <div key={path} className="bx-mono bx-break" style={{ fontSize: 12 }}>
                    {path}
                  </div>
                ))}
              </div>
            ),
          },
        ]
      : []),
    { key: 'node', label: t('records.detail.node'), children: nodeName(item.nodeId) },
    { key: 'by', label: t('restores.columns.triggeredBy'), children: item.triggeredBy || t('common.none') },
    { key: 'started', label: t('records.columns.started'), children: formatDateTime(item.startedAt) },
    { key: 'completed', label: t('records.columns.completed'), children: formatDateTime(item.completedAt) },
    {
      key: 'duration',
      label: t('records.columns.duration'),
      children: item.status === 'running' ? t('common.none') : formatDuration(item.durationSeconds, units),
    },
  ];

  return (
    <Drawer
      open={restoreId !== null}
      onClose={onClose}
      size={820}
      title={
        <Space size={8}>
          {t('restores.detailTitle', { id: restoreId ?? 0 })}
          {restore ? <RunStatusTag status={restore.status} /> : null}
        </Space>
      }
      data-testid="restore-detail-drawer"
    >
      {detail.isError ? <LoadError error={detail.error} onRetry={() => void detail.refetch()} /> : null}
      {detail.isPending && restoreId !== null ? <Skeleton active paragraph={{ rows: 8 }} /> : null}
      {restore ? (
        <div data-testid={`restore-detail-${String(restore.id)}`}>
          {restore.status === 'success' ? (
            <Alert
              type="success"
              showIcon
              title={t('restores.succeeded')}
              description={
                restore.targetPath === ''
                  ? t('restores.succeededOriginal')
                  : t('restores.succeededTarget', { path: restore.targetPath })
              }
              style={{ marginBottom: 16 }}
              data-testid="restore-detail-result"
            />
          ) : null}
          {restore.status === 'failed' ? (
            <Alert
              type="error"
              showIcon
              title={t('restores.failed')}
              description={<span className="bx-break">{restore.errorMessage}</span>}
              style={{ marginBottom: 16 }}
              data-testid="restore-detail-result"
            />
          ) : null}
          <Descriptions
            size="small"
            bordered
            column={{ xs: 1, sm: 2 }}
            items={items(restore)}
            styles={{ label: { width: 130, whiteSpace: 'nowrap' }, content: { minWidth: 185 } }}
            style={{ marginBottom: 24 }}
          />
          <LiveLog
            key={restore.id}
            kind="restore"
            id={restore.id}
            status={restore.status}
            logContent={restore.logContent}
            logEvents={restore.logEvents}
            onCompleted={() => void queryClient.invalidateQueries({ queryKey: ['restores'] })}
          />
        </div>
      ) : null}
    </Drawer>
  );
}
