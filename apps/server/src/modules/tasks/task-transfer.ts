import {
  serverDatabaseTypes,
  type TaskExportEntry,
  type TaskType,
  type TaskUpsertInput,
} from '@backupx/contract';
import type { BackupTaskRow } from '../../db/tables.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Actor } from '../auth/principal.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { parseIdList, parseJson, parseTagList, sourcePathsOfRow } from './task-read-models.ts';
import type { TasksRepository } from './tasks.repository.ts';
import type { TasksService } from './tasks.service.ts';

export interface TaskTransferDeps {
  tasks: Pick<TasksService, 'create' | 'update'>;
  repository: Pick<TasksRepository, 'list' | 'targetsOf' | 'storageTargetNames' | 'storageTargetIdsByName'>;
  /** Node names by id and ids by name; absent without a cluster. */
  nodes?: {
    namesOf(ids: readonly number[]): Promise<Map<number, string>>;
    idsByName(): Promise<Map<string, number>>;
  };
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
}

export type TaskTransfer = ReturnType<typeof createTaskTransfer>;

export const EXPORT_NOTICE =
  'Database passwords and storage credentials are not exported. Storage targets, the node and ' +
  'upstream tasks are referenced by name. Before importing, add "dbPassword" to each database ' +
  'task ("" when the server needs none).';

type ImportResult = { name: string; taskId?: number; success: boolean; error?: string; skipped?: boolean };

/** `pgsql` is BackupX's old name of `postgresql`. */
const canonicalType = (type: string): TaskType => (type === 'pgsql' ? 'postgresql' : type) as TaskType;

/**
 * JSON export and import of tasks (SPEC §14.4). An export re-imports into the same tasks: every
 * defining field round-trips (quirk 15), references travel by name, and secrets never leave.
 */
