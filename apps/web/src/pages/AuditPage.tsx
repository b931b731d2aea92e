import { useState } from 'react';
import {
  App,
  Button,
  Card,
  DatePicker,
  Empty,
  Flex,
  Form,
  Input,
  InputNumber,
  Select,
  Space,
  Table,
  Tag,
  Tooltip,
  Typography,
} from 'antd';
import type { GetProps, TableColumnsType } from 'antd';
import {
  ApiOutlined,
  DownloadOutlined,
  EditOutlined,
  HistoryOutlined,
  ReloadOutlined,
  SearchOutlined,
  UndoOutlined,
} from '@ant-design/icons';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import { apiRoutes, auditCategories } from '@backupx/contract';
import type { AuditEntry, AuditFilter } from '@backupx/contract';
import { apiCall, downloadFile } from '../api/client.ts';
import { queryKeys } from '../api/queryClient.ts';
import { useCurrentUser } from '../auth/AuthProvider.tsx';
import { isAdmin } from '../auth/roles.ts';
import { PageHeader } from '../components/PageHeader.tsx';
import { usePreferences } from '../theme/PreferencesProvider.tsx';
import { formatDateTime } from '../lib/format.ts';
import { errorText, translateDynamic } from '../lib/i18n-helpers.ts';
import { LoadError } from '../components/LoadError.tsx';

type RangeValue = GetProps<typeof DatePicker.RangePicker>['value'];

interface FilterValues {
  category?: string;
  action?: string;
  username?: string;
  keyword?: string;
  range?: RangeValue;
}

const categoryColors: Record<string, string> = {
  auth: 'blue',
  storage_target: 'geekblue',
  backup_task: 'green',
  backup_record: 'cyan',
  backup_verify: 'lime',
  replication: 'purple',
  task_template: 'magenta',
  user: 'volcano',
  api_key: 'orange',
  node: 'gold',
  install_token: 'red',
  settings: 'default',
};

const PAGE_SIZES = [20, 50, 100];
const DEFAULT_EXPORT_NAME = 'backupx-audit.csv';

/** The translated name of an audit category, or the raw value for one the console does not know. */
const categoryLabel = (t: TFunction, category: string) =>
  translateDynamic(t, `audit.categories.${category}`, category);

const text = (value: string | undefined) => {
  const trimmed = value?.trim();
  return trimmed === '' ? undefined : trimmed;
};

/** Converts the filter form into API filters (RFC 3339 dates). */
function toFilter(values: FilterValues): AuditFilter {
  const [from, to] = values.range ?? [null, null];
  return {
    category: text(values.category),
    action: text(values.action),
    username: text(values.username),
    keyword: text(values.keyword),
    dateFrom: from ? from.toISOString() : undefined,
    dateTo: to ? to.toISOString() : undefined,
  };
}

