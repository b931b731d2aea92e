import type { ReactNode } from 'react';
import { Button, Card, Col, Flex, Progress, Row, Tag, Typography, theme } from 'antd';
import {
  ApiOutlined,
  AuditOutlined,
  CheckCircleOutlined,
  ClockCircleOutlined,
  CloudServerOutlined,
  DatabaseOutlined,
  HddOutlined,
  RocketOutlined,
  SafetyOutlined,
  SettingOutlined,
  TeamOutlined,
} from '@ant-design/icons';
import { useNavigate } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import { apiCall } from '../api/client.ts';
import { queryKeys } from '../api/queryClient.ts';
import { useCurrentUser } from '../auth/AuthProvider.tsx';
import { isAdmin } from '../auth/roles.ts';
import { PageHeader } from '../components/PageHeader.tsx';
import { StatCard } from '../components/StatCard.tsx';
import { useDurationUnits } from '../lib/useFormatters.ts';
import { formatBytes, formatDateTime, formatDuration, percentOf } from '../lib/format.ts';
import { usageColor } from '../lib/usageColor.ts';
import { paths } from '../paths.ts';
import { LoadError } from '../components/LoadError.tsx';

/** A line of the getting-started list: a link to a page, or a state of the account. */
type GettingStartedStep = { key: string; icon: ReactNode; title: string; description: string } & (
  { to: string } | { done: boolean }
);

