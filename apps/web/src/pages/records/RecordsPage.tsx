/**
 * Backup records (SPEC §15.5): filters synced to the URL (`taskId`, `status`), server-side paging
 * (total from `X-Total-Count`), batch delete, and `?recordId=` opens the detail drawer with the
 * live log, downloads, the contents browser and restores.
 */
import { useMemo, useState } from 'react';
import type { HTMLAttributes } from 'react';
import {
  App,
  Button,
  Card,
  DatePicker,
  Empty,
  Flex,
  Popconfirm,
  Select,
  Table,
  Tooltip,
  Typography,
} from 'antd';
import type { GetProps, TableColumnsType } from 'antd';
import {
  DeleteOutlined,
  DownloadOutlined,
  EyeOutlined,
  LockOutlined,
  ReloadOutlined,
  RollbackOutlined,
  UnlockOutlined,
} from '@ant-design/icons';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
import { apiRoutes, recordStatuses } from '@backupx/contract';
import type { RecordStatus, RecordSummary } from '@backupx/contract';
import { apiCall, apiCallWithTotal } from '../../api/client.ts';
import { useCurrentUser } from '../../auth/AuthProvider.tsx';
import { canWrite as roleCanWrite } from '../../auth/roles.ts';
import { PageHeader } from '../../components/PageHeader.tsx';
import { LoadError } from '../../components/LoadError.tsx';
import { formatBytes, formatDateTime, formatDuration } from '../../lib/format.ts';
import { useDurationUnits } from '../../lib/useFormatters.ts';
import { ContentsModal } from './ContentsModal.tsx';
import { RecordDetailDrawer } from './RecordDetailDrawer.tsx';
import { RestoreModal } from './RestoreModal.tsx';
import { BackupKindTag, LockedTag, RunStatusTag, shortChecksum } from './recordUi.tsx';
import { useRecordActions } from './useRecordActions.tsx';
import { RecordNodeTag } from '../nodes/nodeUi.tsx';

type RangeValue = GetProps<typeof DatePicker.RangePicker>['value'];

const PAGE_SIZES = [20, 50, 100];

const positiveInt = (value: string | null): number | undefined => {
  const number = Number(value);
  return Number.isInteger(number) && number > 0 ? number : undefined;
};

const isStatus = (value: string | null): value is RecordStatus =>
  value !== null && (recordStatuses as readonly string[]).includes(value);

