/**
 * One backup record: descriptions, the deduplication figures of a repository run, the 3-2-1
 * posture with a drill per copy, per-target upload results, the live log (SSE while running) and
 * the actions download, contents, restore, verify, replicate to another target, lock/unlock and
 * delete.
 */
import { useState } from 'react';
import {
  Alert,
  Button,
  Descriptions,
  Drawer,
  Dropdown,
  Flex,
  Popconfirm,
  Skeleton,
  Space,
  Table,
  Tooltip,
  Typography,
} from 'antd';
import type { DescriptionsProps, TableColumnsType } from 'antd';
import {
  CopyOutlined,
  DeleteOutlined,
  DownOutlined,
  DownloadOutlined,
  ExperimentOutlined,
  SafetyCertificateOutlined,
  FolderOpenOutlined,
  LockOutlined,
  RollbackOutlined,
  UnlockOutlined,
} from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import type { RecordDetail, RecordSummary, UploadResult, VerifyMode } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { formatBytes, formatDateTime, formatDuration } from '../../lib/format.ts';
import { useDurationUnits } from '../../lib/useFormatters.ts';
import { LoadError } from '../../components/LoadError.tsx';
import { useNodeName } from '../nodes/nodeUi.tsx';
import { useDrill } from '../verification/useDrill.tsx';
import { LiveLog } from './LiveLog.tsx';
import { PostureSection } from './PostureSection.tsx';
import { ReplicateModal } from './ReplicateModal.tsx';
import { RepositoryStatsSection } from './RepositoryStatsSection.tsx';
import { BackupKindTag, LockedTag, RunStatusTag, TaskTypeTag } from './recordUi.tsx';
import type { useRecordActions } from './useRecordActions.tsx';

interface RecordDetailDrawerProps {
  recordId: number | null;
  canWrite: boolean;
  actions: ReturnType<typeof useRecordActions>;
  onClose: () => void;
  onOpenRecord: (id: number) => void;
  onContents: (record: RecordSummary) => void;
  onRestore: (record: RecordSummary) => void;
}

const mono = (value: string) =>
  value === '' ? null : (
    <Typography.Text className="bx-mono bx-break" style={{ fontSize: 13 }} copyable={{ text: value }}>
      {value}
    </Typography.Text>
  );