/** Welcome, system overview and next steps. */
export function DashboardPage() {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const navigate = useNavigate();
  const user = useCurrentUser();
  const units = useDurationUnits();
  const info = useQuery({
    queryKey: queryKeys.systemInfo,
    queryFn: ({ signal }) => apiCall(apiRoutes.system.info, { signal }),
    refetchInterval: 60_000,
  });
  const data = info.data;
  const diskPercent = data ? percentOf(data.diskUsed, data.diskTotal) : 0;

  const steps: GettingStartedStep[] = [
    {
      key: 'secure',
      icon: <SafetyOutlined />,
      title: t('dashboard.stepSecure'),
      description: t('dashboard.stepSecureDescription'),
      done: user.twoFactorEnabled,
    },
    ...(isAdmin(user.role)
      ? [
          {
            key: 'users',
            icon: <TeamOutlined />,
            title: t('dashboard.stepUsers'),
            description: t('dashboard.stepUsersDescription'),
            to: paths.users,
          },
          {
            key: 'api-keys',
            icon: <ApiOutlined />,
            title: t('dashboard.stepApiKeys'),
            description: t('dashboard.stepApiKeysDescription'),
            to: paths.apiKeys,
          },
        ]
      : []),
    {
      key: 'audit',
      icon: <AuditOutlined />,
      title: t('dashboard.stepAudit'),
      description: t('dashboard.stepAuditDescription'),
      to: paths.audit,
    },
    {
      key: 'settings',
      icon: <SettingOutlined />,
      title: t('dashboard.stepSettings'),
      description: t('dashboard.stepSettingsDescription'),
      to: paths.settings,
    },
  ];

  return (
    <>
      <PageHeader title={t('dashboard.title')} description={t('dashboard.description')} />
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
              {t('dashboard.welcomeSubtitle', { role: t(`roles.${user.role}`) })}
            </Typography.Text>
          </div>
          <Tag
            color={user.twoFactorEnabled ? 'success' : 'warning'}
            icon={<SafetyOutlined />}
            style={{ marginInlineEnd: 0 }}
          >
            {user.twoFactorEnabled ? t('dashboard.twoFactorOn') : t('dashboard.twoFactorOff')}
          </Tag>
        </Flex>
      </Card>

      {info.isError ? (
        <LoadError error={info.error} onRetry={() => void info.refetch()} style={{ marginBottom: 24 }} />
      ) : null}

      <Row gutter={[16, 16]} style={{ marginBottom: 24 }}>
        <Col xs={24} sm={12} xl={6}>
          <StatCard
            title={t('dashboard.version')}
            value={data ? `v${data.version}` : t('common.none')}
            icon={<RocketOutlined />}
            color={token.colorPrimary}
            footer={
              data
                ? `${t('dashboard.mode')}: ${data.mode === 'release' ? t('settings.modeRelease') : t('settings.modeDebug')}`
                : undefined
            }
            loading={info.isPending}
          />
        </Col>
        <Col xs={24} sm={12} xl={6}>
          <StatCard
            title={t('dashboard.uptime')}
            value={data ? formatDuration(data.uptimeSeconds, units, 2) : t('common.none')}
            icon={<ClockCircleOutlined />}
            color={token.colorSuccess}
            footer={data ? t('dashboard.startedAt', { time: formatDateTime(data.startedAt) }) : undefined}
            loading={info.isPending}
          />
        </Col>
        <Col xs={24} sm={12} xl={6}>
          <StatCard
            title={t('dashboard.database')}
            value={
              data
                ? data.databaseDialect === 'sqlite'
                  ? t('common.databaseSqlite')
                  : t('common.databasePostgres')
                : t('common.none')
            }
            icon={<DatabaseOutlined />}
            color="#722ed1"
            footer={data?.databasePath}
            loading={info.isPending}
          />
        </Col>
        <Col xs={24} sm={12} xl={6}>
          <StatCard
            title={t('dashboard.disk')}
            value={data ? `${String(diskPercent)}%` : t('common.none')}
            icon={<HddOutlined />}
            color={usageColor(diskPercent, token)}
            footer={
              data ? (
                <>
                  {t('dashboard.diskUsage', {
                    used: formatBytes(data.diskUsed),
                    total: formatBytes(data.diskTotal),
                  })}
                  <Progress
                    percent={diskPercent}
                    showInfo={false}
                    size="small"
                    strokeColor={usageColor(diskPercent, token)}
                    style={{ margin: 0, width: 160, display: 'block' }}
                  />
                </>
              ) : undefined
            }
            loading={info.isPending}
          />
        </Col>
      </Row>

      <Row gutter={[16, 16]}>
        <Col xs={24} xl={14}>
          <Card title={t('dashboard.gettingStarted')}>
            <Typography.Paragraph type="secondary" style={{ marginBottom: 4 }}>
              {t('dashboard.gettingStartedDescription')}
            </Typography.Paragraph>
            <Flex vertical>
              {steps.map((step, index) => (
                <Flex
                  key={step.key}
                  align="center"
                  gap={16}
                  style={{
                    padding: '14px 0',
                    borderTop: index === 0 ? undefined : `1px solid ${token.colorSplit}`,
                  }}
                >
                  <Flex
                    align="center"
                    justify="center"
                    style={{
                      width: 36,
                      height: 36,
                      flex: '0 0 36px',
                      borderRadius: token.borderRadius,
                      background: token.colorFillSecondary,
                      color: 'done' in step && step.done ? token.colorSuccess : token.colorPrimary,
                      fontSize: 18,
                    }}
                  >
                    {step.icon}
                  </Flex>
                  <div style={{ flex: 1, minWidth: 0 }}>
                    <Typography.Text strong style={{ display: 'block' }}>
                      {step.title}
                    </Typography.Text>
                    <Typography.Text type="secondary">{step.description}</Typography.Text>
                  </div>
                  {'to' in step ? (
                    <Button type="link" onClick={() => void navigate(step.to)}>
                      {t('dashboard.open')}
                    </Button>
                  ) : step.done ? (
                    <Tag color="success" icon={<CheckCircleOutlined />} style={{ marginInlineEnd: 0 }}>
                      {t('dashboard.done')}
                    </Tag>
                  ) : null}
                </Flex>
              ))}
            </Flex>
          </Card>
        </Col>
        <Col xs={24} xl={10}>
          <Card style={{ height: '100%' }}>
            <Flex vertical gap={16}>
              <Flex
                align="center"
                justify="center"
                style={{
                  width: 56,
                  height: 56,
                  borderRadius: 14,
                  background: `color-mix(in srgb, ${token.colorPrimary} 14%, transparent)`,
                  color: token.colorPrimary,
                  fontSize: 28,
                }}
              >
                <CloudServerOutlined />
              </Flex>
              <Typography.Title level={5} style={{ margin: 0 }}>
                {t('dashboard.comingSoonTitle')}
              </Typography.Title>
              <Typography.Paragraph type="secondary" style={{ margin: 0 }}>
                {t('dashboard.comingSoonDescription')}
              </Typography.Paragraph>
            </Flex>
          </Card>
        </Col>
      </Row>
    </>
  );
}
