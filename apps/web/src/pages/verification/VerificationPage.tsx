/**
 * Verification drills (SPEC §8, §15.5): filters (status, mode, task) synced to the URL, the table
 * of drills refreshed while one runs, and `?verifyId=` opens a drawer with the checks, the row
 * counts of a deep database drill and the live log.
 */
import { useMemo } from 'react';
import { useClientPagination } from '../../lib/useClientPagination.ts';
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
  theme,
} from 'antd';
import type { DescriptionsProps, TableColumnsType } from 'antd';
import {
  CheckCircleFilled,
  CloseCircleFilled,
  EyeOutlined,
  FieldTimeOutlined,
  ReloadOutlined,
} from '@ant-design/icons';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { apiRoutes, verifyModes } from '@backupx/contract';
import type {
  TableRowCount,
  VerificationCheck,
  VerificationDetail,
  VerificationSummary,
  VerifyMode,
} from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { LoadError } from '../../components/LoadError.tsx';
import { PageHeader } from '../../components/PageHeader.tsx';
import { formatDateTime } from '../../lib/format.ts';
import { translateDynamic } from '../../lib/i18n-helpers.ts';
import { useDurationUnits } from '../../lib/useFormatters.ts';
import { RecordNodeTag, useNodeName } from '../nodes/nodeUi.tsx';
import { formatAverageDuration } from '../dashboard/dashboardQueries.ts';
import { LiveLog } from '../records/LiveLog.tsx';
import { VerifyModeTag, VerifyStatusTag } from './verificationUi.tsx';
import {
  checkCounts,
  hasRunningDrill,
  isKnownCheck,
  isVerifyMode,
  verificationKeys,
} from './verificationQueries.ts';

const statuses = ['running', 'success', 'failed'] as const;
type VerifyStatus = (typeof statuses)[number];
const recordLink = (id: number) => `/backup/records?recordId=${String(id)}`;

const positiveInt = (value: string | null): number | undefined => {
  const number = Number(value);
  return Number.isInteger(number) && number > 0 ? number : undefined;
};
const isStatus = (value: string | null): value is VerifyStatus =>
  value !== null && (statuses as readonly string[]).includes(value);

