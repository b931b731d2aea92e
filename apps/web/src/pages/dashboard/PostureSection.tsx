/**
 * 3-2-1 posture on the dashboard: how many enabled tasks' newest successful backups are
 * protected, unverified or degraded, and the ones that are not protected (worst first).
 */
import type { ReactNode } from 'react';
import { Card, Col, Empty, Flex, Row, Skeleton, Tag, Tooltip, Typography, theme } from 'antd';
import {
  CheckCircleFilled,
  ExperimentOutlined,
  QuestionCircleOutlined,
  SafetyCertificateOutlined,
  WarningOutlined,
} from '@ant-design/icons';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { PostureOverview } from '@backupx/contract';
import { LoadError } from '../../components/LoadError.tsx';
import { StatCard } from '../../components/StatCard.tsx';
import { formatDateTime } from '../../lib/format.ts';
import { paths } from '../../paths.ts';
import { PostureTag } from '../records/PostureSection.tsx';
import { postureSeverity, problemKey, sortProblems } from '../records/posture.ts';
import type { PostureStatus } from '../records/posture.ts';
import { recordDetailsUrl } from './dashboardQueries.ts';

/** Backups listed on the dashboard; the rest are counted. */
const MAX_ROWS = 6;

interface PostureSectionProps {
  posture: PostureOverview | undefined;
  loading: boolean;
  error: unknown;
  onRetry: () => void;
}

export function PostureSection({ posture, loading, error, onRetry }: PostureSectionProps) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const colors: Record<PostureStatus, string> = {
    protected: token.colorSuccess,
    unverified: token.colorWarning,
    degraded: token.colorError,
  };
  const tiles: { status: PostureStatus; icon: ReactNode }[] = [
    { status: 'protected', icon: <SafetyCertificateOutlined /> },
    { status: 'unverified', icon: <QuestionCircleOutlined /> },
    { status: 'degraded', icon: <WarningOutlined /> },
  ];
  const total = posture ? posture.protected + posture.unverified + posture.degraded : 0;

  return (
    <Card
      title={
        <Flex gap={8} align="center">
          <span>{t('posture.dashboard.title')}</span>
          <Tooltip title={t('posture.dashboard.help')}>
            <QuestionCircleOutlined style={{ color: token.colorTextTertiary, fontSize: 14 }} />
          </Tooltip>
        </Flex>
      }
      extra={
        <Link to={paths.verifyRecords} data-testid="dashboard-posture-drills">
          <ExperimentOutlined style={{ marginInlineEnd: 6 }} />
          {t('posture.dashboard.drills')}
        </Link>
      }
      style={{ marginBottom: 24 }}
      data-testid="dashboard-posture"
    >
      {error ? <LoadError error={error} onRetry={onRetry} style={{ marginBottom: 16 }} /> : null}
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={8}>
          <Flex vertical gap={12}>
            {tiles.map(({ status, icon }) => {
              const count = posture?.[status] ?? 0;
              return (
                <div key={status} data-testid={`dashboard-posture-${status}`} data-count={posture?.[status]}>
                  <StatCard
                    variant="tile"
                    icon={icon}
                    color={count > 0 || status === 'protected' ? colors[status] : token.colorTextTertiary}
                    title={t(`posture.dashboard.${status}`)}
                    loading={loading}
                    value={
                      posture ? (
                        <>
                          <span style={count > 0 ? { color: colors[status] } : undefined}>{count}</span>
                          <span style={{ color: token.colorTextTertiary, fontWeight: 400 }}>
                            {` / ${String(total)}`}
                          </span>
                        </>
                      ) : (
                        t('common.none')
                      )
                    }
                    footer={t(`posture.dashboard.${status}Footer`)}
                  />
                </div>
              );
            })}
          </Flex>
        </Col>
        <Col xs={24} lg={16}>
          <PostureList posture={posture} loading={loading} total={total} />
        </Col>
      </Row>
    </Card>
  );
}

function PostureList({
  posture,
  loading,
  total,
}: {
  posture: PostureOverview | undefined;
  loading: boolean;
  total: number;
}) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  if (loading || !posture) return loading ? <Skeleton active paragraph={{ rows: 4 }} /> : null;

  if (total === 0) {
    return (
      <Flex align="center" justify="center" style={{ height: '100%', minHeight: 160 }}>
        <Empty
          image={Empty.PRESENTED_IMAGE_SIMPLE}
          description={
            <Flex vertical gap={4} style={{ maxWidth: 420 }}>
              <Typography.Text strong>{t('posture.dashboard.empty')}</Typography.Text>
              <Typography.Text type="secondary">{t('posture.dashboard.emptyHint')}</Typography.Text>
            </Flex>
          }
        />
      </Flex>
    );
  }

  if (posture.records.length === 0) {
    return (
      <Flex
        vertical
        align="center"
        justify="center"
        gap={8}
        style={{ height: '100%', minHeight: 160, textAlign: 'center' }}
        data-testid="dashboard-posture-all-protected"
      >
        <CheckCircleFilled style={{ fontSize: 40, color: token.colorSuccess }} />
        <Typography.Text strong>{t('posture.dashboard.allProtected')}</Typography.Text>
        <Typography.Text type="secondary">{t('posture.dashboard.allProtectedHint')}</Typography.Text>
      </Flex>
    );
  }

  const sorted = [...posture.records].sort(
    (a, b) => postureSeverity[a.posture.status] - postureSeverity[b.posture.status],
  );
  const shown = sorted.slice(0, MAX_ROWS);
  const more = sorted.length - shown.length;
  return (
    <Flex vertical gap={8} data-testid="dashboard-posture-records">
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {t('posture.dashboard.listTitle')}
      </Typography.Text>
      {shown.map((item) => (
        <Flex
          key={item.recordId}
          gap={12}
          align="center"
          style={{
            padding: '10px 12px',
            borderRadius: token.borderRadiusLG,
            border: `1px solid ${token.colorBorderSecondary}`,
            borderInlineStart: `3px solid ${item.posture.status === 'degraded' ? token.colorError : token.colorWarning}`,
          }}
          data-testid={`posture-record-${String(item.recordId)}`}
          data-status={item.posture.status}
        >
          <div style={{ minWidth: 0, flex: 1 }}>
            <Flex gap={8} align="baseline" wrap>
              <Link
                to={recordDetailsUrl(item.recordId)}
                style={{ fontWeight: 600, overflowWrap: 'anywhere' }}
              >
                {item.taskName || `#${String(item.taskId)}`}
              </Link>
              <Tooltip title={item.completedAt ? formatDateTime(item.completedAt) : undefined}>
                <Typography.Text
                  type="secondary"
                  className="bx-mono"
                  ellipsis
                  style={{ fontSize: 12, maxWidth: 320 }}
                >
                  {item.fileName}
                </Typography.Text>
              </Tooltip>
            </Flex>
            <Flex gap={4} wrap style={{ marginTop: 4 }}>
              {sortProblems(item.posture.problems).map((problem) => (
                <Tag
                  key={problem}
                  color={problem === 'unverified' ? 'gold' : 'red'}
                  style={{ marginInlineEnd: 0, fontSize: 12 }}
                >
                  {t(problemKey(problem))}
                </Tag>
              ))}
            </Flex>
          </div>
          <PostureTag status={item.posture.status} />
        </Flex>
      ))}
      {more > 0 ? (
        <Link to={`${paths.backupRecords}?status=success`} style={{ fontSize: 13 }}>
          {t('posture.dashboard.more', { count: more })}
        </Link>
      ) : null}
    </Flex>
  );
}
