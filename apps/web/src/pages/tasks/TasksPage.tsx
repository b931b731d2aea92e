/**
 * Backup tasks (SPEC §15.4): list with tag filter, run now, enable/disable, delete, batch
 * actions on selected rows, a drill now (quick or deep), a detail drawer (`?taskId=` opens it, so
 * other pages can link to a task), the three-step create/edit drawer, and a dependency graph view
 * (`?view=graph`).
 */
import { useMemo, useState } from 'react';
import type { HTMLAttributes } from 'react';
import {
  App,
  Button,
  Card,
  Empty,
  Flex,
  Input,
  Popconfirm,
  Segmented,
  Select,
  Skeleton,
  Space,
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
  DeleteOutlined,
  EditOutlined,
  EyeOutlined,
  NodeIndexOutlined,
  UnorderedListOutlined,
  LockOutlined,
  PlayCircleOutlined,
  PlusOutlined,
  ReloadOutlined,
  SearchOutlined,
  StopOutlined,
  TagsOutlined,
} from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useNavigate, useSearchParams } from 'react-router';
import { apiRoutes } from '@backupx/contract';
import type { TaskSummary } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { useCurrentUser } from '../../auth/AuthProvider.tsx';
import { canWrite as roleCanWrite } from '../../auth/roles.ts';
import { PageHeader } from '../../components/PageHeader.tsx';
import { LoadError } from '../../components/LoadError.tsx';
import { formatDateTime, formatRelativeTime } from '../../lib/format.ts';
import { errorText } from '../../lib/i18n-helpers.ts';
import { TaskStatusTag, TaskTypeTag } from '../records/recordUi.tsx';
import { TaskRunsOn } from '../nodes/nodeUi.tsx';
import { DrillMenuButton } from '../verification/verificationUi.tsx';
import { useDrill } from '../verification/useDrill.tsx';
import { DependencyGraph } from './DependencyGraph.tsx';
import { TaskDetailDrawer } from './TaskDetailDrawer.tsx';
import { TaskFormDrawer } from './TaskFormDrawer.tsx';
import { TaskTransferButtons } from './TaskTransfer.tsx';
import { matchesAllTags, parseTags } from './taskForm.ts';

export const tasksListQueryKey = ['tasks', 'list'] as const;

const recordsPath = '/backup/records';

const positiveInt = (value: string | null): number | null => {
  const number = Number(value);
  return Number.isInteger(number) && number > 0 ? number : null;
};

type BatchAction = 'run' | 'enable' | 'disable' | 'delete';

