import { useMemo } from 'react';
import type { FocusEvent } from 'react';
import {
  Alert,
  App,
  Button,
  Card,
  Col,
  Descriptions,
  Divider,
  Flex,
  Form,
  Input,
  InputNumber,
  Progress,
  Row,
  Select,
  Skeleton,
  Statistic,
  Tag,
  Typography,
  theme,
} from 'antd';
import { HddOutlined, InfoCircleOutlined, SaveOutlined, SettingOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes, MASKED_SECRET } from '@backupx/contract';
import type { Settings } from '@backupx/contract';
import { apiCall } from '../api/client.ts';
import { queryKeys } from '../api/queryClient.ts';
import { useCurrentUser } from '../auth/AuthProvider.tsx';
import { isAdmin } from '../auth/roles.ts';
import { PageHeader } from '../components/PageHeader.tsx';
import { languages } from '../i18n/index.ts';
import { formatBytes, formatDateTime, formatDuration, percentOf } from '../lib/format.ts';
import { errorText } from '../lib/i18n-helpers.ts';
import { isSandboxUrl } from '../lib/sandboxUrl.ts';
import { usageColor } from '../lib/usageColor.ts';
import { useDurationUnits } from '../lib/useFormatters.ts';
import { useFieldErrors } from '../lib/useFieldErrors.ts';
import { LoadError } from '../components/LoadError.tsx';

/** Runtime information, disk of the data directory and the editable settings. */
export function SettingsPage() {
  const { t } = useTranslation();
  const user = useCurrentUser();
  const admin = isAdmin(user.role);
  const settings = useQuery({
    queryKey: queryKeys.settings,
    queryFn: ({ signal }) => apiCall(apiRoutes.settings.get, { signal }),
  });

  return (
    <>
      <PageHeader title={t('settings.title')} description={t('settings.description')} />
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={15}>
          <RuntimeCards />
        </Col>
        <Col xs={24} xl={9}>
          <DiskCard />
        </Col>
        <Col xs={24}>
          <Card
            title={
              <Flex align="center" gap={8}>
                <SettingOutlined />
                {t('settings.formTitle')}
              </Flex>
            }
          >
            {!admin ? (
              <Alert type="info" showIcon title={t('settings.readOnly')} style={{ marginBottom: 24 }} />
            ) : null}
            {settings.isError ? (
              <LoadError error={settings.error} onRetry={() => void settings.refetch()} />
            ) : settings.data ? (
              <SettingsForm settings={settings.data} editable={admin} />
            ) : (
              <Skeleton active paragraph={{ rows: 6 }} />
            )}
          </Card>
        </Col>
      </Row>
    </>
  );
}

function useSystemInfo() {
  return useQuery({
    queryKey: queryKeys.systemInfo,
    queryFn: ({ signal }) => apiCall(apiRoutes.system.info, { signal }),
    refetchInterval: 60_000,
  });
}

function RuntimeCards() {
  const { t } = useTranslation();
  const units = useDurationUnits();
  const info = useSystemInfo();
  const data = info.data;
  return (
    <Card
      title={
        <Flex align="center" gap={8}>
          <InfoCircleOutlined />
          {t('settings.runtimeTitle')}
        </Flex>
      }
      style={{ height: '100%' }}
    >
      {info.isError ? (
        <LoadError error={info.error} />
      ) : !data ? (
        <Skeleton active paragraph={{ rows: 4 }} />
      ) : (
        <Descriptions
          column={{ xs: 1, sm: 2 }}
          size="small"
          data-testid="runtime-info"
          items={[
            {
              key: 'version',
              label: t('settings.version'),
              children: <Typography.Text strong>v{data.version}</Typography.Text>,
            },
            {
              key: 'mode',
              label: t('settings.mode'),
              children:
                data.mode === 'release' ? (
                  <Tag color="success">{t('settings.modeRelease')}</Tag>
                ) : (
                  <Tag color="warning">{t('settings.modeDebug')}</Tag>
                ),
            },
            {
              key: 'uptime',
              label: t('settings.uptime'),
              children: formatDuration(data.uptimeSeconds, units),
            },
            { key: 'startedAt', label: t('settings.startedAt'), children: formatDateTime(data.startedAt) },
            {
              key: 'database',
              label: t('settings.database'),
              children:
                data.databaseDialect === 'sqlite' ? t('common.databaseSqlite') : t('common.databasePostgres'),
            },
            { key: 'node', label: t('settings.nodeVersion'), children: data.nodeVersion },
            {
              key: 'path',
              label: t('settings.databasePath'),
              span: 'filled',
              children: (
                <Typography.Text
                  className="bx-mono"
                  copyable
                  style={{ fontSize: 13, wordBreak: 'break-all' }}
                >
                  {data.databasePath}
                </Typography.Text>
              ),
            },
          ]}
        />
      )}
    </Card>
  );
}