export function RecordsPage() {
  const { t } = useTranslation();
  const units = useDurationUnits();
  const { modal } = App.useApp();
  const queryClient = useQueryClient();
  const user = useCurrentUser();
  const canWrite = roleCanWrite(user.role);
  const [params, setParams] = useSearchParams();
  const taskId = positiveInt(params.get('taskId'));
  const statusParam = params.get('status');
  const status = isStatus(statusParam) ? statusParam : undefined;
  const recordId = positiveInt(params.get('recordId')) ?? null;
  const [range, setRange] = useState<RangeValue>(null);
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(PAGE_SIZES[0] ?? 20);
  const [selectedIds, setSelectedIds] = useState<number[]>([]);
  const [contentsOf, setContentsOf] = useState<RecordSummary | null>(null);
  const [restoring, setRestoring] = useState<{ record: RecordSummary; paths: string[] } | null>(null);

  const actions = useRecordActions({
    onDeleted: (ids) => setSelectedIds((current) => current.filter((id) => !ids.includes(id))),
  });

  const [from, to] = range ?? [null, null];
  const query = {
    taskId,
    status,
    dateFrom: from ? from.startOf('day').toISOString() : undefined,
    dateTo: to ? to.endOf('day').toISOString() : undefined,
    page,
    pageSize,
  };
  const records = useQuery({
    queryKey: ['records', 'list', query],
    queryFn: ({ signal }) => apiCallWithTotal(apiRoutes.records.list, { query, signal }),
    placeholderData: keepPreviousData,
    refetchInterval: (current) =>
      current.state.data?.data.some((record) => record.status === 'running') ? 5000 : false,
  });
  const tasks = useQuery({
    queryKey: ['tasks', 'list'],
    queryFn: ({ signal }) => apiCall(apiRoutes.tasks.list, { signal }),
  });
  const rows = useMemo(() => records.data?.data ?? [], [records.data]);

  /** Updates URL parameters, keeping the others. */
  const updateParams = (changes: Record<string, string | undefined>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined || value === '') next.delete(key);
      else next.set(key, value);
    }
    setParams(next);
  };
  const setFilter = (changes: Record<string, string | undefined>) => {
    updateParams(changes);
    setPage(1);
    setSelectedIds([]);
  };
  const openRecord = (id: number | null) => updateParams({ recordId: id === null ? undefined : String(id) });

  const confirmBatchDelete = () => {
    const ids = selectedIds;
    void modal.confirm({
      title: t('records.batchDeleteTitle', { count: ids.length }),
      content: t('records.batchDeleteDescription'),
      okText: t('common.delete'),
      okButtonProps: { danger: true, 'data-testid': 'records-batch-delete-confirm' },
      cancelText: t('common.cancel'),
      onOk: () => actions.batchDelete.mutateAsync(ids).catch(() => undefined),
    });
  };

  const columns: TableColumnsType<RecordSummary> = [
    {
      title: t('records.columns.task'),
      key: 'task',
      render: (_value, record) => (
        <Flex vertical gap={4} style={{ minWidth: 150, maxWidth: 220 }}>
          <Typography.Link
            strong
            onClick={() => openRecord(record.id)}
            data-testid={`record-open-${String(record.id)}`}
          >
            {record.taskName || `#${String(record.taskId)}`}
          </Typography.Link>
          <Flex gap={4} wrap>
            <RunStatusTag status={record.status} testId={`record-status-${String(record.id)}`} />
            {record.locked ? <LockedTag testId={`record-locked-${String(record.id)}`} /> : null}
            <BackupKindTag kind={record.backupKind} testId={`record-kind-${String(record.id)}`} />
            <RecordNodeTag nodeId={record.nodeId} testId={`record-node-${String(record.id)}`} />
          </Flex>
        </Flex>
      ),
    },
    {
      title: t('records.columns.file'),
      key: 'file',
      render: (_value, record) =>
        record.fileName === '' ? (
          <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
        ) : (
          <Flex vertical style={{ maxWidth: 250 }}>
            <Typography.Text
              className="bx-mono"
              ellipsis={{ tooltip: record.fileName }}
              style={{ fontSize: 13 }}
            >
              {record.fileName}
            </Typography.Text>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {record.status === 'running' ? t('records.inProgress') : formatBytes(record.fileSize)}
              {record.checksum ? (
                <Tooltip title={`SHA-256 ${record.checksum}`}>
                  <span className="bx-mono" style={{ marginInlineStart: 8 }}>
                    {shortChecksum(record.checksum)}
                  </span>
                </Tooltip>
              ) : null}
            </Typography.Text>
          </Flex>
        ),
    },
    {
      title: t('records.columns.time'),
      key: 'time',
      render: (_value, record) => (
        <Flex vertical style={{ whiteSpace: 'nowrap', fontSize: 13 }}>
          <span>{formatDateTime(record.startedAt)}</span>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {record.completedAt ? formatDateTime(record.completedAt) : t('records.inProgress')}
          </Typography.Text>
        </Flex>
      ),
    },
    {
      title: t('records.columns.duration'),
      key: 'duration',
      render: (_value, record) =>
        record.status === 'running' ? (
          <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
        ) : (
          <span style={{ whiteSpace: 'nowrap' }}>{formatDuration(record.durationSeconds, units)}</span>
        ),
    },
    {
      title: t('records.columns.error'),
      key: 'error',
      render: (_value, record) =>
        record.errorMessage ? (
          <Typography.Text
            type={record.status === 'failed' ? 'danger' : 'secondary'}
            ellipsis={{ tooltip: record.errorMessage }}
            style={{ maxWidth: 170, fontSize: 13 }}
          >
            {record.errorMessage}
          </Typography.Text>
        ) : (
          <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
        ),
    },
    {
      title: t('common.actions'),
      key: 'actions',
      fixed: 'right',
      render: (_value, record) => {
        const success = record.status === 'success';
        return (
          <Flex gap={2}>
            <Tooltip title={t('records.details')}>
              <Button
                type="text"
                size="small"
                icon={<EyeOutlined />}
                aria-label={t('records.details')}
                onClick={() => openRecord(record.id)}
                data-testid={`record-details-${String(record.id)}`}
              />
            </Tooltip>
            <Tooltip title={t('records.download.button')}>
              <Button
                type="text"
                size="small"
                icon={<DownloadOutlined />}
                aria-label={t('records.download.button')}
                disabled={!success}
                loading={actions.download.isPending && actions.download.variables.id === record.id}
                onClick={() => actions.download.mutate(record)}
                data-testid={`record-download-${String(record.id)}`}
              />
            </Tooltip>
            {canWrite ? (
              <>
                <Tooltip title={t('records.restore.button')}>
                  <Button
                    type="text"
                    size="small"
                    icon={<RollbackOutlined />}
                    aria-label={t('records.restore.button')}
                    disabled={!success}
                    onClick={() => setRestoring({ record, paths: [] })}
                    data-testid={`record-restore-${String(record.id)}`}
                  />
                </Tooltip>
                <Tooltip title={record.locked ? t('records.unlock') : t('records.lock')}>
                  <Button
                    type="text"
                    size="small"
                    icon={record.locked ? <UnlockOutlined /> : <LockOutlined />}
                    aria-label={record.locked ? t('records.unlock') : t('records.lock')}
                    disabled={record.status === 'running'}
                    loading={actions.lock.isPending && actions.lock.variables.id === record.id}
                    onClick={() => actions.lock.mutate(record)}
                    data-testid={`record-lock-${String(record.id)}`}
                  />
                </Tooltip>
                <Popconfirm
                  title={t('records.deleteConfirmTitle', { id: record.id })}
                  description={<div style={{ maxWidth: 300 }}>{t('records.deleteConfirmDescription')}</div>}
                  okText={t('common.delete')}
                  okButtonProps={{
                    danger: true,
                    'data-testid': `record-delete-confirm-${String(record.id)}`,
                  }}
                  cancelText={t('common.cancel')}
                  disabled={record.locked || record.status === 'running'}
                  onConfirm={() => {
                    actions.remove.mutate(record);
                  }}
                >
                  <Tooltip title={record.locked ? t('records.deleteLocked') : t('common.delete')}>
                    <Button
                      type="text"
                      size="small"
                      danger
                      icon={<DeleteOutlined />}
                      aria-label={t('common.delete')}
                      disabled={record.locked || record.status === 'running'}
                      data-testid={`record-delete-${String(record.id)}`}
                    />
                  </Tooltip>
                </Popconfirm>
              </>
            ) : null}
          </Flex>
        );
      },
    },
  ];

  const filtered = taskId !== undefined || status !== undefined || range !== null;

  return (
    <>
      <PageHeader
        title={t('records.title')}
        description={t('records.description')}
        extra={
          <Tooltip title={t('common.refresh')}>
            <Button
              icon={<ReloadOutlined />}
              aria-label={t('common.refresh')}
              loading={records.isFetching && !records.isPending}
              onClick={() => void queryClient.invalidateQueries({ queryKey: ['records'] })}
              data-testid="records-refresh"
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
            placeholder={t('records.filterTask')}
            loading={tasks.isPending}
            options={(tasks.data ?? []).map((task) => ({ value: task.id, label: task.name }))}
            style={{ width: 220 }}
            data-testid="records-filter-task"
          />
          <Select<RecordStatus>
            allowClear
            value={status}
            onChange={(value) => setFilter({ status: value })}
            placeholder={t('records.filterStatus')}
            options={recordStatuses.map((value) => ({ value, label: t(`records.status.${value}`) }))}
            style={{ width: 160 }}
            data-testid="records-filter-status"
          />
          <DatePicker.RangePicker
            value={range}
            onChange={(value) => {
              setRange(value);
              setPage(1);
            }}
            allowEmpty={[true, true]}
            data-testid="records-filter-dates"
          />
          {filtered ? (
            <Button
              type="link"
              onClick={() => {
                setRange(null);
                setFilter({ taskId: undefined, status: undefined });
              }}
            >
              {t('common.reset')}
            </Button>
          ) : null}
          {canWrite && selectedIds.length > 0 ? (
            <Flex
              gap={8}
              align="center"
              style={{ marginInlineStart: 'auto' }}
              data-testid="records-batch-bar"
            >
              <Typography.Text strong>{t('records.selected', { count: selectedIds.length })}</Typography.Text>
              <Button
                danger
                icon={<DeleteOutlined />}
                loading={actions.batchDelete.isPending}
                onClick={confirmBatchDelete}
                data-testid="records-batch-delete"
              >
                {t('common.delete')}
              </Button>
              <Button type="link" onClick={() => setSelectedIds([])}>
                {t('tasks.batch.clear')}
              </Button>
            </Flex>
          ) : null}
        </Flex>
        {records.isError ? (
          <LoadError
            error={records.error}
            onRetry={() => void records.refetch()}
            style={{ marginBottom: 16 }}
          />
        ) : null}
        <div data-testid="records-table">
          <Table<RecordSummary>
            rowKey="id"
            size="middle"
            columns={columns}
            dataSource={rows}
            loading={records.isPending || (records.isFetching && records.isPlaceholderData)}
            scroll={{ x: 'max-content' }}
            onRow={(record) =>
              ({
                'data-testid': `record-row-${String(record.id)}`,
                'data-status': record.status,
              }) as HTMLAttributes<HTMLElement>
            }
            rowSelection={
              canWrite
                ? {
                    selectedRowKeys: selectedIds,
                    onChange: (keys) => setSelectedIds(keys.map(Number)),
                    getCheckboxProps: (record) => ({ disabled: record.status === 'running' }),
                  }
                : undefined
            }
            pagination={{
              current: page,
              pageSize,
              total: records.data?.total ?? 0,
              showSizeChanger: true,
              pageSizeOptions: PAGE_SIZES,
              showTotal: (total) => t('records.total', { count: total }),
              onChange: (nextPage, nextSize) => {
                setPage(nextSize === pageSize ? nextPage : 1);
                setPageSize(nextSize);
                setSelectedIds([]);
              },
            }}
            locale={{
              emptyText: (
                <Empty
                  image={Empty.PRESENTED_IMAGE_SIMPLE}
                  description={filtered ? t('records.emptyFiltered') : t('records.empty')}
                />
              ),
            }}
          />
        </div>
      </Card>

      <RecordDetailDrawer
        recordId={recordId}
        canWrite={canWrite}
        actions={actions}
        onClose={() => openRecord(null)}
        onOpenRecord={(id) => openRecord(id)}
        onContents={setContentsOf}
        onRestore={(record) => setRestoring({ record, paths: [] })}
      />
      <ContentsModal
        record={contentsOf}
        canRestore={canWrite}
        onClose={() => setContentsOf(null)}
        onRestoreSelected={(record, paths) => {
          setContentsOf(null);
          setRestoring({ record, paths });
        }}
        onOpenRecord={(id) => {
          setContentsOf(null);
          openRecord(id);
        }}
      />
      <RestoreModal
        record={restoring?.record ?? null}
        selectedPaths={restoring?.paths ?? []}
        onClose={() => setRestoring(null)}
      />
    </>
  );
}
