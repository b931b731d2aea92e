import { useEffect, useMemo, useState } from 'react';
import {
  App,
  Avatar,
  Badge,
  Button,
  Card,
  Col,
  Drawer,
  Empty,
  Flex,
  Form,
  Input,
  Popconfirm,
  Row,
  Select,
  Switch,
  Table,
  Tag,
  Tooltip,
  Typography,
  theme,
} from 'antd';
import type { TableColumnsType } from 'antd';
import {
  CheckCircleOutlined,
  CrownOutlined,
  DeleteOutlined,
  EditOutlined,
  PlusOutlined,
  ReloadOutlined,
  SafetyOutlined,
  SearchOutlined,
  TeamOutlined,
} from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes, roles } from '@backupx/contract';
import type { Role, UserSummary } from '@backupx/contract';
import { apiCall } from '../api/client.ts';
import { queryKeys } from '../api/queryClient.ts';
import { useAuth, useCurrentUser } from '../auth/AuthProvider.tsx';
import { PageHeader } from '../components/PageHeader.tsx';
import { RoleTag } from '../components/RoleTag.tsx';
import { StatCard } from '../components/StatCard.tsx';
import { formatDate, formatDateTime, percentOf } from '../lib/format.ts';
import { errorText } from '../lib/i18n-helpers.ts';
import { useFieldErrors } from '../lib/useFieldErrors.ts';
import { LoadError } from '../components/LoadError.tsx';

type StatusFilter = 'all' | 'enabled' | 'disabled';
type RoleFilter = 'all' | Role;

const USERNAME_PATTERN = /^[A-Za-z0-9._@-]+$/;

