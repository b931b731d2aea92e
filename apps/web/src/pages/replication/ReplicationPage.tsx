/**
 * Replication records (SPEC §9): every copy of a backup to a further storage target, with the
 * status and task filters synced to the URL; refreshed while a copy runs.
 */
import { useMemo } from 'react';
import { useClientPagination } from '../../lib/useClientPagination.ts';
import type { HTMLAttributes } from 'react';
import { Button, Card, Empty, Flex, Select, Table, Tag, Tooltip, Typography, theme } from 'antd';
import type { TableColumnsType } from 'antd';
import { ArrowRightOutlined, ReloadOutlined, RobotOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { apiRoutes } from '@backupx/contract';
import type { ReplicationRecord } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { LoadError } from '../../components/LoadError.tsx';
import { PageHeader } from '../../components/PageHeader.tsx';
import { formatBytes, formatDateTime } from '../../lib/format.ts';
import { formatAverageDuration } from '../dashboard/dashboardQueries.ts';
import { useDurationUnits } from '../../lib/useFormatters.ts';
import { RunStatusTag, shortChecksum } from '../records/recordUi.tsx';

const statuses = ['running', 'success', 'failed'] as const;
type ReplicationStatus = (typeof statuses)[number];

/** Query keys; all start with `replications`, the prefix the `replication_failed` event refreshes. */
export const replicationKeys = {
  all: ['replications'] as const,
  list: (filters: Record<string, unknown>) => ['replications', 'list', filters] as const,
};

const positiveInt = (value: string | null): number | undefined => {
  const number = Number(value);
  return Number.isInteger(number) && number > 0 ? number : undefined;
};
const isStatus = (value: string | null): value is ReplicationStatus =>
  value !== null && (statuses as readonly string[]).includes(value);

export function ReplicationPage() {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const units = useDurationUnits();
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  const statusParam = params.get('status');
  const status = isStatus(statusParam) ? statusParam : undefined;
  const taskId = positiveInt(params.get('taskId'));

  const query = { status, taskId };
  const copies = useQuery({
    queryKey: replicationKeys.list(query),
    queryFn: ({ signal }) => apiCall(apiRoutes.replication.list, { query, signal }),
    placeholderData: keepPreviousData,
    refetchInterval: (current) =>
      current.state.data?.some((copy) => copy.status === 'running') ? 3000 : false,
  });
  const tasks = useQuery({
    queryKey: ['tasks', 'list'],
    queryFn: ({ signal }) => apiCall(apiRoutes.tasks.list, { signal }),
  });
  const taskNames = useMemo(
    () => new Map((tasks.data ?? []).map((task) => [task.id, task.name])),
    [tasks.data],
  );
  const rows = useMemo(() => copies.data ?? [], [copies.data]);
  const { pagination, resetPage } = useClientPagination(rows.length, (total) =>
    t('replication.total', { count: total }),
  );
  const filtered = status !== undefined || taskId !== undefined;

  const setFilter = (changes: Record<string, string | undefined>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined || value === '') next.delete(key);
      else next.set(key, value);
    }
    setParams(next);
    resetPage();
  };

  const none = <Typography.Text type="secondary">{t('common.none')}</Typography.Text>;

  const columns: TableColumnsType<ReplicationRecord> = [
    {
      title: t('replication.columns.task'),
      key: 'task',
      render: (_value, copy) => (
        <Flex vertical gap={4} style={{ minWidth: 150 }}>
          <Link
            to={`/backup/tasks?taskId=${String(copy.taskId)}`}
            style={{ fontWeight: 600 }}
            data-testid={`replication-task-${String(copy.id)}`}
          >
            {taskNames.get(copy.taskId) ?? `#${String(copy.taskId)}`}
          </Link>
          <Flex gap={6} align="center" wrap>
            <RunStatusTag status={copy.status} testId={`replication-status-${String(copy.id)}`} />
            <Link to={`/backup/records?recordId=${String(copy.backupRecordId)}`} style={{ fontSize: 12 }}>
              {t('replication.backupRecord', { id: copy.backupRecordId })}
            </Link>
          </Flex>
        </Flex>
      ),
    },
    {
      title: t('replication.columns.route'),
      key: 'route',
      render: (_value, copy) => (
        <Flex gap={6} align="center" style={{ whiteSpace: 'nowrap' }}>
          <Tag style={{ marginInlineEnd: 0 }}>
            {copy.sourceTargetName || `#${String(copy.sourceTargetId)}`}
          </Tag>
          <ArrowRightOutlined style={{ color: token.colorTextTertiary, fontSize: 12 }} />
          <Tag color="blue" style={{ marginInlineEnd: 0 }}>
            {copy.destTargetName || `#${String(copy.destTargetId)}`}
          </Tag>
        </Flex>
      ),
    },
    {
      title: t('replication.columns.path'),
      key: 'path',
      render: (_value, copy) =>
        copy.storagePath ? (
          <Typography.Text
            className="bx-mono"
            ellipsis={{ tooltip: copy.storagePath }}
            style={{ maxWidth: 200, fontSize: 12 }}
          >
            {copy.storagePath}
          </Typography.Text>
        ) : (
          none
        ),
    },
    {
      title: t('replication.columns.size'),
      key: 'size',
      render: (_value, copy) =>
        copy.fileSize > 0 ? <span style={{ whiteSpace: 'nowrap' }}>{formatBytes(copy.fileSize)}</span> : none,
    },
    {
      title: t('replication.columns.checksum'),
      key: 'checksum',
      render: (_value, copy) =>
        copy.checksum ? (
          <Tooltip title={<span className="bx-mono bx-break">{copy.checksum}</span>}>
            <Typography.Text className="bx-mono" style={{ fontSize: 12 }} copyable={{ text: copy.checksum }}>
              {shortChecksum(copy.checksum)}
            </Typography.Text>
          </Tooltip>
        ) : (
          none
        ),
    },
    {
      title: t('replication.columns.started'),
      key: 'started',
      render: (_value, copy) => (
        <Flex vertical style={{ whiteSpace: 'nowrap', fontSize: 13 }}>
          <span>{formatDateTime(copy.startedAt)}</span>
          <Flex gap={6} align="center" style={{ fontSize: 12 }}>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {copy.status === 'running'
                ? t('records.inProgress')
                : formatAverageDuration(copy.durationSeconds, units)}
            </Typography.Text>
            {copy.triggeredBy === 'system' ? (
              <Tag icon={<RobotOutlined />} style={{ marginInlineEnd: 0, fontSize: 11, lineHeight: '18px' }}>
                {t('replication.automatic')}
              </Tag>
            ) : copy.triggeredBy ? (
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                · {copy.triggeredBy}
              </Typography.Text>
            ) : null}
          </Flex>
        </Flex>
      ),
    },
    {
      title: t('replication.columns.error'),
      key: 'error',
      render: (_value, copy) =>
        copy.errorMessage ? (
          <Typography.Text
            type="danger"
            ellipsis={{ tooltip: copy.errorMessage }}
            style={{ maxWidth: 200, fontSize: 13 }}
          >
            {copy.errorMessage}
          </Typography.Text>
        ) : (
          none
        ),
    },
  ];

  return (
    <>
      <PageHeader
        title={t('replication.title')}
        description={t('replication.description')}
        extra={
          <Tooltip title={t('common.refresh')}>
            <Button
              icon={<ReloadOutlined />}
              aria-label={t('common.refresh')}
              loading={copies.isFetching && !copies.isPending}
              onClick={() => void queryClient.invalidateQueries({ queryKey: replicationKeys.all })}
              data-testid="replication-refresh"
            />
          </Tooltip>
        }
      />
      <Card>
        <Flex gap={12} wrap align="center" style={{ marginBottom: 16 }}>
          <Select<number>
            allowClear
            showSearch={{ optionFilterProp: 'label' }}
            value={taskId}
            onChange={(value: number | undefined) =>
              setFilter({ taskId: value === undefined ? undefined : String(value) })
            }
            placeholder={t('replication.filterTask')}
            loading={tasks.isPending}
            options={(tasks.data ?? []).map((task) => ({ value: task.id, label: task.name }))}
            style={{ width: 220 }}
            data-testid="replication-filter-task"
          />
          <Select<ReplicationStatus>
            allowClear
            value={status}
            onChange={(value) => setFilter({ status: value })}
            placeholder={t('replication.filterStatus')}
            options={statuses.map((value) => ({ value, label: t(`records.status.${value}`) }))}
            style={{ width: 160 }}
            data-testid="replication-filter-status"
          />
        </Flex>
        {copies.isError ? (
          <LoadError
            error={copies.error}
            onRetry={() => void copies.refetch()}
            style={{ marginBottom: 16 }}
          />
        ) : null}
        <div data-testid="replication-table" data-loaded={copies.data !== undefined}>
          <Table<ReplicationRecord>
            rowKey="id"
            size="middle"
            columns={columns}
            dataSource={rows}
            loading={copies.isPending || (copies.isFetching && copies.isPlaceholderData)}
            scroll={{ x: 'max-content' }}
            onRow={(copy) =>
              ({
                'data-testid': `replication-row-${String(copy.id)}`,
                'data-status': copy.status,
              }) as HTMLAttributes<HTMLElement>
            }
            pagination={pagination}
            locale={{
              emptyText: (
                <Empty
                  image={Empty.PRESENTED_IMAGE_SIMPLE}
                  description={filtered ? t('replication.emptyFiltered') : t('replication.empty')}
                />
              ),
            }}
          />
        </div>
      </Card>
    </>
  );
}
