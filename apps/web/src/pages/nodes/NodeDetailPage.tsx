/**
 * One node (`/nodes/:id`): summary cards, details, the tasks that run on it (bound to it, or
 * through a pool it belongs to), their recent records, and a browser of its file system.
 */
import { useMemo, useState } from 'react';
import {
  Alert,
  Button,
  Card,
  Col,
  Descriptions,
  Dropdown,
  Empty,
  Flex,
  Result,
  Row,
  Skeleton,
  Table,
  Tag,
  Tooltip,
  Typography,
  theme,
} from 'antd';
import type { DescriptionsProps, TableColumnsType } from 'antd';
import {
  ArrowLeftOutlined,
  ClockCircleOutlined,
  CodeOutlined,
  DeleteOutlined,
  EditOutlined,
  HeartOutlined,
  InboxOutlined,
  KeyOutlined,
  MoreOutlined,
  PlayCircleOutlined,
  ReloadOutlined,
  TagsOutlined,
  TagOutlined,
} from '@ant-design/icons';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router';
import { apiRoutes } from '@backupx/contract';
import type { NodeSummary, RecordSummary, TaskSummary } from '@backupx/contract';
import { apiCall, apiCallWithTotal, isApiError } from '../../api/client.ts';
import { useCurrentUser } from '../../auth/AuthProvider.tsx';
import { canWrite as roleCanWrite, isAdmin } from '../../auth/roles.ts';
import { LoadError } from '../../components/LoadError.tsx';
import { PageHeader } from '../../components/PageHeader.tsx';
import { StatCard } from '../../components/StatCard.tsx';
import { useEventSubscription } from '../../events/EventCenterProvider.tsx';
import { formatBytes, formatDateTime, formatDuration, formatRelativeTime } from '../../lib/format.ts';
import { useDurationUnits } from '../../lib/useFormatters.ts';
import { paths } from '../../paths.ts';
import { RunStatusTag, TaskStatusTag, TaskTypeTag } from '../records/recordUi.tsx';
import { DirectoryBrowser } from '../tasks/DirectoryPicker.tsx';
import { AddNodeWizard } from './AddNodeWizard.tsx';
import { NodeEditDrawer } from './NodeEditDrawer.tsx';
import { neverConnected, nodeKeys, nodeLabels, NODES_REFRESH_MS, platformOf } from './nodeLogic.ts';
import { useNodeActions } from './NodesPage.tsx';
import { LocalTag, NodeHealthBadge, useNodes } from './nodeUi.tsx';

const RECENT_RECORDS = 20;
/** Records fetched to find this node's recent ones (the list has no node filter). */
const RECORDS_SCAN = 200;

const recordLink = (id: number) => `/backup/records?recordId=${String(id)}`;
const taskRecordsLink = (id: number) => `/backup/records?taskId=${String(id)}`;

/** How a task reaches a node: bound to it, through a pool label, or as a master task of the local node. */
type Binding = { kind: 'node' } | { kind: 'pool'; tag: string } | { kind: 'master' };

function bindingOf(task: TaskSummary, node: NodeSummary, labels: readonly string[]): Binding | null {
  if (task.nodeId === node.id) return { kind: 'node' };
  if (task.nodeId === 0 && task.nodePoolTag !== '' && labels.includes(task.nodePoolTag.trim()))
    return { kind: 'pool', tag: task.nodePoolTag };
  if (task.nodeId === 0 && task.nodePoolTag === '' && node.isLocal) return { kind: 'master' };
  return null;
}