export const createTaskTransfer = (deps: TaskTransferDeps) => {
  const { repository, clock } = deps;

  const entryOf = (
    row: BackupTaskRow,
    names: {
      targets: string[];
      storage: Map<number, string>;
      node: string;
      tasks: Map<number, string>;
    },
  ): TaskExportEntry => ({
    name: row.name,
    type: canonicalType(row.type),
    enabled: row.enabled === 1,
    cronExpr: row.cronExpr,
    sourcePath: sourcePathsOfRow(row)[0] ?? '',
    sourcePaths: sourcePathsOfRow(row),
    excludePatterns: parseJson<string[]>(row.excludePatterns, []),
    dbHost: row.dbHost,
    dbPort: row.dbPort,
    dbUser: row.dbUser,
    dbName: row.dbName,
    dbPath: row.dbPath,
    extraConfig: parseJson<Record<string, unknown>>(row.extraConfig, {}),
    storageTargetNames: names.targets,
    replicationTargetNames: parseIdList(row.replicationTargetIds).flatMap((id) => {
      const name = names.storage.get(id);
      return name === undefined ? [] : [name];
    }),
    nodeName: names.node,
    nodePoolTag: row.nodePoolTag,
    dependsOnTaskNames: parseIdList(row.dependsOnTaskIds).flatMap((id) => {
      const name = names.tasks.get(id);
      return name === undefined ? [] : [name];
    }),
    tags: parseTagList(row.tags).join(','),
    compression: row.compression as TaskExportEntry['compression'],
    encrypt: row.encrypt === 1,
    retentionDays: row.retentionDays,
    maxBackups: row.maxBackups,
    verifyEnabled: row.verifyEnabled === 1,
    verifyCronExpr: row.verifyCronExpr,
    verifyMode: row.verifyMode as TaskExportEntry['verifyMode'],
    slaHoursRpo: row.slaHoursRpo,
    alertOnConsecutiveFails: row.alertOnConsecutiveFails,
    maintenanceWindows: row.maintenanceWindows,
    backupMode: row.backupMode as TaskExportEntry['backupMode'],
    diffFullIntervalDays: row.diffFullIntervalDays,
    keepDaily: row.keepDaily,
    keepWeekly: row.keepWeekly,
    keepMonthly: row.keepMonthly,
    keepYearly: row.keepYearly,
  });

  /** An entry as task input, references resolved; throws a message naming what is missing. */
  const inputOf = (
    entry: TaskExportEntry,
    lookups: { storage: Map<string, number>; nodes: Map<string, number> },
  ): TaskUpsertInput => {
    const resolveTargets = (names: string[], what: string) =>
      names.map((name) => {
        const id = lookups.storage.get(name);
        if (id === undefined) throw new Error(`${what} "${name}" does not exist here`);
        return id;
      });
    let nodeId = 0;
    if (entry.nodeName !== '') {
      const found = lookups.nodes.get(entry.nodeName);
      if (found === undefined) throw new Error(`node "${entry.nodeName}" does not exist here`);
      nodeId = found;
    }
    const type = canonicalType(entry.type);
    if (serverDatabaseTypes.includes(type) && entry.dbPassword === undefined)
      throw new Error(
        'dbPassword is required: passwords are not exported; add "dbPassword" to this task ("" for none)',
      );
    return {
      name: entry.name,
      type,
      enabled: entry.enabled,
      cronExpr: entry.cronExpr,
      sourcePath: entry.sourcePath,
      sourcePaths: entry.sourcePaths,
      excludePatterns: entry.excludePatterns,
      dbHost: entry.dbHost,
      dbPort: entry.dbPort,
      dbUser: entry.dbUser,
      dbPassword: entry.dbPassword ?? '',
      dbName: entry.dbName,
      dbPath: entry.dbPath,
      extraConfig: entry.extraConfig,
      storageTargetIds: resolveTargets(entry.storageTargetNames, 'storage target'),
      replicationTargetIds: resolveTargets(entry.replicationTargetNames, 'replication target'),
      nodeId,
      nodePoolTag: entry.nodePoolTag,
      tags: entry.tags,
      retentionDays: entry.retentionDays,
      maxBackups: entry.maxBackups,
      compression: entry.compression,
      encrypt: entry.encrypt,
      verifyEnabled: entry.verifyEnabled,
      verifyCronExpr: entry.verifyCronExpr,
      verifyMode: entry.verifyMode,
      slaHoursRpo: entry.slaHoursRpo,
      alertOnConsecutiveFails: entry.alertOnConsecutiveFails,
      keepDaily: entry.keepDaily,
      keepWeekly: entry.keepWeekly,
      keepMonthly: entry.keepMonthly,
      keepYearly: entry.keepYearly,
      backupMode: entry.backupMode,
      diffFullIntervalDays: entry.diffFullIntervalDays,
      maintenanceWindows: entry.maintenanceWindows,
    };
  };

  return {
    async exportTasks(actor: Actor, ids: readonly number[] | undefined) {
      const all = await repository.list();
      const wanted = ids === undefined ? all : all.filter((row) => ids.includes(row.id));
      const rows = [...wanted].sort((a, b) => a.id - b.id);
      const links = Map.groupBy(await repository.targetsOf(rows.map((row) => row.id)), (link) => link.taskId);
      const storage = await repository.storageTargetNames(
        rows.flatMap((row) => parseIdList(row.replicationTargetIds)),
      );
      const nodeNames =
        (await deps.nodes?.namesOf(rows.map((row) => row.nodeId))) ?? new Map<number, string>();
      const taskNames = new Map(all.map((row) => [row.id, row.name]));
      const tasks = rows.map((row) =>
        entryOf(row, {
          targets: (links.get(row.id) ?? []).map((link) => link.name),
          storage,
          node: nodeNames.get(row.nodeId) ?? '',
          tasks: taskNames,
        }),
      );
      await deps.audit.record(actor, {
        category: 'backup_task',
        action: 'export',
        targetType: 'backup_task',
        detail: `Exported ${String(tasks.length)} task(s)`,
      });
      return {
        version: 'v1' as const,
        exportedAt: clock.now().toISOString(),
        taskCount: tasks.length,
        tasks,
        notice: EXPORT_NOTICE,
      };
    },

    /**
     * Creates each task whose name is free (existing names are skipped, never overwritten), then
     * links dependencies by name once every task exists. Each entry goes through the normal
     * validation; one bad entry does not stop the others.
     */
    async importTasks(actor: Actor, entries: readonly TaskExportEntry[]): Promise<ImportResult[]> {
      const existing = new Map((await repository.list()).map((row) => [row.name, row.id]));
      const lookups = {
        storage: await repository.storageTargetIdsByName(),
        nodes: (await deps.nodes?.idsByName()) ?? new Map<string, number>(),
      };
      const results: ImportResult[] = [];
      const created: { entry: TaskExportEntry; input: TaskUpsertInput; result: ImportResult }[] = [];
      const seen = new Set<string>();
      for (const entry of entries) {
        const name = entry.name.trim();
        if (existing.has(name) || seen.has(name)) {
          results.push({
            name,
            success: true,
            skipped: true,
            error: `a task named "${name}" exists already`,
          });
          continue;
        }
        seen.add(name);
        try {
          const input = inputOf(entry, lookups);
          const detail = await deps.tasks.create(actor, input);
          existing.set(detail.name, detail.id);
          const result: ImportResult = { name, taskId: detail.id, success: true };
          results.push(result);
          created.push({ entry, input, result });
        } catch (error) {
          results.push({
            name,
            success: false,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
      // Dependencies last: an upstream may come later in the file, or exist already.
      for (const { entry, input, result } of created) {
        if (entry.dependsOnTaskNames.length === 0 || result.taskId === undefined) continue;
        const missing = entry.dependsOnTaskNames.filter((name) => !existing.has(name));
        try {
          if (missing.length > 0) throw new Error(`upstream task(s) ${missing.join(', ')} do not exist`);
          await deps.tasks.update(actor, result.taskId, {
            ...input,
            dbPassword: '',
            dependsOnTaskIds: entry.dependsOnTaskNames.map((name) => existing.get(name) ?? 0),
          });
        } catch (error) {
          result.error = `created, but its dependencies were not set: ${error instanceof Error ? error.message : String(error)}`;
        }
      }
      await deps.audit.record(actor, {
        category: 'backup_task',
        action: 'import',
        targetType: 'backup_task',
        detail: `Imported ${String(created.length)} of ${String(entries.length)} task(s); ${String(
          results.filter((result) => result.skipped === true).length,
        )} skipped`,
      });
      return results;
    },
  };
};