export function TasksPage() {
  const { t, i18n } = useTranslation();
  const { token } = theme.useToken();
  const { message, modal, notification } = App.useApp();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const user = useCurrentUser();
  const canWrite = roleCanWrite(user.role);
  const [search, setSearch] = useState('');
  const [selectedTags, setSelectedTags] = useState<string[]>([]);
  const [selectedIds, setSelectedIds] = useState<number[]>([]);
  // The task whose details are open lives in the URL (`?taskId=`), so it can be linked to.
  const [params, setParams] = useSearchParams();
  const detailId = positiveInt(params.get('taskId'));
  const view = params.get('view') === 'graph' ? 'graph' : 'list';
  const setView = (next: 'list' | 'graph') => {
    const updated = new URLSearchParams(params);
    if (next === 'list') updated.delete('view');
    else updated.set('view', next);
    setParams(updated);
  };
  const drill = useDrill();
  const setDetailId = (id: number | null) => {
    const next = new URLSearchParams(params);
    if (id === null) next.delete('taskId');
    else next.set('taskId', String(id));
    setParams(next);
  };
  // `session` changes on every opening so the drawer starts from a fresh form.
  const [form, setForm] = useState<{ open: boolean; taskId: number | null; session: number }>({
    open: false,
    taskId: null,
    session: 0,
  });
  const openForm = (taskId: number | null) =>
    setForm((current) => ({ open: true, taskId, session: current.session + 1 }));

  const tasks = useQuery({
    queryKey: tasksListQueryKey,
    queryFn: ({ signal }) => apiCall(apiRoutes.tasks.list, { signal }),
    // A running task changes status on its own: follow it until it ends.
    refetchInterval: (query) =>
      query.state.data?.some((task) => task.lastStatus === 'running') ? 5000 : false,
  });
  const tags = useQuery({
    queryKey: ['tasks', 'tags'],
    queryFn: ({ signal }) => apiCall(apiRoutes.tasks.tags, { signal }),
  });
  const now = tasks.dataUpdatedAt;
  const list = useMemo(() => tasks.data ?? [], [tasks.data]);
  const filtered = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return list.filter(
      (task) =>
        matchesAllTags(task.tags, selectedTags) &&
        (needle === '' || task.name.toLowerCase().includes(needle)),
    );
  }, [list, selectedTags, search]);

  const invalidate = () => queryClient.invalidateQueries({ queryKey: ['tasks'] });

  const openRecord = (recordId: number) => void navigate(`${recordsPath}?recordId=${String(recordId)}`);

  const run = useMutation({
    mutationFn: (task: { id: number; name: string }) =>
      apiCall(apiRoutes.records.runTask, { params: { id: task.id } }),
    onSuccess: (record, task) => {
      const key = `run-${String(record.id)}`;
      void message.open({
        key,
        type: 'success',
        duration: 8,
        content: (
          <span data-testid="task-run-started">
            {t('tasks.runStarted', { name: task.name })}{' '}
            <a
              onClick={() => {
                message.destroy(key);
                openRecord(record.id);
              }}
              data-testid="task-run-open-record"
              data-record-id={record.id}
            >
              {t('tasks.openLiveLog')}
            </a>
          </span>
        ),
      });
      void queryClient.invalidateQueries({ queryKey: ['records'] });
    },
    onError: (error) => void message.error(errorText(t, error)),
    onSettled: () => invalidate(),
  });

  const toggle = useMutation({
    mutationFn: (task: TaskSummary) =>
      apiCall(apiRoutes.tasks.toggle, { params: { id: task.id }, body: { enabled: !task.enabled } }),
    onSuccess: (result) =>
      void message.success(
        result.enabled
          ? t('tasks.enabledDone', { name: result.name })
          : t('tasks.disabledDone', { name: result.name }),
      ),
    onError: (error) => void message.error(errorText(t, error)),
    onSettled: () => invalidate(),
  });

  const remove = useMutation({
    mutationFn: (task: TaskSummary) => apiCall(apiRoutes.tasks.delete, { params: { id: task.id } }),
    onSuccess: (_result, task) => {
      void message.success(t('tasks.deleted', { name: task.name }));
      setSelectedIds((ids) => ids.filter((id) => id !== task.id));
    },
    onError: (error) => void message.error(errorText(t, error)),
    onSettled: () => invalidate(),
  });

  const batch = useMutation({
    mutationFn: async ({ action, ids }: { action: BatchAction; ids: number[] }) => {
      switch (action) {
        case 'run':
          return apiCall(apiRoutes.records.runBatch, { body: { ids } });
        case 'enable':
        case 'disable':
          return apiCall(apiRoutes.tasks.batchToggle, { body: { ids, enabled: action === 'enable' } });
        case 'delete':
          return apiCall(apiRoutes.tasks.batchDelete, { body: { ids } });
      }
    },
    onSuccess: (results, { action }) => {
      const failed = results.filter((result) => !result.success);
      const succeeded = results.length - failed.length;
      const summary = t(`tasks.batch.${action}Done`, { count: succeeded, total: results.length });
      if (failed.length === 0) void message.success(summary);
      else
        notification.warning({
          title: summary,
          description: (
            <ul style={{ margin: 0, paddingInlineStart: 18 }} data-testid="task-batch-failures">
              {failed.map((result) => (
                <li key={result.id}>
                  <Typography.Text strong>{result.name ?? `#${String(result.id)}`}</Typography.Text>
                  {result.error ? `: ${result.error}` : ''}
                </li>
              ))}
            </ul>
          ),
          duration: 10,
        });
      if (action === 'delete') setSelectedIds([]);
      if (action === 'run') void queryClient.invalidateQueries({ queryKey: ['records'] });
    },
    onError: (error) => void message.error(errorText(t, error)),
    onSettled: () => invalidate(),
  });

  const startBatch = (action: BatchAction) => {
    const ids = selectedIds;
    if (ids.length === 0) return;
    if (action !== 'delete') {
      batch.mutate({ action, ids });
      return;
    }
    void modal.confirm({
      title: t('tasks.batch.deleteConfirmTitle', { count: ids.length }),
      content: t('tasks.deleteConfirmDescription'),
      okText: t('common.delete'),
      okButtonProps: { danger: true, 'data-testid': 'task-batch-delete-confirm' },
      cancelText: t('common.cancel'),
      onOk: () => batch.mutateAsync({ action, ids }).catch(() => undefined),
    });
  };

  const columns: TableColumnsType<TaskSummary> = [
    {
      title: t('tasks.columns.name'),
      key: 'name',
      fixed: 'left',
      render: (_value, task) => (
        <Flex vertical gap={4} style={{ minWidth: 160, maxWidth: 240 }}>
          <Typography.Link
            strong
            onClick={() => setDetailId(task.id)}
            data-testid={`task-name-${String(task.id)}`}
          >
            {task.name}
          </Typography.Link>
          <Flex gap={4} wrap align="center">
            <TaskTypeTag type={task.type} />
            <TaskRunsOn task={task} testId={`task-runs-on-${String(task.id)}`} />
          </Flex>
        </Flex>
      ),
    },
    {
      title: t('tasks.columns.schedule'),
      key: 'schedule',
      render: (_value, task) =>
        task.cronExpr === '' ? (
          <Tag style={{ marginInlineEnd: 0 }}>{t('tasks.manual')}</Tag>
        ) : (
          <Typography.Text code className="bx-mono" style={{ whiteSpace: 'nowrap' }}>
            {task.cronExpr}
          </Typography.Text>
        ),
    },
    {
      title: t('tasks.columns.targets'),
      key: 'targets',
      render: (_value, task) => (
        <Flex gap={4} wrap style={{ maxWidth: 200 }}>
          {task.storageTargetNames.map((name, index) => (
            <Tag
              key={`${name}-${String(index)}`}
              color={index === 0 ? 'blue' : 'default'}
              style={{ marginInlineEnd: 0 }}
            >
              {name}
            </Tag>
          ))}
        </Flex>
      ),
    },
    {
      title: t('tasks.columns.policy'),
      key: 'policy',
      render: (_value, task) => {
        const gfs = [task.keepDaily, task.keepWeekly, task.keepMonthly, task.keepYearly];
        return (
          <Flex vertical gap={4}>
            <Typography.Text style={{ fontSize: 13, whiteSpace: 'nowrap' }}>
              {gfs.some((value) => value > 0)
                ? t('tasks.policyGfs', { daily: gfs[0], weekly: gfs[1], monthly: gfs[2], yearly: gfs[3] })
                : t('tasks.policySimple', {
                    days: task.retentionDays === 0 ? '∞' : String(task.retentionDays),
                    count: task.maxBackups === 0 ? '∞' : String(task.maxBackups),
                  })}
            </Typography.Text>
            <Flex gap={4} wrap>
              <Tag variant="filled" style={{ marginInlineEnd: 0 }}>
                {task.compression === 'none' ? t('tasks.form.compressionNone') : task.compression}
              </Tag>
              {task.encrypt ? (
                <Tag
                  color="purple"
                  icon={<LockOutlined />}
                  style={{ marginInlineEnd: 0 }}
                  data-testid={`task-encrypted-${String(task.id)}`}
                >
                  {t('tasks.encrypted')}
                </Tag>
              ) : null}
              {task.backupMode === 'full' ? null : (
                <Tag color="cyan" style={{ marginInlineEnd: 0 }}>
                  {t(`tasks.mode.${task.backupMode}`)}
                </Tag>
              )}
            </Flex>
          </Flex>
        );
      },
    },
    {
      title: t('tasks.columns.tags'),
      key: 'tags',
      render: (_value, task) => {
        const own = parseTags(task.tags);
        return own.length === 0 ? (
          <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
        ) : (
          <Flex gap={4} wrap style={{ maxWidth: 160 }}>
            {own.map((tag) => (
              <Tag
                key={tag}
                color={selectedTags.includes(tag) ? 'geekblue' : undefined}
                style={{ marginInlineEnd: 0, cursor: 'pointer' }}
                onClick={() =>
                  setSelectedTags((current) => (current.includes(tag) ? current : [...current, tag]))
                }
              >
                {tag}
              </Tag>
            ))}
          </Flex>
        );
      },
    },
    {
      title: t('tasks.columns.lastRun'),
      key: 'lastRun',
      render: (_value, task) => (
        <Flex vertical gap={4} align="flex-start">
          <TaskStatusTag status={task.lastStatus} testId={`task-status-${String(task.id)}`} />
          {task.lastRunAt ? (
            <Tooltip title={formatDateTime(task.lastRunAt)}>
              <Typography.Text type="secondary" style={{ fontSize: 12, whiteSpace: 'nowrap' }}>
                {formatRelativeTime(task.lastRunAt, now, i18n.language)}
              </Typography.Text>
            </Tooltip>
          ) : null}
        </Flex>
      ),
    },
    {
      title: t('common.actions'),
      key: 'actions',
      fixed: 'right',
      render: (_value, task) => (
        <Flex gap={2} align="center">
          <Tooltip title={t('tasks.details')}>
            <Button
              type="text"
              size="small"
              icon={<EyeOutlined />}
              aria-label={t('tasks.details')}
              onClick={() => setDetailId(task.id)}
              data-testid={`task-details-${String(task.id)}`}
            />
          </Tooltip>
          {canWrite ? (
            <>
              <Tooltip title={t('common.edit')}>
                <Button
                  type="text"
                  size="small"
                  icon={<EditOutlined />}
                  aria-label={t('common.edit')}
                  onClick={() => openForm(task.id)}
                  data-testid={`task-edit-${String(task.id)}`}
                />
              </Tooltip>
              <Tooltip title={task.lastStatus === 'running' ? t('tasks.alreadyRunning') : t('tasks.runNow')}>
                <Button
                  type="text"
                  size="small"
                  icon={<PlayCircleOutlined style={{ color: token.colorPrimary }} />}
                  aria-label={t('tasks.runNow')}
                  disabled={task.lastStatus === 'running'}
                  loading={run.isPending && run.variables.id === task.id}
                  onClick={() => run.mutate(task)}
                  data-testid={`task-run-${String(task.id)}`}
                />
              </Tooltip>
              <DrillMenuButton
                variant="icon"
                testId={`task-drill-${String(task.id)}`}
                loading={drill.task.isPending && drill.task.variables.taskId === task.id}
                onDrill={(mode) => drill.task.mutate({ taskId: task.id, mode })}
              />
              <Tooltip title={task.enabled ? t('tasks.disable') : t('tasks.enable')}>
                <Switch
                  size="small"
                  checked={task.enabled}
                  loading={toggle.isPending && toggle.variables.id === task.id}
                  onChange={() => toggle.mutate(task)}
                  aria-label={task.enabled ? t('tasks.disable') : t('tasks.enable')}
                  data-testid={`task-toggle-${String(task.id)}`}
                  style={{ marginInline: 6 }}
                />
              </Tooltip>
              <Popconfirm
                title={t('tasks.deleteConfirmTitle', { name: task.name })}
                description={<div style={{ maxWidth: 320 }}>{t('tasks.deleteConfirmDescription')}</div>}
                okText={t('common.delete')}
                okButtonProps={{ danger: true, 'data-testid': `task-delete-confirm-${String(task.id)}` }}
                cancelText={t('common.cancel')}
                onConfirm={() => {
                  remove.mutate(task);
                }}
              >
                <Tooltip title={t('common.delete')}>
                  <Button
                    type="text"
                    size="small"
                    danger
                    icon={<DeleteOutlined />}
                    aria-label={t('common.delete')}
                    data-testid={`task-delete-${String(task.id)}`}
                  />
                </Tooltip>
              </Popconfirm>
            </>
          ) : null}
        </Flex>
      ),
    },
  ];

  const viewSwitch = (
    <Segmented<'list' | 'graph'>
      value={view}
      onChange={setView}
      options={[
        { value: 'list', icon: <UnorderedListOutlined />, label: t('depGraph.list') },
        {
          value: 'graph',
          icon: <NodeIndexOutlined />,
          label: <span data-testid="tasks-view-graph">{t('depGraph.graph')}</span>,
        },
      ]}
      data-testid="tasks-view"
    />
  );

  const emptyText =
    list.length === 0 ? (
      <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('tasks.empty')}>
        {canWrite ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => openForm(null)}>
            {t('tasks.create')}
          </Button>
        ) : null}
      </Empty>
    ) : (
      <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('tasks.emptyFiltered')} />
    );

  return (
    <>
      <PageHeader
        title={t('tasks.title')}
        description={t('tasks.description')}
        extra={
          <>
            <Tooltip title={t('common.refresh')}>
              <Button
                icon={<ReloadOutlined />}
                aria-label={t('common.refresh')}
                loading={tasks.isFetching && !tasks.isPending}
                onClick={() => void invalidate()}
                data-testid="tasks-refresh"
              />
            </Tooltip>
            <TaskTransferButtons selectedIds={selectedIds} canWrite={canWrite} />
            {canWrite ? (
              <Button
                type="primary"
                icon={<PlusOutlined />}
                onClick={() => openForm(null)}
                data-testid="task-create"
              >
                {t('tasks.create')}
              </Button>
            ) : null}
          </>
        }
      />
      <Card>
        {view === 'graph' ? (
          <>
            <Flex gap={12} wrap align="center" style={{ marginBottom: 16 }}>
              {viewSwitch}
              <Typography.Text type="secondary" data-testid="tasks-count">
                {t('tasks.count', { shown: list.length, total: list.length })}
              </Typography.Text>
            </Flex>
            {tasks.isError ? (
              <LoadError
                error={tasks.error}
                onRetry={() => void tasks.refetch()}
                style={{ marginBottom: 16 }}
              />
            ) : null}
            {tasks.isPending ? (
              <Skeleton active paragraph={{ rows: 6 }} />
            ) : (
              <DependencyGraph tasks={list} onOpenTask={(id) => setDetailId(id)} />
            )}
          </>
        ) : (
          <>
            <Flex gap={12} wrap align="center" style={{ marginBottom: 16 }}>
              {viewSwitch}
              <Input
                allowClear
                prefix={<SearchOutlined />}
                placeholder={t('tasks.searchPlaceholder')}
                value={search}
                onChange={(event) => setSearch(event.target.value)}
                style={{ width: 240, maxWidth: '100%' }}
                data-testid="tasks-search"
              />
              <Select
                mode="multiple"
                allowClear
                value={selectedTags}
                onChange={setSelectedTags}
                placeholder={
                  <span>
                    <TagsOutlined /> {t('tasks.tagFilter')}
                  </span>
                }
                options={(tags.data ?? []).map((tag) => ({ value: tag, label: tag }))}
                style={{ minWidth: 240, maxWidth: '100%' }}
                maxTagCount="responsive"
                data-testid="tasks-tag-filter"
              />
              <Typography.Text type="secondary" data-testid="tasks-count">
                {t('tasks.count', { shown: filtered.length, total: list.length })}
              </Typography.Text>
              {canWrite && selectedIds.length > 0 ? (
                <Flex
                  gap={8}
                  wrap
                  align="center"
                  style={{ marginInlineStart: 'auto' }}
                  data-testid="tasks-batch-bar"
                >
                  <Typography.Text strong>
                    {t('tasks.batch.selected', { count: selectedIds.length })}
                  </Typography.Text>
                  <Space.Compact>
                    <Button
                      icon={<PlayCircleOutlined />}
                      loading={batch.isPending && batch.variables.action === 'run'}
                      onClick={() => startBatch('run')}
                      data-testid="tasks-batch-run"
                    >
                      {t('tasks.batch.run')}
                    </Button>
                    <Button
                      icon={<CheckCircleOutlined />}
                      loading={batch.isPending && batch.variables.action === 'enable'}
                      onClick={() => startBatch('enable')}
                      data-testid="tasks-batch-enable"
                    >
                      {t('tasks.enable')}
                    </Button>
                    <Button
                      icon={<StopOutlined />}
                      loading={batch.isPending && batch.variables.action === 'disable'}
                      onClick={() => startBatch('disable')}
                      data-testid="tasks-batch-disable"
                    >
                      {t('tasks.disable')}
                    </Button>
                    <Button
                      danger
                      icon={<DeleteOutlined />}
                      loading={batch.isPending && batch.variables.action === 'delete'}
                      onClick={() => startBatch('delete')}
                      data-testid="tasks-batch-delete"
                    >
                      {t('common.delete')}
                    </Button>
                  </Space.Compact>
                  <Button type="link" onClick={() => setSelectedIds([])}>
                    {t('tasks.batch.clear')}
                  </Button>
                </Flex>
              ) : null}
            </Flex>
            {tasks.isError ? (
              <LoadError
                error={tasks.error}
                onRetry={() => void tasks.refetch()}
                style={{ marginBottom: 16 }}
              />
            ) : null}
            <div data-testid="tasks-table">
              <Table<TaskSummary>
                rowKey="id"
                size="middle"
                columns={columns}
                dataSource={filtered}
                loading={tasks.isPending}
                scroll={{ x: 'max-content' }}
                onRow={(task) =>
                  ({ 'data-testid': `task-row-${String(task.id)}` }) as HTMLAttributes<HTMLElement>
                }
                rowClassName={(task) => (task.enabled ? '' : 'bx-table-row-muted')}
                rowSelection={
                  canWrite
                    ? {
                        selectedRowKeys: selectedIds,
                        onChange: (keys) => setSelectedIds(keys.map(Number)),
                        preserveSelectedRowKeys: false,
                      }
                    : undefined
                }
                pagination={{ pageSize: 20, hideOnSinglePage: true, showSizeChanger: false }}
                locale={{ emptyText }}
              />
            </div>
          </>
        )}
      </Card>

      <TaskDetailDrawer
        taskId={detailId}
        canWrite={canWrite}
        running={run.isPending}
        onClose={() => setDetailId(null)}
        onEdit={(id) => {
          setDetailId(null);
          openForm(id);
        }}
        onRun={(task) => run.mutate(task)}
        onShowRecords={(id) => void navigate(`${recordsPath}?taskId=${String(id)}`)}
      />
      <TaskFormDrawer
        key={form.session}
        open={form.open}
        taskId={form.taskId}
        onClose={() => setForm((current) => ({ ...current, open: false }))}
        onSaved={() => setForm((current) => ({ ...current, open: false }))}
      />
    </>
  );
}
