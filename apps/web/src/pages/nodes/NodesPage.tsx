/**
 * Nodes (SPEC §15.9): the master's own node and the remote agents, with health, queue, running
 * work and labels (pools). Admins edit them, add them with the install wizard, rotate tokens and
 * delete them. Refreshes every 10 s and on live events.
 */
import { useMemo, useState } from 'react';
import type { HTMLAttributes } from 'react';
import {
  App,
  Button,
  Card,
  Col,
  Dropdown,
  Empty,
  Flex,
  Input,
  Row,
  Table,
  Tag,
  Tooltip,
  Typography,
  theme,
} from 'antd';
import type { MenuProps, TableColumnsType } from 'antd';
import {
  CheckCircleOutlined,
  CloudServerOutlined,
  CodeOutlined,
  DeleteOutlined,
  DisconnectOutlined,
  EditOutlined,
  EyeOutlined,
  KeyOutlined,
  MoreOutlined,
  PlusOutlined,
  ReloadOutlined,
  SearchOutlined,
  WarningOutlined,
} from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { apiRoutes } from '@backupx/contract';
import type { NodeSummary } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { useCurrentUser } from '../../auth/AuthProvider.tsx';
import { isAdmin } from '../../auth/roles.ts';
import { LoadError } from '../../components/LoadError.tsx';
import { PageHeader } from '../../components/PageHeader.tsx';
import { StatCard } from '../../components/StatCard.tsx';
import { useEventSubscription } from '../../events/EventCenterProvider.tsx';
import { formatDateTime, formatDuration, formatRelativeTime } from '../../lib/format.ts';
import { errorText } from '../../lib/i18n-helpers.ts';
import { useDurationUnits } from '../../lib/useFormatters.ts';
import { paths } from '../../paths.ts';
import { AddNodeWizard } from './AddNodeWizard.tsx';
import type { WizardTarget } from './AddNodeWizard.tsx';
import { NodeEditDrawer } from './NodeEditDrawer.tsx';
import { neverConnected, nodeKeys, nodeLabels, platformOf } from './nodeLogic.ts';
import { LocalTag, NodeHealthBadge, useNodes } from './nodeUi.tsx';
import { NodeTokenModal, serverErrorDetail } from './NodeTokenModal.tsx';

export const nodeDetailPath = (id: number) => `${paths.nodes}/${String(id)}`;

/** Node actions shared by the list and the detail page: rotate, delete, their confirmations. */
export function useNodeActions({ onDeleted }: { onDeleted?: (node: NodeSummary) => void } = {}) {
  const { t } = useTranslation();
  const { message, modal, notification } = App.useApp();
  const queryClient = useQueryClient();
  const [rotated, setRotated] = useState<{ name: string; token: string } | null>(null);
  const invalidate = () => queryClient.invalidateQueries({ queryKey: nodeKeys.all });

  const rotate = useMutation({
    mutationFn: (node: NodeSummary) => apiCall(apiRoutes.nodes.rotateToken, { params: { id: node.id } }),
    onSuccess: (result, node) => setRotated({ name: node.name, token: result.newToken }),
    onError: (error) => void message.error(errorText(t, error)),
    onSettled: () => invalidate(),
  });

  const remove = useMutation({
    mutationFn: (node: NodeSummary) => apiCall(apiRoutes.nodes.delete, { params: { id: node.id } }),
    onSuccess: (_result, node) => {
      void message.success(t('nodes.deleted', { name: node.name }));
      onDeleted?.(node);
    },
    onError: (error, node) =>
      notification.error({
        title: t('nodes.deleteFailed', { name: node.name }),
        description: <span data-testid="node-delete-error">{serverErrorDetail(t, error)}</span>,
        duration: 10,
      }),
    onSettled: () => invalidate(),
  });

  const confirmRotate = (node: NodeSummary) =>
    void modal.confirm({
      title: t('nodes.rotateConfirmTitle', { name: node.name }),
      content: t('nodes.rotateConfirmDescription'),
      okText: t('nodes.rotate'),
      okButtonProps: { 'data-testid': 'node-rotate-confirm' },
      cancelText: t('common.cancel'),
      onOk: () => rotate.mutateAsync(node).catch(() => undefined),
    });

  const confirmDelete = (node: NodeSummary) =>
    void modal.confirm({
      title: t('nodes.deleteConfirmTitle', { name: node.name }),
      content: t('nodes.deleteConfirmDescription'),
      okText: t('common.delete'),
      okButtonProps: { danger: true, 'data-testid': 'node-delete-confirm' },
      cancelText: t('common.cancel'),
      onOk: () => remove.mutateAsync(node).catch(() => undefined),
    });

  // Unmounted (not just hidden) on close, so the token leaves the page at once.
  const tokenModal = rotated ? (
    <NodeTokenModal
      title={t('nodes.rotatedTitle', { name: rotated.name })}
      token={rotated.token}
      advice={t('nodes.rotatedAdvice')}
      onClose={() => setRotated(null)}
    />
  ) : null;

  return { confirmRotate, confirmDelete, tokenModal };
}

