/**
 * Task templates (SPEC §14.1): saved task bodies listed by name, edited as JSON in a drawer
 * (operators; viewers read them), deleted, and applied to create up to 100 tasks at once.
 */
import { useState } from 'react';
import type { HTMLAttributes } from 'react';
import { App, Button, Card, Empty, Flex, Popconfirm, Skeleton, Table, Tooltip, Typography } from 'antd';
import type { TableColumnsType } from 'antd';
import {
  DeleteOutlined,
  EditOutlined,
  EyeOutlined,
  PlusOutlined,
  ReloadOutlined,
  ThunderboltOutlined,
} from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import type { TaskTemplateSummary } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { useCurrentUser } from '../../auth/AuthProvider.tsx';
import { canWrite as roleCanWrite } from '../../auth/roles.ts';
import { LoadError } from '../../components/LoadError.tsx';
import { PageHeader } from '../../components/PageHeader.tsx';
import { formatDateTime, formatRelativeTime } from '../../lib/format.ts';
import { errorText } from '../../lib/i18n-helpers.ts';
import { TaskTypeTag } from '../records/recordUi.tsx';
import { TemplateApplyDialog } from './TemplateApplyDialog.tsx';
import { TemplateDrawer } from './TemplateDrawer.tsx';
import { templateKeys } from './templateQueries.ts';

