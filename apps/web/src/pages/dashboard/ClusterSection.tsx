/**
 * The cluster on the dashboard (SPEC §14.6, §11.10): nodes online, outdated agents and the
 * master's version, then every node's backup runs of the window, best success rate first.
 */
import type { HTMLAttributes } from 'react';
import { useMemo } from 'react';
import {
  Button,
  Card,
  Col,
  Empty,
  Flex,
  Progress,
  Row,
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
  CloudServerOutlined,
  DeploymentUnitOutlined,
  DesktopOutlined,
  DisconnectOutlined,
  SafetyCertificateOutlined,
  WarningOutlined,
} from '@ant-design/icons';
import { Link, useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { ClusterOverview, NodePerformance } from '@backupx/contract';
import { LoadError } from '../../components/LoadError.tsx';
import { StatCard } from '../../components/StatCard.tsx';
import { formatBytes, formatDateTime, formatRelativeTime } from '../../lib/format.ts';
import { translateDynamic } from '../../lib/i18n-helpers.ts';
import { useDurationUnits } from '../../lib/useFormatters.ts';
import { paths } from '../../paths.ts';
import {
  formatAverageDuration,
  nodeDetailUrl,
  nodeNeverConnected,
  nodePerformanceRows,
  successRateLevel,
} from './dashboardQueries.ts';
import type { NodePerformanceRow } from './dashboardQueries.ts';

interface ClusterSectionProps {
  cluster: ClusterOverview | undefined;
  performance: readonly NodePerformance[] | undefined;
  clusterLoading: boolean;
  performanceLoading: boolean;
  /** The first error of the two requests, shown inside the section. */
  error: unknown;
  onRetry: () => void;
  /** When the cluster was fetched: the reference of "last seen 2 minutes ago". */
  now: number;
  days: number;
}

/** The dashboard's cluster card: the summary strip above the node performance table. */
export function ClusterSection({
  cluster,
  performance,
  clusterLoading,
  performanceLoading,
  error,
  onRetry,
  now,
  days,
}: ClusterSectionProps) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  // Rows wait for the performance answer, so no node shows zero runs that it does not have.
  const rows = useMemo(
    () => (performance ? nodePerformanceRows(performance, cluster?.nodes) : []),
    [performance, cluster],
  );
  const anyRuns = rows.some((row) => row.totalRuns > 0);

  return (
    <Card
      title={t('overview.cluster.title')}
      extra={
        <Button type="link" size="small" onClick={() => void navigate(paths.nodes)}>
          {t('overview.cluster.manageNodes')}
        </Button>
      }
      style={{ marginTop: 24 }}
      data-testid="dashboard-cluster-section"
    >
      {error ? <LoadError error={error} onRetry={onRetry} style={{ marginBottom: 16 }} /> : null}
      <ClusterSummary cluster={cluster} loading={clusterLoading} />
      <Flex justify="space-between" align="baseline" gap={8} wrap style={{ marginTop: 24, marginBottom: 12 }}>
        <Typography.Text strong>{t('overview.cluster.performanceTitle', { days })}</Typography.Text>
        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
          {performance && !anyRuns
            ? t('overview.cluster.noRuns', { days })
            : t('overview.cluster.performanceSummary')}
        </Typography.Text>
      </Flex>
      <NodePerformanceTable rows={rows} loading={performanceLoading} now={now} />
    </Card>
  );
}