export function VerificationPage() {
  const { t } = useTranslation();
  const units = useDurationUnits();
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  const statusParam = params.get('status');
  const status = isStatus(statusParam) ? statusParam : undefined;
  const modeParam = params.get('mode');
  const mode = isVerifyMode(modeParam) ? modeParam : undefined;
  const taskId = positiveInt(params.get('taskId'));
  const verifyId = positiveInt(params.get('verifyId')) ?? null;

  const query = { status, mode, taskId };
  const drills = useQuery({
    queryKey: verificationKeys.list(query),
    queryFn: ({ signal }) => apiCall(apiRoutes.verification.list, { query, signal }),
    placeholderData: keepPreviousData,
    refetchInterval: (current) => (hasRunningDrill(current.state.data) ? 3000 : false),
  });
  const tasks = useQuery({
    queryKey: ['tasks', 'list'],
    queryFn: ({ signal }) => apiCall(apiRoutes.tasks.list, { signal }),
  });
  const rows = useMemo(() => drills.data ?? [], [drills.data]);
  const { pagination, resetPage } = useClientPagination(rows.length, (total) =>
    t('verification.total', { count: total }),
  );
  const filtered = status !== undefined || mode !== undefined || taskId !== undefined;

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
    resetPage();
  };
  const openDrill = (id: number | null) => updateParams({ verifyId: id === null ? undefined : String(id) });

  const none = <Typography.Text type="secondary">{t('common.none')}</Typography.Text>;

  const columns: TableColumnsType<VerificationSummary> = [
    {
      title: t('verification.columns.task'),
      key: 'task',
      render: (_value, drill) => (
        <Flex vertical gap={4} style={{ minWidth: 150 }}>
          <Typography.Link
            strong
            onClick={() => openDrill(drill.id)}
            data-testid={`verify-open-${String(drill.id)}`}
          >
            {drill.taskName || `#${String(drill.taskId)}`}
          </Typography.Link>
          <Flex gap={4} wrap>
            <VerifyStatusTag status={drill.status} testId={`verify-status-${String(drill.id)}`} />
            <RecordNodeTag nodeId={drill.nodeId} />
          </Flex>
        </Flex>
      ),
    },
    {
      title: t('verification.columns.mode'),
      key: 'mode',
      render: (_value, drill) => (
        <VerifyModeTag mode={drill.mode} testId={`verify-mode-${String(drill.id)}`} />
      ),
    },
    {
      title: t('verification.columns.backup'),
      key: 'backup',
      render: (_value, drill) => (
        <Flex vertical style={{ maxWidth: 220 }}>
          <Typography.Text
            className="bx-mono"
            ellipsis={{ tooltip: drill.backupFileName }}
            style={{ fontSize: 13 }}
          >
            {drill.backupFileName || t('common.none')}
          </Typography.Text>
          <Flex gap={6} wrap style={{ fontSize: 12 }}>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {t('verification.copy', {
                target: drill.storageTargetName || `#${String(drill.storageTargetId)}`,
              })}
            </Typography.Text>
            <Link to={recordLink(drill.backupRecordId)}>#{drill.backupRecordId}</Link>
          </Flex>
        </Flex>
      ),
    },
    {
      title: t('verification.columns.summary'),
      key: 'summary',
      render: (_value, drill) => (
        <Flex vertical style={{ maxWidth: 260 }}>
          {drill.summary ? (
            <Typography.Text ellipsis={{ tooltip: drill.summary }} style={{ fontSize: 13 }}>
              {drill.summary}
            </Typography.Text>
          ) : drill.errorMessage ? null : (
            none
          )}
          {drill.errorMessage ? (
            <Typography.Text
              type="danger"
              ellipsis={{ tooltip: drill.errorMessage }}
              style={{ fontSize: 12 }}
              data-testid={`verify-error-${String(drill.id)}`}
            >
              {drill.errorMessage}
            </Typography.Text>
          ) : null}
        </Flex>
      ),
    },
    {
      title: (
        <Tooltip title={t('verification.rtoHelp')}>
          <span>{t('verification.columns.rto')}</span>
        </Tooltip>
      ),
      key: 'rto',
      render: (_value, drill) =>
        drill.rtoSeconds === null ? (
          none
        ) : (
          <span style={{ whiteSpace: 'nowrap' }} data-testid={`verify-rto-${String(drill.id)}`}>
            {formatAverageDuration(drill.rtoSeconds, units)}
          </span>
        ),
    },
    {
      title: t('verification.columns.time'),
      key: 'time',
      render: (_value, drill) => (
        <Flex vertical style={{ whiteSpace: 'nowrap', fontSize: 13 }}>
          <span>{formatDateTime(drill.startedAt)}</span>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {drill.status === 'running'
              ? t('records.inProgress')
              : formatAverageDuration(drill.durationSeconds, units)}
            {drill.triggeredBy ? ` · ${drill.triggeredBy}` : ''}
          </Typography.Text>
        </Flex>
      ),
    },
    {
      title: t('common.actions'),
      key: 'actions',
      fixed: 'right',
      render: (_value, drill) => (
        <Tooltip title={t('verification.details')}>
          <Button
            type="text"
            size="small"
            icon={<EyeOutlined />}
            aria-label={t('verification.details')}
            onClick={() => openDrill(drill.id)}
            data-testid={`verify-details-${String(drill.id)}`}
          />
        </Tooltip>
      ),
    },
  ];

  return (
    <>
      <PageHeader
        title={t('verification.title')}
        description={t('verification.description')}
        extra={
          <Tooltip title={t('common.refresh')}>
            <Button
              icon={<ReloadOutlined />}
              aria-label={t('common.refresh')}
              loading={drills.isFetching && !drills.isPending}
              onClick={() => void queryClient.invalidateQueries({ queryKey: verificationKeys.all })}
              data-testid="verify-refresh"
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
            placeholder={t('verification.filterTask')}
            loading={tasks.isPending}
            options={(tasks.data ?? []).map((task) => ({ value: task.id, label: task.name }))}
            style={{ width: 220 }}
            data-testid="verify-filter-task"
          />
          <Select<VerifyStatus>
            allowClear
            value={status}
            onChange={(value) => setFilter({ status: value })}
            placeholder={t('verification.filterStatus')}
            options={statuses.map((value) => ({ value, label: t(`verification.status.${value}`) }))}
            style={{ width: 160 }}
            data-testid="verify-filter-status"
          />
          <Select<VerifyMode>
            allowClear
            value={mode}
            onChange={(value) => setFilter({ mode: value })}
            placeholder={t('verification.filterMode')}
            options={verifyModes.map((value) => ({ value, label: t(`verification.mode.${value}`) }))}
            style={{ width: 160 }}
            data-testid="verify-filter-mode"
          />
        </Flex>
        {drills.isError ? (
          <LoadError
            error={drills.error}
            onRetry={() => void drills.refetch()}
            style={{ marginBottom: 16 }}
          />
        ) : null}
        <div data-testid="verify-table" data-loaded={drills.data !== undefined}>
          <Table<VerificationSummary>
            rowKey="id"
            size="middle"
            columns={columns}
            dataSource={rows}
            loading={drills.isPending || (drills.isFetching && drills.isPlaceholderData)}
            scroll={{ x: 'max-content' }}
            onRow={(drill) =>
              ({
                'data-testid': `verify-row-${String(drill.id)}`,
                'data-status': drill.status,
              }) as HTMLAttributes<HTMLElement>
            }
            pagination={pagination}
            locale={{
              emptyText: (
                <Empty
                  image={Empty.PRESENTED_IMAGE_SIMPLE}
                  description={filtered ? t('verification.emptyFiltered') : t('verification.empty')}
                >
                  {filtered ? null : (
                    <Link to="/backup/records?status=success">{t('verification.emptyAction')}</Link>
                  )}
                </Empty>
              ),
            }}
          />
        </div>
      </Card>
      <VerificationDrawer verifyId={verifyId} onClose={() => openDrill(null)} />
    </>
  );
}

