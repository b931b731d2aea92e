/** Read-only view of one task: schedule, storage, policy, source and alerting. */
import { Button, Descriptions, Drawer, Flex, Skeleton, Space, Tag, Typography } from 'antd';
import type { DescriptionsProps } from 'antd';
import { EditOutlined, HistoryOutlined, LockOutlined, PlayCircleOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import type { TaskDetail } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { formatDateTime, formatRelativeTime } from '../../lib/format.ts';
import { LoadError } from '../../components/LoadError.tsx';
import { TaskStatusTag, TaskTypeTag } from '../records/recordUi.tsx';
import { TaskRunsOn } from '../nodes/nodeUi.tsx';
import { isServerDatabase, parseTags } from './taskForm.ts';

interface TaskDetailDrawerProps {
  taskId: number | null;
  canWrite: boolean;
  running: boolean;
  onClose: () => void;
  onEdit: (id: number) => void;
  onRun: (task: TaskDetail) => void;
  onShowRecords: (id: number) => void;
}

const mono = (value: string) => (
  <Typography.Text className="bx-mono bx-break" style={{ fontSize: 13 }}>
    {value}
  </Typography.Text>
);

export function TaskDetailDrawer({
  taskId,
  canWrite,
  running,
  onClose,
  onEdit,
  onRun,
  onShowRecords,
}: TaskDetailDrawerProps) {
  const { t, i18n } = useTranslation();
  const detail = useQuery({
    queryKey: ['tasks', 'detail', taskId],
    queryFn: ({ signal }) => apiCall(apiRoutes.tasks.get, { params: { id: taskId ?? 0 }, signal }),
    enabled: taskId !== null,
  });
  const task = detail.data;
  const preview = useQuery({
    queryKey: ['tasks', 'cron-preview', task?.cronExpr ?? ''],
    queryFn: ({ signal }) =>
      apiCall(apiRoutes.tasks.cronPreview, { body: { cronExpr: task?.cronExpr ?? '' }, signal }),
    enabled: task !== undefined && task.cronExpr !== '',
    staleTime: 30_000,
  });
  const now = detail.dataUpdatedAt;
  const none = <Typography.Text type="secondary">{t('common.none')}</Typography.Text>;

  const sections = (item: TaskDetail) => {
    const nextRun = preview.data?.valid ? preview.data.nextRuns[0] : undefined;
    const gfs = [item.keepDaily, item.keepWeekly, item.keepMonthly, item.keepYearly];
    const overview: DescriptionsProps['items'] = [
      { key: 'type', label: t('tasks.detail.type'), children: <TaskTypeTag type={item.type} /> },
      { key: 'node', label: t('tasks.detail.sourceServer'), children: <TaskRunsOn task={item} full /> },
      {
        key: 'schedule',
        label: t('tasks.detail.schedule'),
        span: 2,
        children:
          item.cronExpr === '' ? (
            <Tag style={{ marginInlineEnd: 0 }}>{t('tasks.manual')}</Tag>
          ) : (
            <Flex vertical>
              <Typography.Text code className="bx-mono">
                {item.cronExpr}
              </Typography.Text>
              {nextRun ? (
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {t('tasks.detail.nextRun', {
                    time: formatDateTime(nextRun, preview.data?.timeZone),
                    zone: preview.data?.timeZone ?? '',
                  })}
                </Typography.Text>
              ) : null}
            </Flex>
          ),
      },
      {
        key: 'enabled',
        label: t('common.status'),
        children: item.enabled ? (
          <Tag color="green">{t('common.enabled')}</Tag>
        ) : (
          <Tag>{t('common.disabled')}</Tag>
        ),
      },
      {
        key: 'tags',
        label: t('tasks.detail.tags'),
        children:
          item.tags === '' ? (
            none
          ) : (
            <Flex gap={4} wrap>
              {parseTags(item.tags).map((tag) => (
                <Tag key={tag} style={{ marginInlineEnd: 0 }}>
                  {tag}
                </Tag>
              ))}
            </Flex>
          ),
      },
      {
        key: 'last',
        label: t('tasks.detail.lastRun'),
        span: 2,
        children: (
          <Space size={8} wrap>
            <TaskStatusTag status={item.lastStatus} />
            {item.lastRunAt ? (
              <Typography.Text type="secondary">
                {formatDateTime(item.lastRunAt)} · {formatRelativeTime(item.lastRunAt, now, i18n.language)}
              </Typography.Text>
            ) : (
              <Typography.Text type="secondary">{t('common.never')}</Typography.Text>
            )}
          </Space>
        ),
      },
    ];
    const storage: DescriptionsProps['items'] = [
      {
        key: 'targets',
        label: t('tasks.detail.targets'),
        span: 2,
        children: (
          <Flex gap={4} wrap>
            {item.storageTargetNames.map((name, index) => (
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
        key: 'compression',
        label: t('tasks.detail.compression'),
        children: item.compression === 'none' ? t('tasks.form.compressionNone') : item.compression,
      },
      {
        key: 'encryption',
        label: t('tasks.detail.encryption'),
        children: item.encrypt ? (
          <Tag color="purple" icon={<LockOutlined />}>
            {t('tasks.encrypted')}
          </Tag>
        ) : (
          t('tasks.detail.notEncrypted')
        ),
      },
      {
        key: 'mode',
        label: t('tasks.detail.mode'),
        children:
          item.backupMode === 'differential'
            ? t('tasks.detail.modeDifferential', { days: item.diffFullIntervalDays })
            : t(`tasks.mode.${item.backupMode}`),
      },
      {
        key: 'retention',
        label: t('tasks.detail.retention'),
        children: gfs.some((value) => value > 0)
          ? t('tasks.detail.gfs', { daily: gfs[0], weekly: gfs[1], monthly: gfs[2], yearly: gfs[3] })
          : t('tasks.detail.retentionSimple', {
              days: item.retentionDays === 0 ? '∞' : String(item.retentionDays),
              count: item.maxBackups === 0 ? '∞' : String(item.maxBackups),
            }),
      },
    ];
    const source: DescriptionsProps['items'] =
      item.type === 'file'
        ? [
            {
              key: 'paths',
              label: t('tasks.detail.sourcePaths'),
              span: 2,
              children: (
                <Flex vertical>
                  {item.sourcePaths.map((path) => (
                    <span key={path}>{mono(path)}</span>
                  ))}
                </Flex>
              ),
            },
            {
              key: 'excludes',
              label: t('tasks.detail.excludes'),
              span: 2,
              children:
                item.excludePatterns.length === 0 ? (
                  none
                ) : (
                  <Flex gap={4} wrap>
                    {item.excludePatterns.map((pattern) => (
                      <Tag key={pattern} className="bx-mono" style={{ marginInlineEnd: 0 }}>
                        {pattern}
                      </Tag>
                    ))}
                  </Flex>
                ),
            },
          ]
        : item.type === 'sqlite'
          ? [{ key: 'dbPath', label: t('tasks.detail.dbPath'), span: 2, children: mono(item.dbPath) }]
          : isServerDatabase(item.type)
            ? [
                {
                  key: 'host',
                  label: t('tasks.detail.dbServer'),
                  children: mono(`${item.dbHost}:${String(item.dbPort)}`),
                },
                { key: 'user', label: t('tasks.detail.dbUser'), children: item.dbUser },
                { key: 'names', label: t('tasks.detail.dbNames'), children: mono(item.dbName) },
                {
                  key: 'password',
                  label: t('tasks.detail.dbPassword'),
                  children: item.maskedFields.includes('dbPassword')
                    ? t('tasks.detail.passwordSet')
                    : t('tasks.detail.passwordNotSet'),
                },
                ...(item.type === 'saphana'
                  ? [
                      {
                        key: 'hana',
                        label: t('tasks.form.hanaTitle'),
                        span: 2,
                        children: mono(
                          Object.entries(item.extraConfig)
                            .map(
                              ([key, value]) =>
                                `${key}=${typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value)}`,
                            )
                            .join('  '),
                        ),
                      },
                    ]
                  : []),
              ]
            : [];
    const alerts: DescriptionsProps['items'] = [
      {
        key: 'sla',
        label: t('tasks.detail.sla'),
        children:
          item.slaHoursRpo > 0
            ? t('common.hours', { count: item.slaHoursRpo })
            : t('tasks.detail.notMonitored'),
      },
      { key: 'alert', label: t('tasks.detail.alertFails'), children: String(item.alertOnConsecutiveFails) },
      {
        key: 'windows',
        label: t('tasks.detail.windows'),
        span: 2,
        children: item.maintenanceWindows === '' ? t('tasks.detail.anyTime') : mono(item.maintenanceWindows),
      },
      {
        key: 'verify',
        label: t('tasks.detail.verify'),
        span: 2,
        children: item.verifyEnabled
          ? t('tasks.detail.verifyOn', {
              cron: item.verifyCronExpr,
              mode: t(`tasks.form.verify${item.verifyMode === 'deep' ? 'Deep' : 'Quick'}`),
            })
          : t('tasks.detail.verifyOff'),
      },
      { key: 'created', label: t('tasks.detail.created'), children: formatDateTime(item.createdAt) },
      { key: 'updated', label: t('tasks.detail.updated'), children: formatDateTime(item.updatedAt) },
    ];
    const block = (title: string, items: DescriptionsProps['items']) => (
      <Descriptions
        title={title}
        size="small"
        bordered
        column={{ xs: 1, sm: 2 }}
        items={items}
        style={{ marginBottom: 24 }}
        styles={{ label: { width: 130, whiteSpace: 'nowrap' }, content: { minWidth: 150 } }}
      />
    );
    return (
      <>
        {block(t('tasks.detail.overview'), overview)}
        {block(t('tasks.detail.storage'), storage)}
        {block(t('tasks.detail.source'), source)}
        {block(t('tasks.detail.alerts'), alerts)}
      </>
    );
  };

  return (
    <Drawer
      open={taskId !== null}
      onClose={onClose}
      size={760}
      title={task ? task.name : t('tasks.detail.title')}
      data-testid="task-detail-drawer"
      extra={
        task ? (
          <Space>
            <Button
              icon={<HistoryOutlined />}
              onClick={() => onShowRecords(task.id)}
              data-testid="task-detail-records"
            >
              {t('tasks.viewRecords')}
            </Button>
            {canWrite ? (
              <>
                <Button
                  icon={<EditOutlined />}
                  onClick={() => onEdit(task.id)}
                  data-testid="task-detail-edit"
                >
                  {t('common.edit')}
                </Button>
                <Button
                  type="primary"
                  icon={<PlayCircleOutlined />}
                  loading={running}
                  onClick={() => onRun(task)}
                  data-testid="task-detail-run"
                >
                  {t('tasks.runNow')}
                </Button>
              </>
            ) : null}
          </Space>
        ) : null
      }
    >
      {detail.isError ? <LoadError error={detail.error} onRetry={() => void detail.refetch()} /> : null}
      {detail.isPending && taskId !== null ? <Skeleton active paragraph={{ rows: 10 }} /> : null}
      {task ? sections(task) : null}
    </Drawer>
  );
}