/** Nodes online of all, outdated agents (linking to the nodes page) and the master's version. */
export function ClusterSummary({
  cluster,
  loading,
}: {
  cluster: ClusterOverview | undefined;
  loading: boolean;
}) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const offline = cluster?.offlineNodes ?? 0;
  const outdated = cluster?.outdatedAgents ?? 0;
  return (
    <Row gutter={[12, 12]} data-testid="dashboard-cluster">
      <Col xs={24} md={8}>
        <StatCard
          variant="tile"
          icon={<CloudServerOutlined />}
          color={offline > 0 ? token.colorWarning : token.colorSuccess}
          title={t('overview.cluster.nodesOnline')}
          loading={loading}
          value={
            cluster ? (
              <>
                <span data-testid="dashboard-cluster-online">{cluster.onlineNodes}</span>
                <span style={{ color: token.colorTextTertiary, fontWeight: 400 }}>
                  {' / '}
                  <span data-testid="dashboard-cluster-total">{cluster.totalNodes}</span>
                </span>
              </>
            ) : (
              t('common.none')
            )
          }
          footer={
            cluster ? (
              offline > 0 ? (
                <span style={{ color: token.colorWarningText }} data-testid="dashboard-cluster-offline">
                  {t('overview.cluster.offlineCount', { count: offline })}
                </span>
              ) : (
                t('overview.cluster.allOnline')
              )
            ) : undefined
          }
        />
      </Col>
      <Col xs={24} md={8}>
        <StatCard
          variant="tile"
          icon={outdated > 0 ? <WarningOutlined /> : <SafetyCertificateOutlined />}
          color={outdated > 0 ? token.colorWarning : token.colorSuccess}
          title={t('overview.cluster.outdatedAgents')}
          loading={loading}
          value={
            cluster ? (
              <span
                style={outdated > 0 ? { color: token.colorWarning } : undefined}
                data-testid="dashboard-cluster-outdated"
              >
                {outdated}
              </span>
            ) : (
              t('common.none')
            )
          }
          footer={
            cluster ? (
              outdated > 0 ? (
                <Link to={paths.nodes} data-testid="dashboard-cluster-outdated-link">
                  {t('overview.cluster.outdatedReview')}
                </Link>
              ) : (
                t('overview.cluster.noOutdated')
              )
            ) : undefined
          }
        />
      </Col>
      <Col xs={24} md={8}>
        <StatCard
          variant="tile"
          icon={<DeploymentUnitOutlined />}
          color={token.colorPrimary}
          title={t('overview.cluster.masterVersion')}
          loading={loading}
          value={
            cluster ? (
              <span className="bx-mono" data-testid="dashboard-cluster-version">
                {cluster.masterVersion || t('common.none')}
              </span>
            ) : (
              t('common.none')
            )
          }
          footer={cluster ? t('overview.cluster.masterVersionFooter') : undefined}
        />
      </Col>
    </Row>
  );
}

/** Online / offline of a node, with "Outdated" beside it when its agent is older than the master. */
function NodeStateTags({ row }: { row: NodePerformanceRow }) {
  const { t } = useTranslation();
  const node = row.node;
  const testId = `node-performance-status-${String(row.nodeId)}`;
  if (!node && !row.deleted) {
    return (
      <Typography.Text type="secondary" data-testid={testId}>
        {t('common.none')}
      </Typography.Text>
    );
  }
  if (!node) {
    return (
      <Tooltip title={t('overview.cluster.deletedNodeHelp')}>
        <Tag style={{ marginInlineEnd: 0 }} data-testid={testId} data-status="deleted">
          {t('overview.cluster.deletedNode')}
        </Tag>
      </Tooltip>
    );
  }
  const online = node.status === 'online';
  return (
    <Flex gap={4} wrap>
      <Tag
        color={online ? 'success' : 'default'}
        icon={online ? <CheckCircleOutlined /> : <DisconnectOutlined />}
        style={{ marginInlineEnd: 0 }}
        data-testid={testId}
        data-status={node.status}
      >
        {translateDynamic(t, `nodes.status.${node.status}`, node.status)}
      </Tag>
      {!node.isLocal && node.versionStatus === 'outdated' ? (
        <Tooltip title={t('nodes.outdatedHelp')}>
          <Tag color="warning" icon={<WarningOutlined />} style={{ marginInlineEnd: 0 }}>
            {t('nodes.outdated')}
          </Tag>
        </Tooltip>
      ) : null}
    </Flex>
  );
}

