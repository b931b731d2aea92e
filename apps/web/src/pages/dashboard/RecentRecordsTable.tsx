import type { HTMLAttributes } from 'react';
import { Empty, Flex, Table, Tag, Tooltip, Typography } from 'antd';
import type { TableColumnsType } from 'antd';
import {
  CheckCircleOutlined,
  CloseCircleOutlined,
  LockOutlined,
  MinusCircleOutlined,
  SyncOutlined,
} from '@ant-design/icons';
import { useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { DashboardRecord } from '@backupx/contract';
import { formatBytes, formatDateTime, formatDuration, formatRelativeTime } from '../../lib/format.ts';
import { translateDynamic } from '../../lib/i18n-helpers.ts';
import { useDurationUnits } from '../../lib/useFormatters.ts';
import { recordDetailsUrl } from './dashboardQueries.ts';

/** A record status as a coloured tag (running spins). */
export function RecordStatusTag({ status, testId }: { status: string; testId?: string }) {
  const { t } = useTranslation();
  const label = translateDynamic(t, `overview.recordStatus.${status}`, status);
  switch (status) {
    case 'success':
      return (
        <Tag color="success" icon={<CheckCircleOutlined />} data-testid={testId} data-status={status}>
          {label}
        </Tag>
      );
    case 'failed':
      return (
        <Tag color="error" icon={<CloseCircleOutlined />} data-testid={testId} data-status={status}>
          {label}
        </Tag>
      );
    case 'running':
      return (
        <Tag color="processing" icon={<SyncOutlined spin />} data-testid={testId} data-status={status}>
          {label}
        </Tag>
      );
    default:
      return (
        <Tag icon={<MinusCircleOutlined />} data-testid={testId} data-status={status}>
          {label}
        </Tag>
      );
  }
}

/** The newest records; a row opens the record's details on the records page. */
export function RecentRecordsTable({
  records,
  loading,
  now,
}: {
  records: readonly DashboardRecord[];
  loading: boolean;
  now: number;
}) {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const units = useDurationUnits();

  const columns: TableColumnsType<DashboardRecord> = [
    {
      title: t('overview.columnTask'),
      key: 'task',
      render: (_value, record) => (
        <Flex vertical style={{ minWidth: 0 }}>
          <Typography.Text strong ellipsis style={{ maxWidth: 220 }}>
            {record.taskName || t('overview.deletedTask', { id: record.taskId })}
          </Typography.Text>
          {record.storageTargetName ? (
            <Typography.Text type="secondary" style={{ fontSize: 12 }} ellipsis>
              {record.storageTargetName}
            </Typography.Text>
          ) : null}
        </Flex>
      ),
    },
    {
      title: t('common.status'),
      dataIndex: 'status',
      key: 'status',
      render: (status: string, record) => (
        <Flex gap={4} align="center">
          <Tooltip title={record.errorMessage || undefined}>
            <span>
              <RecordStatusTag status={status} testId={`dashboard-record-status-${String(record.id)}`} />
            </span>
          </Tooltip>
          {record.locked ? (
            <Tooltip title={t('overview.locked')}>
              <LockOutlined />
            </Tooltip>
          ) : null}
        </Flex>
      ),
    },
    {
      title: t('overview.columnFile'),
      key: 'file',
      render: (_value, record) =>
        record.fileName ? (
          <Flex vertical style={{ minWidth: 0 }}>
            <Typography.Text ellipsis style={{ maxWidth: 260 }} className="bx-mono" title={record.fileName}>
              {record.fileName}
            </Typography.Text>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {formatBytes(record.fileSize)}
            </Typography.Text>
          </Flex>
        ) : (
          <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
        ),
    },
    {
      title: t('overview.columnStarted'),
      dataIndex: 'startedAt',
      key: 'startedAt',
      render: (value: string) => (
        <Tooltip title={formatDateTime(value)}>
          <span style={{ whiteSpace: 'nowrap' }}>{formatRelativeTime(value, now, i18n.language)}</span>
        </Tooltip>
      ),
    },
    {
      title: t('overview.columnDuration'),
      dataIndex: 'durationSeconds',
      key: 'duration',
      render: (seconds: number, record) =>
        record.status === 'running' ? (
          <Typography.Text type="secondary">…</Typography.Text>
        ) : (
          <span style={{ whiteSpace: 'nowrap' }}>{formatDuration(seconds, units)}</span>
        ),
    },
  ];

  return (
    <Table<DashboardRecord>
      rowKey="id"
      size="middle"
      columns={columns}
      dataSource={records}
      loading={loading}
      pagination={false}
      scroll={{ x: 'max-content' }}
      onRow={(record) =>
        ({
          'data-testid': `dashboard-record-${String(record.id)}`,
          onClick: () => void navigate(recordDetailsUrl(record.id)),
          style: { cursor: 'pointer' },
          tabIndex: 0,
          onKeyDown: (event) => {
            if (event.key === 'Enter') void navigate(recordDetailsUrl(record.id));
          },
        }) as HTMLAttributes<HTMLElement>
      }
      locale={{
        emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('overview.noRecords')} />,
      }}
    />
  );
}
