import { z } from 'zod';
import { defineRoute } from './route.ts';
import { timestampSchema } from './common.ts';

/** Default and largest window of the compliance report, in days. */
export const REPORT_DEFAULT_DAYS = 30;
export const REPORT_MAX_DAYS = 365;

/** One task missing its recovery point objective (SPEC §10.1). */
export const slaViolationSchema = z.object({
  taskId: z.number().int(),
  taskName: z.string(),
  nodeId: z.number().int(),
  /** Empty for this master's own tasks. */
  nodeName: z.string(),
  slaHoursRpo: z.number().int(),
  /** Completion of the newest successful backup; absent when the task never succeeded. */
  lastSuccessAt: timestampSchema.optional(),
  /** Since the last success, or since the task was created when it never succeeded (2 decimals). */
  hoursSinceLastSuccess: z.number(),
  neverSucceeded: z.boolean(),
});
export type SlaViolation = z.infer<typeof slaViolationSchema>;

/**
 * RPO compliance of the enabled tasks that have one. Measured from the last *successful* backup
 * (a failed run does not reset the clock — quirk 13).
 */
export const slaComplianceSchema = z.object({
  totalTasksWithSla: z.number().int(),
  compliant: z.number().int(),
  violated: z.number().int(),
  /** compliant / totalTasksWithSla as a ratio with 4 decimals (0 when there is none). */
  coverageRate: z.number(),
  /** Longest overdue first. */
  violations: z.array(slaViolationSchema),
});
export type SlaCompliance = z.infer<typeof slaComplianceSchema>;

export const complianceRisks = ['ok', 'at_risk', 'not_applicable'] as const;

export const complianceTaskSchema = z.object({
  taskId: z.number().int(),
  taskName: z.string(),
  type: z.string(),
  enabled: z.boolean(),
  nodeName: z.string(),
  cronExpr: z.string(),
  encrypted: z.boolean(),
  retentionDays: z.number().int(),
  slaHoursRpo: z.number().int(),
  /** Records started in the window. */
  totalRuns: z.number().int(),
  successes: z.number().int(),
  failures: z.number().int(),
  /** successes / totalRuns as a ratio with 4 decimals (0 without runs). */
  successRate: z.number(),
  /** Of the newest record, any window; `none` without records. */
  lastStatus: z.string(),
  lastRunAt: timestampSchema.nullable(),
  lastSuccessAt: timestampSchema.nullable(),
  /** Size of the last successful backup. */
  protectedBytes: z.number(),
  compliant: z.boolean(),
  /** `not_applicable` for disabled tasks; `at_risk` when never successful or past its RPO. */
  risk: z.enum(complianceRisks),
});
export type ComplianceTask = z.infer<typeof complianceTaskSchema>;

export const complianceReportSchema = z.object({
  generatedAt: timestampSchema,
  rangeDays: z.number().int(),
  summary: z.object({
    totalTasks: z.number().int(),
    enabledTasks: z.number().int(),
    /** Tasks whose risk is `ok`. */
    compliantTasks: z.number().int(),
    atRiskTasks: z.number().int(),
    encryptedTasks: z.number().int(),
    /** Σ successes / Σ runs in the window, ratio with 4 decimals. */
    overallSuccessRate: z.number(),
    totalProtectedBytes: z.number(),
  }),
  tasks: z.array(complianceTaskSchema),
});
export type ComplianceReport = z.infer<typeof complianceReportSchema>;

/**
 * `?days=N`: absent, not an integer, or ≤ 0 means 30 (as BackupX); 1–365 is the window; more than
 * 365 is refused with REPORT_RANGE_INVALID.
 */
export const reportDaysQuerySchema = z.strictObject({
  days: z
    .string()
    .max(32)
    .optional()
    .transform((text) => {
      const days = text !== undefined && /^[+-]?\d{1,12}$/.test(text.trim()) ? Number(text.trim()) : 0;
      return days <= 0 ? REPORT_DEFAULT_DAYS : days;
    })
    .pipe(
      z
        .number()
        .int()
        .max(REPORT_MAX_DAYS, `at most ${String(REPORT_MAX_DAYS)} days`),
    ),
});

export const reportRoutes = {
  compliance: defineRoute({
    method: 'GET',
    path: '/api/reports/compliance',
    access: 'viewer',
    tag: 'reports',
    summary: 'Compliance report: per task runs, success rate, last success, protection and RPO risk',
    query: reportDaysQuerySchema,
    invalidInputCode: 'REPORT_RANGE_INVALID',
    response: complianceReportSchema,
  }),
  complianceCsv: defineRoute({
    method: 'GET',
    path: '/api/reports/compliance/export',
    access: 'viewer',
    tag: 'reports',
    summary: 'The compliance report as CSV (UTF-8 with BOM, 17 columns, Chinese headers as BackupX)',
    query: reportDaysQuerySchema,
    invalidInputCode: 'REPORT_RANGE_INVALID',
    responseKind: 'csv',
  }),
} as const;
