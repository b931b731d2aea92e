import type { ComplianceReport, ComplianceTask, SlaCompliance, SlaViolation } from '@backupx/contract';
import type { Clock } from '../../lib/clock.ts';
import { fileStamp, toCsv } from '../../lib/csv.ts';
import type { SlaRepository, SlaTaskRow } from './sla.repository.ts';

export interface SlaServiceDeps {
  repository: SlaRepository;
  clock: Clock;
  /** Names of the nodes tasks run on ('' for this master and unknown ids). */
  nodeNames: (ids: readonly number[]) => Promise<Map<number, string>>;
}

export type SlaService = ReturnType<typeof createSlaService>;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

const round = (value: number, decimals: number): number => {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
};
const ratio = (part: number, whole: number): number => (whole <= 0 ? 0 : round(part / whole, 4));

/** `YYYY-MM-DD HH:MM:SS` in UTC, as the BackupX CSV shows times; '' for none. */
const csvTime = (iso: string | null): string =>
  iso === null || iso === '' ? '' : new Date(iso).toISOString().replace('T', ' ').slice(0, 19);
const yesNo = (flag: boolean): string => (flag ? '是' : '否');

/** The 17 columns of BackupX's compliance CSV, in its order and words. */
const CSV_HEADER = [
  '任务ID',
  '任务名称',
  '类型',
  '启用',
  '节点',
  '加密',
  '保留天数',
  'SLA RPO(小时)',
  '窗口内执行次数',
  '成功次数',
  '失败次数',
  '成功率',
  '最近状态',
  '最近执行(UTC)',
  '最近成功(UTC)',
  '受保护字节数',
  '风险',
] as const;

/**
 * SLA / RPO compliance and the compliance report (SPEC §10). The recovery point is the last
 * *successful* backup's completion: a failing task does not look healthy because it ran (quirk 13).
 */
export const createSlaService = (deps: SlaServiceDeps) => {
  const { repository, clock } = deps;

  const hoursSince = (now: Date, iso: string): number =>
    Math.max(0, (now.getTime() - Date.parse(iso)) / HOUR_MS);

  const violationOf = (
    task: SlaTaskRow,
    lastSuccessAt: string | undefined,
    now: Date,
    nodeName: string,
  ): SlaViolation | null => {
    const hours = hoursSince(now, lastSuccessAt ?? task.createdAt);
    if (hours <= task.slaHoursRpo) return null;
    return {
      taskId: task.id,
      taskName: task.name,
      nodeId: task.nodeId,
      nodeName,
      slaHoursRpo: task.slaHoursRpo,
      ...(lastSuccessAt === undefined ? {} : { lastSuccessAt }),
      hoursSinceLastSuccess: round(hours, 2),
      neverSucceeded: lastSuccessAt === undefined,
    };
  };

  const successTimeOf = (row: { completedAt: string | null; startedAt: string } | undefined) =>
    row === undefined ? undefined : (row.completedAt ?? row.startedAt);

  const compliance = async (): Promise<SlaCompliance> => {
    const now = clock.now();
    const tasks = await repository.tasks({ withRpoOnly: true });
    const [successes, names] = await Promise.all([
      repository.lastSuccesses(tasks.map((task) => task.id)),
      deps.nodeNames(tasks.map((task) => task.nodeId)),
    ]);
    const violations = tasks
      .map((task) =>
        violationOf(task, successTimeOf(successes.get(task.id)), now, names.get(task.nodeId) ?? ''),
      )
      .filter((violation): violation is SlaViolation => violation !== null)
      .sort((a, b) => b.hoursSinceLastSuccess - a.hoursSinceLastSuccess || a.taskId - b.taskId);
    const compliant = tasks.length - violations.length;
    return {
      totalTasksWithSla: tasks.length,
      compliant,
      violated: violations.length,
      coverageRate: ratio(compliant, tasks.length),
      violations,
    };
  };

  const report = async (days: number): Promise<ComplianceReport> => {
    const now = clock.now();
    const since = new Date(now.getTime() - days * DAY_MS).toISOString();
    const tasks = await repository.tasks();
    const [successes, lastRecords, counts, names] = await Promise.all([
      repository.lastSuccesses(tasks.map((task) => task.id)),
      repository.lastRecords(),
      repository.runCountsSince(since),
      deps.nodeNames(tasks.map((task) => task.nodeId)),
    ]);
    const rows = tasks.map((task): ComplianceTask => {
      const success = successes.get(task.id);
      const lastSuccessAt = successTimeOf(success) ?? null;
      const last = lastRecords.get(task.id);
      const runs = counts.get(task.id) ?? { total: 0, successes: 0, failures: 0 };
      const enabled = task.enabled === 1;
      const risk: ComplianceTask['risk'] = !enabled
        ? 'not_applicable'
        : lastSuccessAt === null
          ? 'at_risk'
          : task.slaHoursRpo > 0 && hoursSince(now, lastSuccessAt) > task.slaHoursRpo
            ? 'at_risk'
            : 'ok';
      return {
        taskId: task.id,
        taskName: task.name,
        type: task.type === 'pgsql' ? 'postgresql' : task.type,
        enabled,
        nodeName: names.get(task.nodeId) ?? '',
        cronExpr: task.cronExpr,
        encrypted: task.encrypt === 1,
        retentionDays: task.retentionDays,
        slaHoursRpo: task.slaHoursRpo,
        totalRuns: runs.total,
        successes: runs.successes,
        failures: runs.failures,
        successRate: ratio(runs.successes, runs.total),
        lastStatus: last?.status ?? 'none',
        lastRunAt: last?.startedAt ?? null,
        lastSuccessAt,
        protectedBytes: success?.fileSize ?? 0,
        compliant: risk === 'ok',
        risk,
      };
    });
    const sum = (pick: (row: ComplianceTask) => number) => rows.reduce((total, row) => total + pick(row), 0);
    return {
      generatedAt: now.toISOString(),
      rangeDays: days,
      summary: {
        totalTasks: rows.length,
        enabledTasks: rows.filter((row) => row.enabled).length,
        compliantTasks: rows.filter((row) => row.risk === 'ok').length,
        atRiskTasks: rows.filter((row) => row.risk === 'at_risk').length,
        encryptedTasks: rows.filter((row) => row.encrypted).length,
        overallSuccessRate: ratio(
          sum((row) => row.successes),
          sum((row) => row.totalRuns),
        ),
        totalProtectedBytes: sum((row) => row.protectedBytes),
      },
      tasks: rows,
    };
  };

  return {
    compliance,
    report,

    /** The report as BackupX's CSV: file name and body. */
    async reportCsv(days: number): Promise<{ fileName: string; csv: string }> {
      const data = await report(days);
      const rows = data.tasks.map((row) => [
        row.taskId,
        row.taskName,
        row.type,
        yesNo(row.enabled),
        row.nodeName,
        yesNo(row.encrypted),
        row.retentionDays,
        row.slaHoursRpo,
        row.totalRuns,
        row.successes,
        row.failures,
        `${(row.successRate * 100).toFixed(2)}%`,
        row.lastStatus,
        csvTime(row.lastRunAt),
        csvTime(row.lastSuccessAt),
        row.protectedBytes,
        row.risk,
      ]);
      return {
        fileName: `backupx-compliance-${fileStamp(clock.now())}.csv`,
        csv: toCsv(CSV_HEADER, rows),
      };
    },
  };
};
