import { useMemo } from 'react';
import { Button, Card, Col, Empty, Flex, Row, Skeleton, Steps, Tag, Tooltip, Typography, theme } from 'antd';
import {
  CheckCircleOutlined,
  CloudServerOutlined,
  DatabaseOutlined,
  FieldTimeOutlined,
  HddOutlined,
  PlusOutlined,
  ReloadOutlined,
  SafetyOutlined,
  ScheduleOutlined,
} from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { apiRoutes, taskTypes } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { useCurrentUser } from '../../auth/AuthProvider.tsx';
import { canWrite } from '../../auth/roles.ts';
import { BarList } from '../../components/charts/BarList.tsx';
import { DonutChart } from '../../components/charts/DonutChart.tsx';
import { StackedBarChart } from '../../components/charts/StackedBarChart.tsx';
import { groupSmallest } from '../../components/charts/chartMath.ts';
import { paletteColor } from '../../components/charts/palette.ts';
import { LoadError } from '../../components/LoadError.tsx';
import { PageHeader } from '../../components/PageHeader.tsx';
import { StatCard } from '../../components/StatCard.tsx';
import { useEventCenter, useEventSubscription } from '../../events/EventCenterProvider.tsx';
import { dashboardEventTypes } from '../../events/eventMeta.ts';
import { formatBytes, formatDateTime, formatRelativeTime } from '../../lib/format.ts';
import { translateDynamic } from '../../lib/i18n-helpers.ts';
import { paths } from '../../paths.ts';
import { ClusterSection } from './ClusterSection.tsx';
import { RecentRecordsTable } from './RecentRecordsTable.tsx';
import { PostureSection } from './PostureSection.tsx';
import { SlaSection } from './SlaSection.tsx';
import { DASHBOARD_DAYS, TASKS_URL, dashboardKeys, shortDay } from './dashboardQueries.ts';

const MAX_SLICES = 7;