/** Audit log with server-side filters and paging, CSV export and (for admins) retention. */
export function AuditPage() {
  const { t } = useTranslation();
  const { language } = usePreferences();
  const { message } = App.useApp();
  const [form] = Form.useForm<FilterValues>();
  const [filter, setFilter] = useState<AuditFilter>({});
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(PAGE_SIZES[0] ?? 20);

  const entries = useQuery({
    queryKey: [...queryKeys.audit, filter, page, pageSize],
    queryFn: ({ signal }) =>
      apiCall(apiRoutes.audit.list, {
        query: { ...filter, limit: pageSize, offset: (page - 1) * pageSize },
        signal,
      }),
    placeholderData: keepPreviousData,
  });

  const exportCsv = useMutation({
    mutationFn: () =>
      downloadFile(apiRoutes.audit.exportCsv, { query: { ...filter, lang: language } }, DEFAULT_EXPORT_NAME),
    onSuccess: () => void message.success(t('audit.exported')),
    onError: (error) => void message.error(errorText(t, error)),
  });

  const search = (values: FilterValues) => {
    setFilter(toFilter(values));
    setPage(1);
  };

  const reset = () => {
    form.resetFields();
    setFilter({});
    setPage(1);
  };

  const columns: TableColumnsType<AuditEntry> = [
    {
      title: t('audit.columnTime'),
      dataIndex: 'createdAt',
      key: 'createdAt',
      render: (value: string) => <span style={{ whiteSpace: 'nowrap' }}>{formatDateTime(value)}</span>,
    },
    {
      title: t('audit.columnCategory'),
      dataIndex: 'category',
      key: 'category',
      render: (category: string) => (
        <Tag color={categoryColors[category] ?? 'default'} style={{ marginInlineEnd: 0 }}>
          {categoryLabel(t, category)}
        </Tag>
      ),
    },
    {
      title: t('audit.columnAction'),
      dataIndex: 'action',
      key: 'action',
      render: (action: string) => (
        <Typography.Text className="bx-mono" style={{ fontSize: 13 }}>
          {action}
        </Typography.Text>
      ),
    },
    {
      title: t('audit.columnUser'),
      dataIndex: 'username',
      key: 'username',
      render: (username: string) =>
        username ? (
          <span style={{ whiteSpace: 'nowrap' }}>
            {/* API keys act as `api_key:<id>:<name>`. */}
            {username.startsWith('api_key:') ? <ApiOutlined style={{ marginInlineEnd: 6 }} /> : null}
            {username}
          </span>
        ) : (
          <Typography.Text type="secondary">{t('audit.system')}</Typography.Text>
        ),
    },
    {
      title: t('audit.columnTarget'),
      key: 'target',
      render: (_value, entry) => {
        if (!entry.targetType && !entry.targetName && !entry.targetId) {
          return <Typography.Text type="secondary">{t('common.none')}</Typography.Text>;
        }
        return (
          <Flex vertical style={{ minWidth: 120 }}>
            <Typography.Text>{entry.targetName || entry.targetId || entry.targetType}</Typography.Text>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {[entry.targetType, entry.targetId ? `#${entry.targetId}` : ''].filter(Boolean).join(' · ')}
            </Typography.Text>
          </Flex>
        );
      },
    },
    {
      title: t('audit.columnDetail'),
      dataIndex: 'detail',
      key: 'detail',
      render: (detail: string) =>
        detail ? (
          <Typography.Paragraph
            ellipsis={{ rows: 2, tooltip: { title: detail, styles: { root: { maxWidth: 480 } } } }}
            style={{ margin: 0, minWidth: 180, maxWidth: 300 }}
          >
            {detail}
          </Typography.Paragraph>
        ) : (
          <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
        ),
    },
    {
      title: t('audit.columnClientIp'),
      dataIndex: 'clientIp',
      key: 'clientIp',
      render: (ip: string) =>
        ip ? (
          <Typography.Text className="bx-mono" style={{ fontSize: 13 }}>
            {ip}
          </Typography.Text>
        ) : (
          <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
        ),
    },
  ];

  return (
    <>
      <PageHeader
        title={t('audit.title')}
        description={t('audit.description')}
        extra={
          <>
            <Tooltip title={t('common.refresh')}>
              <Button
                icon={<ReloadOutlined />}
                aria-label={t('common.refresh')}
                loading={entries.isFetching && !entries.isPending}
                onClick={() => void entries.refetch()}
              />
            </Tooltip>
            <Button
              icon={<DownloadOutlined />}
              loading={exportCsv.isPending}
              onClick={() => exportCsv.mutate()}
              data-testid="audit-export"
            >
              {t('audit.export')}
            </Button>
          </>
        }
      />

      <RetentionBar />

      <Card>
        <Form<FilterValues>
          form={form}
          layout="inline"
          onFinish={search}
          style={{ rowGap: 12, marginBottom: 16 }}
        >
          <Form.Item name="category">
            <Select
              allowClear
              placeholder={t('audit.allCategories')}
              aria-label={t('audit.filterCategory')}
              style={{ width: 180 }}
              options={auditCategories.map((category) => ({
                value: category,
                label: categoryLabel(t, category),
              }))}
              data-testid="audit-category"
            />
          </Form.Item>
          <Form.Item name="action">
            <Input
              allowClear
              placeholder={t('audit.filterAction')}
              style={{ width: 150 }}
              data-testid="audit-action"
            />
          </Form.Item>
          <Form.Item name="username">
            <Input
              allowClear
              placeholder={t('audit.filterUsername')}
              style={{ width: 150 }}
              data-testid="audit-username"
            />
          </Form.Item>
          <Form.Item name="keyword">
            <Input
              allowClear
              prefix={<SearchOutlined />}
              placeholder={t('audit.filterKeywordPlaceholder')}
              style={{ width: 200 }}
              data-testid="audit-keyword"
            />
          </Form.Item>
          <Form.Item name="range">
            <DatePicker.RangePicker
              showTime={{ format: 'HH:mm' }}
              format="YYYY-MM-DD HH:mm"
              placeholder={[t('audit.startDate'), t('audit.endDate')]}
              aria-label={t('audit.filterDateRange')}
            />
          </Form.Item>
          <Form.Item style={{ marginInlineEnd: 0 }}>
            <Space>
              <Button type="primary" htmlType="submit" icon={<SearchOutlined />} data-testid="audit-search">
                {t('audit.search')}
              </Button>
              <Button icon={<UndoOutlined />} onClick={reset} data-testid="audit-reset">
                {t('audit.reset')}
              </Button>
            </Space>
          </Form.Item>
        </Form>
        {entries.isError ? (
          <LoadError
            error={entries.error}
            onRetry={() => void entries.refetch()}
            style={{ marginBottom: 16 }}
          />
        ) : null}
        <div data-testid="audit-table">
          <Table<AuditEntry>
            rowKey="id"
            size="small"
            columns={columns}
            dataSource={entries.data?.items ?? []}
            loading={entries.isFetching}
            scroll={{ x: 'max-content' }}
            pagination={{
              current: page,
              pageSize,
              total: entries.data?.total ?? 0,
              showSizeChanger: true,
              pageSizeOptions: PAGE_SIZES,
              showTotal: (total) => t('audit.total', { total }),
              onChange: (nextPage, nextSize) => {
                if (nextSize !== pageSize) {
                  setPageSize(nextSize);
                  setPage(1);
                } else {
                  setPage(nextPage);
                }
              },
            }}
            locale={{
              emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('audit.empty')} />,
            }}
          />
        </div>
      </Card>
    </>
  );
}

