import type { TaskDetail, TaskSummary, TaskType } from '@backupx/contract';
import type { BackupTaskRow } from '../../db/tables.ts';
import type { TaskTargetRef } from './tasks.repository.ts';

/** Read models of a task (SPEC §2.2) and the parsing of its stored text columns. */

type Compression = TaskSummary['compression'];
type BackupMode = TaskSummary['backupMode'];
type VerifyMode = TaskSummary['verifyMode'];

export const parseJson = <T>(text: string, fallback: T): T => {
  if (text.trim() === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

export const parseIdList = (csv: string): number[] =>
  csv
    .split(',')
    .map((part) => Number(part.trim()))
    .filter((id) => Number.isInteger(id) && id > 0);

export const parseTagList = (csv: string): string[] =>
  csv
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '');

const cleanList = (values: readonly string[]): string[] =>
  values.map((value) => value.trim()).filter((value) => value !== '');

export const sourcePathsOfRow = (row: BackupTaskRow): string[] => {
  const paths = cleanList(
    parseJson<unknown[]>(row.sourcePaths, []).filter((p): p is string => typeof p === 'string'),
  );
  return paths.length > 0 ? paths : cleanList([row.sourcePath]);
};

export const toSummary = (
  row: BackupTaskRow,
  targets: readonly TaskTargetRef[],
  nodeName = '',
): TaskSummary => ({
  id: row.id,
  name: row.name,
  type: (row.type === 'pgsql' ? 'postgresql' : row.type) as TaskType,
  enabled: row.enabled === 1,
  cronExpr: row.cronExpr,
  storageTargetId: targets[0]?.storageTargetId ?? row.storageTargetId,
  storageTargetName: targets[0]?.name ?? '',
  storageTargetIds: targets.map((target) => target.storageTargetId),
  storageTargetNames: targets.map((target) => target.name),
  nodeId: row.nodeId,
  nodeName,
  nodePoolTag: row.nodePoolTag,
  tags: row.tags,
  retentionDays: row.retentionDays,
  compression: row.compression as Compression,
  encrypt: row.encrypt === 1,
  maxBackups: row.maxBackups,
  lastRunAt: row.lastRunAt,
  lastStatus: row.lastStatus as TaskSummary['lastStatus'],
  verifyEnabled: row.verifyEnabled === 1,
  verifyCronExpr: row.verifyCronExpr,
  verifyMode: row.verifyMode as VerifyMode,
  slaHoursRpo: row.slaHoursRpo,
  alertOnConsecutiveFails: row.alertOnConsecutiveFails,
  keepDaily: row.keepDaily,
  keepWeekly: row.keepWeekly,
  keepMonthly: row.keepMonthly,
  keepYearly: row.keepYearly,
  backupMode: row.backupMode as BackupMode,
  diffFullIntervalDays: row.diffFullIntervalDays,
  replicationTargetIds: parseIdList(row.replicationTargetIds),
  maintenanceWindows: row.maintenanceWindows,
  dependsOnTaskIds: parseIdList(row.dependsOnTaskIds),
  updatedAt: row.updatedAt,
});

export const toDetail = (
  row: BackupTaskRow,
  targets: readonly TaskTargetRef[],
  nodeName = '',
): TaskDetail => {
  const sourcePaths = sourcePathsOfRow(row);
  return {
    ...toSummary(row, targets, nodeName),
    sourcePath: sourcePaths[0] ?? '',
    sourcePaths,
    excludePatterns: parseJson<string[]>(row.excludePatterns, []),
    dbHost: row.dbHost,
    dbPort: row.dbPort,
    dbUser: row.dbUser,
    dbName: row.dbName,
    dbPath: row.dbPath,
    extraConfig: parseJson<Record<string, unknown>>(row.extraConfig, {}),
    maskedFields: row.dbPasswordCiphertext === '' ? [] : ['dbPassword'],
    createdAt: row.createdAt,
  };
};