export function TemplatesPage() {
  const { t, i18n } = useTranslation();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const user = useCurrentUser();
  const canWrite = roleCanWrite(user.role);
  // `session` changes on every opening so the drawer starts from a fresh form.
  const [drawer, setDrawer] = useState<{ open: boolean; id: number | null; session: number }>({
    open: false,
    id: null,
    session: 0,
  });
  const openDrawer = (id: number | null) =>
    setDrawer((current) => ({ open: true, id, session: current.session + 1 }));
  const [applying, setApplying] = useState<TaskTemplateSummary | null>(null);

  const templates = useQuery({
    queryKey: templateKeys.list,
    queryFn: ({ signal }) => apiCall(apiRoutes.templates.list, { signal }),
  });
  const now = templates.dataUpdatedAt;

  const remove = useMutation({
    mutationFn: (template: TaskTemplateSummary) =>
      apiCall(apiRoutes.templates.delete, { params: { id: template.id } }),
    onSuccess: (_result, template) => void message.success(t('templates.deleted', { name: template.name })),
    onError: (error) => void message.error(errorText(t, error)),
    onSettled: () => queryClient.invalidateQueries({ queryKey: templateKeys.all }),
  });

  const columns: TableColumnsType<TaskTemplateSummary> = [
    {
      title: t('templates.columns.name'),
      dataIndex: 'name',
      key: 'name',
      sorter: (a, b) => a.name.localeCompare(b.name),
      render: (name: string, template) => (
        <Typography.Link
          strong
          onClick={() => openDrawer(template.id)}
          style={{ overflowWrap: 'anywhere' }}
          data-testid={`template-name-${String(template.id)}`}
        >
          {name}
        </Typography.Link>
      ),
    },
    {
      title: t('templates.columns.type'),
      dataIndex: 'taskType',
      key: 'type',
      render: (type: string) => <TaskTypeTag type={type} />,
    },
    {
      title: t('templates.columns.description'),
      dataIndex: 'description',
      key: 'description',
      render: (description: string) =>
        description === '' ? (
          <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
        ) : (
          <Typography.Paragraph
            type="secondary"
            ellipsis={{ rows: 2, tooltip: description }}
            style={{ margin: 0, maxWidth: 360 }}
          >
            {description}
          </Typography.Paragraph>
        ),
    },
    {
      title: t('templates.columns.createdBy'),
      dataIndex: 'createdBy',
      key: 'createdBy',
      render: (createdBy: string) => (
        <Typography.Text style={{ overflowWrap: 'anywhere' }}>{createdBy}</Typography.Text>
      ),
    },
    {
      title: t('templates.columns.updated'),
      dataIndex: 'updatedAt',
      key: 'updated',
      sorter: (a, b) => Date.parse(a.updatedAt) - Date.parse(b.updatedAt),
      render: (updatedAt: string) => (
        <Tooltip title={formatDateTime(updatedAt)}>
          <span style={{ whiteSpace: 'nowrap' }}>{formatRelativeTime(updatedAt, now, i18n.language)}</span>
        </Tooltip>
      ),
    },
    {
      title: t('common.actions'),
      key: 'actions',
      fixed: 'right',
      render: (_value, template) => (
        <Flex gap={2} align="center">
          <Tooltip title={canWrite ? t('common.edit') : t('templates.view')}>
            <Button
              type="text"
              size="small"
              icon={canWrite ? <EditOutlined /> : <EyeOutlined />}
              aria-label={canWrite ? t('common.edit') : t('templates.view')}
              onClick={() => openDrawer(template.id)}
              data-testid={`template-edit-${String(template.id)}`}
            />
          </Tooltip>
          {canWrite ? (
            <>
              <Button
                type="link"
                size="small"
                icon={<ThunderboltOutlined />}
                onClick={() => setApplying(template)}
                data-testid={`template-apply-${String(template.id)}`}
              >
                {t('templates.apply')}
              </Button>
              <Popconfirm
                title={t('templates.deleteConfirmTitle', { name: template.name })}
                description={t('templates.deleteConfirmDescription')}
                okText={t('common.delete')}
                okButtonProps={{
                  danger: true,
                  'data-testid': `template-delete-confirm-${String(template.id)}`,
                }}
                cancelText={t('common.cancel')}
                onConfirm={() => remove.mutate(template)}
              >
                <Tooltip title={t('common.delete')}>
                  <Button
                    type="text"
                    size="small"
                    danger
                    icon={<DeleteOutlined />}
                    aria-label={t('common.delete')}
                    loading={remove.isPending && remove.variables.id === template.id}
                    data-testid={`template-delete-${String(template.id)}`}
                  />
                </Tooltip>
              </Popconfirm>
            </>
          ) : null}
        </Flex>
      ),
    },
  ];

  return (
    <div data-testid="templates-page" data-loaded={templates.data !== undefined}>
      <PageHeader
        title={t('templates.title')}
        description={t('templates.description')}
        extra={
          <>
            <Tooltip title={t('common.refresh')}>
              <Button
                icon={<ReloadOutlined />}
                aria-label={t('common.refresh')}
                loading={templates.isFetching && !templates.isPending}
                onClick={() => void templates.refetch()}
              />
            </Tooltip>
            {canWrite ? (
              <Button
                type="primary"
                icon={<PlusOutlined />}
                onClick={() => openDrawer(null)}
                data-testid="template-create"
              >
                {t('templates.create')}
              </Button>
            ) : null}
          </>
        }
      />

      {templates.error ? (
        <LoadError
          error={templates.error}
          onRetry={() => void templates.refetch()}
          style={{ marginBottom: 24 }}
        />
      ) : null}

      <Card styles={{ body: { padding: 0 } }}>
        <Table<TaskTemplateSummary>
          rowKey="id"
          size="middle"
          columns={columns}
          dataSource={templates.data ?? []}
          pagination={{ pageSize: 50, hideOnSinglePage: true, showSizeChanger: false }}
          scroll={{ x: 'max-content' }}
          onRow={(template) =>
            ({ 'data-testid': `template-row-${String(template.id)}` }) as HTMLAttributes<HTMLElement>
          }
          locale={{
            emptyText: templates.isPending ? (
              <Skeleton active paragraph={{ rows: 3 }} style={{ padding: 16 }} />
            ) : (
              <Empty
                image={Empty.PRESENTED_IMAGE_SIMPLE}
                description={canWrite ? t('templates.empty') : t('templates.emptyViewer')}
              >
                {canWrite ? (
                  <Button type="primary" icon={<PlusOutlined />} onClick={() => openDrawer(null)}>
                    {t('templates.create')}
                  </Button>
                ) : null}
              </Empty>
            ),
          }}
        />
      </Card>

      <TemplateDrawer
        key={drawer.session}
        open={drawer.open}
        templateId={drawer.id}
        canWrite={canWrite}
        onClose={() => setDrawer((current) => ({ ...current, open: false }))}
      />
      {applying ? <TemplateApplyDialog template={applying} onClose={() => setApplying(null)} /> : null}
    </div>
  );
}