/** Overview of backups: counts, 30-day trend, where the bytes are, task mix, newest records. */
export function Dashboard() {
  const { t, i18n } = useTranslation();
  const { token } = theme.useToken();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const user = useCurrentUser();
  const writable = canWrite(user.role);
  const { status: streamStatus } = useEventCenter();

  const stats = useQuery({
    queryKey: dashboardKeys.stats,
    queryFn: ({ signal }) => apiCall(apiRoutes.dashboard.stats, { signal }),
    refetchInterval: 60_000,
  });
  const timeline = useQuery({
    queryKey: dashboardKeys.timeline(DASHBOARD_DAYS),
    queryFn: ({ signal }) =>
      apiCall(apiRoutes.dashboard.timeline, { query: { days: String(DASHBOARD_DAYS) }, signal }),
    refetchInterval: 60_000,
  });
  const breakdown = useQuery({
    queryKey: dashboardKeys.breakdown(DASHBOARD_DAYS),
    queryFn: ({ signal }) =>
      apiCall(apiRoutes.dashboard.breakdown, { query: { days: String(DASHBOARD_DAYS) }, signal }),
    refetchInterval: 60_000,
  });

  // The cluster (SPEC §14.6, §11.10); viewer-level like the rest, so shown to every role.
  const cluster = useQuery({
    queryKey: dashboardKeys.cluster,
    queryFn: ({ signal }) => apiCall(apiRoutes.dashboard.cluster, { signal }),
    refetchInterval: 60_000,
  });
  const nodePerformance = useQuery({
    queryKey: dashboardKeys.nodePerformance(DASHBOARD_DAYS),
    queryFn: ({ signal }) =>
      apiCall(apiRoutes.dashboard.nodePerformance, { query: { days: String(DASHBOARD_DAYS) }, signal }),
    refetchInterval: 60_000,
  });

  // RPO compliance (SPEC §10.1); an `sla_violation` event refreshes it with the rest.
  const sla = useQuery({
    queryKey: dashboardKeys.sla,
    queryFn: ({ signal }) => apiCall(apiRoutes.dashboard.sla, { signal }),
    refetchInterval: 60_000,
  });

  // 3-2-1 posture (SPEC §9): backups, drills and copies change it, so it follows the same events.
  const posture = useQuery({
    queryKey: dashboardKeys.posture,
    queryFn: ({ signal }) => apiCall(apiRoutes.dashboard.posture, { signal }),
    refetchInterval: 60_000,
  });

  const refreshAll = () => queryClient.invalidateQueries({ queryKey: dashboardKeys.all });
  // Live refresh (SPEC §14.6): any finished backup, restore, verification, storage or agent alert.
  useEventSubscription(dashboardEventTypes, () => void refreshAll());

  const data = stats.data;
  const now = stats.dataUpdatedAt;
  const loadError = stats.error ?? timeline.error ?? breakdown.error;

  const trend = useMemo(
    () =>
      (timeline.data ?? []).map((point) => ({
        key: point.date,
        label: shortDay(point.date),
        values: {
          success: point.success,
          failed: point.failed,
          other: Math.max(0, point.total - point.success - point.failed),
        },
      })),
    [timeline.data],
  );
  const trendTotals = useMemo(
    () =>
      (timeline.data ?? []).reduce(
        (sum, point) => ({
          success: sum.success + point.success,
          failed: sum.failed + point.failed,
          total: sum.total + point.total,
        }),
        { success: 0, failed: 0, total: 0 },
      ),
    [timeline.data],
  );

  const storageSlices = useMemo(() => {
    const source =
      data && data.storageUsage.length > 0
        ? data.storageUsage.map((entry) => ({
            key: String(entry.storageTargetId),
            label: entry.targetName || t('overview.deletedTarget', { id: entry.storageTargetId }),
            value: entry.totalSize,
          }))
        : (breakdown.data?.byStorage ?? []).map((entry) => ({
            key: entry.key,
            label: entry.label,
            value: entry.totalSize,
          }));
    return groupSmallest(
      source.filter((entry) => entry.value > 0),
      (entry) => entry.value,
      MAX_SLICES,
      (total, count) => ({ key: 'other', label: t('overview.otherTargets', { count }), value: total }),
    ).map((entry, index) => ({ ...entry, color: paletteColor(index) }));
  }, [data, breakdown.data, t]);

  const typeBars = useMemo(
    () =>
      (breakdown.data?.byType ?? [])
        .filter((entry) => entry.count > 0)
        .map((entry) => ({
          key: entry.key,
          label: (taskTypes as readonly string[]).includes(entry.key)
            ? translateDynamic(t, `overview.taskTypes.${entry.key}`, entry.label)
            : entry.label,
          value: entry.count,
          color: paletteColor(Math.max(0, (taskTypes as readonly string[]).indexOf(entry.key))),
        })),
    [breakdown.data, t],
  );

  const successRate = data?.successRate ?? 0;
  const rateColor =
    successRate >= 95 ? token.colorSuccess : successRate >= 80 ? token.colorWarning : token.colorError;
  const hasNoTasks = data !== undefined && data.totalTasks === 0;

  return (
    <>
      <PageHeader
        title={t('dashboard.title')}
        description={t('overview.description')}
        extra={
          <>
            <Tooltip title={t('eventCenter.statusHelp')}>
              <Tag
                color={streamStatus === 'open' ? 'success' : 'default'}
                icon={
                  streamStatus === 'open' ? (
                    <CheckCircleOutlined />
                  ) : (
                    <ReloadOutlined spin={streamStatus !== 'stopped'} />
                  )
                }
                style={{ marginInlineEnd: 0, alignSelf: 'center' }}
                data-testid="dashboard-live"
                data-status={streamStatus}
              >
                {streamStatus === 'open' ? t('overview.live') : t('overview.notLive')}
              </Tag>
            </Tooltip>
            <Tooltip title={t('common.refresh')}>
              <Button
                icon={<ReloadOutlined />}
                aria-label={t('common.refresh')}
                loading={
                  (stats.isFetching ||
                    timeline.isFetching ||
                    breakdown.isFetching ||
                    cluster.isFetching ||
                    nodePerformance.isFetching ||
                    sla.isFetching ||
                    posture.isFetching) &&
                  !stats.isPending
                }
                onClick={() => void refreshAll()}
                data-testid="dashboard-refresh"
              />
            </Tooltip>
          </>
        }
      />

      <Card
        style={{
          marginBottom: 24,
          background: `linear-gradient(120deg, color-mix(in srgb, ${token.colorPrimary} 14%, ${token.colorBgContainer}) 0%, ${token.colorBgContainer} 70%)`,
        }}
      >
        <Flex justify="space-between" align="center" gap={16} wrap>
          <div>
            <Typography.Title level={4} style={{ margin: 0 }} data-testid="dashboard-welcome">
              {t('dashboard.welcome', { name: user.displayName || user.username })}
            </Typography.Title>
            <Typography.Text type="secondary">
              {data?.lastBackupAt
                ? t('overview.welcomeLastBackup', {
                    time: formatRelativeTime(data.lastBackupAt, now, i18n.language),
                  })
                : t('dashboard.welcomeSubtitle', { role: t(`roles.${user.role}`) })}
            </Typography.Text>
          </div>
          <Flex gap={8} wrap>
            <Tag
              color={user.twoFactorEnabled ? 'success' : 'warning'}
              icon={<SafetyOutlined />}
              style={{ marginInlineEnd: 0, alignSelf: 'center' }}
            >
              {user.twoFactorEnabled ? t('dashboard.twoFactorOn') : t('dashboard.twoFactorOff')}
            </Tag>
            {writable ? (
              <>
                <Button icon={<HddOutlined />} onClick={() => void navigate(paths.storageTargets)}>
                  {t('overview.addStorage')}
                </Button>
                <Button type="primary" icon={<PlusOutlined />} onClick={() => void navigate(TASKS_URL)}>
                  {t('overview.newTask')}
                </Button>
              </>
            ) : null}
          </Flex>
        </Flex>
      </Card>

      {loadError ? (
        <LoadError error={loadError} onRetry={() => void refreshAll()} style={{ marginBottom: 24 }} />
      ) : null}

      {hasNoTasks ? <GettingStarted writable={writable} /> : null}

      <Row gutter={[16, 16]} style={{ marginBottom: 24 }}>
        <Col xs={24} sm={12} xl={6}>
          <div data-testid="dashboard-stat-tasks" style={{ height: '100%' }}>
            <StatCard
              title={t('overview.statTasks')}
              value={data?.totalTasks ?? t('common.none')}
              icon={<ScheduleOutlined />}
              color={token.colorPrimary}
              footer={data ? t('overview.statTasksEnabled', { count: data.enabledTasks }) : undefined}
              loading={stats.isPending}
            />
          </div>
        </Col>
        <Col xs={24} sm={12} xl={6}>
          <div data-testid="dashboard-stat-success-rate" style={{ height: '100%' }}>
            <StatCard
              title={t('overview.statSuccessRate')}
              value={data ? `${successRate.toFixed(1)}%` : t('common.none')}
              icon={<CheckCircleOutlined />}
              color={data && trendTotals.total > 0 ? rateColor : token.colorSuccess}
              footer={t('overview.statSuccessRateFooter', {
                success: trendTotals.success,
                total: trendTotals.total,
              })}
              loading={stats.isPending}
            />
          </div>
        </Col>
        <Col xs={24} sm={12} xl={6}>
          <div data-testid="dashboard-stat-volume" style={{ height: '100%' }}>
            <StatCard
              title={t('overview.statVolume')}
              value={data ? formatBytes(data.totalBackupBytes) : t('common.none')}
              icon={<DatabaseOutlined />}
              color="#722ed1"
              footer={t('overview.statVolumeFooter', { count: data?.storageUsage.length ?? 0 })}
              loading={stats.isPending}
            />
          </div>
        </Col>
        <Col xs={24} sm={12} xl={6}>
          <div data-testid="dashboard-stat-records" style={{ height: '100%' }}>
            <StatCard
              title={t('overview.statRecords')}
              value={data?.totalRecords ?? t('common.none')}
              icon={<FieldTimeOutlined />}
              color="#13a8a8"
              footer={
                data ? (
                  data.lastBackupAt ? (
                    <Tooltip title={formatDateTime(data.lastBackupAt)}>
                      <span>
                        {t('overview.statLastBackup', {
                          time: formatRelativeTime(data.lastBackupAt, now, i18n.language),
                        })}
                      </span>
                    </Tooltip>
                  ) : (
                    t('overview.statNoBackupYet')
                  )
                ) : undefined
              }
              loading={stats.isPending}
            />
          </div>
        </Col>
      </Row>

      <SlaSection
        sla={sla.data}
        loading={sla.isPending}
        error={sla.error}
        onRetry={() => void refreshAll()}
        now={sla.dataUpdatedAt}
        writable={writable}
      />

      <PostureSection
        posture={posture.data}
        loading={posture.isPending}
        error={posture.error}
        onRetry={() => void refreshAll()}
      />

      <Row gutter={[16, 16]} style={{ marginBottom: 24 }}>
        <Col xs={24} xl={16}>
          <Card
            title={t('overview.trendTitle', { days: DASHBOARD_DAYS })}
            extra={
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {t('overview.trendSummary', { success: trendTotals.success, failed: trendTotals.failed })}
              </Typography.Text>
            }
            style={{ height: '100%' }}
          >
            {timeline.isPending ? (
              <Skeleton active paragraph={{ rows: 6 }} />
            ) : (
              <StackedBarChart
                testId="dashboard-trend"
                ariaLabel={t('overview.trendTitle', { days: DASHBOARD_DAYS })}
                data={trend}
                series={[
                  { key: 'success', label: t('overview.recordStatus.success'), color: token.colorSuccess },
                  { key: 'failed', label: t('overview.recordStatus.failed'), color: token.colorError },
                  ...(trend.some((point) => point.values.other > 0)
                    ? [{ key: 'other', label: t('overview.otherStatuses'), color: token.colorTextQuaternary }]
                    : []),
                ]}
                tooltipTitle={(datum) => datum.key}
              />
            )}
          </Card>
        </Col>
        <Col xs={24} xl={8}>
          <Card title={t('overview.storageTitle')} style={{ height: '100%' }}>
            {stats.isPending ? (
              <Skeleton active avatar={{ size: 120, shape: 'circle' }} paragraph={{ rows: 3 }} />
            ) : storageSlices.length === 0 ? (
              <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('overview.storageEmpty')} />
            ) : (
              <DonutChart
                testId="dashboard-storage"
                ariaLabel={t('overview.storageTitle')}
                data={storageSlices}
                formatValue={(value) => formatBytes(value)}
                centerCaption={t('overview.storageTotal')}
              />
            )}
          </Card>
        </Col>
      </Row>

      <Row gutter={[16, 16]}>
        <Col xs={24} xl={8}>
          <Card title={t('overview.typesTitle')} style={{ height: '100%' }}>
            {breakdown.isPending ? (
              <Skeleton active paragraph={{ rows: 4 }} />
            ) : typeBars.length === 0 ? (
              <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('overview.typesEmpty')} />
            ) : (
              <BarList testId="dashboard-types" data={typeBars} />
            )}
          </Card>
        </Col>
        <Col xs={24} xl={16}>
          <Card
            title={t('overview.recentTitle')}
            extra={
              <Button type="link" size="small" onClick={() => void navigate('/backup/records')}>
                {t('overview.viewAll')}
              </Button>
            }
            styles={{ body: { padding: 0 } }}
            style={{ height: '100%' }}
            data-testid="dashboard-recent"
          >
            <RecentRecordsTable records={data?.recentRecords ?? []} loading={stats.isPending} now={now} />
          </Card>
        </Col>
      </Row>

      <ClusterSection
        cluster={cluster.data}
        performance={nodePerformance.data}
        clusterLoading={cluster.isPending}
        performanceLoading={nodePerformance.isPending}
        error={cluster.error ?? nodePerformance.error}
        onRetry={() => void refreshAll()}
        now={cluster.dataUpdatedAt}
        days={DASHBOARD_DAYS}
      />
    </>
  );
}

