/** Tags and small formatters shared by the tasks, records and restores pages. */
import type { ReactNode } from 'react';
import { Tag, Tooltip } from 'antd';
import {
  CheckCircleOutlined,
  ClockCircleOutlined,
  CloseCircleOutlined,
  LockOutlined,
  MinusCircleOutlined,
  StopOutlined,
  SyncOutlined,
} from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import type { RecordStatus, RecordSummary, TaskType } from '@backupx/contract';
import { formatBytes } from '../../lib/format.ts';

const statusColors: Record<RecordStatus, string> = {
  running: 'processing',
  success: 'success',
  failed: 'error',
  skipped: 'default',
};

const statusIcons: Record<RecordStatus, ReactNode> = {
  running: <SyncOutlined spin />,
  success: <CheckCircleOutlined />,
  failed: <CloseCircleOutlined />,
  skipped: <MinusCircleOutlined />,
};

/** Status of a backup or restore record. */
export function RunStatusTag({ status, testId }: { status: RecordStatus; testId?: string }) {
  const { t } = useTranslation();
  return (
    <Tag
      color={statusColors[status]}
      icon={statusIcons[status]}
      data-testid={testId}
      data-status={status}
      style={{ marginInlineEnd: 0 }}
    >
      {t(`records.status.${status}`)}
    </Tag>
  );
}

type TaskLastStatus = 'idle' | 'running' | 'success' | 'failed';

/** Last status of a task (`idle` before its first run). */
export function TaskStatusTag({ status, testId }: { status: TaskLastStatus; testId?: string }) {
  const { t } = useTranslation();
  if (status === 'idle') {
    return (
      <Tag
        icon={<ClockCircleOutlined />}
        data-testid={testId}
        data-status={status}
        style={{ marginInlineEnd: 0 }}
      >
        {t('tasks.lastStatus.idle')}
      </Tag>
    );
  }
  return <RunStatusTag status={status} testId={testId} />;
}

const typeColors: Record<TaskType, string> = {
  file: 'blue',
  mysql: 'orange',
  postgresql: 'geekblue',
  sqlite: 'cyan',
  saphana: 'gold',
  mongodb: 'green',
};

const isTaskType = (type: string): type is TaskType => type in typeColors;

/** The translated task type in its colour. */
export function TaskTypeTag({ type }: { type: string }) {
  const { t } = useTranslation();
  if (!isTaskType(type)) return <Tag style={{ marginInlineEnd: 0 }}>{type}</Tag>;
  return (
    <Tag color={typeColors[type]} style={{ marginInlineEnd: 0 }}>
      {t(`tasks.types.${type}`)}
    </Tag>
  );
}

type BackupKind = RecordSummary['backupKind'];

const kindColors: Record<BackupKind, string> = {
  full: 'default',
  differential: 'purple',
  repository: 'cyan',
};

/** Full / differential / repository (a deduplicated snapshot; its tooltip says so). */
export function BackupKindTag({ kind, testId }: { kind: BackupKind; testId?: string }) {
  const { t } = useTranslation();
  const tag = (
    <Tag
      color={kindColors[kind]}
      variant="filled"
      data-testid={testId}
      data-kind={kind}
      style={{ marginInlineEnd: 0 }}
    >
      {t(`records.kind.${kind}`)}
    </Tag>
  );
  return kind === 'repository' ? <Tooltip title={t('records.kindHelp.repository')}>{tag}</Tooltip> : tag;
}

/** Legal hold marker. */
export function LockedTag({ testId }: { testId?: string }) {
  const { t } = useTranslation();
  return (
    <Tooltip title={t('records.lockedHelp')}>
      <Tag color="gold" icon={<LockOutlined />} data-testid={testId} style={{ marginInlineEnd: 0 }}>
        {t('records.locked')}
      </Tag>
    </Tooltip>
  );
}

/** A task that is switched off. */
export function DisabledTag() {
  const { t } = useTranslation();
  return (
    <Tag icon={<StopOutlined />} style={{ marginInlineEnd: 0 }}>
      {t('common.disabled')}
    </Tag>
  );
}

/** First 12 hex digits of a SHA-256 (the full value goes in a tooltip). */
export const shortChecksum = (checksum: string): string =>
  checksum.length > 12 ? `${checksum.slice(0, 12)}…` : checksum;

/** Bytes per second as `12.5 MB/s`. */
export const formatSpeed = (bytesPerSecond: number): string =>
  bytesPerSecond > 0 ? `${formatBytes(bytesPerSecond)}/s` : '';
