/**
 * RPO compliance on the dashboard (SPEC §10.1): how many of the enabled tasks with a recovery
 * point objective had a recent enough successful backup, and the ones that did not, longest
 * overdue first.
 */
import {
  Button,
  Card,
  Col,
  Empty,
  Flex,
  Progress,
  Row,
  Skeleton,
  Tag,
  Tooltip,
  Typography,
  theme,
} from 'antd';
import {
  CheckCircleFilled,
  ClusterOutlined,
  FileProtectOutlined,
  QuestionCircleOutlined,
  SafetyCertificateOutlined,
  WarningOutlined,
} from '@ant-design/icons';
import { Link, useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { SlaCompliance, SlaViolation } from '@backupx/contract';
import { LoadError } from '../../components/LoadError.tsx';
import { StatCard } from '../../components/StatCard.tsx';
import { formatDateTime, formatRatio, formatRelativeTime } from '../../lib/format.ts';
import { useDurationUnits } from '../../lib/useFormatters.ts';
import { paths } from '../../paths.ts';
import { TASKS_URL, formatHoursSpan, slaLevel, slaOverdueHours, taskDetailsUrl } from './dashboardQueries.ts';
import type { SlaLevel } from './dashboardQueries.ts';

/** Violations listed on the dashboard; the rest are in the compliance report. */
const MAX_VIOLATIONS = 6;

interface SlaSectionProps {
  sla: SlaCompliance | undefined;
  loading: boolean;
  error: unknown;
  onRetry: () => void;
  /** When the answer was fetched: the reference of "last success 3 hours ago". */
  now: number;
  /** Offers a way to the tasks page (where the RPO is set) to those who may change tasks. */
  writable: boolean;
}

/** The dashboard's SLA card: coverage and violation tiles beside the list of violations. */
export function SlaSection({ sla, loading, error, onRetry, now, writable }: SlaSectionProps) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const units = useDurationUnits();
  const level: SlaLevel = sla ? slaLevel(sla) : 'none';
  const levelColor: Record<SlaLevel, string> = {
    none: token.colorTextTertiary,
    success: token.colorSuccess,
    warning: token.colorWarning,
    error: token.colorError,
  };
  const violated = sla?.violated ?? 0;
  const longest = sla?.violations[0];

  return (
    <Card
      title={
        <Flex gap={8} align="center">
          <span>{t('overview.sla.title')}</span>
          <Tooltip title={t('overview.sla.titleHelp')}>
            <QuestionCircleOutlined style={{ color: token.colorTextTertiary, fontSize: 14 }} />
          </Tooltip>
        </Flex>
      }
      extra={
        <Link to={paths.reports} data-testid="dashboard-sla-report">
          <FileProtectOutlined style={{ marginInlineEnd: 6 }} />
          {t('overview.sla.report')}
        </Link>
      }
      style={{ marginBottom: 24 }}
      data-testid="dashboard-sla"
    >
      {error ? <LoadError error={error} onRetry={onRetry} style={{ marginBottom: 16 }} /> : null}
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={8}>
          <Flex vertical gap={12} style={{ height: '100%' }}>
            <div
              data-testid="dashboard-sla-coverage"
              data-level={level}
              data-compliant={sla?.compliant}
              data-total={sla?.totalTasksWithSla}
            >
              <StatCard
                variant="tile"
                icon={<SafetyCertificateOutlined />}
                color={level === 'none' ? token.colorPrimary : levelColor[level]}
                title={t('overview.sla.coverage')}
                loading={loading}
                value={
                  sla ? (
                    <>
                      <span style={{ color: level === 'none' ? undefined : levelColor[level] }}>
                        {sla.compliant}
                      </span>
                      <span style={{ color: token.colorTextTertiary, fontWeight: 400 }}>
                        {` / ${String(sla.totalTasksWithSla)}`}
                      </span>
                    </>
                  ) : (
                    t('common.none')
                  )
                }
                footer={
                  sla ? (
                    sla.totalTasksWithSla > 0 ? (
                      <>
                        <Progress
                          percent={sla.coverageRate * 100}
                          showInfo={false}
                          size="small"
                          status="normal"
                          strokeColor={levelColor[level]}
                          style={{ margin: '2px 0 0' }}
                          aria-label={t('overview.sla.coverage')}
                        />
                        {t('overview.sla.coverageFooter', { percent: formatRatio(sla.coverageRate) })}
                      </>
                    ) : (
                      t('overview.sla.noneMonitored')
                    )
                  ) : undefined
                }
              />
            </div>
            <div data-testid="dashboard-sla-violated" data-count={sla?.violated}>
              <StatCard
                variant="tile"
                icon={violated > 0 ? <WarningOutlined /> : <CheckCircleFilled />}
                color={
                  violated > 0 ? token.colorError : level === 'none' ? token.colorPrimary : token.colorSuccess
                }
                title={t('overview.sla.violations')}
                loading={loading}
                value={
                  sla ? (
                    <span style={violated > 0 ? { color: token.colorError } : undefined}>{violated}</span>
                  ) : (
                    t('common.none')
                  )
                }
                footer={
                  sla
                    ? longest
                      ? t('overview.sla.violationsLongest', {
                          duration: formatHoursSpan(slaOverdueHours(longest), units),
                        })
                      : t('overview.sla.violationsNone')
                    : undefined
                }
              />
            </div>
          </Flex>
        </Col>
        <Col xs={24} lg={16}>
          <SlaViolations sla={sla} loading={loading} now={now} writable={writable} />
        </Col>
      </Row>
    </Card>
  );
}