export function NodesPage() {
  const { t, i18n } = useTranslation();
  const { token } = theme.useToken();
  const units = useDurationUnits();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const user = useCurrentUser();
  const admin = isAdmin(user.role);
  const [search, setSearch] = useState('');
  const [editing, setEditing] = useState<NodeSummary | null>(null);
  // `session` changes on every opening so the wizard starts afresh.
  const [wizard, setWizard] = useState<{ open: boolean; session: number; target: WizardTarget | null }>({
    open: false,
    session: 0,
    target: null,
  });
  const openWizard = (target: WizardTarget | null) =>
    setWizard((current) => ({ open: true, session: current.session + 1, target }));

  const nodes = useNodes({ live: true });
  // Runs start and end on nodes: their queue and running counts change with every event.
  useEventSubscription(undefined, () => void queryClient.invalidateQueries({ queryKey: nodeKeys.all }));
  const actions = useNodeActions();
  const now = nodes.dataUpdatedAt;
  const list = useMemo(() => nodes.data ?? [], [nodes.data]);

  const stats = useMemo(() => {
    const counts = { total: list.length, healthy: 0, degraded: 0, offline: 0 };
    for (const node of list) counts[node.health] += 1;
    return counts;
  }, [list]);

  const filtered = useMemo(() => {
    const needle = search.trim().toLowerCase();
    if (needle === '') return list;
    return list.filter((node) =>
      [node.name, node.hostname, node.ipAddress, node.labels, node.agentVersion].some((value) =>
        value.toLowerCase().includes(needle),
      ),
    );
  }, [list, search]);

  const moreItems = (node: NodeSummary): MenuProps['items'] => [
    {
      key: 'install',
      icon: <CodeOutlined />,
      disabled: node.isLocal,
      label: <span data-testid={`node-install-${String(node.id)}`}>{t('nodes.installCommand')}</span>,
    },
    {
      key: 'rotate',
      icon: <KeyOutlined />,
      disabled: node.isLocal,
      label: <span data-testid={`node-rotate-${String(node.id)}`}>{t('nodes.rotate')}</span>,
    },
    { type: 'divider' },
    {
      key: 'delete',
      icon: <DeleteOutlined />,
      danger: true,
      disabled: node.isLocal,
      label: <span data-testid={`node-delete-${String(node.id)}`}>{t('common.delete')}</span>,
    },
  ];
  const onMore = (node: NodeSummary, key: string) => {
    if (key === 'install') openWizard({ id: node.id, name: node.name });
    else if (key === 'rotate') actions.confirmRotate(node);
    else if (key === 'delete') actions.confirmDelete(node);
  };

  const none = <Typography.Text type="secondary">{t('common.none')}</Typography.Text>;

  const columns: TableColumnsType<NodeSummary> = [
    {
      title: t('nodes.columns.name'),
      key: 'name',
      fixed: 'left',
      render: (_value, node) => (
        <Flex gap={6} align="center" wrap style={{ minWidth: 140, maxWidth: 240 }}>
          <Typography.Link
            strong
            onClick={() => void navigate(nodeDetailPath(node.id))}
            data-testid={`node-name-${String(node.id)}`}
          >
            {node.name}
          </Typography.Link>
          {node.isLocal ? <LocalTag /> : null}
        </Flex>
      ),
    },
    {
      title: t('nodes.columns.health'),
      key: 'health',
      render: (_value, node) => <NodeHealthBadge node={node} testId={`node-health-${String(node.id)}`} />,
    },
    {
      title: t('nodes.columns.host'),
      key: 'host',
      render: (_value, node) =>
        node.hostname === '' && node.ipAddress === '' ? (
          none
        ) : (
          <Flex vertical style={{ whiteSpace: 'nowrap' }}>
            <Typography.Text className="bx-mono" style={{ fontSize: 13 }}>
              {node.hostname || t('common.none')}
            </Typography.Text>
            <Typography.Text type="secondary" className="bx-mono" style={{ fontSize: 12 }}>
              {node.ipAddress || t('common.none')}
            </Typography.Text>
          </Flex>
        ),
    },
    {
      title: t('nodes.columns.agent'),
      key: 'agent',
      render: (_value, node) =>
        node.agentVersion === '' && platformOf(node) === '' ? (
          none
        ) : (
          <Flex vertical align="flex-start" style={{ whiteSpace: 'nowrap' }}>
            <Flex gap={6} align="center">
              <Typography.Text className="bx-mono" style={{ fontSize: 13 }}>
                {node.agentVersion || t('common.none')}
              </Typography.Text>
              {node.versionStatus === 'outdated' ? (
                <Tooltip title={t('nodes.outdatedHelp')}>
                  <Tag
                    color="orange"
                    style={{ marginInlineEnd: 0, fontSize: 11, lineHeight: '18px' }}
                    data-testid={`node-outdated-${String(node.id)}`}
                  >
                    {t('nodes.outdated')}
                  </Tag>
                </Tooltip>
              ) : null}
            </Flex>
            <Typography.Text type="secondary" className="bx-mono" style={{ fontSize: 12 }}>
              {platformOf(node) || t('common.none')}
            </Typography.Text>
          </Flex>
        ),
    },
    {
      title: t('nodes.columns.queue'),
      key: 'queue',
      render: (_value, node) => (
        <Tooltip
          title={
            <div>
              <div>{t('nodes.queue.pending', { count: node.queue.pending })}</div>
              <div>{t('nodes.queue.dispatched', { count: node.queue.dispatched })}</div>
              <div>
                {node.queue.depth > 0
                  ? t('nodes.queue.oldest', { age: formatDuration(node.queue.oldestActiveAgeSeconds, units) })
                  : t('nodes.queue.idle')}
              </div>
            </div>
          }
        >
          <Flex
            gap={6}
            align="center"
            style={{ whiteSpace: 'nowrap' }}
            data-testid={`node-queue-${String(node.id)}`}
          >
            <Typography.Text type={node.queue.depth > 0 ? undefined : 'secondary'}>
              {node.queue.depth}
            </Typography.Text>
            {node.queue.timeouts > 0 ? (
              <Tag color="warning" icon={<WarningOutlined />} style={{ marginInlineEnd: 0 }}>
                {t('nodes.queue.timeouts', { count: node.queue.timeouts })}
              </Tag>
            ) : null}
          </Flex>
        </Tooltip>
      ),
    },
    {
      title: t('nodes.columns.running'),
      key: 'running',
      align: 'center',
      render: (_value, node) =>
        node.runningTasks > 0 ? (
          <Tag color="processing" style={{ marginInlineEnd: 0 }}>
            {node.runningTasks}
          </Tag>
        ) : (
          <Typography.Text type="secondary">0</Typography.Text>
        ),
    },
    {
      title: t('nodes.columns.labels'),
      key: 'labels',
      render: (_value, node) => {
        const labels = nodeLabels(node);
        return labels.length === 0 ? (
          none
        ) : (
          <Flex gap={4} wrap style={{ maxWidth: 160 }}>
            {labels.map((label) => (
              <Tag key={label} color="geekblue" style={{ marginInlineEnd: 0 }}>
                {label}
              </Tag>
            ))}
          </Flex>
        );
      },
    },
    {
      title: t('nodes.columns.lastSeen'),
      key: 'lastSeen',
      render: (_value, node) =>
        node.isLocal ? (
          <Typography.Text type="secondary" style={{ whiteSpace: 'nowrap' }}>
            {t('nodes.thisServer')}
          </Typography.Text>
        ) : neverConnected(node) ? (
          <Tooltip title={t('nodes.neverConnected')}>
            <Typography.Text type="secondary" style={{ whiteSpace: 'nowrap' }}>
              {t('nodes.lastSeenNever')}
            </Typography.Text>
          </Tooltip>
        ) : (
          <Tooltip title={formatDateTime(node.lastSeen)}>
            <span style={{ whiteSpace: 'nowrap' }}>
              {formatRelativeTime(node.lastSeen, now, i18n.language)}
            </span>
          </Tooltip>
        ),
    },
    {
      title: t('common.actions'),
      key: 'actions',
      fixed: 'right',
      render: (_value, node) => (
        <Flex gap={2} align="center">
          <Tooltip title={t('nodes.details')}>
            <Button
              type="text"
              size="small"
              icon={<EyeOutlined />}
              aria-label={t('nodes.details')}
              onClick={() => void navigate(nodeDetailPath(node.id))}
              data-testid={`node-details-${String(node.id)}`}
            />
          </Tooltip>
          {admin ? (
            <>
              <Tooltip title={t('common.edit')}>
                <Button
                  type="text"
                  size="small"
                  icon={<EditOutlined />}
                  aria-label={t('common.edit')}
                  onClick={() => setEditing(node)}
                  data-testid={`node-edit-${String(node.id)}`}
                />
              </Tooltip>
              <Dropdown
                trigger={['click']}
                placement="bottomRight"
                menu={{ items: moreItems(node), onClick: ({ key }) => onMore(node, key) }}
              >
                <Button
                  type="text"
                  size="small"
                  icon={<MoreOutlined />}
                  aria-label={t('nodes.more')}
                  data-testid={`node-more-${String(node.id)}`}
                />
              </Dropdown>
            </>
          ) : null}
        </Flex>
      ),
    },
  ];

  return (
    <>
      <PageHeader
        title={t('nodes.title')}
        description={t('nodes.description')}
        extra={
          <>
            <Tooltip title={t('common.refresh')}>
              <Button
                icon={<ReloadOutlined />}
                aria-label={t('common.refresh')}
                loading={nodes.isFetching && !nodes.isPending}
                onClick={() => void queryClient.invalidateQueries({ queryKey: nodeKeys.all })}
                data-testid="nodes-refresh"
              />
            </Tooltip>
            {admin ? (
              <Button
                type="primary"
                icon={<PlusOutlined />}
                onClick={() => openWizard(null)}
                data-testid="node-add"
              >
                {t('nodes.add')}
              </Button>
            ) : null}
          </>
        }
      />

      <Row gutter={[16, 16]} style={{ marginBottom: 24 }}>
        <Col xs={24} sm={12} xl={6}>
          <StatCard
            title={t('nodes.summary.total')}
            value={stats.total}
            icon={<CloudServerOutlined />}
            color={token.colorPrimary}
            loading={nodes.isPending}
          />
        </Col>
        <Col xs={24} sm={12} xl={6}>
          <StatCard
            title={t('nodes.summary.healthy')}
            value={stats.healthy}
            icon={<CheckCircleOutlined />}
            color={token.colorSuccess}
            loading={nodes.isPending}
          />
        </Col>
        <Col xs={24} sm={12} xl={6}>
          <StatCard
            title={t('nodes.summary.degraded')}
            value={stats.degraded}
            icon={<WarningOutlined />}
            color={token.colorWarning}
            loading={nodes.isPending}
          />
        </Col>
        <Col xs={24} sm={12} xl={6}>
          <StatCard
            title={t('nodes.summary.offline')}
            value={stats.offline}
            icon={<DisconnectOutlined />}
            color={token.colorTextTertiary}
            loading={nodes.isPending}
          />
        </Col>
      </Row>

      <Card>
        <Flex gap={12} wrap align="center" style={{ marginBottom: 16 }}>
          <Input
            allowClear
            prefix={<SearchOutlined />}
            placeholder={t('nodes.searchPlaceholder')}
            value={search}
            onChange={(event) => setSearch(event.target.value)}
            style={{ width: 300, maxWidth: '100%' }}
            data-testid="nodes-search"
          />
          <Typography.Text type="secondary">{t('nodes.autoRefresh')}</Typography.Text>
        </Flex>
        {nodes.isError ? (
          <LoadError error={nodes.error} onRetry={() => void nodes.refetch()} style={{ marginBottom: 16 }} />
        ) : null}
        <div data-testid="nodes-table">
          <Table<NodeSummary>
            rowKey="id"
            size="middle"
            columns={columns}
            dataSource={filtered}
            loading={nodes.isPending}
            scroll={{ x: 'max-content' }}
            onRow={(node) =>
              ({
                'data-testid': `node-row-${String(node.id)}`,
                'data-status': node.status,
              }) as HTMLAttributes<HTMLElement>
            }
            rowClassName={(node) => (node.status === 'online' ? '' : 'bx-table-row-muted')}
            pagination={{ pageSize: 50, hideOnSinglePage: true, showSizeChanger: false }}
            locale={{
              emptyText: (
                <Empty
                  image={Empty.PRESENTED_IMAGE_SIMPLE}
                  description={list.length === 0 ? t('nodes.empty') : t('nodes.emptyFiltered')}
                />
              ),
            }}
          />
        </div>
      </Card>

      <NodeEditDrawer node={editing} nodes={list} onClose={() => setEditing(null)} />
      <AddNodeWizard
        key={wizard.session}
        open={wizard.open}
        target={wizard.target}
        onClose={() => {
          setWizard((current) => ({ ...current, open: false }));
          void queryClient.invalidateQueries({ queryKey: nodeKeys.all });
        }}
      />
      {actions.tokenModal}
    </>
  );
}
