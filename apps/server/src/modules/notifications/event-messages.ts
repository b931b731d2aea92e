import type { EventType } from '@backupx/contract';

/** The title of each event type (SPEC §13.1); publishers pass it to `events.publish`. */
export const eventTitles: Readonly<Record<EventType, string>> = {
  backup_success: 'BackupX 备份成功通知',
  backup_failed: 'BackupX 备份失败通知',
  restore_success: 'BackupX 恢复成功',
  restore_failed: 'BackupX 恢复失败',
  verify_failed: 'BackupX 备份验证失败',
  sla_violation: 'BackupX SLA 违约',
  storage_unhealthy: 'BackupX 存储目标连接失败',
  storage_capacity_warning: 'BackupX 存储容量预警',
  replication_failed: 'BackupX 备份复制失败',
  agent_outdated: 'BackupX Agent 版本落后',
};

const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** `1536` → `1.5 KB` (binary multiples, one decimal above bytes). */
export const formatBytes = (bytes: number): string => {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
};

/** Result of one backup run, as the runner reports it. */
export interface BackupResultSummary {
  taskName: string;
  success: boolean;
  startedAt: string;
  durationSeconds: number;
  fileName?: string;
  fileSize?: number;
  error?: string;
}

/**
 * The Chinese multi-line body of a backup result notification (SPEC §13.1):
 * `任务：X\n状态：成功\n开始时间：…\n耗时：N 秒\n文件：…\n大小：…\n错误：…` (file and size only when
 * known, the error only on failure).
 */
export const backupResultBody = (result: BackupResultSummary): string => {
  const lines = [
    `任务：${result.taskName}`,
    `状态：${result.success ? '成功' : '失败'}`,
    `开始时间：${result.startedAt}`,
    `耗时：${Math.max(0, Math.round(result.durationSeconds))} 秒`,
  ];
  if (result.fileName !== undefined && result.fileName !== '') lines.push(`文件：${result.fileName}`);
  if (result.fileSize !== undefined && result.fileSize > 0)
    lines.push(`大小：${formatBytes(result.fileSize)}`);
  if (!result.success && result.error !== undefined && result.error !== '')
    lines.push(`错误：${result.error}`);
  return lines.join('\n');
};