/** How long audit entries are kept; admins can change it here. */
function RetentionBar() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const user = useCurrentUser();
  const admin = isAdmin(user.role);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState<number | null>(null);
  const settings = useQuery({
    queryKey: queryKeys.settings,
    queryFn: ({ signal }) => apiCall(apiRoutes.settings.get, { signal }),
  });
  const days = settings.data ? Number(settings.data.audit_retention_days) : undefined;

  const save = useMutation({
    mutationFn: (value: number) =>
      apiCall(apiRoutes.settings.update, { body: { audit_retention_days: String(value) } }),
    onSuccess: (updated) => {
      queryClient.setQueryData(queryKeys.settings, updated);
      void message.success(t('audit.retentionSaved'));
      setEditing(false);
    },
    onError: (error) => void message.error(errorText(t, error)),
  });

  if (settings.isError || days === undefined || Number.isNaN(days)) return null;

  return (
    <Card size="small" style={{ marginBottom: 16 }} data-testid="audit-retention">
      <Flex align="center" justify="space-between" gap={12} wrap>
        <Flex align="center" gap={10} wrap>
          <HistoryOutlined />
          <Typography.Text strong>{t('audit.retentionTitle')}</Typography.Text>
          {editing ? (
            <Space.Compact>
              <InputNumber<number>
                min={0}
                max={99_999}
                precision={0}
                value={draft}
                onChange={setDraft}
                aria-label={t('audit.retentionLabel')}
                style={{ width: 120 }}
                data-testid="audit-retention-input"
                autoFocus
              />
              <Space.Addon>{t('common.daysUnit')}</Space.Addon>
            </Space.Compact>
          ) : (
            <Typography.Text>
              {days === 0 ? t('audit.retentionForever') : t('audit.retentionValue', { count: days })}
            </Typography.Text>
          )}
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {t('audit.retentionHelp')}
          </Typography.Text>
        </Flex>
        {admin ? (
          editing ? (
            <Space>
              <Button size="small" onClick={() => setEditing(false)}>
                {t('common.cancel')}
              </Button>
              <Button
                size="small"
                type="primary"
                loading={save.isPending}
                disabled={draft === null}
                onClick={() => {
                  if (draft !== null) save.mutate(draft);
                }}
                data-testid="audit-retention-save"
              >
                {t('common.save')}
              </Button>
            </Space>
          ) : (
            <Button
              size="small"
              icon={<EditOutlined />}
              onClick={() => {
                setDraft(days);
                setEditing(true);
              }}
              data-testid="audit-retention-edit"
            >
              {t('audit.retentionEdit')}
            </Button>
          )
        ) : null}
      </Flex>
    </Card>
  );
}