function DiskCard() {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const info = useSystemInfo();
  const data = info.data;
  const percent = data ? percentOf(data.diskUsed, data.diskTotal) : 0;
  const color = usageColor(percent, token);
  return (
    <Card
      title={
        <Flex align="center" gap={8}>
          <HddOutlined />
          {t('settings.diskTitle')}
        </Flex>
      }
      style={{ height: '100%' }}
    >
      {info.isError ? (
        <LoadError error={info.error} />
      ) : !data ? (
        <Skeleton active paragraph={{ rows: 3 }} />
      ) : data.diskTotal <= 0 ? (
        <Typography.Text type="secondary">{t('settings.diskUnknown')}</Typography.Text>
      ) : (
        <Flex vertical gap={16} data-testid="disk-status">
          <Flex justify="space-between" align="baseline">
            <Typography.Text strong style={{ fontSize: 28, color }}>
              {percent}%
            </Typography.Text>
            <Typography.Text type="secondary">
              {t('settings.diskUsage', {
                used: formatBytes(data.diskUsed),
                total: formatBytes(data.diskTotal),
              })}
            </Typography.Text>
          </Flex>
          <Progress percent={percent} showInfo={false} strokeColor={color} style={{ margin: 0 }} />
          <Row gutter={8}>
            <Col span={8}>
              <Statistic
                title={t('settings.diskTotal')}
                value={formatBytes(data.diskTotal)}
                styles={{ content: { fontSize: 18 } }}
              />
            </Col>
            <Col span={8}>
              <Statistic
                title={t('settings.diskUsed')}
                value={formatBytes(data.diskUsed)}
                styles={{ content: { fontSize: 18 } }}
              />
            </Col>
            <Col span={8}>
              <Statistic
                title={t('settings.diskFree')}
                value={formatBytes(data.diskFree)}
                styles={{ content: { fontSize: 18 } }}
              />
            </Col>
          </Row>
        </Flex>
      )}
    </Card>
  );
}

interface SettingsFormValues {
  site_name: string;
  language: Settings['language'];
  timezone?: string;
  audit_webhook_url: string;
  audit_webhook_secret: string;
  audit_retention_days: number | null;
  verify_sandbox_mysql: string;
  verify_sandbox_postgresql: string;
}

const toFormValues = (settings: Settings): SettingsFormValues => ({
  site_name: settings.site_name,
  language: settings.language,
  timezone: settings.timezone,
  audit_webhook_url: settings.audit_webhook_url,
  audit_webhook_secret: settings.audit_webhook_secret,
  audit_retention_days: Number(settings.audit_retention_days) || 0,
  verify_sandbox_mysql: settings.verify_sandbox_mysql,
  verify_sandbox_postgresql: settings.verify_sandbox_postgresql,
});

/** Selects the masked value on focus so typing replaces the stored secret. */
const selectMasked = (event: FocusEvent<HTMLInputElement>) => {
  if (event.target.value === MASKED_SECRET) event.target.select();
};

/** Every IANA time zone the browser knows, plus the stored value if it is unknown here. */
function useTimeZoneOptions(current: string) {
  return useMemo(() => {
    let zones: string[] = [];
    try {
      zones = Intl.supportedValuesOf('timeZone');
    } catch {
      zones = [];
    }
    const all = new Set(['UTC', ...zones]);
    if (current.trim() !== '') all.add(current);
    return [...all].map((zone) => ({ value: zone, label: zone }));
  }, [current]);
}