/** First steps while there is no task yet: a storage target, then a task. */
function GettingStarted({ writable }: { writable: boolean }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  return (
    <Card style={{ marginBottom: 24 }} data-testid="dashboard-getting-started">
      <Flex gap={24} wrap align="center" justify="space-between">
        <Flex gap={16} align="center" style={{ minWidth: 260, flex: '1 1 260px' }}>
          <CloudServerOutlined style={{ fontSize: 40, color: 'var(--ant-color-primary, #1668dc)' }} />
          <div>
            <Typography.Title level={5} style={{ margin: 0 }}>
              {t('overview.startTitle')}
            </Typography.Title>
            <Typography.Text type="secondary">{t('overview.startDescription')}</Typography.Text>
          </div>
        </Flex>
        <Steps
          size="small"
          style={{ flex: '2 1 420px' }}
          items={[
            {
              title: t('overview.startStepStorage'),
              content: writable ? (
                <Button
                  type="link"
                  size="small"
                  style={{ padding: 0 }}
                  onClick={() => void navigate(paths.storageTargets)}
                >
                  {t('overview.addStorage')}
                </Button>
              ) : undefined,
            },
            {
              title: t('overview.startStepTask'),
              content: writable ? (
                <Button
                  type="link"
                  size="small"
                  style={{ padding: 0 }}
                  onClick={() => void navigate(TASKS_URL)}
                >
                  {t('overview.newTask')}
                </Button>
              ) : undefined,
            },
            { title: t('overview.startStepNotify') },
          ]}
        />
      </Flex>
    </Card>
  );
}