/** Admin page: accounts, their roles and second factors. */
export function UsersPage() {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const me = useCurrentUser();
  const { refresh } = useAuth();
  const [search, setSearch] = useState('');
  const [roleFilter, setRoleFilter] = useState<RoleFilter>('all');
  const [statusFilter, setStatusFilter] = useState<StatusFilter>('all');
  const [editing, setEditing] = useState<UserSummary | 'new' | null>(null);

  const users = useQuery({
    queryKey: queryKeys.users,
    queryFn: ({ signal }) => apiCall(apiRoutes.users.list, { signal }),
  });
  const list = useMemo(() => users.data ?? [], [users.data]);

  const stats = useMemo(() => {
    const enabled = list.filter((user) => !user.disabled).length;
    const admins = list.filter((user) => user.role === 'admin').length;
    const enabledAdmins = list.filter((user) => user.role === 'admin' && !user.disabled).length;
    const twoFactor = list.filter((user) => user.twoFactorEnabled).length;
    return { total: list.length, enabled, admins, enabledAdmins, twoFactor };
  }, [list]);

  const filtered = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return list.filter((user) => {
      if (roleFilter !== 'all' && user.role !== roleFilter) return false;
      if (statusFilter === 'enabled' && user.disabled) return false;
      if (statusFilter === 'disabled' && !user.disabled) return false;
      if (needle === '') return true;
      return [user.username, user.displayName, user.email, user.phone].some((value) =>
        value.toLowerCase().includes(needle),
      );
    });
  }, [list, search, roleFilter, statusFilter]);

  const invalidate = () => queryClient.invalidateQueries({ queryKey: queryKeys.users });

  const remove = useMutation({
    mutationFn: (user: UserSummary) => apiCall(apiRoutes.users.remove, { params: { id: user.id } }),
    onSuccess: (_result, user) => {
      void message.success(t('users.deleted', { name: user.displayName || user.username }));
    },
    onError: (error) => void message.error(errorText(t, error)),
    onSettled: () => invalidate(),
  });

  const resetTwoFactor = useMutation({
    mutationFn: (user: UserSummary) => apiCall(apiRoutes.users.resetTwoFactor, { params: { id: user.id } }),
    onSuccess: (_result, user) => {
      void message.success(t('users.resetTwoFactorDone', { name: user.displayName || user.username }));
      if (user.id === me.id) refresh();
    },
    onError: (error) => void message.error(errorText(t, error)),
    onSettled: () => invalidate(),
  });

  /** Why a user cannot be deleted, or undefined when it can. */
  const deleteBlocker = (user: UserSummary): string | undefined => {
    if (user.id === me.id) return t('users.deleteSelf');
    if (user.role === 'admin' && !user.disabled && stats.enabledAdmins <= 1)
      return t('users.deleteLastAdmin');
    return undefined;
  };

  const columns: TableColumnsType<UserSummary> = [
    {
      title: t('users.columnUser'),
      key: 'user',
      render: (_value, user) => (
        <Flex align="center" gap={12}>
          <Avatar
            style={{
              background: user.disabled ? token.colorTextQuaternary : token.colorPrimary,
              flex: '0 0 auto',
            }}
          >
            {(Array.from(user.displayName.trim())[0] ?? user.username[0] ?? '?').toUpperCase()}
          </Avatar>
          <div style={{ minWidth: 0 }}>
            <Flex align="center" gap={6}>
              <Typography.Text strong>{user.displayName || user.username}</Typography.Text>
              {user.id === me.id ? (
                <Tag color="processing" style={{ marginInlineEnd: 0 }}>
                  {t('common.you')}
                </Tag>
              ) : null}
            </Flex>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              @{user.username}
            </Typography.Text>
          </div>
        </Flex>
      ),
    },
    {
      title: t('users.columnRole'),
      dataIndex: 'role',
      key: 'role',
      render: (role: Role) => <RoleTag role={role} />,
    },
    {
      title: t('users.columnContact'),
      key: 'contact',
      render: (_value, user) =>
        user.email || user.phone ? (
          <Flex vertical>
            {user.email ? <Typography.Text>{user.email}</Typography.Text> : null}
            {user.phone ? (
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {user.phone}
              </Typography.Text>
            ) : null}
          </Flex>
        ) : (
          <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
        ),
    },
    {
      title: t('users.columnStatus'),
      key: 'status',
      render: (_value, user) =>
        user.disabled ? (
          <Badge status="default" text={t('common.disabled')} />
        ) : (
          <Badge status="success" text={t('common.enabled')} />
        ),
    },
    {
      title: t('users.columnTwoFactor'),
      key: 'twoFactor',
      render: (_value, user) =>
        user.twoFactorEnabled ? (
          <Tag color="success" icon={<SafetyOutlined />}>
            {t('users.twoFactorOn')}
          </Tag>
        ) : (
          <Tag>{t('users.twoFactorOff')}</Tag>
        ),
    },
    {
      title: t('users.columnCreatedAt'),
      dataIndex: 'createdAt',
      key: 'createdAt',
      render: (value: string) => (
        <Tooltip title={formatDateTime(value)}>
          <Typography.Text type="secondary" style={{ whiteSpace: 'nowrap' }}>
            {formatDate(value)}
          </Typography.Text>
        </Tooltip>
      ),
    },
    {
      title: t('common.actions'),
      key: 'actions',
      render: (_value, user) => {
        const blocker = deleteBlocker(user);
        const name = user.displayName || user.username;
        return (
          <Flex gap={4}>
            <Button
              type="link"
              size="small"
              icon={<EditOutlined />}
              onClick={() => setEditing(user)}
              data-testid={`user-edit-${user.username}`}
            >
              {t('common.edit')}
            </Button>
            <Tooltip title={user.twoFactorEnabled ? undefined : t('users.resetTwoFactorNotEnabled')}>
              <Popconfirm
                title={t('users.resetTwoFactorConfirmTitle', { name })}
                description={t('users.resetTwoFactorConfirmDescription')}
                okText={t('common.confirm')}
                cancelText={t('common.cancel')}
                disabled={!user.twoFactorEnabled}
                onConfirm={() => resetTwoFactor.mutate(user)}
              >
                <Button
                  type="link"
                  size="small"
                  icon={<SafetyOutlined />}
                  disabled={!user.twoFactorEnabled}
                  data-testid={`user-reset-2fa-${user.username}`}
                >
                  {t('users.resetTwoFactor')}
                </Button>
              </Popconfirm>
            </Tooltip>
            <Tooltip title={blocker}>
              <Popconfirm
                title={t('users.deleteConfirmTitle', { name })}
                description={t('users.deleteConfirmDescription')}
                okText={t('common.delete')}
                okButtonProps={{ danger: true }}
                cancelText={t('common.cancel')}
                disabled={blocker !== undefined}
                onConfirm={() => remove.mutate(user)}
              >
                <Button
                  type="link"
                  size="small"
                  danger
                  icon={<DeleteOutlined />}
                  disabled={blocker !== undefined}
                  data-testid={`user-delete-${user.username}`}
                >
                  {t('common.delete')}
                </Button>
              </Popconfirm>
            </Tooltip>
          </Flex>
        );
      },
    },
  ];

  return (
    <>
      <PageHeader
        title={t('users.title')}
        description={t('users.description')}
        extra={
          <>
            <Tooltip title={t('common.refresh')}>
              <Button
                icon={<ReloadOutlined />}
                aria-label={t('common.refresh')}
                loading={users.isFetching && !users.isPending}
                onClick={() => void users.refetch()}
              />
            </Tooltip>
            <Button
              type="primary"
              icon={<PlusOutlined />}
              onClick={() => setEditing('new')}
              data-testid="user-create"
            >
              {t('users.create')}
            </Button>
          </>
        }
      />

      <Row gutter={[16, 16]} style={{ marginBottom: 24 }}>
        <Col xs={24} sm={12} xl={6}>
          <StatCard
            title={t('users.summaryTotal')}
            value={stats.total}
            icon={<TeamOutlined />}
            color={token.colorPrimary}
            loading={users.isPending}
          />
        </Col>
        <Col xs={24} sm={12} xl={6}>
          <StatCard
            title={t('users.summaryEnabled')}
            value={stats.enabled}
            icon={<CheckCircleOutlined />}
            color={token.colorSuccess}
            loading={users.isPending}
          />
        </Col>
        <Col xs={24} sm={12} xl={6}>
          <StatCard
            title={t('users.summaryAdmins')}
            value={stats.admins}
            icon={<CrownOutlined />}
            color={token.colorError}
            loading={users.isPending}
          />
        </Col>
        <Col xs={24} sm={12} xl={6}>
          <StatCard
            title={t('users.summaryTwoFactor')}
            value={`${String(percentOf(stats.twoFactor, stats.total))}%`}
            icon={<SafetyOutlined />}
            color={token.colorWarning}
            footer={t('users.summaryTwoFactorDetail', { count: stats.twoFactor, total: stats.total })}
            loading={users.isPending}
          />
        </Col>
      </Row>

      <Card>
        <Flex gap={12} wrap style={{ marginBottom: 16 }}>
          <Input
            allowClear
            prefix={<SearchOutlined />}
            placeholder={t('users.searchPlaceholder')}
            value={search}
            onChange={(event) => setSearch(event.target.value)}
            style={{ width: 300, maxWidth: '100%' }}
            data-testid="users-search"
          />
          <Select<RoleFilter>
            value={roleFilter}
            onChange={setRoleFilter}
            style={{ width: 160 }}
            aria-label={t('users.filterRole')}
            options={[
              { value: 'all', label: t('users.allRoles') },
              ...roles.map((role) => ({ value: role, label: t(`roles.${role}`) })),
            ]}
          />
          <Select<StatusFilter>
            value={statusFilter}
            onChange={setStatusFilter}
            style={{ width: 160 }}
            aria-label={t('users.filterStatus')}
            options={[
              { value: 'all', label: t('users.allStatuses') },
              { value: 'enabled', label: t('common.enabled') },
              { value: 'disabled', label: t('common.disabled') },
            ]}
          />
        </Flex>
        {users.isError ? (
          <LoadError error={users.error} onRetry={() => void users.refetch()} style={{ marginBottom: 16 }} />
        ) : null}
        <div data-testid="users-table">
          <Table<UserSummary>
            rowKey="id"
            columns={columns}
            dataSource={filtered}
            loading={users.isPending}
            scroll={{ x: 'max-content' }}
            rowClassName={(user) => (user.disabled ? 'bx-table-row-muted' : '')}
            pagination={{ pageSize: 20, hideOnSinglePage: true, showSizeChanger: false }}
            locale={{
              emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('users.empty')} />,
            }}
          />
        </div>
      </Card>

      <UserDrawer
        editing={editing}
        isSelf={editing !== null && editing !== 'new' && editing.id === me.id}
        onClose={() => setEditing(null)}
        onSaved={(user) => {
          void invalidate();
          if (user.id === me.id) refresh();
        }}
      />
    </>
  );
}

