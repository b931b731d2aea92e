import { useMemo, useState } from 'react';
import type { HTMLAttributes } from 'react';
import { App, Badge, Button, Card, Empty, Flex, Popconfirm, Table, Tag, Tooltip, Typography } from 'antd';
import type { TableColumnsType } from 'antd';
import {
  DeleteOutlined,
  EditOutlined,
  NotificationOutlined,
  PlusOutlined,
  ReloadOutlined,
  SendOutlined,
} from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import type { EventType, NotificationSummary, NotificationType } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { useCurrentUser } from '../../auth/AuthProvider.tsx';
import { canWrite } from '../../auth/roles.ts';
import { LoadError } from '../../components/LoadError.tsx';
import { PageHeader } from '../../components/PageHeader.tsx';
import { formatDateTime, formatRelativeTime } from '../../lib/format.ts';
import { errorText } from '../../lib/i18n-helpers.ts';
import { ErrorDetail } from '../storage/ErrorDetail.tsx';
import { NotificationDrawer } from './NotificationDrawer.tsx';
import { NotificationTypeIcon, notificationTypeColor } from './NotificationTypeIcon.tsx';
import { NOTIFICATION_TEST_TIMEOUT_MS, notificationKeys } from './notificationQueries.ts';

/** Notification channels (email, webhook, Telegram): list, create/edit, test send, delete. */
export function NotificationsPage() {
  const { t, i18n } = useTranslation();
  const { message, modal } = App.useApp();
  const user = useCurrentUser();
  const writable = canWrite(user.role);
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState<NotificationSummary | 'new' | null>(null);

  const channels = useQuery({
    queryKey: notificationKeys.list,
    queryFn: ({ signal }) => apiCall(apiRoutes.notifications.list, { signal }),
  });
  const list = useMemo(() => channels.data ?? [], [channels.data]);
  const now = channels.dataUpdatedAt;
  const invalidate = () => queryClient.invalidateQueries({ queryKey: notificationKeys.all });

  const test = useMutation({
    mutationFn: (channel: NotificationSummary) =>
      apiCall(apiRoutes.notifications.testSaved, {
        params: { id: channel.id },
        timeoutMs: NOTIFICATION_TEST_TIMEOUT_MS,
      }),
    onSuccess: (_result, channel) =>
      void message.success(t('notifications.testSentTo', { name: channel.name })),
    onError: (error, channel) => {
      modal.error({
        title: t('notifications.testFailedFor', { name: channel.name }),
        content: <ErrorDetail error={error} />,
      });
    },
  });

  const remove = useMutation({
    mutationFn: (channel: NotificationSummary) =>
      apiCall(apiRoutes.notifications.remove, { params: { id: channel.id } }),
    onSuccess: (_result, channel) => void message.success(t('notifications.deleted', { name: channel.name })),
    onError: (error) => void message.error(errorText(t, error)),
    onSettled: () => invalidate(),
  });

  const typeLabel = (type: NotificationType) => t(`notifications.types.${type}`);
  const eventLabel = (type: EventType) => t(`eventCenter.types.${type}`);

  const columns: TableColumnsType<NotificationSummary> = [
    {
      title: t('notifications.columnName'),
      dataIndex: 'name',
      key: 'name',
      render: (name: string, channel) => (
        <Typography.Text strong type={channel.enabled ? undefined : 'secondary'}>
          {name}
        </Typography.Text>
      ),
    },
    {
      title: t('notifications.columnType'),
      dataIndex: 'type',
      key: 'type',
      render: (type: NotificationType) => (
        <Tag color={notificationTypeColor[type]} icon={<NotificationTypeIcon type={type} />}>
          {typeLabel(type)}
        </Tag>
      ),
    },
    {
      title: t('common.status'),
      dataIndex: 'enabled',
      key: 'enabled',
      render: (enabled: boolean, channel) => (
        <Badge
          status={enabled ? 'success' : 'default'}
          text={enabled ? t('common.enabled') : t('common.disabled')}
          data-testid={`notification-enabled-${String(channel.id)}`}
          style={{ whiteSpace: 'nowrap' }}
        />
      ),
    },
    {
      title: t('notifications.columnTriggers'),
      key: 'triggers',
      render: (_value, channel) =>
        channel.eventTypes.length > 0 ? (
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {t('notifications.triggersByEventTypes')}
          </Typography.Text>
        ) : (
          <Flex gap={4} wrap>
            <Tag
              color={channel.onSuccess ? 'success' : 'default'}
              data-testid={`notification-on-success-${String(channel.id)}`}
            >
              {channel.onSuccess ? t('notifications.successOn') : t('notifications.successOff')}
            </Tag>
            <Tag
              color={channel.onFailure ? 'error' : 'default'}
              data-testid={`notification-on-failure-${String(channel.id)}`}
            >
              {channel.onFailure ? t('notifications.failureOn') : t('notifications.failureOff')}
            </Tag>
          </Flex>
        ),
    },
    {
      title: t('notifications.columnEventTypes'),
      dataIndex: 'eventTypes',
      key: 'eventTypes',
      width: 300,
      render: (types: EventType[], channel) =>
        types.length === 0 ? (
          <Tooltip title={t('notifications.legacyRuleHelp')}>
            <Typography.Text type="secondary">{t('notifications.legacyRule')}</Typography.Text>
          </Tooltip>
        ) : (
          <Flex
            gap={4}
            wrap
            style={{ maxWidth: 300 }}
            data-testid={`notification-event-types-${String(channel.id)}`}
          >
            {types.map((type) => (
              <Tag key={type} style={{ marginInlineEnd: 0 }}>
                {eventLabel(type)}
              </Tag>
            ))}
          </Flex>
        ),
    },
    {
      title: t('notifications.columnUpdated'),
      dataIndex: 'updatedAt',
      key: 'updatedAt',
      render: (value: string) => (
        <Tooltip title={formatDateTime(value)}>
          <span style={{ whiteSpace: 'nowrap' }}>{formatRelativeTime(value, now, i18n.language)}</span>
        </Tooltip>
      ),
    },
    ...(writable
      ? [
          {
            title: t('common.actions'),
            key: 'actions',
            fixed: 'right' as const,
            render: (_value: unknown, channel: NotificationSummary) => (
              <Flex gap={2}>
                <Tooltip title={t('common.edit')}>
                  <Button
                    type="text"
                    size="small"
                    icon={<EditOutlined />}
                    aria-label={t('common.edit')}
                    onClick={() => setEditing(channel)}
                    data-testid={`notification-edit-${String(channel.id)}`}
                  />
                </Tooltip>
                <Tooltip title={t('notifications.sendTest')}>
                  <Button
                    type="text"
                    size="small"
                    icon={<SendOutlined />}
                    aria-label={t('notifications.sendTest')}
                    loading={test.isPending && test.variables.id === channel.id}
                    onClick={() => test.mutate(channel)}
                    data-testid={`notification-test-${String(channel.id)}`}
                  />
                </Tooltip>
                <Popconfirm
                  title={t('notifications.deleteConfirmTitle', { name: channel.name })}
                  description={t('notifications.deleteConfirmDescription')}
                  okText={t('common.delete')}
                  okButtonProps={{ danger: true }}
                  cancelText={t('common.cancel')}
                  onConfirm={() => remove.mutate(channel)}
                >
                  <Button
                    type="text"
                    size="small"
                    danger
                    icon={<DeleteOutlined />}
                    aria-label={t('common.delete')}
                    title={t('common.delete')}
                    data-testid={`notification-delete-${String(channel.id)}`}
                  />
                </Popconfirm>
              </Flex>
            ),
          },
        ]
      : []),
  ];

  return (
    <>
      <PageHeader
        title={t('notifications.title')}
        description={t('notifications.description')}
        extra={
          <>
            <Tooltip title={t('common.refresh')}>
              <Button
                icon={<ReloadOutlined />}
                aria-label={t('common.refresh')}
                loading={channels.isFetching && !channels.isPending}
                onClick={() => void channels.refetch()}
              />
            </Tooltip>
            {writable ? (
              <Button
                type="primary"
                icon={<PlusOutlined />}
                onClick={() => setEditing('new')}
                data-testid="notification-create"
              >
                {t('notifications.create')}
              </Button>
            ) : null}
          </>
        }
      />
      <Card>
        {channels.isError ? (
          <LoadError
            error={channels.error}
            onRetry={() => void channels.refetch()}
            style={{ marginBottom: 16 }}
          />
        ) : null}
        <div data-testid="notifications-table">
          <Table<NotificationSummary>
            rowKey="id"
            columns={columns}
            dataSource={list}
            loading={channels.isPending}
            scroll={{ x: 'max-content' }}
            onRow={(channel) =>
              ({ 'data-testid': `notification-row-${String(channel.id)}` }) as HTMLAttributes<HTMLElement>
            }
            pagination={{ pageSize: 20, hideOnSinglePage: true, showSizeChanger: false }}
            locale={{
              emptyText: (
                <Empty
                  image={
                    <NotificationOutlined
                      style={{ fontSize: 48, color: 'var(--ant-color-text-quaternary, #bfbfbf)' }}
                    />
                  }
                  styles={{ image: { height: 56 } }}
                  description={
                    <Flex vertical gap={4} align="center">
                      <Typography.Text strong>{t('notifications.emptyTitle')}</Typography.Text>
                      <Typography.Text type="secondary">
                        {t('notifications.emptyDescription')}
                      </Typography.Text>
                    </Flex>
                  }
                >
                  {writable ? (
                    <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')}>
                      {t('notifications.create')}
                    </Button>
                  ) : null}
                </Empty>
              ),
            }}
          />
        </div>
      </Card>
      <NotificationDrawer
        editing={editing}
        onClose={() => setEditing(null)}
        onSaved={() => void invalidate()}
      />
    </>
  );
}