function VerificationDrawer({ verifyId, onClose }: { verifyId: number | null; onClose: () => void }) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const nodeName = useNodeName();
  const units = useDurationUnits();
  const queryClient = useQueryClient();
  const detail = useQuery({
    queryKey: verificationKeys.detail(verifyId),
    queryFn: ({ signal }) => apiCall(apiRoutes.verification.get, { params: { id: verifyId ?? 0 }, signal }),
    enabled: verifyId !== null,
    // The log stream ends the run in the common case; this catches a stream that could not be followed.
    refetchInterval: (current) => (current.state.data?.status === 'running' ? 10_000 : false),
  });
  const drill = detail.data;

  const checkName = (check: VerificationCheck) =>
    isKnownCheck(check.name)
      ? t(`verification.checks.${check.name}`)
      : translateDynamic(t, `verification.checks.${check.name}`, check.name);

  const items = (item: VerificationDetail): DescriptionsProps['items'] => [
    {
      key: 'task',
      label: t('verification.columns.task'),
      children: (
        <Link to={`/backup/tasks?taskId=${String(item.taskId)}`}>
          {item.taskName || `#${String(item.taskId)}`}
        </Link>
      ),
    },
    {
      key: 'status',
      label: t('common.status'),
      children: (
        <Space size={6} wrap>
          <VerifyStatusTag status={item.status} testId="verify-detail-status" />
          <VerifyModeTag mode={item.mode} testId="verify-detail-mode" />
        </Space>
      ),
    },
    {
      key: 'backup',
      label: t('verification.columns.backup'),
      span: 2,
      children: (
        <Space size={8} wrap>
          <Typography.Text className="bx-mono bx-break" style={{ fontSize: 13 }}>
            {item.backupFileName || t('common.none')}
          </Typography.Text>
          <Link to={recordLink(item.backupRecordId)} data-testid="verify-detail-record">
            {t('verification.backupRecord', { id: item.backupRecordId })}
          </Link>
        </Space>
      ),
    },
    {
      key: 'copy',
      label: t('verification.columns.copy'),
      children: item.storageTargetName || `#${String(item.storageTargetId)}`,
    },
    { key: 'node', label: t('verification.columns.node'), children: nodeName(item.nodeId) },
    {
      key: 'rto',
      label: (
        <Tooltip title={t('verification.rtoHelp')}>
          <span>{t('verification.rto')}</span>
        </Tooltip>
      ),
      children:
        item.rtoSeconds === null ? (
          t('common.none')
        ) : (
          <Space size={6}>
            <FieldTimeOutlined style={{ color: token.colorPrimary }} />
            <Typography.Text strong data-testid="verify-detail-rto">
              {formatAverageDuration(item.rtoSeconds, units)}
            </Typography.Text>
          </Space>
        ),
    },
    {
      key: 'by',
      label: t('verification.columns.triggeredBy'),
      children: item.triggeredBy || t('common.none'),
    },
    { key: 'started', label: t('verification.columns.time'), children: formatDateTime(item.startedAt) },
    {
      key: 'completed',
      label: t('verification.columns.completed'),
      children: formatDateTime(item.completedAt),
    },
    {
      key: 'duration',
      label: t('verification.columns.duration'),
      children:
        item.status === 'running' ? t('common.none') : formatAverageDuration(item.durationSeconds, units),
    },
  ];

  const countColumns: TableColumnsType<TableRowCount> = [
    { title: t('verification.columns.database'), dataIndex: 'database', key: 'database' },
    {
      title: t('verification.columns.table'),
      dataIndex: 'table',
      key: 'table',
      render: (value: string) => <span className="bx-mono">{value}</span>,
    },
    {
      title: t('verification.columns.rows'),
      dataIndex: 'rows',
      key: 'rows',
      align: 'right',
      render: (value: number) => value.toLocaleString(),
    },
  ];

  const counts = drill ? checkCounts(drill.checks) : { passed: 0, failed: 0 };

  return (
    <Drawer
      open={verifyId !== null}
      onClose={onClose}
      size={860}
      title={
        <Space size={8}>
          {t('verification.detailTitle', { id: verifyId ?? 0 })}
          {drill ? <VerifyStatusTag status={drill.status} /> : null}
        </Space>
      }
      data-testid="verify-detail-drawer"
    >
      {detail.isError ? <LoadError error={detail.error} onRetry={() => void detail.refetch()} /> : null}
      {detail.isPending && verifyId !== null ? <Skeleton active paragraph={{ rows: 8 }} /> : null}
      {drill ? (
        <div data-testid={`verify-detail-${String(drill.id)}`} data-status={drill.status}>
          {drill.status === 'success' ? (
            <Alert
              type="success"
              showIcon
              title={t('verification.passed')}
              description={drill.summary || undefined}
              style={{ marginBottom: 16 }}
              data-testid="verify-detail-result"
            />
          ) : drill.status === 'failed' ? (
            <Alert
              type="error"
              showIcon
              title={t('verification.failed')}
              description={<span className="bx-break">{drill.errorMessage || drill.summary}</span>}
              style={{ marginBottom: 16 }}
              data-testid="verify-detail-result"
            />
          ) : (
            <Alert
              type="info"
              showIcon
              title={t('verification.running')}
              description={t('verification.runningHint')}
              style={{ marginBottom: 16 }}
            />
          )}
          <Descriptions
            size="small"
            bordered
            column={{ xs: 1, sm: 2 }}
            items={items(drill)}
            styles={{ label: { width: 130, whiteSpace: 'nowrap' }, content: { minWidth: 185 } }}
            style={{ marginBottom: 24 }}
          />
          {drill.status === 'running' ? null : (
            <div style={{ marginBottom: 24 }} data-testid="verify-checks">
              <Flex justify="space-between" align="baseline" style={{ marginBottom: 8 }}>
                <Typography.Title level={5} style={{ margin: 0 }}>
                  {t('verification.checksTitle')}
                </Typography.Title>
                {drill.checks.length > 0 ? (
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    <CheckCircleFilled style={{ color: token.colorSuccess }} /> {counts.passed}
                    {counts.failed > 0 ? (
                      <>
                        {'  '}
                        <CloseCircleFilled style={{ color: token.colorError }} /> {counts.failed}
                      </>
                    ) : null}
                  </Typography.Text>
                ) : null}
              </Flex>
              {drill.checks.length === 0 ? (
                <Typography.Text type="secondary">{t('verification.checksEmpty')}</Typography.Text>
              ) : (
                <div
                  style={{
                    border: `1px solid ${token.colorBorderSecondary}`,
                    borderRadius: token.borderRadiusLG,
                  }}
                >
                  {drill.checks.map((check, index) => (
                    <Flex
                      key={`${check.name}-${String(index)}`}
                      gap={12}
                      align="flex-start"
                      style={{
                        padding: '10px 14px',
                        borderTop: index === 0 ? undefined : `1px solid ${token.colorBorderSecondary}`,
                      }}
                      data-testid={`verify-check-${check.name}`}
                      data-ok={check.ok}
                    >
                      <Tooltip
                        title={check.ok ? t('verification.checkPassed') : t('verification.checkFailed')}
                      >
                        {check.ok ? (
                          <CheckCircleFilled
                            style={{ color: token.colorSuccess, fontSize: 16, marginTop: 3 }}
                            aria-label={t('verification.checkPassed')}
                          />
                        ) : (
                          <CloseCircleFilled
                            style={{ color: token.colorError, fontSize: 16, marginTop: 3 }}
                            aria-label={t('verification.checkFailed')}
                          />
                        )}
                      </Tooltip>
                      <div style={{ minWidth: 0, flex: 1 }}>
                        <Typography.Text strong>{checkName(check)}</Typography.Text>
                        {check.detail ? (
                          <div
                            className="bx-break"
                            style={{
                              fontSize: 13,
                              color: check.ok ? token.colorTextSecondary : token.colorErrorText,
                            }}
                          >
                            {check.detail}
                          </div>
                        ) : null}
                      </div>
                    </Flex>
                  ))}
                </div>
              )}
            </div>
          )}
          {drill.tableCounts.length > 0 ? (
            <div style={{ marginBottom: 24 }}>
              <Flex justify="space-between" align="baseline" style={{ marginBottom: 8 }}>
                <Typography.Title level={5} style={{ margin: 0 }}>
                  {t('verification.tableCountsTitle')}
                </Typography.Title>
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {t('verification.tableCountsTotal', { count: drill.tableCounts.length })}
                </Typography.Text>
              </Flex>
              <Table<TableRowCount>
                rowKey={(row) => `${row.database}.${row.table}`}
                size="small"
                columns={countColumns}
                dataSource={drill.tableCounts}
                pagination={drill.tableCounts.length > 10 ? { pageSize: 10, showSizeChanger: false } : false}
                data-testid="verify-table-counts"
              />
            </div>
          ) : null}
          <LiveLog
            key={drill.id}
            kind="verify"
            id={drill.id}
            status={drill.status}
            logContent={drill.logContent}
            logEvents={drill.logEvents}
            onCompleted={() => {
              void queryClient.invalidateQueries({ queryKey: verificationKeys.all });
              void queryClient.invalidateQueries({ queryKey: ['records'] });
              void queryClient.invalidateQueries({ queryKey: ['dashboard'] });
            }}
          />
        </div>
      ) : null}
    </Drawer>
  );
}
