import { useEffect, useMemo, useState } from 'react';
import {
  Alert,
  App,
  Badge,
  Button,
  Card,
  Col,
  Empty,
  Flex,
  Form,
  Input,
  InputNumber,
  Modal,
  Popconfirm,
  Row,
  Select,
  Table,
  Tooltip,
  Typography,
  theme,
} from 'antd';
import type { TableColumnsType } from 'antd';
import {
  ApiOutlined,
  CheckCircleOutlined,
  ClockCircleOutlined,
  DeleteOutlined,
  PauseCircleOutlined,
  PlayCircleOutlined,
  PlusOutlined,
  ReloadOutlined,
  SearchOutlined,
  StopOutlined,
} from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { API_KEY_MAX_TTL_HOURS, apiRoutes, roles } from '@backupx/contract';
import type { ApiKeySummary, Role } from '@backupx/contract';
import { apiCall } from '../api/client.ts';
import { queryKeys } from '../api/queryClient.ts';
import { CodeBlock } from '../components/CodeBlock.tsx';
import { CopyButton } from '../components/CopyButton.tsx';
import { PageHeader } from '../components/PageHeader.tsx';
import { RoleTag } from '../components/RoleTag.tsx';
import { StatCard } from '../components/StatCard.tsx';
import { apiKeyStatus } from '../lib/apiKeyStatus.ts';
import type { ApiKeyStatus } from '../lib/apiKeyStatus.ts';
import { formatApiKeyPrefix, formatDate, formatDateTime, formatRelativeTime } from '../lib/format.ts';
import { errorText } from '../lib/i18n-helpers.ts';
import { useFieldErrors } from '../lib/useFieldErrors.ts';
import { LoadError } from '../components/LoadError.tsx';

type StatusFilter = 'all' | ApiKeyStatus;
type RoleFilter = 'all' | Role;

const statusBadge: Record<ApiKeyStatus, 'success' | 'default' | 'error'> = {
  enabled: 'success',
  disabled: 'default',
  expired: 'error',
};