/** The violations, or why there is none: every task within its RPO, or no task with one. */
function SlaViolations({
  sla,
  loading,
  now,
  writable,
}: {
  sla: SlaCompliance | undefined;
  loading: boolean;
  now: number;
  writable: boolean;
}) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const navigate = useNavigate();
  if (loading || !sla) return loading ? <Skeleton active paragraph={{ rows: 4 }} /> : null;

  if (sla.totalTasksWithSla === 0) {
    return (
      <Flex align="center" justify="center" style={{ height: '100%' }} data-testid="dashboard-sla-empty">
        <Empty
          image={Empty.PRESENTED_IMAGE_SIMPLE}
          description={
            <Flex vertical gap={4} style={{ maxWidth: 460 }}>
              <Typography.Text strong>{t('overview.sla.noRpo')}</Typography.Text>
              <Typography.Text type="secondary">{t('overview.sla.noRpoHint')}</Typography.Text>
            </Flex>
          }
        >
          {writable ? (
            <Button size="small" onClick={() => void navigate(TASKS_URL)}>
              {t('overview.sla.openTasks')}
            </Button>
          ) : null}
        </Empty>
      </Flex>
    );
  }

  if (sla.violations.length === 0) {
    return (
      <Flex
        vertical
        align="center"
        justify="center"
        gap={8}
        style={{ height: '100%', minHeight: 160, textAlign: 'center' }}
        data-testid="dashboard-sla-all-within"
      >
        <CheckCircleFilled style={{ fontSize: 40, color: token.colorSuccess }} />
        <Typography.Text strong>{t('overview.sla.allWithin')}</Typography.Text>
        <Typography.Text type="secondary">
          {t('overview.sla.allWithinHint', { count: sla.totalTasksWithSla })}
        </Typography.Text>
      </Flex>
    );
  }

  const shown = sla.violations.slice(0, MAX_VIOLATIONS);
  const more = sla.violations.length - shown.length;
  return (
    <Flex vertical gap={8} data-testid="dashboard-sla-violations">
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {t('overview.sla.violationsTitle')}
      </Typography.Text>
      {shown.map((violation) => (
        <SlaViolationRow key={violation.taskId} violation={violation} now={now} />
      ))}
      {more > 0 ? (
        <Link to={paths.reports} style={{ fontSize: 13 }} data-testid="dashboard-sla-more">
          {t('overview.sla.more', { count: more })}
        </Link>
      ) : null}
    </Flex>
  );
}

/** One task past its RPO: name, node, RPO, and how long since its last success. */
function SlaViolationRow({ violation, now }: { violation: SlaViolation; now: number }) {
  const { t, i18n } = useTranslation();
  const { token } = theme.useToken();
  const units = useDurationUnits();
  const id = String(violation.taskId);
  return (
    <Flex
      gap={12}
      align="center"
      style={{
        padding: '10px 12px',
        borderRadius: token.borderRadiusLG,
        border: `1px solid ${token.colorBorderSecondary}`,
        borderInlineStart: `3px solid ${token.colorError}`,
      }}
      data-testid={`sla-violation-${id}`}
      data-never-succeeded={violation.neverSucceeded}
    >
      <div style={{ minWidth: 0, flex: 1 }}>
        <Flex gap={8} align="center" wrap>
          <Link
            to={taskDetailsUrl(violation.taskId)}
            style={{ fontWeight: 600, overflowWrap: 'anywhere' }}
            data-testid={`sla-violation-task-${id}`}
          >
            {violation.taskName}
          </Link>
          {violation.nodeName !== '' ? (
            <Tag icon={<ClusterOutlined />} style={{ marginInlineEnd: 0 }}>
              {violation.nodeName}
            </Tag>
          ) : null}
        </Flex>
        <Flex gap={6} align="center" wrap style={{ fontSize: 12, marginTop: 2 }}>
          {violation.neverSucceeded || !violation.lastSuccessAt ? (
            <Tooltip
              title={t('overview.sla.neverSucceededHelp', {
                duration: formatHoursSpan(violation.hoursSinceLastSuccess, units),
              })}
            >
              <Tag color="error" style={{ marginInlineEnd: 0 }} data-testid={`sla-violation-never-${id}`}>
                {t('overview.sla.neverSucceeded')}
              </Tag>
            </Tooltip>
          ) : (
            <Tooltip title={formatDateTime(violation.lastSuccessAt)}>
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {t('overview.sla.lastSuccess', {
                  time: formatRelativeTime(violation.lastSuccessAt, now, i18n.language),
                })}
              </Typography.Text>
            </Tooltip>
          )}
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            ·
          </Typography.Text>
          <Typography.Text
            style={{ fontSize: 12, color: token.colorErrorText }}
            data-testid={`sla-violation-overdue-${id}`}
          >
            {t('overview.sla.overdue', { duration: formatHoursSpan(slaOverdueHours(violation), units) })}
          </Typography.Text>
        </Flex>
      </div>
      <Tag style={{ marginInlineEnd: 0, flex: 'none' }} data-testid={`sla-violation-rpo-${id}`}>
        {t('overview.sla.rpo', { hours: violation.slaHoursRpo })}
      </Tag>
    </Flex>
  );
}
