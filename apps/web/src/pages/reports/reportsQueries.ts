/** Pure logic of the compliance report page: windows, query keys, percentages, risk order. */
import { recordStatuses } from '@backupx/contract';
import type { ComplianceTask, RecordStatus } from '@backupx/contract';

/** Windows offered by the page, in days. */
export const REPORT_WINDOWS = [7, 30, 90, 365] as const;
export type ReportWindow = (typeof REPORT_WINDOWS)[number];
/** The server's default window (`REPORT_DEFAULT_DAYS`). */
export const DEFAULT_REPORT_WINDOW: ReportWindow = 30;

/** Name of the CSV when the answer carries no `Content-Disposition` file name. */
export const COMPLIANCE_CSV_FALLBACK_NAME = 'backupx-compliance.csv';

/** Query keys of the page; all start with `reports`, the prefix events invalidate. */
export const reportKeys = {
  all: ['reports'] as const,
  compliance: (days: number) => ['reports', 'compliance', days] as const,
};

const isReportWindow = (days: number): days is ReportWindow =>
  (REPORT_WINDOWS as readonly number[]).includes(days);

/** The window of a `?days=` parameter: one the page offers, else the default (30). */
export function reportWindowFromParam(value: string | null): ReportWindow {
  const days = value !== null && /^\d{1,4}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  return isReportWindow(days) ? days : DEFAULT_REPORT_WINDOW;
}

/** `part` of `whole` as a ratio (0 when there is nothing to divide). */
export const ratioOf = (part: number, whole: number): number => (whole > 0 ? part / whole : 0);

export type ComplianceRisk = ComplianceTask['risk'];

/** Order of the risk column: what needs attention first. */
const RISK_RANK: Record<ComplianceRisk, number> = { at_risk: 0, ok: 1, not_applicable: 2 };

/** Sorts at risk, then ok, then not applicable. */
export const compareRisk = (a: ComplianceRisk, b: ComplianceRisk): number => RISK_RANK[a] - RISK_RANK[b];

/** Tag colour of each risk. */
export const riskColors: Record<ComplianceRisk, string> = {
  ok: 'success',
  at_risk: 'error',
  not_applicable: 'default',
};

/** Tasks per risk, for the table's summary line. */
export function countRisks(tasks: readonly Pick<ComplianceTask, 'risk'>[]): Record<ComplianceRisk, number> {
  const counts: Record<ComplianceRisk, number> = { ok: 0, at_risk: 0, not_applicable: 0 };
  for (const task of tasks) counts[task.risk] += 1;
  return counts;
}

/** Runs and successes of the window summed over the tasks (the base of the overall success rate). */
export function runTotals(tasks: readonly Pick<ComplianceTask, 'totalRuns' | 'successes'>[]): {
  runs: number;
  successes: number;
} {
  return tasks.reduce(
    (sum, task) => ({ runs: sum.runs + task.totalRuns, successes: sum.successes + task.successes }),
    { runs: 0, successes: 0 },
  );
}

/** A task's `lastStatus` that is a record status (else `none` or something the console does not know). */
export const isRecordStatus = (status: string): status is RecordStatus =>
  (recordStatuses as readonly string[]).includes(status);

/** Compares timestamps for a column sorter; missing values sort first (oldest). */
export const compareTimes = (a: string | null, b: string | null): number =>
  (a === null ? 0 : Date.parse(a) || 0) - (b === null ? 0 : Date.parse(b) || 0);