/** Admin page: API keys for scripts, with a one-time display of new keys. */
export function ApiKeysPage() {
  const { t, i18n } = useTranslation();
  const { token } = theme.useToken();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [search, setSearch] = useState('');
  const [roleFilter, setRoleFilter] = useState<RoleFilter>('all');
  const [statusFilter, setStatusFilter] = useState<StatusFilter>('all');
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ name: string; plainKey: string } | null>(null);

  const keys = useQuery({
    queryKey: queryKeys.apiKeys,
    queryFn: ({ signal }) => apiCall(apiRoutes.apiKeys.list, { signal }),
  });
  // Statuses are computed against the time the list was fetched, which keeps rendering pure.
  const now = keys.dataUpdatedAt;
  const list = useMemo(() => keys.data ?? [], [keys.data]);
  const statusOf = (key: ApiKeySummary) => apiKeyStatus(key, now);

  const stats = useMemo(() => {
    const counts = { total: list.length, enabled: 0, disabled: 0, expired: 0 };
    for (const key of list) counts[apiKeyStatus(key, now)] += 1;
    return counts;
  }, [list, now]);

  const filtered = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return list.filter((key) => {
      if (roleFilter !== 'all' && key.role !== roleFilter) return false;
      if (statusFilter !== 'all' && apiKeyStatus(key, now) !== statusFilter) return false;
      if (needle === '') return true;
      return [key.name, key.prefix, key.createdBy].some((value) => value.toLowerCase().includes(needle));
    });
  }, [list, search, roleFilter, statusFilter, now]);

  const invalidate = () => queryClient.invalidateQueries({ queryKey: queryKeys.apiKeys });

  const toggle = useMutation({
    mutationFn: (key: ApiKeySummary) =>
      apiCall(apiRoutes.apiKeys.toggle, { params: { id: key.id }, body: { disabled: !key.disabled } }),
    onSuccess: (result, key) => {
      void message.success(
        result.disabled
          ? t('apiKeys.disabledDone', { name: key.name })
          : t('apiKeys.enabledDone', { name: key.name }),
      );
    },
    onError: (error) => void message.error(errorText(t, error)),
    onSettled: () => invalidate(),
  });

  const revoke = useMutation({
    mutationFn: (key: ApiKeySummary) => apiCall(apiRoutes.apiKeys.revoke, { params: { id: key.id } }),
    onSuccess: (_result, key) => {
      void message.success(t('apiKeys.revoked', { name: key.name }));
    },
    onError: (error) => void message.error(errorText(t, error)),
    onSettled: () => invalidate(),
  });

  const statusLabel = (status: ApiKeyStatus) => {
    switch (status) {
      case 'enabled':
        return t('apiKeys.statusEnabled');
      case 'disabled':
        return t('apiKeys.statusDisabled');
      case 'expired':
        return t('apiKeys.statusExpired');
    }
  };

  const columns: TableColumnsType<ApiKeySummary> = [
    {
      title: t('apiKeys.columnName'),
      dataIndex: 'name',
      key: 'name',
      render: (name: string, key) => (
        <Flex vertical>
          <Typography.Text strong>{name}</Typography.Text>
          <Typography.Text type="secondary" style={{ fontSize: 12, whiteSpace: 'nowrap' }}>
            {formatDateTime(key.createdAt)}
          </Typography.Text>
        </Flex>
      ),
    },
    {
      title: t('apiKeys.columnRole'),
      dataIndex: 'role',
      key: 'role',
      render: (role: Role) => <RoleTag role={role} />,
    },
    {
      title: t('apiKeys.columnPrefix'),
      dataIndex: 'prefix',
      key: 'prefix',
      render: (prefix: string) => (
        <Typography.Text code className="bx-mono">
          {formatApiKeyPrefix(prefix)}
        </Typography.Text>
      ),
    },
    {
      title: t('apiKeys.columnCreatedBy'),
      dataIndex: 'createdBy',
      key: 'createdBy',
      render: (createdBy: string) => createdBy || t('common.none'),
    },
    {
      title: t('apiKeys.columnLastUsed'),
      dataIndex: 'lastUsedAt',
      key: 'lastUsedAt',
      render: (value: string | null) =>
        value ? (
          <Tooltip title={formatDateTime(value)}>
            <span style={{ whiteSpace: 'nowrap' }}>{formatRelativeTime(value, now, i18n.language)}</span>
          </Tooltip>
        ) : (
          <Typography.Text type="secondary">{t('apiKeys.neverUsed')}</Typography.Text>
        ),
    },
    {
      title: t('apiKeys.columnExpires'),
      dataIndex: 'expiresAt',
      key: 'expiresAt',
      render: (value: string | null, key) =>
        value ? (
          <Tooltip title={`${formatDateTime(value)} · ${formatRelativeTime(value, now, i18n.language)}`}>
            <Typography.Text
              type={statusOf(key) === 'expired' ? 'danger' : undefined}
              style={{ whiteSpace: 'nowrap' }}
            >
              {formatDate(value)}
            </Typography.Text>
          </Tooltip>
        ) : (
          <Typography.Text type="secondary">{t('apiKeys.neverExpires')}</Typography.Text>
        ),
    },
    {
      title: t('apiKeys.columnStatus'),
      key: 'status',
      render: (_value, key) => {
        const status = statusOf(key);
        return (
          <Badge status={statusBadge[status]} text={statusLabel(status)} style={{ whiteSpace: 'nowrap' }} />
        );
      },
    },
    {
      title: t('common.actions'),
      key: 'actions',
      render: (_value, key) => (
        <Flex gap={4}>
          <Button
            type="link"
            size="small"
            icon={key.disabled ? <PlayCircleOutlined /> : <PauseCircleOutlined />}
            loading={toggle.isPending && toggle.variables.id === key.id}
            onClick={() => toggle.mutate(key)}
            data-testid={`apikey-toggle-${String(key.id)}`}
          >
            {key.disabled ? t('apiKeys.enable') : t('apiKeys.disable')}
          </Button>
          <Popconfirm
            title={t('apiKeys.revokeConfirmTitle', { name: key.name })}
            description={t('apiKeys.revokeConfirmDescription')}
            okText={t('apiKeys.revoke')}
            okButtonProps={{ danger: true }}
            cancelText={t('common.cancel')}
            onConfirm={() => revoke.mutate(key)}
          >
            <Button
              type="link"
              size="small"
              danger
              icon={<DeleteOutlined />}
              data-testid={`apikey-revoke-${String(key.id)}`}
            >
              {t('apiKeys.revoke')}
            </Button>
          </Popconfirm>
        </Flex>
      ),
    },
  ];

  return (
    <>
      <PageHeader
        title={t('apiKeys.title')}
        description={t('apiKeys.description')}
        extra={
          <>
            <Tooltip title={t('common.refresh')}>
              <Button
                icon={<ReloadOutlined />}
                aria-label={t('common.refresh')}
                loading={keys.isFetching && !keys.isPending}
                onClick={() => void keys.refetch()}
              />
            </Tooltip>
            <Button
              type="primary"
              icon={<PlusOutlined />}
              onClick={() => setCreating(true)}
              data-testid="apikey-create"
            >
              {t('apiKeys.create')}
            </Button>
          </>
        }
      />

      <Row gutter={[16, 16]} style={{ marginBottom: 24 }}>
        <Col xs={24} sm={12} xl={6}>
          <StatCard
            title={t('apiKeys.summaryTotal')}
            value={stats.total}
            icon={<ApiOutlined />}
            color={token.colorPrimary}
            loading={keys.isPending}
          />
        </Col>
        <Col xs={24} sm={12} xl={6}>
          <StatCard
            title={t('apiKeys.summaryUsable')}
            value={stats.enabled}
            icon={<CheckCircleOutlined />}
            color={token.colorSuccess}
            loading={keys.isPending}
          />
        </Col>
        <Col xs={24} sm={12} xl={6}>
          <StatCard
            title={t('apiKeys.summaryDisabled')}
            value={stats.disabled}
            icon={<StopOutlined />}
            color={token.colorTextTertiary}
            loading={keys.isPending}
          />
        </Col>
        <Col xs={24} sm={12} xl={6}>
          <StatCard
            title={t('apiKeys.summaryExpired')}
            value={stats.expired}
            icon={<ClockCircleOutlined />}
            color={token.colorError}
            loading={keys.isPending}
          />
        </Col>
      </Row>

      <Card>
        <Flex gap={12} wrap style={{ marginBottom: 16 }}>
          <Input
            allowClear
            prefix={<SearchOutlined />}
            placeholder={t('apiKeys.searchPlaceholder')}
            value={search}
            onChange={(event) => setSearch(event.target.value)}
            style={{ width: 300, maxWidth: '100%' }}
            data-testid="apikeys-search"
          />
          <Select<RoleFilter>
            value={roleFilter}
            onChange={setRoleFilter}
            style={{ width: 160 }}
            aria-label={t('apiKeys.columnRole')}
            options={[
              { value: 'all', label: t('apiKeys.allRoles') },
              ...roles.map((role) => ({ value: role, label: t(`roles.${role}`) })),
            ]}
          />
          <Select<StatusFilter>
            value={statusFilter}
            onChange={setStatusFilter}
            style={{ width: 160 }}
            aria-label={t('apiKeys.columnStatus')}
            options={[
              { value: 'all', label: t('apiKeys.allStatuses') },
              { value: 'enabled', label: t('apiKeys.statusEnabled') },
              { value: 'disabled', label: t('apiKeys.statusDisabled') },
              { value: 'expired', label: t('apiKeys.statusExpired') },
            ]}
          />
        </Flex>
        {keys.isError ? (
          <LoadError error={keys.error} onRetry={() => void keys.refetch()} style={{ marginBottom: 16 }} />
        ) : null}
        <div data-testid="apikeys-table">
          <Table<ApiKeySummary>
            rowKey="id"
            columns={columns}
            dataSource={filtered}
            loading={keys.isPending}
            scroll={{ x: 'max-content' }}
            rowClassName={(key) => (statusOf(key) === 'enabled' ? '' : 'bx-table-row-muted')}
            pagination={{ pageSize: 20, hideOnSinglePage: true, showSizeChanger: false }}
            locale={{
              emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('apiKeys.empty')} />,
            }}
          />
        </div>
      </Card>

      <CreateApiKeyModal
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(result) => {
          setCreating(false);
          setCreated(result);
          void invalidate();
        }}
      />
      {/* Unmounted (not just hidden) on close, so the plaintext leaves the page at once. */}
      {created ? <PlaintextKeyModal created={created} onClose={() => setCreated(null)} /> : null}
    </>
  );
}