export function RecordDetailDrawer({
  recordId,
  canWrite,
  actions,
  onClose,
  onOpenRecord,
  onContents,
  onRestore,
}: RecordDetailDrawerProps) {
  const { t } = useTranslation();
  const units = useDurationUnits();
  const nodeName = useNodeName();
  const queryClient = useQueryClient();
  const detail = useQuery({
    queryKey: ['records', 'detail', recordId],
    queryFn: ({ signal }) => apiCall(apiRoutes.records.get, { params: { id: recordId ?? 0 }, signal }),
    enabled: recordId !== null,
  });
  const record = detail.data;
  const [replicating, setReplicating] = useState(false);
  const drill = useDrill();
  const startDrill = (id: number, mode: VerifyMode, storageTargetId?: number) =>
    drill.record.mutate(
      storageTargetId === undefined ? { recordId: id, mode } : { recordId: id, mode, storageTargetId },
    );
  const pendingDrill = drill.record.isPending
    ? { storageTargetId: drill.record.variables.storageTargetId, mode: drill.record.variables.mode }
    : null;
  const none = <Typography.Text type="secondary">{t('common.none')}</Typography.Text>;

  const onCompleted = () => {
    void queryClient.invalidateQueries({ queryKey: ['records'] });
    void queryClient.invalidateQueries({ queryKey: ['tasks'] });
  };

  const uploadColumns: TableColumnsType<UploadResult> = [
    { title: t('records.detail.target'), dataIndex: 'storageTargetName', key: 'name' },
    {
      title: t('common.status'),
      key: 'status',
      render: (_value, result) => (
        <RunStatusTag status={result.status} testId={`upload-result-${String(result.storageTargetId)}`} />
      ),
    },
    {
      title: t('records.detail.path'),
      key: 'path',
      render: (_value, result) =>
        result.storagePath ? (
          <Typography.Text
            className="bx-mono"
            ellipsis={{ tooltip: result.storagePath }}
            style={{ fontSize: 12, maxWidth: 300 }}
          >
            {result.storagePath}
          </Typography.Text>
        ) : (
          none
        ),
    },
    {
      title: t('records.columns.size'),
      key: 'size',
      render: (_value, result) => (result.fileSize !== undefined ? formatBytes(result.fileSize) : none),
    },
    {
      title: t('records.columns.error'),
      key: 'error',
      render: (_value, result) =>
        result.error ? (
          <Typography.Text type="danger" style={{ fontSize: 12 }}>
            {result.error}
          </Typography.Text>
        ) : (
          none
        ),
    },
  ];

  const items = (item: RecordDetail): DescriptionsProps['items'] => [
    {
      key: 'task',
      label: t('records.columns.task'),
      children: (
        <Space size={6} wrap>
          <Typography.Text strong>{item.taskName}</Typography.Text>
          <TaskTypeTag type={item.taskType} />
        </Space>
      ),
    },
    {
      key: 'status',
      label: t('common.status'),
      children: (
        <Space size={6} wrap>
          <RunStatusTag status={item.status} testId="record-detail-status" />
          <BackupKindTag kind={item.backupKind} testId="record-detail-kind" />
          {item.locked ? <LockedTag testId="record-detail-locked" /> : null}
        </Space>
      ),
    },
    ...(item.baseRecordId > 0
      ? [
          {
            key: 'base',
            label: t('records.detail.baseRecord'),
            children: <a onClick={() => onOpenRecord(item.baseRecordId)}>#{item.baseRecordId}</a>,
          },
        ]
      : []),
    {
      key: 'node',
      label: t('records.detail.node'),
      children: <span data-testid="record-detail-node">{nodeName(item.nodeId)}</span>,
    },
    { key: 'file', label: t('records.detail.fileName'), children: mono(item.fileName) ?? none },
    {
      key: 'size',
      label: t('records.columns.size'),
      children: item.fileSize > 0 ? formatBytes(item.fileSize) : none,
    },
    { key: 'checksum', label: t('records.detail.checksum'), span: 2, children: mono(item.checksum) ?? none },
    {
      key: 'path',
      label: t('records.detail.storagePath'),
      span: 2,
      children: mono(item.storagePath) ?? none,
    },
    { key: 'target', label: t('records.detail.primaryTarget'), children: item.storageTargetName || none },
    {
      key: 'mode',
      label: t('records.detail.transferMode'),
      children:
        item.storageTransferMode === '' ? t('records.detail.transferDirect') : item.storageTransferMode,
    },
    { key: 'started', label: t('records.columns.started'), children: formatDateTime(item.startedAt) },
    { key: 'completed', label: t('records.columns.completed'), children: formatDateTime(item.completedAt) },
    {
      key: 'duration',
      label: t('records.columns.duration'),
      children: item.status === 'running' ? none : formatDuration(item.durationSeconds, units),
    },
  ];

  const footerActions = (item: RecordDetail) => {
    const success = item.status === 'success';
    // A repository snapshot is not a self-contained object a replica could copy (SPEC §3.14).
    const isRepository = item.backupKind === 'repository';
    return (
      <Flex gap={8} wrap>
        <Button
          icon={<DownloadOutlined />}
          disabled={!success}
          loading={actions.download.isPending && actions.download.variables.id === item.id}
          onClick={() => actions.download.mutate(item)}
          data-testid="record-download"
        >
          {t('records.download.button')}
        </Button>
        {item.hasContents ? (
          <Button
            icon={<FolderOpenOutlined />}
            onClick={() => onContents(item)}
            data-testid="record-contents"
          >
            {t('records.contents.button')}
          </Button>
        ) : null}
        {canWrite ? (
          <>
            <Button
              icon={<RollbackOutlined />}
              disabled={!success}
              onClick={() => onRestore(item)}
              data-testid="record-restore"
            >
              {t('records.restore.button')}
            </Button>
            <Space.Compact>
              <Tooltip title={t('verification.verifyHelp')}>
                <Button
                  icon={<SafetyCertificateOutlined />}
                  disabled={!success || pendingDrill !== null}
                  loading={pendingDrill !== null && pendingDrill.storageTargetId === undefined}
                  onClick={() => startDrill(item.id, 'quick')}
                  data-testid="record-verify"
                >
                  {t('verification.verify')}
                </Button>
              </Tooltip>
              <Dropdown
                trigger={['click']}
                disabled={!success || pendingDrill !== null}
                menu={{
                  items: [
                    {
                      key: 'deep',
                      icon: <ExperimentOutlined />,
                      label: <span data-testid="record-verify-deep">{t('verification.deepDrill')}</span>,
                    },
                  ],
                  onClick: () => startDrill(item.id, 'deep'),
                }}
              >
                <Button
                  icon={<DownOutlined />}
                  disabled={!success || pendingDrill !== null}
                  aria-label={t('verification.deepDrill')}
                  data-testid="record-verify-more"
                />
              </Dropdown>
            </Space.Compact>
            <Tooltip
              title={isRepository ? t('records.detail.replicateRepository') : t('replication.replicateHelp')}
            >
              <Button
                icon={<CopyOutlined />}
                disabled={!success || isRepository}
                onClick={() => setReplicating(true)}
                data-testid="record-replicate"
              >
                {t('replication.replicate')}
              </Button>
            </Tooltip>
            <Button
              icon={item.locked ? <UnlockOutlined /> : <LockOutlined />}
              disabled={item.status === 'running'}
              loading={actions.lock.isPending && actions.lock.variables.id === item.id}
              onClick={() => actions.lock.mutate(item)}
              data-testid="record-lock"
            >
              {item.locked ? t('records.unlock') : t('records.lock')}
            </Button>
            <Popconfirm
              title={t('records.deleteConfirmTitle', { id: item.id })}
              description={<div style={{ maxWidth: 300 }}>{t('records.deleteConfirmDescription')}</div>}
              okText={t('common.delete')}
              okButtonProps={{ danger: true, 'data-testid': 'record-delete-confirm' }}
              cancelText={t('common.cancel')}
              disabled={item.locked || item.status === 'running'}
              onConfirm={() => {
                actions.remove.mutate(item, { onSuccess: onClose });
              }}
            >
              <Tooltip title={item.locked ? t('records.deleteLocked') : undefined}>
                <Button
                  danger
                  icon={<DeleteOutlined />}
                  disabled={item.locked || item.status === 'running'}
                  data-testid="record-delete"
                >
                  {t('common.delete')}
                </Button>
              </Tooltip>
            </Popconfirm>
          </>
        ) : null}
      </Flex>
    );
  };

  return (
    <Drawer
      open={recordId !== null}
      onClose={onClose}
      // Wide enough for the per-copy tables and a one-line footer of actions.
      size={940}
      title={
        <Space size={8}>
          {t('records.detail.title', { id: recordId ?? 0 })}
          {record ? <RunStatusTag status={record.status} /> : null}
        </Space>
      }
      data-testid="record-detail-drawer"
      footer={record ? footerActions(record) : null}
    >
      {detail.isError ? <LoadError error={detail.error} onRetry={() => void detail.refetch()} /> : null}
      {detail.isPending && recordId !== null ? <Skeleton active paragraph={{ rows: 10 }} /> : null}
      {record ? (
        <div data-testid={`record-detail-${String(record.id)}`}>
          {record.status === 'failed' && record.errorMessage ? (
            <Alert
              type="error"
              showIcon
              title={t('records.detail.failed')}
              description={<span className="bx-break">{record.errorMessage}</span>}
              style={{ marginBottom: 16 }}
              data-testid="record-detail-error"
            />
          ) : null}
          {record.status === 'skipped' && record.errorMessage ? (
            <Alert type="info" showIcon title={record.errorMessage} style={{ marginBottom: 16 }} />
          ) : null}
          <Descriptions
            size="small"
            bordered
            column={{ xs: 1, sm: 2 }}
            items={items(record)}
            styles={{ label: { width: 130, whiteSpace: 'nowrap' }, content: { minWidth: 185 } }}
            style={{ marginBottom: 24 }}
          />
          {record.backupKind === 'repository' && record.repositoryStats ? (
            <RepositoryStatsSection stats={record.repositoryStats} />
          ) : null}
          {record.posture ? (
            <PostureSection
              posture={record.posture}
              canWrite={canWrite}
              pending={pendingDrill}
              onDrill={(storageTargetId, mode) => startDrill(record.id, mode, storageTargetId)}
            />
          ) : null}
          {record.storageUploadResults.length > 0 ? (
            <>
              <Typography.Title level={5}>{t('records.detail.uploads')}</Typography.Title>
              <Table<UploadResult>
                rowKey="storageTargetId"
                size="small"
                columns={uploadColumns}
                dataSource={record.storageUploadResults}
                pagination={false}
                scroll={{ x: 'max-content' }}
                style={{ marginBottom: 24 }}
                data-testid="record-upload-results"
              />
            </>
          ) : null}
          <LiveLog
            key={record.id}
            kind="backup"
            id={record.id}
            status={record.status}
            logContent={record.logContent}
            logEvents={record.logEvents}
            onCompleted={onCompleted}
          />
        </div>
      ) : null}
      {record && replicating ? (
        <ReplicateModal open record={record} onClose={() => setReplicating(false)} />
      ) : null}
    </Drawer>
  );
}
