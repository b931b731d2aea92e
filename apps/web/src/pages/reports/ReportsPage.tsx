/**
 * The compliance report (SPEC §10.2): every backup task over a window of 7 to 365 days with its
 * runs, success rate, last success, encryption, protected bytes and RPO risk, and the same
 * report as the BackupX CSV.
 */
import { useMemo } from 'react';
import type { HTMLAttributes, ReactNode } from 'react';
import {
  App,
  Button,
  Card,
  Col,
  Empty,
  Flex,
  Progress,
  Row,
  Segmented,
  Skeleton,
  Table,
  Tag,
  Tooltip,
  Typography,
  theme,
} from 'antd';
import type { TableColumnsType } from 'antd';
import {
  CheckCircleOutlined,
  DatabaseOutlined,
  DownloadOutlined,
  LineChartOutlined,
  LockOutlined,
  ReloadOutlined,
  ScheduleOutlined,
  StopOutlined,
  WarningOutlined,
} from '@ant-design/icons';
import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { apiRoutes, complianceRisks } from '@backupx/contract';
import type { ComplianceReport, ComplianceTask } from '@backupx/contract';
import { apiCall, downloadFile } from '../../api/client.ts';
import { LoadError } from '../../components/LoadError.tsx';
import { PageHeader } from '../../components/PageHeader.tsx';
import { StatCard } from '../../components/StatCard.tsx';
import {
  formatBytes,
  formatDateTime,
  formatRatio,
  formatRelativeTime,
  ratioToPercent,
} from '../../lib/format.ts';
import { errorText } from '../../lib/i18n-helpers.ts';
import { taskDetailsUrl, successRateLevel } from '../dashboard/dashboardQueries.ts';
import { RunStatusTag, TaskTypeTag } from '../records/recordUi.tsx';
import {
  COMPLIANCE_CSV_FALLBACK_NAME,
  REPORT_WINDOWS,
  compareRisk,
  compareTimes,
  countRisks,
  isRecordStatus,
  ratioOf,
  reportKeys,
  reportWindowFromParam,
  riskColors,
  runTotals,
} from './reportsQueries.ts';
import type { ComplianceRisk, ReportWindow } from './reportsQueries.ts';

const riskIcons: Record<ComplianceRisk, ReactNode> = {
  ok: <CheckCircleOutlined />,
  at_risk: <WarningOutlined />,
  not_applicable: <StopOutlined />,
};

export function ReportsPage() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [params, setParams] = useSearchParams();
  const days = reportWindowFromParam(params.get('days'));

  const report = useQuery({
    queryKey: reportKeys.compliance(days),
    queryFn: ({ signal }) => apiCall(apiRoutes.reports.compliance, { query: { days: String(days) }, signal }),
    placeholderData: keepPreviousData,
    refetchInterval: 60_000,
  });

  const download = useMutation({
    mutationFn: (window: ReportWindow) =>
      downloadFile(
        apiRoutes.reports.complianceCsv,
        { query: { days: String(window) } },
        COMPLIANCE_CSV_FALLBACK_NAME,
      ),
    onSuccess: (name) => void message.success(t('reports.downloaded', { name })),
    onError: (error) => void message.error(errorText(t, error)),
  });

  const setDays = (value: ReportWindow) => {
    const next = new URLSearchParams(params);
    next.set('days', String(value));
    setParams(next, { replace: true });
  };

  const data = report.data;
  // While another window loads, the previous one stays on screen, dimmed.
  const stale = report.isPlaceholderData;

  return (
    <div data-testid="reports-page" data-days={days} data-loaded={data !== undefined && !stale}>
      <PageHeader
        title={t('reports.title')}
        description={t('reports.description')}
        extra={
          <>
            <Segmented<ReportWindow>
              value={days}
              onChange={setDays}
              options={REPORT_WINDOWS.map((value) => ({
                value,
                label: t('reports.windowDays', { count: value }),
              }))}
              aria-label={t('reports.window')}
              data-testid="reports-days"
            />
            <Tooltip title={t('common.refresh')}>
              <Button
                icon={<ReloadOutlined />}
                aria-label={t('common.refresh')}
                loading={report.isFetching && !report.isPending}
                onClick={() => void report.refetch()}
                data-testid="reports-refresh"
              />
            </Tooltip>
            <Button
              type="primary"
              icon={<DownloadOutlined />}
              loading={download.isPending}
              onClick={() => download.mutate(days)}
              data-testid="reports-download-csv"
            >
              {t('reports.downloadCsv')}
            </Button>
          </>
        }
      />

      {report.error ? (
        <LoadError error={report.error} onRetry={() => void report.refetch()} style={{ marginBottom: 24 }} />
      ) : null}

      <ReportSummary report={data} days={days} loading={report.isPending} />

      <Card
        title={t('reports.tableTitle')}
        extra={
          data ? (
            <Typography.Text type="secondary" style={{ fontSize: 12 }} data-testid="reports-generated">
              {t('reports.generatedAt', { time: formatDateTime(data.generatedAt) })}
            </Typography.Text>
          ) : null
        }
        styles={{ body: { padding: 0 } }}
        style={{ opacity: stale ? 0.6 : 1, transition: 'opacity 0.2s' }}
      >
        <ReportTable
          tasks={data?.tasks ?? []}
          loading={report.isPending}
          now={data ? Date.parse(data.generatedAt) : report.dataUpdatedAt}
        />
      </Card>
    </div>
  );
}