export function NodeDetailPage() {
  const { id: idParam } = useParams();
  const id = Number(idParam);
  const valid = Number.isInteger(id) && id > 0;
  const { t, i18n } = useTranslation();
  const { token } = theme.useToken();
  const units = useDurationUnits();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const user = useCurrentUser();
  const admin = isAdmin(user.role);
  const operator = roleCanWrite(user.role);
  const [editing, setEditing] = useState(false);
  const [wizard, setWizard] = useState<{ open: boolean; session: number }>({ open: false, session: 0 });
  const [browsePath, setBrowsePath] = useState('/');

  const detail = useQuery({
    queryKey: nodeKeys.detail(id),
    queryFn: ({ signal }) => apiCall(apiRoutes.nodes.get, { params: { id }, signal }),
    enabled: valid,
    refetchInterval: NODES_REFRESH_MS,
  });
  const allNodes = useNodes();
  const tasks = useQuery({
    queryKey: ['tasks', 'list'],
    queryFn: ({ signal }) => apiCall(apiRoutes.tasks.list, { signal }),
  });
  const recordsQuery = { page: 1, pageSize: RECORDS_SCAN };
  const records = useQuery({
    queryKey: ['records', 'list', recordsQuery],
    queryFn: ({ signal }) => apiCallWithTotal(apiRoutes.records.list, { query: recordsQuery, signal }),
    placeholderData: keepPreviousData,
    refetchInterval: (current) =>
      current.state.data?.data.some((record) => record.status === 'running') ? 5000 : false,
  });
  useEventSubscription(undefined, () => void queryClient.invalidateQueries({ queryKey: nodeKeys.all }));
  const actions = useNodeActions({ onDeleted: () => void navigate(paths.nodes) });

  const node = detail.data;
  const labels = useMemo(() => (node ? nodeLabels(node) : []), [node]);
  const nodeTasks = useMemo(() => {
    if (!node) return [];
    return (tasks.data ?? []).flatMap((task) => {
      const binding = bindingOf(task, node, labels);
      return binding ? [{ task, binding }] : [];
    });
  }, [tasks.data, node, labels]);
  const nodeRecords = useMemo(() => {
    if (!node) return [];
    const taskIds = new Set(
      nodeTasks.filter((item) => item.binding.kind !== 'pool').map((item) => item.task.id),
    );
    return (records.data?.data ?? [])
      .filter((record) => record.nodeId === node.id || (record.nodeId === 0 && taskIds.has(record.taskId)))
      .slice(0, RECENT_RECORDS);
  }, [records.data, nodeTasks, node]);

  if (!valid || (detail.isError && isApiError(detail.error) && detail.error.status === 404)) {
    return (
      <Result
        status="404"
        title={t('nodes.detail.notFound')}
        extra={
          <Button type="primary" onClick={() => void navigate(paths.nodes)}>
            {t('nodes.detail.back')}
          </Button>
        }
      />
    );
  }

  const now = detail.dataUpdatedAt;
  const none = <Typography.Text type="secondary">{t('common.none')}</Typography.Text>;
  const mono = (value: string) =>
    value.trim() === '' ? none : <Typography.Text className="bx-mono bx-break">{value}</Typography.Text>;

  const healthColor =
    node?.health === 'healthy'
      ? token.colorSuccess
      : node?.health === 'degraded'
        ? token.colorWarning
        : token.colorTextTertiary;

  const details: DescriptionsProps['items'] = node
    ? [
        { key: 'hostname', label: t('nodes.columns.hostname'), children: mono(node.hostname) },
        { key: 'ip', label: t('nodes.columns.ip'), children: mono(node.ipAddress) },
        { key: 'platform', label: t('nodes.columns.platform'), children: mono(platformOf(node)) },
        {
          key: 'max',
          label: t('nodes.form.maxConcurrent'),
          children: node.maxConcurrent === 0 ? t('nodes.detail.unlimited') : String(node.maxConcurrent),
        },
        {
          key: 'bandwidth',
          label: t('nodes.form.bandwidth'),
          children:
            node.bandwidthLimit === '' ? t('nodes.detail.bandwidthDefault') : mono(node.bandwidthLimit),
        },
        { key: 'created', label: t('nodes.detail.created'), children: formatDateTime(node.createdAt) },
        {
          key: 'error',
          label: t('nodes.detail.lastError'),
          children: node.lastError ? (
            <Typography.Text type="danger" className="bx-break" data-testid="node-detail-last-error">
              {node.lastError}
            </Typography.Text>
          ) : (
            none
          ),
        },
      ]
    : [];

  const taskColumns: TableColumnsType<{ task: TaskSummary; binding: Binding }> = [
    {
      title: t('tasks.columns.name'),
      key: 'name',
      render: (_value, { task }) => (
        <Flex gap={6} align="center" wrap>
          <Link to={taskRecordsLink(task.id)} style={{ fontWeight: 600 }}>
            {task.name}
          </Link>
          <TaskTypeTag type={task.type} />
        </Flex>
      ),
    },
    {
      title: t('nodes.detail.binding'),
      key: 'binding',
      render: (_value, { binding }) =>
        binding.kind === 'pool' ? (
          <Tag icon={<TagOutlined />} color="geekblue" style={{ marginInlineEnd: 0 }}>
            {t('nodes.detail.viaPool', { tag: binding.tag })}
          </Tag>
        ) : binding.kind === 'master' ? (
          <Tag style={{ marginInlineEnd: 0 }}>{t('tasks.masterShort')}</Tag>
        ) : (
          <Tag color="blue" style={{ marginInlineEnd: 0 }}>
            {t('nodes.detail.bound')}
          </Tag>
        ),
    },
    {
      title: t('tasks.columns.schedule'),
      key: 'schedule',
      render: (_value, { task }) =>
        task.cronExpr === '' ? (
          <Tag style={{ marginInlineEnd: 0 }}>{t('tasks.manual')}</Tag>
        ) : (
          <Typography.Text code className="bx-mono" style={{ whiteSpace: 'nowrap' }}>
            {task.cronExpr}
          </Typography.Text>
        ),
    },
    {
      title: t('tasks.columns.lastRun'),
      key: 'last',
      render: (_value, { task }) => (
        <Flex gap={6} align="center" wrap>
          <TaskStatusTag status={task.lastStatus} />
          {task.lastRunAt ? (
            <Typography.Text type="secondary" style={{ fontSize: 12, whiteSpace: 'nowrap' }}>
              {formatRelativeTime(task.lastRunAt, now, i18n.language)}
            </Typography.Text>
          ) : null}
        </Flex>
      ),
    },
  ];

  const recordColumns: TableColumnsType<RecordSummary> = [
    {
      title: t('records.columns.task'),
      key: 'task',
      render: (_value, record) => (
        <Flex gap={6} align="center" wrap>
          <Link to={recordLink(record.id)} data-testid={`node-record-${String(record.id)}`}>
            {record.taskName || `#${String(record.taskId)}`}
          </Link>
          <RunStatusTag status={record.status} />
        </Flex>
      ),
    },
    {
      title: t('records.columns.size'),
      key: 'size',
      render: (_value, record) => (record.status === 'success' ? formatBytes(record.fileSize) : none),
    },
    {
      title: t('records.columns.started'),
      key: 'started',
      render: (_value, record) => (
        <span style={{ whiteSpace: 'nowrap' }}>{formatDateTime(record.startedAt)}</span>
      ),
    },
    {
      title: t('records.columns.duration'),
      key: 'duration',
      render: (_value, record) =>
        record.status === 'running' ? none : formatDuration(record.durationSeconds, units),
    },
    {
      title: t('records.columns.error'),
      key: 'error',
      render: (_value, record) =>
        record.errorMessage ? (
          <Typography.Text
            type="danger"
            ellipsis={{ tooltip: record.errorMessage }}
            style={{ maxWidth: 220, fontSize: 13 }}
          >
            {record.errorMessage}
          </Typography.Text>
        ) : (
          none
        ),
    },
  ];

  const browsable = node ? node.isLocal || node.status === 'online' : false;

  return (
    <>
      <PageHeader
        title={
          <Flex gap={8} align="center" wrap>
            <Button
              type="text"
              icon={<ArrowLeftOutlined />}
              aria-label={t('nodes.detail.back')}
              onClick={() => void navigate(paths.nodes)}
              data-testid="node-detail-back"
            />
            <span data-testid="node-detail-name">{node?.name ?? t('common.loading')}</span>
            {node?.isLocal ? <LocalTag /> : null}
          </Flex>
        }
        description={t('nodes.detail.description')}
        extra={
          <>
            <Tooltip title={t('common.refresh')}>
              <Button
                icon={<ReloadOutlined />}
                aria-label={t('common.refresh')}
                loading={detail.isFetching && !detail.isPending}
                onClick={() => {
                  void queryClient.invalidateQueries({ queryKey: nodeKeys.all });
                  void queryClient.invalidateQueries({ queryKey: ['records'] });
                  void queryClient.invalidateQueries({ queryKey: ['tasks'] });
                }}
              />
            </Tooltip>
            {admin && node ? (
              <>
                <Button
                  icon={<EditOutlined />}
                  onClick={() => setEditing(true)}
                  data-testid="node-detail-edit"
                >
                  {t('common.edit')}
                </Button>
                {node.isLocal ? null : (
                  <Dropdown
                    trigger={['click']}
                    placement="bottomRight"
                    menu={{
                      items: [
                        { key: 'install', icon: <CodeOutlined />, label: t('nodes.installCommand') },
                        { key: 'rotate', icon: <KeyOutlined />, label: t('nodes.rotate') },
                        { type: 'divider' },
                        { key: 'delete', icon: <DeleteOutlined />, danger: true, label: t('common.delete') },
                      ],
                      onClick: ({ key }) => {
                        if (key === 'install')
                          setWizard((current) => ({ open: true, session: current.session + 1 }));
                        else if (key === 'rotate') actions.confirmRotate(node);
                        else if (key === 'delete') actions.confirmDelete(node);
                      },
                    }}
                  >
                    <Button icon={<MoreOutlined />} data-testid="node-detail-more">
                      {t('nodes.more')}
                    </Button>
                  </Dropdown>
                )}
              </>
            ) : null}
          </>
        }
      />
      {detail.isError ? (
        <LoadError error={detail.error} onRetry={() => void detail.refetch()} style={{ marginBottom: 16 }} />
      ) : null}

      <Row gutter={[16, 16]} style={{ marginBottom: 16 }}>
        <Col xs={24} sm={12} lg={8}>
          <StatCard
            title={t('nodes.columns.health')}
            value={node ? <NodeHealthBadge node={node} testId="node-detail-health" /> : null}
            icon={<HeartOutlined />}
            color={healthColor}
            loading={detail.isPending}
            footer={
              node
                ? neverConnected(node)
                  ? t('nodes.neverConnected')
                  : node.status === 'online'
                    ? t('nodes.status.online')
                    : undefined
                : undefined
            }
          />
        </Col>
        <Col xs={24} sm={12} lg={8}>
          <StatCard
            title={t('nodes.columns.version')}
            value={node?.agentVersion || t('common.none')}
            icon={<CodeOutlined />}
            color={node?.versionStatus === 'outdated' ? token.colorWarning : token.colorPrimary}
            loading={detail.isPending}
            footer={node ? t(`nodes.versionStatus.${node.versionStatus}`) : undefined}
          />
        </Col>
        <Col xs={24} sm={12} lg={8}>
          <StatCard
            title={t('nodes.columns.lastSeen')}
            value={
              node
                ? node.isLocal
                  ? t('nodes.thisServer')
                  : neverConnected(node)
                    ? t('nodes.lastSeenNever')
                    : formatRelativeTime(node.lastSeen, now, i18n.language)
                : null
            }
            icon={<ClockCircleOutlined />}
            color={token.colorInfo}
            loading={detail.isPending}
            footer={
              node && !node.isLocal && !neverConnected(node) ? formatDateTime(node.lastSeen) : undefined
            }
          />
        </Col>
        <Col xs={24} sm={12} lg={8}>
          <StatCard
            title={t('nodes.columns.queue')}
            value={node?.queue.depth ?? 0}
            icon={<InboxOutlined />}
            color={node && node.queue.timeouts > 0 ? token.colorWarning : token.colorPrimary}
            loading={detail.isPending}
            footer={
              node
                ? t('nodes.detail.queueFooter', {
                    pending: node.queue.pending,
                    dispatched: node.queue.dispatched,
                    timeouts: node.queue.timeouts,
                  })
                : undefined
            }
          />
        </Col>
        <Col xs={24} sm={12} lg={8}>
          <StatCard
            title={t('nodes.columns.running')}
            value={node?.runningTasks ?? 0}
            icon={<PlayCircleOutlined />}
            color={token.colorPrimary}
            loading={detail.isPending}
            footer={t('nodes.detail.tasksFooter', { count: nodeTasks.length })}
          />
        </Col>
        <Col xs={24} sm={12} lg={8}>
          <StatCard
            title={t('nodes.columns.labels')}
            value={
              labels.length === 0 ? (
                t('common.none')
              ) : (
                <Flex gap={4} style={{ overflow: 'hidden' }}>
                  {labels.map((label) => (
                    <Tag key={label} color="geekblue" style={{ marginInlineEnd: 0 }}>
                      {label}
                    </Tag>
                  ))}
                </Flex>
              )
            }
            icon={<TagsOutlined />}
            color={token.colorPrimary}
            loading={detail.isPending}
            footer={labels.length > 0 ? t('nodes.detail.labelsFooter') : undefined}
          />
        </Col>
      </Row>

      <Row gutter={[16, 16]} style={{ marginBottom: 16 }}>
        <Col xs={24} xl={operator ? 10 : 24}>
          <Card title={t('nodes.detail.details')} style={{ height: '100%' }}>
            {node ? (
              <Descriptions
                size="small"
                column={1}
                bordered
                items={details}
                styles={{ label: { width: 150 } }}
              />
            ) : (
              <Skeleton active />
            )}
          </Card>
        </Col>
        {operator ? (
          <Col xs={24} xl={14}>
            <Card title={t('nodes.detail.files')} style={{ height: '100%' }} data-testid="node-detail-files">
              {node && !browsable ? (
                <Alert type="info" showIcon title={t('nodes.detail.filesOffline')} />
              ) : node ? (
                <DirectoryBrowser
                  source={node.id}
                  mode="directory"
                  path={browsePath}
                  onNavigate={setBrowsePath}
                  height={300}
                />
              ) : (
                <Skeleton active />
              )}
            </Card>
          </Col>
        ) : null}
      </Row>

      <Card title={t('nodes.detail.tasks')} style={{ marginBottom: 16 }} data-testid="node-detail-tasks">
        {tasks.isError ? <LoadError error={tasks.error} onRetry={() => void tasks.refetch()} /> : null}
        <Table
          rowKey={(item) => item.task.id}
          size="middle"
          columns={taskColumns}
          dataSource={nodeTasks}
          loading={tasks.isPending}
          scroll={{ x: 'max-content' }}
          pagination={{ pageSize: 10, hideOnSinglePage: true, showSizeChanger: false }}
          locale={{
            emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('nodes.detail.noTasks')} />,
          }}
        />
      </Card>

      <Card title={t('nodes.detail.records')} data-testid="node-detail-records">
        {records.isError ? <LoadError error={records.error} onRetry={() => void records.refetch()} /> : null}
        <Table<RecordSummary>
          rowKey="id"
          size="middle"
          columns={recordColumns}
          dataSource={nodeRecords}
          loading={records.isPending}
          scroll={{ x: 'max-content' }}
          pagination={false}
          locale={{
            emptyText: (
              <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('nodes.detail.noRecords')} />
            ),
          }}
        />
      </Card>

      {node ? (
        <NodeEditDrawer
          node={editing ? node : null}
          nodes={allNodes.data ?? []}
          onClose={() => setEditing(false)}
        />
      ) : null}
      {node ? (
        <AddNodeWizard
          key={wizard.session}
          open={wizard.open}
          target={{ id: node.id, name: node.name }}
          onClose={() => setWizard((current) => ({ ...current, open: false }))}
        />
      ) : null}
      {actions.tokenModal}
    </>
  );
}