/** Every node's runs of the window: the server's order (best first), one row per node. */
export function NodePerformanceTable({
  rows,
  loading,
  now,
}: {
  rows: readonly NodePerformanceRow[];
  loading: boolean;
  now: number;
}) {
  const { t, i18n } = useTranslation();
  const { token } = theme.useToken();
  const units = useDurationUnits();
  const none = <Typography.Text type="secondary">{t('common.none')}</Typography.Text>;
  const rateColors = { success: token.colorSuccess, warning: token.colorWarning, error: token.colorError };

  const columns: TableColumnsType<NodePerformanceRow> = [
    {
      title: t('overview.cluster.columnNode'),
      key: 'node',
      render: (_value, row) => (
        <Flex vertical style={{ minWidth: 140 }}>
          <Flex gap={6} align="center" wrap>
            {!row.deleted ? (
              <Link
                to={nodeDetailUrl(row.nodeId)}
                style={{ fontWeight: 600 }}
                data-testid={`node-performance-name-${String(row.nodeId)}`}
              >
                {row.nodeName}
              </Link>
            ) : (
              <Typography.Text strong data-testid={`node-performance-name-${String(row.nodeId)}`}>
                {row.nodeName}
              </Typography.Text>
            )}
            {row.isLocal ? (
              <Tooltip title={t('overview.cluster.thisMasterHelp')}>
                <Tag
                  color="blue"
                  icon={<DesktopOutlined />}
                  style={{ marginInlineEnd: 0 }}
                  data-testid={`node-performance-local-${String(row.nodeId)}`}
                >
                  {t('overview.cluster.thisMaster')}
                </Tag>
              </Tooltip>
            ) : null}
          </Flex>
          {row.node ? (
            <Typography.Text type="secondary" style={{ fontSize: 12, whiteSpace: 'nowrap' }}>
              {[row.node.hostname, t('overview.cluster.tasks', { count: row.node.taskCount })]
                .filter((part) => part !== '')
                .join(' · ')}
            </Typography.Text>
          ) : null}
        </Flex>
      ),
    },
    {
      title: t('common.status'),
      key: 'status',
      render: (_value, row) => <NodeStateTags row={row} />,
    },
    {
      title: t('overview.cluster.columnRuns'),
      key: 'runs',
      render: (_value, row) => (
        <Flex
          vertical
          style={{ whiteSpace: 'nowrap' }}
          data-testid={`node-performance-runs-${String(row.nodeId)}`}
        >
          <Typography.Text strong>{row.totalRuns}</Typography.Text>
          {row.totalRuns > 0 ? (
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {t('overview.cluster.runsDetail', { success: row.successRuns, failed: row.failedRuns })}
            </Typography.Text>
          ) : null}
        </Flex>
      ),
    },
    {
      title: t('overview.cluster.columnSuccessRate'),
      key: 'successRate',
      render: (_value, row) =>
        row.finishedRuns > 0 ? (
          <Tooltip
            title={t('overview.statSuccessRateFooter', { success: row.successRuns, total: row.finishedRuns })}
          >
            <div style={{ width: 150 }} data-testid={`node-performance-rate-${String(row.nodeId)}`}>
              <Progress
                percent={row.successRate}
                status="normal"
                size="small"
                strokeColor={rateColors[successRateLevel(row.successRate)]}
                format={() => `${row.successRate.toFixed(1)}%`}
                style={{ margin: 0 }}
              />
            </div>
          </Tooltip>
        ) : (
          <Tooltip title={t('overview.cluster.noFinishedRuns')}>
            <span data-testid={`node-performance-rate-${String(row.nodeId)}`}>{none}</span>
          </Tooltip>
        ),
    },
    {
      title: t('overview.cluster.columnBytes'),
      key: 'bytes',
      align: 'right',
      render: (_value, row) => <span style={{ whiteSpace: 'nowrap' }}>{formatBytes(row.totalBytes)}</span>,
    },
    {
      title: t('overview.cluster.columnAvgDuration'),
      key: 'duration',
      align: 'right',
      render: (_value, row) =>
        row.successRuns > 0 ? (
          <span style={{ whiteSpace: 'nowrap' }}>{formatAverageDuration(row.avgDurationSecs, units)}</span>
        ) : (
          none
        ),
    },
    {
      title: t('overview.cluster.columnLastSeen'),
      key: 'lastSeen',
      render: (_value, row) => {
        const node = row.node;
        if (!node) return none;
        if (node.isLocal) {
          return (
            <Typography.Text type="secondary" style={{ whiteSpace: 'nowrap' }}>
              {t('nodes.thisServer')}
            </Typography.Text>
          );
        }
        if (nodeNeverConnected(node)) {
          return (
            <Tooltip title={t('nodes.neverConnected')}>
              <Typography.Text type="secondary" style={{ whiteSpace: 'nowrap' }}>
                {t('nodes.lastSeenNever')}
              </Typography.Text>
            </Tooltip>
          );
        }
        return (
          <Tooltip title={formatDateTime(node.lastSeen)}>
            <span style={{ whiteSpace: 'nowrap' }}>
              {formatRelativeTime(node.lastSeen, now, i18n.language)}
            </span>
          </Tooltip>
        );
      },
    },
  ];

  return (
    <div data-testid="dashboard-node-performance">
      <Table<NodePerformanceRow>
        rowKey="nodeId"
        size="middle"
        columns={columns}
        dataSource={rows}
        pagination={false}
        scroll={{ x: 'max-content' }}
        onRow={(row) =>
          ({
            'data-testid': `node-performance-row-${String(row.nodeId)}`,
            'data-node-status': row.node?.status ?? (row.deleted ? 'deleted' : 'unknown'),
          }) as HTMLAttributes<HTMLElement>
        }
        locale={{
          emptyText: loading ? (
            <Skeleton active paragraph={{ rows: 2 }} />
          ) : (
            <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('overview.cluster.empty')} />
          ),
        }}
      />
    </div>
  );
}
