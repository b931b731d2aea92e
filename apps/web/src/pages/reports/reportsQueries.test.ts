import { describe, expect, it } from 'vitest';
import { REPORT_DEFAULT_DAYS, REPORT_MAX_DAYS, complianceRisks } from '@backupx/contract';
import type { ComplianceTask } from '@backupx/contract';
import {
  DEFAULT_REPORT_WINDOW,
  REPORT_WINDOWS,
  compareRisk,
  compareTimes,
  countRisks,
  isRecordStatus,
  ratioOf,
  reportKeys,
  reportWindowFromParam,
  riskColors,
  runTotals,
} from './reportsQueries.ts';

const task = (overrides: Partial<ComplianceTask>): ComplianceTask => ({
  taskId: 1,
  taskName: 'task',
  type: 'file',
  enabled: true,
  nodeName: '',
  cronExpr: '',
  encrypted: false,
  retentionDays: 30,
  slaHoursRpo: 0,
  totalRuns: 0,
  successes: 0,
  failures: 0,
  successRate: 0,
  lastStatus: 'none',
  lastRunAt: null,
  lastSuccessAt: null,
  protectedBytes: 0,
  compliant: false,
  risk: 'at_risk',
  ...overrides,
});

describe('compliance report logic', () => {
  it('offers windows the server accepts, defaulting to its default', () => {
    expect(DEFAULT_REPORT_WINDOW).toBe(REPORT_DEFAULT_DAYS);
    expect(REPORT_WINDOWS).toContain(DEFAULT_REPORT_WINDOW);
    for (const days of REPORT_WINDOWS) {
      expect(days).toBeGreaterThanOrEqual(1);
      expect(days).toBeLessThanOrEqual(REPORT_MAX_DAYS);
    }
  });

  it('reads the window from ?days=, falling back to 30 for anything not offered', () => {
    expect(reportWindowFromParam('7')).toBe(7);
    expect(reportWindowFromParam(' 90 ')).toBe(90);
    expect(reportWindowFromParam('365')).toBe(365);
    expect(reportWindowFromParam(null)).toBe(30);
    expect(reportWindowFromParam('')).toBe(30);
    expect(reportWindowFromParam('14')).toBe(30);
    expect(reportWindowFromParam('400')).toBe(30);
    expect(reportWindowFromParam('7.5')).toBe(30);
    expect(reportWindowFromParam('-7')).toBe(30);
    expect(reportWindowFromParam('abc')).toBe(30);
  });

  it('keys the report by window under the `reports` prefix that events invalidate', () => {
    expect(reportKeys.compliance(7)).toEqual(['reports', 'compliance', 7]);
    expect(reportKeys.compliance(7)[0]).toBe(reportKeys.all[0]);
  });

  it('divides safely', () => {
    expect(ratioOf(1, 4)).toBe(0.25);
    expect(ratioOf(3, 0)).toBe(0);
  });

  it('sorts at risk first, then ok, then not applicable', () => {
    const sorted = (['ok', 'not_applicable', 'at_risk', 'ok'] as const).slice().sort(compareRisk);
    expect(sorted).toEqual(['at_risk', 'ok', 'ok', 'not_applicable']);
  });

  it('has a colour for every risk: red at risk, green ok', () => {
    for (const risk of complianceRisks) expect(riskColors[risk]).toBeTruthy();
    expect(riskColors.at_risk).toBe('error');
    expect(riskColors.ok).toBe('success');
  });

  it('counts tasks per risk and sums the runs of the window', () => {
    const tasks = [
      task({ taskId: 1, risk: 'ok', totalRuns: 4, successes: 3 }),
      task({ taskId: 2, risk: 'at_risk', totalRuns: 2, successes: 0 }),
      task({ taskId: 3, risk: 'at_risk' }),
      task({ taskId: 4, risk: 'not_applicable', enabled: false }),
    ];
    expect(countRisks(tasks)).toEqual({ ok: 1, at_risk: 2, not_applicable: 1 });
    expect(countRisks([])).toEqual({ ok: 0, at_risk: 0, not_applicable: 0 });
    expect(runTotals(tasks)).toEqual({ runs: 6, successes: 3 });
  });

  it('knows which last statuses are record statuses', () => {
    expect(isRecordStatus('success')).toBe(true);
    expect(isRecordStatus('failed')).toBe(true);
    expect(isRecordStatus('running')).toBe(true);
    expect(isRecordStatus('none')).toBe(false);
    expect(isRecordStatus('idle')).toBe(false);
  });

  it('sorts timestamps oldest first, missing ones before all', () => {
    const values = ['2026-03-02T00:00:00.000Z', null, '2026-01-01T00:00:00.000Z'];
    expect(values.slice().sort(compareTimes)).toEqual([
      null,
      '2026-01-01T00:00:00.000Z',
      '2026-03-02T00:00:00.000Z',
    ]);
  });
});