/** The six numbers at the top: tasks, compliant, at risk, encrypted, success rate, protected bytes. */
function ReportSummary({
  report,
  days,
  loading,
}: {
  report: ComplianceReport | undefined;
  days: number;
  loading: boolean;
}) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const summary = report?.summary;
  const totals = useMemo(() => runTotals(report?.tasks ?? []), [report]);
  const rateColors = { success: token.colorSuccess, warning: token.colorWarning, error: token.colorError };
  const none = t('common.none');
  const atRisk = summary?.atRiskTasks ?? 0;

  const cards: { key: string; node: ReactNode }[] = [
    {
      key: 'tasks',
      node: (
        <StatCard
          title={t('reports.summary.tasks')}
          value={summary?.totalTasks ?? none}
          icon={<ScheduleOutlined />}
          color={token.colorPrimary}
          footer={summary ? t('reports.summary.tasksFooter', { count: summary.enabledTasks }) : undefined}
          loading={loading}
        />
      ),
    },
    {
      key: 'compliant',
      node: (
        <StatCard
          title={t('reports.summary.compliant')}
          value={summary?.compliantTasks ?? none}
          icon={<CheckCircleOutlined />}
          color={token.colorSuccess}
          footer={
            summary
              ? t('reports.summary.compliantFooter', {
                  percent: formatRatio(ratioOf(summary.compliantTasks, summary.enabledTasks)),
                })
              : undefined
          }
          loading={loading}
        />
      ),
    },
    {
      key: 'at-risk',
      node: (
        <StatCard
          title={t('reports.summary.atRisk')}
          value={
            summary ? (
              <span style={atRisk > 0 ? { color: token.colorError } : undefined}>{atRisk}</span>
            ) : (
              none
            )
          }
          icon={<WarningOutlined />}
          color={atRisk > 0 ? token.colorError : token.colorSuccess}
          footer={
            summary
              ? atRisk > 0
                ? t('reports.summary.atRiskFooter')
                : t('reports.summary.atRiskNone')
              : undefined
          }
          loading={loading}
        />
      ),
    },
    {
      key: 'encrypted',
      node: (
        <StatCard
          title={t('reports.summary.encrypted')}
          value={summary?.encryptedTasks ?? none}
          icon={<LockOutlined />}
          color="#722ed1"
          footer={
            summary
              ? t('reports.summary.encryptedFooter', {
                  percent: formatRatio(ratioOf(summary.encryptedTasks, summary.totalTasks)),
                })
              : undefined
          }
          loading={loading}
        />
      ),
    },
    {
      key: 'success-rate',
      node: (
        <StatCard
          title={t('reports.summary.successRate')}
          value={summary && totals.runs > 0 ? formatRatio(summary.overallSuccessRate) : none}
          icon={<LineChartOutlined />}
          color={
            summary && totals.runs > 0
              ? rateColors[successRateLevel(ratioToPercent(summary.overallSuccessRate))]
              : token.colorSuccess
          }
          footer={
            summary
              ? totals.runs > 0
                ? t('reports.summary.successRateFooter', {
                    success: totals.successes,
                    total: totals.runs,
                    days,
                  })
                : t('reports.summary.successRateNoRuns', { days })
              : undefined
          }
          loading={loading}
        />
      ),
    },
    {
      key: 'protected',
      node: (
        <StatCard
          title={t('reports.summary.protected')}
          value={summary ? formatBytes(summary.totalProtectedBytes) : none}
          icon={<DatabaseOutlined />}
          color="#13a8a8"
          footer={summary ? t('reports.summary.protectedFooter') : undefined}
          loading={loading}
        />
      ),
    },
  ];

  return (
    <Row gutter={[16, 16]} style={{ marginBottom: 24 }} data-testid="reports-summary">
      {cards.map((card) => (
        <Col key={card.key} xs={24} sm={12} lg={8} xxl={4}>
          <div data-testid={`reports-summary-${card.key}`} style={{ height: '100%' }}>
            {card.node}
          </div>
        </Col>
      ))}
    </Row>
  );
}