interface CreateValues {
  name: string;
  role: Role;
  ttlHours: number | null;
}

const ttlPresets = [
  { hours: 0, label: 'apiKeys.ttlNever' },
  { hours: 24 * 30, label: 'apiKeys.ttl30Days' },
  { hours: 24 * 90, label: 'apiKeys.ttl90Days' },
  { hours: 24 * 365, label: 'apiKeys.ttl1Year' },
] as const;

function CreateApiKeyModal({
  open,
  onClose,
  onCreated,
}: {
  open: boolean;
  onClose: () => void;
  onCreated: (result: { name: string; plainKey: string }) => void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<CreateValues>();
  const applyFieldErrors = useFieldErrors(form);
  const ttl = Form.useWatch('ttlHours', form);

  // The modal keeps its form mounted: start from the defaults on every open.
  useEffect(() => {
    if (open) form.resetFields();
  }, [open, form]);

  const create = useMutation({
    mutationFn: (values: CreateValues) =>
      apiCall(apiRoutes.apiKeys.create, {
        body: { name: values.name.trim(), role: values.role, ttlHours: values.ttlHours ?? 0 },
      }),
    onSuccess: (result) => {
      void message.success(t('apiKeys.created', { name: result.apiKey.name }));
      onCreated({ name: result.apiKey.name, plainKey: result.plainKey });
    },
    onError: (error) => {
      applyFieldErrors(error);
      void message.error(errorText(t, error));
    },
  });

  return (
    <Modal
      open={open}
      title={t('apiKeys.createTitle')}
      onCancel={onClose}
      forceRender
      afterOpenChange={(visible) => {
        if (!visible) create.reset();
      }}
      footer={[
        <Button key="cancel" onClick={onClose}>
          {t('common.cancel')}
        </Button>,
        <Button
          key="submit"
          type="primary"
          loading={create.isPending}
          onClick={() => form.submit()}
          data-testid="apikey-submit"
        >
          {t('common.create')}
        </Button>,
      ]}
    >
      <Form<CreateValues>
        form={form}
        layout="vertical"
        initialValues={{ name: '', role: 'viewer', ttlHours: 0 }}
        onFinish={(values) => create.mutate(values)}
        style={{ marginTop: 16 }}
      >
        <Form.Item
          name="name"
          label={t('apiKeys.fieldName')}
          rules={[
            { required: true, whitespace: true, message: t('apiKeys.fieldNameRequired') },
            { max: 128, message: t('apiKeys.fieldNameRequired') },
          ]}
        >
          <Input placeholder={t('apiKeys.fieldNamePlaceholder')} data-testid="apikey-name" />
        </Form.Item>
        <Form.Item name="role" label={t('apiKeys.fieldRole')} rules={[{ required: true }]}>
          <Select<Role>
            data-testid="apikey-role"
            options={roles.map((role) => ({ value: role, label: t(`roles.${role}`) }))}
            optionRender={(option) => {
              const role = roles.find((candidate) => candidate === option.value);
              return (
                <div style={{ padding: '2px 0' }}>
                  <div>{option.label}</div>
                  {role ? (
                    <Typography.Text type="secondary" style={{ fontSize: 12, whiteSpace: 'normal' }}>
                      {t(`roleDescriptions.${role}`)}
                    </Typography.Text>
                  ) : null}
                </div>
              );
            }}
          />
        </Form.Item>
        <Form.Item label={t('apiKeys.fieldTtl')} extra={t('apiKeys.fieldTtlHelp')} required>
          <Flex gap={8} wrap align="center">
            <Form.Item
              name="ttlHours"
              noStyle
              rules={[
                {
                  required: true,
                  type: 'integer',
                  min: 0,
                  max: API_KEY_MAX_TTL_HOURS,
                  message: t('apiKeys.fieldTtlRequired'),
                },
              ]}
            >
              <InputNumber<number>
                min={0}
                max={API_KEY_MAX_TTL_HOURS}
                precision={0}
                step={24}
                style={{ width: 140 }}
                data-testid="apikey-ttl"
              />
            </Form.Item>
            {ttlPresets.map((preset) => (
              <Button
                key={preset.hours}
                size="small"
                type={ttl === preset.hours ? 'primary' : 'default'}
                ghost={ttl === preset.hours}
                onClick={() => form.setFieldValue('ttlHours', preset.hours)}
              >
                {t(preset.label)}
              </Button>
            ))}
          </Flex>
        </Form.Item>
      </Form>
    </Modal>
  );
}

function PlaintextKeyModal({
  created,
  onClose,
}: {
  created: { name: string; plainKey: string };
  onClose: () => void;
}) {
  const { t } = useTranslation();
  return (
    <Modal
      open
      title={t('apiKeys.plaintextTitle')}
      closable={false}
      keyboard={false}
      mask={{ closable: false }}
      footer={[
        <CopyButton
          key="copy"
          text={created.plainKey}
          label={t('apiKeys.copyKey')}
          data-testid="apikey-plaintext-copy"
        />,
        <Button key="close" type="primary" onClick={onClose} data-testid="apikey-plaintext-close">
          {t('apiKeys.plaintextClose')}
        </Button>,
      ]}
    >
      <Alert type="warning" showIcon title={t('apiKeys.plaintextWarning')} style={{ marginBottom: 16 }} />
      <Typography.Text type="secondary">{created.name}</Typography.Text>
      <CodeBlock
        value={created.plainKey}
        testId="apikey-plaintext"
        fontSize={14}
        style={{ marginTop: 8, marginBottom: 12 }}
      />
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {t('apiKeys.plaintextUsage')}
      </Typography.Text>
    </Modal>
  );
}