interface UserFormValues {
  username: string;
  displayName: string;
  email?: string;
  phone?: string;
  role: Role;
  password?: string;
  disabled: boolean;
}

function UserDrawer({
  editing,
  isSelf,
  onClose,
  onSaved,
}: {
  editing: UserSummary | 'new' | null;
  isSelf: boolean;
  onClose: () => void;
  onSaved: (user: UserSummary) => void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<UserFormValues>();
  const applyFieldErrors = useFieldErrors(form);
  const existing = editing !== null && editing !== 'new' ? editing : null;
  // Undefined until the form is mounted.
  const selectedRole = Form.useWatch('role', form) as Role | undefined;

  const save = useMutation({
    mutationFn: (values: UserFormValues) => {
      const fields = {
        displayName: values.displayName.trim(),
        email: (values.email ?? '').trim(),
        phone: (values.phone ?? '').trim(),
        role: values.role,
        disabled: values.disabled,
      };
      if (existing) {
        return apiCall(apiRoutes.users.update, {
          params: { id: existing.id },
          body: { ...fields, username: existing.username, password: values.password ?? '' },
        });
      }
      return apiCall(apiRoutes.users.create, {
        body: { ...fields, username: values.username.trim(), password: values.password ?? '' },
      });
    },
    onSuccess: (user) => {
      const name = user.displayName || user.username;
      void message.success(existing ? t('users.updated', { name }) : t('users.created', { name }));
      onSaved(user);
      onClose();
    },
    onError: (error) => {
      applyFieldErrors(error);
      void message.error(errorText(t, error));
    },
  });

  // The drawer keeps its form mounted: load the values of the user (or the defaults) on every open.
  useEffect(() => {
    if (editing === null) return;
    form.resetFields();
    form.setFieldsValue(
      editing === 'new'
        ? {
            username: '',
            displayName: '',
            email: '',
            phone: '',
            role: 'viewer',
            password: '',
            disabled: false,
          }
        : {
            username: editing.username,
            displayName: editing.displayName,
            email: editing.email,
            phone: editing.phone,
            role: editing.role,
            password: '',
            disabled: editing.disabled,
          },
    );
  }, [editing, form]);

  return (
    <Drawer
      open={editing !== null}
      onClose={onClose}
      title={
        existing
          ? t('users.editTitle', { name: existing.displayName || existing.username })
          : t('users.createTitle')
      }
      size={480}
      forceRender
      afterOpenChange={(open) => {
        if (!open) save.reset();
      }}
      footer={
        <Flex justify="flex-end" gap={8}>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button
            type="primary"
            loading={save.isPending}
            onClick={() => form.submit()}
            data-testid="user-submit"
          >
            {existing ? t('common.save') : t('common.create')}
          </Button>
        </Flex>
      }
    >
      <Form<UserFormValues> form={form} layout="vertical" onFinish={(values) => save.mutate(values)}>
        <Form.Item
          name="username"
          label={t('users.fieldUsername')}
          extra={existing ? undefined : t('users.fieldUsernameHelp')}
          rules={[
            { required: true, whitespace: true, message: t('auth.usernameRequired') },
            { min: 3, max: 64, message: t('auth.usernameLength') },
            { pattern: USERNAME_PATTERN, message: t('auth.usernamePattern') },
          ]}
        >
          <Input disabled={existing !== null} autoComplete="off" data-testid="user-username" />
        </Form.Item>
        <Form.Item
          name="displayName"
          label={t('users.fieldDisplayName')}
          rules={[
            { required: true, whitespace: true, message: t('auth.displayNameRequired') },
            { max: 128, message: t('auth.displayNameRequired') },
          ]}
        >
          <Input autoComplete="off" data-testid="user-displayname" />
        </Form.Item>
        <Row gutter={12}>
          <Col xs={24} sm={14}>
            <Form.Item
              name="email"
              label={t('users.fieldEmail')}
              rules={[{ type: 'email', max: 255, message: t('users.emailInvalid') }]}
            >
              <Input type="email" autoComplete="off" data-testid="user-email" />
            </Form.Item>
          </Col>
          <Col xs={24} sm={10}>
            <Form.Item name="phone" label={t('users.fieldPhone')} rules={[{ max: 64 }]}>
              <Input autoComplete="off" data-testid="user-phone" />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item
          name="role"
          label={t('users.fieldRole')}
          extra={selectedRole ? t(`roleDescriptions.${selectedRole}`) : undefined}
          rules={[{ required: true }]}
        >
          <Select<Role>
            data-testid="user-role"
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
        <Form.Item
          name="password"
          label={t('users.fieldPassword')}
          extra={existing ? t('users.fieldPasswordHelpEdit') : undefined}
          rules={[
            { required: existing === null, message: t('auth.passwordRequired') },
            { min: 8, max: 128, message: t('auth.passwordLength') },
          ]}
        >
          <Input.Password
            autoComplete="new-password"
            placeholder={
              existing ? t('users.fieldPasswordPlaceholderEdit') : t('users.fieldPasswordPlaceholderCreate')
            }
            data-testid="user-password"
          />
        </Form.Item>
        <Form.Item
          name="disabled"
          label={t('users.fieldDisabled')}
          extra={t('users.fieldDisabledHelp')}
          valuePropName="checked"
        >
          <Switch disabled={isSelf} data-testid="user-disabled" />
        </Form.Item>
      </Form>
    </Drawer>
  );
}