/** Status of a task's newest record, or "No runs". */
function LastStatusTag({ status, testId }: { status: string; testId: string }) {
  const { t } = useTranslation();
  if (isRecordStatus(status)) return <RunStatusTag status={status} testId={testId} />;
  return (
    <Tag style={{ marginInlineEnd: 0 }} data-testid={testId} data-status={status}>
      {status === 'none' ? t('reports.lastStatusNone') : status}
    </Tag>
  );
}

/** The tasks of the report: one row each, filterable and sortable by risk. */
function ReportTable({
  tasks,
  loading,
  now,
}: {
  tasks: readonly ComplianceTask[];
  loading: boolean;
  now: number;
}) {
  const { t, i18n } = useTranslation();
  const { token } = theme.useToken();
  const rateColors = { success: token.colorSuccess, warning: token.colorWarning, error: token.colorError };
  const none = <Typography.Text type="secondary">{t('common.none')}</Typography.Text>;
  const counts = useMemo(() => countRisks(tasks), [tasks]);

  const relative = (value: string | null, empty: ReactNode) =>
    value ? (
      <Tooltip title={formatDateTime(value)}>
        <span style={{ whiteSpace: 'nowrap' }}>{formatRelativeTime(value, now, i18n.language)}</span>
      </Tooltip>
    ) : (
      empty
    );

  const columns: TableColumnsType<ComplianceTask> = [
    {
      // Type and node sit under the name, as on the tasks page, so the row fits a laptop screen.
      title: t('reports.columns.task'),
      key: 'task',
      fixed: 'left',
      sorter: (a, b) => a.taskName.localeCompare(b.taskName),
      render: (_value, task) => (
        <Flex vertical gap={4} style={{ minWidth: 160, maxWidth: 280 }}>
          <Link
            to={taskDetailsUrl(task.taskId)}
            style={{ fontWeight: 600, overflowWrap: 'anywhere' }}
            data-testid={`report-task-${String(task.taskId)}`}
          >
            {task.taskName}
          </Link>
          <Flex gap={6} align="center" wrap>
            <TaskTypeTag type={task.type} />
            <Typography.Text
              type="secondary"
              style={{ fontSize: 12 }}
              data-testid={`report-node-${String(task.taskId)}`}
            >
              {task.nodeName !== '' ? task.nodeName : t('reports.localNode')}
            </Typography.Text>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              ·
            </Typography.Text>
            {task.cronExpr !== '' ? (
              <Typography.Text type="secondary" className="bx-mono" style={{ fontSize: 12 }}>
                {task.cronExpr}
              </Typography.Text>
            ) : (
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {t('reports.manualOnly')}
              </Typography.Text>
            )}
          </Flex>
        </Flex>
      ),
    },
    {
      title: t('reports.columns.enabled'),
      dataIndex: 'enabled',
      key: 'enabled',
      render: (enabled: boolean) =>
        enabled ? (
          <Tag color="success" style={{ marginInlineEnd: 0 }}>
            {t('common.enabled')}
          </Tag>
        ) : (
          <Tag icon={<StopOutlined />} style={{ marginInlineEnd: 0 }}>
            {t('common.disabled')}
          </Tag>
        ),
    },
    {
      title: t('reports.columns.encrypted'),
      dataIndex: 'encrypted',
      key: 'encrypted',
      render: (encrypted: boolean) =>
        encrypted ? (
          <Tag color="purple" icon={<LockOutlined />} style={{ marginInlineEnd: 0 }}>
            {t('reports.yes')}
          </Tag>
        ) : (
          <Typography.Text type="secondary">{t('reports.no')}</Typography.Text>
        ),
    },
    {
      title: t('reports.columns.rpo'),
      dataIndex: 'slaHoursRpo',
      key: 'rpo',
      align: 'right',
      sorter: (a, b) => a.slaHoursRpo - b.slaHoursRpo,
      render: (hours: number) =>
        hours > 0 ? (
          <span style={{ whiteSpace: 'nowrap' }}>{t('reports.rpoHours', { hours })}</span>
        ) : (
          <Tooltip title={t('reports.rpoNotSet')}>{none}</Tooltip>
        ),
    },
    {
      // Runs of the window and their success rate in one column, so the row fits a laptop screen.
      title: t('reports.columns.successRate'),
      key: 'runs',
      sorter: (a, b) => a.successRate - b.successRate || a.totalRuns - b.totalRuns,
      render: (_value, task) =>
        task.totalRuns > 0 ? (
          <Tooltip
            title={t('reports.runsTooltip', {
              count: task.totalRuns,
              success: task.successes,
              failed: task.failures,
            })}
          >
            <Flex vertical style={{ width: 130 }} data-testid={`report-rate-${String(task.taskId)}`}>
              <Progress
                percent={ratioToPercent(task.successRate)}
                status="normal"
                size="small"
                strokeColor={rateColors[successRateLevel(ratioToPercent(task.successRate))]}
                format={() => formatRatio(task.successRate)}
                style={{ margin: 0 }}
              />
              <Typography.Text
                type="secondary"
                style={{ fontSize: 12, whiteSpace: 'nowrap' }}
                data-testid={`report-runs-${String(task.taskId)}`}
              >
                {t('reports.runsDetail', { success: task.successes, failed: task.failures })}
              </Typography.Text>
            </Flex>
          </Tooltip>
        ) : (
          <Tooltip title={t('reports.noRunsInWindow')}>
            <Typography.Text type="secondary" data-testid={`report-rate-${String(task.taskId)}`}>
              {t('common.none')}
            </Typography.Text>
          </Tooltip>
        ),
    },
    {
      // The newest record's status (any window) above when it started.
      title: t('reports.columns.lastRun'),
      key: 'lastRun',
      sorter: (a, b) => compareTimes(a.lastRunAt, b.lastRunAt),
      render: (_value, task) => (
        <Flex vertical gap={2} align="flex-start" style={{ whiteSpace: 'nowrap' }}>
          <LastStatusTag status={task.lastStatus} testId={`report-status-${String(task.taskId)}`} />
          {task.lastRunAt ? (
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {relative(task.lastRunAt, null)}
            </Typography.Text>
          ) : null}
        </Flex>
      ),
    },
    {
      title: t('reports.columns.lastSuccess'),
      dataIndex: 'lastSuccessAt',
      key: 'lastSuccess',
      sorter: (a, b) => compareTimes(a.lastSuccessAt, b.lastSuccessAt),
      render: (value: string | null, task) =>
        relative(
          value,
          <Typography.Text type={task.enabled ? 'danger' : 'secondary'} style={{ whiteSpace: 'nowrap' }}>
            {t('reports.neverSucceeded')}
          </Typography.Text>,
        ),
    },
    {
      title: t('reports.columns.protected'),
      dataIndex: 'protectedBytes',
      key: 'protected',
      align: 'right',
      sorter: (a, b) => a.protectedBytes - b.protectedBytes,
      render: (bytes: number) =>
        bytes > 0 ? <span style={{ whiteSpace: 'nowrap' }}>{formatBytes(bytes)}</span> : none,
    },
    {
      title: t('reports.columns.risk'),
      dataIndex: 'risk',
      key: 'risk',
      fixed: 'right',
      sorter: (a, b) => compareRisk(a.risk, b.risk),
      filters: complianceRisks.map((risk) => ({
        value: risk,
        text: `${t(`reports.risk.${risk}`)} (${String(counts[risk])})`,
      })),
      onFilter: (value, task) => task.risk === value,
      render: (risk: ComplianceRisk, task) => (
        <Tooltip title={t(`reports.riskHelp.${risk}`)}>
          <Tag
            color={riskColors[risk]}
            icon={riskIcons[risk]}
            style={{ marginInlineEnd: 0 }}
            data-testid={`report-risk-${String(task.taskId)}`}
            data-risk={risk}
          >
            {t(`reports.risk.${risk}`)}
          </Tag>
        </Tooltip>
      ),
    },
  ];

  return (
    <div data-testid="reports-table">
      <Table<ComplianceTask>
        rowKey="taskId"
        size="middle"
        columns={columns}
        dataSource={tasks}
        pagination={{ pageSize: 50, hideOnSinglePage: true, showSizeChanger: false }}
        scroll={{ x: 'max-content' }}
        onRow={(task) =>
          ({
            'data-testid': `report-row-${String(task.taskId)}`,
            'data-risk': task.risk,
          }) as HTMLAttributes<HTMLElement>
        }
        footer={
          tasks.length > 0
            ? () => (
                <Typography.Text type="secondary" style={{ fontSize: 12 }} data-testid="reports-risk-counts">
                  {t('reports.tableSummary', {
                    atRisk: counts.at_risk,
                    ok: counts.ok,
                    notApplicable: counts.not_applicable,
                  })}
                </Typography.Text>
              )
            : undefined
        }
        locale={{
          emptyText: loading ? (
            <Skeleton active paragraph={{ rows: 3 }} style={{ padding: 16 }} />
          ) : (
            <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('reports.empty')} />
          ),
        }}
      />
    </div>
  );
}