function SettingsForm({ settings, editable }: { settings: Settings; editable: boolean }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<SettingsFormValues>();
  const applyFieldErrors = useFieldErrors(form);
  const timeZones = useTimeZoneOptions(settings.timezone);

  const save = useMutation({
    mutationFn: (values: SettingsFormValues) =>
      apiCall(apiRoutes.settings.update, {
        body: {
          site_name: values.site_name.trim(),
          language: values.language,
          timezone: (values.timezone ?? '').trim(),
          audit_webhook_url: values.audit_webhook_url.trim(),
          audit_webhook_secret: values.audit_webhook_secret,
          audit_retention_days: String(values.audit_retention_days ?? 0),
          verify_sandbox_mysql: values.verify_sandbox_mysql.trim(),
          verify_sandbox_postgresql: values.verify_sandbox_postgresql.trim(),
        },
      }),
    onSuccess: (updated) => {
      queryClient.setQueryData(queryKeys.settings, updated);
      form.setFieldsValue(toFormValues(updated));
      void message.success(t('settings.saved'));
    },
    onError: (error) => {
      applyFieldErrors(error);
      void message.error(errorText(t, error));
    },
  });

  return (
    <Form<SettingsFormValues>
      form={form}
      layout="vertical"
      initialValues={toFormValues(settings)}
      disabled={!editable}
      onFinish={(values) => save.mutate(values)}
      style={{ maxWidth: 960 }}
    >
      <Row gutter={24}>
        <Col xs={24} md={12}>
          <Form.Item
            name="site_name"
            label={t('settings.siteName')}
            extra={t('settings.siteNameHelp')}
            rules={[{ max: 128 }]}
          >
            <Input placeholder={t('settings.siteNamePlaceholder')} data-testid="settings-site-name" />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item name="language" label={t('settings.language')} extra={t('settings.languageHelp')}>
            <Select
              data-testid="settings-language"
              options={languages.map((language) => ({ value: language, label: t(`language.${language}`) }))}
            />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item
            name="timezone"
            label={t('settings.timezone')}
            extra={t('settings.timezoneHelp')}
            rules={[{ max: 64 }]}
          >
            <Select
              showSearch
              allowClear
              placeholder={t('settings.timezonePlaceholder')}
              options={timeZones}
              data-testid="settings-timezone"
            />
          </Form.Item>
        </Col>
      </Row>
      <Divider titlePlacement="start" plain>
        {t('settings.auditSection')}
      </Divider>
      <Row gutter={24}>
        <Col xs={24} md={12}>
          <Form.Item
            name="audit_webhook_url"
            label={t('settings.auditWebhookUrl')}
            extra={t('settings.auditWebhookUrlHelp')}
            rules={[
              {
                pattern: /^$|^https?:\/\/\S+$/i,
                message: t('settings.auditWebhookUrlInvalid'),
              },
              { max: 2048 },
            ]}
          >
            <Input
              placeholder={t('settings.auditWebhookUrlPlaceholder')}
              data-testid="settings-webhook-url"
            />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item
            name="audit_webhook_secret"
            label={t('settings.auditWebhookSecret')}
            extra={t('settings.auditWebhookSecretHelp')}
            rules={[{ max: 256 }]}
          >
            <Input.Password
              autoComplete="new-password"
              placeholder={t('settings.auditWebhookSecretPlaceholder')}
              onFocus={(event) => {
                // The masked value is a placeholder for the stored secret: select it so typing replaces it.
                if (event.target.value === MASKED_SECRET) event.target.select();
              }}
              data-testid="settings-webhook-secret"
            />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item
            name="audit_retention_days"
            label={t('settings.auditRetentionDays')}
            extra={t('settings.auditRetentionDaysHelp')}
            rules={[{ required: true, type: 'integer', min: 0, max: 99_999 }]}
          >
            <InputNumber<number>
              min={0}
              max={99_999}
              precision={0}
              style={{ width: 200 }}
              data-testid="settings-retention"
            />
          </Form.Item>
        </Col>
      </Row>
      <Divider titlePlacement="start" plain>
        {t('settings.drillSection')}
      </Divider>
      <Typography.Paragraph type="secondary" style={{ marginTop: -8 }}>
        {t('settings.drillSectionHelp')}
      </Typography.Paragraph>
      <Row gutter={24}>
        <Col xs={24} md={12}>
          <Form.Item
            name="verify_sandbox_mysql"
            label={t('settings.sandboxMysql')}
            extra={t('settings.sandboxMysqlHelp')}
            rules={[
              { max: 1024 },
              {
                validator: (_rule, value: string | undefined) =>
                  isSandboxUrl(value ?? '', ['mysql', 'mariadb'])
                    ? Promise.resolve()
                    : Promise.reject(
                        new Error(
                          t('settings.sandboxInvalid', { example: 'mysql://user:password@host:3306' }),
                        ),
                      ),
              },
            ]}
          >
            <Input.Password
              autoComplete="new-password"
              placeholder={t('settings.sandboxMysqlPlaceholder')}
              onFocus={selectMasked}
              data-testid="settings-sandbox-mysql"
            />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item
            name="verify_sandbox_postgresql"
            label={t('settings.sandboxPostgresql')}
            extra={t('settings.sandboxPostgresqlHelp')}
            rules={[
              { max: 1024 },
              {
                validator: (_rule, value: string | undefined) =>
                  isSandboxUrl(value ?? '', ['postgresql', 'postgres'])
                    ? Promise.resolve()
                    : Promise.reject(
                        new Error(
                          t('settings.sandboxInvalid', { example: 'postgresql://user:password@host:5432' }),
                        ),
                      ),
              },
            ]}
          >
            <Input.Password
              autoComplete="new-password"
              placeholder={t('settings.sandboxPostgresqlPlaceholder')}
              onFocus={selectMasked}
              data-testid="settings-sandbox-postgresql"
            />
          </Form.Item>
        </Col>
      </Row>
      {editable ? (
        <Flex justify="flex-end" gap={8}>
          <Button onClick={() => form.resetFields()}>{t('common.reset')}</Button>
          <Button
            type="primary"
            htmlType="submit"
            icon={<SaveOutlined />}
            loading={save.isPending}
            data-testid="settings-submit"
          >
            {t('common.save')}
          </Button>
        </Flex>
      ) : null}
    </Form>
  );
}
