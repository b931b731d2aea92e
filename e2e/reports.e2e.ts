import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { ComplianceReport, RecordSummary, SlaCompliance } from '@backupx/contract';
import { writeSampleTree } from '@backupx/testkit';
import {
  launchBrowser,
  screenshot,
  startProduct,
  type RunningProduct,
  signInPage,
  chinesePage,
} from './support.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };
const ADMIN = { username: 'admin', password: 'Admin-Password-1', displayName: 'Ada Admin' };
const HOUR_MS = 3_600_000;

/**
 * SLA / RPO and the compliance report in the console (SPEC §10). The dashboard first says that no
 * task has an RPO; then four file tasks are set up through the API:
 * - "Website" (RPO 1 h, encrypted) backed up once successfully: within its RPO, risk `ok`;
 * - "Broken source" (RPO 1 h) whose only run fails, backdated 3 h in the database so that it is
 *   past its RPO without ever succeeding: the one violation, risk `at_risk`;
 * - "Weekly archive" (RPO 24 h) never run: within its RPO for a day, yet `at_risk` in the report
 *   (enabled and never succeeded);
 * - "Paused" (disabled): outside the RPO check, risk `not_applicable`.
 * The dashboard's SLA card, the report page, its risk filter, the CSV download and the Chinese
 * console are checked. Screenshots go to test-results/e2e (reports-*).
 */
describe('SLA and compliance report in the console', () => {
  let product: RunningProduct;
  let browser: Browser;
  let page: Page;
  let work: string;
  let token: string;
  let source: string;
  const ids = { target: 0, website: 0, broken: 0, archive: 0, paused: 0 };

  const api = () => product.api;
  const shot = (name: string) => screenshot(page, `reports-${name}`);

  const createTask = async (name: string, body: Record<string, unknown>): Promise<number> => {
    const response = await api().post<Envelope<{ id: number }>>(
      '/api/backup/tasks',
      { name, type: 'file', storageTargetIds: [ids.target], ...body },
      { token },
    );
    expect(response.status, response.text).toBe(200);
    return response.body.data.id;
  };

  /** Starts a run and waits for its record to finish. */
  const runToEnd = async (taskId: number): Promise<RecordSummary> => {
    const started = await api().post<Envelope<RecordSummary>>(
      `/api/backup/tasks/${String(taskId)}/run`,
      undefined,
      { token },
    );
    expect(started.status, started.text).toBe(200);
    for (let attempt = 0; attempt < 1200; attempt += 1) {
      const response = await api().get<Envelope<RecordSummary[]>>(
        `/api/backup/records?taskId=${String(taskId)}`,
        { token },
      );
      const record = response.body.data[0];
      if (record && record.status !== 'running') return record;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the run of task ${String(taskId)} did not finish`);
  };

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'bx-e2e-reports-'));
    source = path.join(work, 'site');
    writeSampleTree(source, { files: 40, bigBytes: 512 * 1024 });
    const store = path.join(work, 'store');
    mkdirSync(store);
    product = await startProduct();
    const setup = await api().post<Envelope<{ token: string }>>('/api/auth/setup', ADMIN);
    token = setup.body.data.token;
    const target = await api().post<Envelope<{ id: number }>>(
      '/api/storage-targets',
      { name: 'Local disk', type: 'local_disk', enabled: true, config: { basePath: store } },
      { token },
    );
    expect(target.status, target.text).toBe(200);
    ids.target = target.body.data.id;

    browser = await launchBrowser();
    ({ page } = await signInPage(browser, product.url, ADMIN));
  }, 180_000);
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await shot(`failed-${task.name.replace(/[^a-z0-9]+/gi, '-')}`);
  });
  afterAll(async () => {
    await browser.close();
    await product.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('says on the dashboard that no task has an RPO yet', async () => {
    await page.goto(`${product.url}/dashboard`);
    await page.getByTestId('dashboard-sla-empty').waitFor();
    const coverage = page.getByTestId('dashboard-sla-coverage');
    expect(await coverage.getAttribute('data-level')).toBe('none');
    expect(await coverage.getAttribute('data-total')).toBe('0');
    const text = await page.getByTestId('dashboard-sla').innerText();
    expect(text).toContain('No task has an RPO yet');
    expect(text).toContain('Alerts and SLA');
    await page.getByTestId('dashboard-sla').scrollIntoViewIfNeeded();
    await shot('00-dashboard-sla-empty');
  });

  it('computes the RPO compliance and the report the console shows', async () => {
    ids.website = await createTask('Website', { sourcePaths: [source], slaHoursRpo: 1, encrypt: true });
    ids.broken = await createTask('Broken source', {
      sourcePaths: [path.join(work, 'does-not-exist')],
      slaHoursRpo: 1,
    });
    ids.archive = await createTask('Weekly archive', { sourcePaths: [source], slaHoursRpo: 24 });
    ids.paused = await createTask('Paused', { sourcePaths: [source], slaHoursRpo: 1, enabled: false });

    const good = await runToEnd(ids.website);
    expect(good.status, good.errorMessage).toBe('success');
    const bad = await runToEnd(ids.broken);
    expect(bad.status).toBe('failed');

    // Nothing in the API moves a task back in time: created 3 h ago, the failing task is 2 h past
    // its RPO of 1 h (the RPO counts from creation while a task never succeeded).
    const database = new DatabaseSync(path.join(product.dataDir, 'data', 'backupx.db'));
    try {
      database
        .prepare('UPDATE backup_tasks SET created_at = ? WHERE id = ?')
        .run(new Date(Date.now() - 3 * HOUR_MS).toISOString(), ids.broken);
    } finally {
      database.close();
    }

    const sla = (await api().get<Envelope<SlaCompliance>>('/api/dashboard/sla', { token })).body.data;
    expect(sla).toMatchObject({ totalTasksWithSla: 3, compliant: 2, violated: 1, coverageRate: 0.6667 });
    expect(sla.violations.map((violation) => violation.taskId)).toEqual([ids.broken]);
    expect(sla.violations[0]?.neverSucceeded).toBe(true);

    const report = (await api().get<Envelope<ComplianceReport>>('/api/reports/compliance', { token })).body
      .data;
    expect(report.rangeDays).toBe(30);
    expect(report.summary).toMatchObject({
      totalTasks: 4,
      enabledTasks: 3,
      compliantTasks: 1,
      atRiskTasks: 2,
      encryptedTasks: 1,
      overallSuccessRate: 0.5,
    });
    const tooLong = await api().get<Envelope>('/api/reports/compliance?days=400', { token });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.code).toBe('REPORT_RANGE_INVALID');
  });

  it('shows the RPO coverage and the violation on the dashboard', async () => {
    await page.goto(`${product.url}/dashboard`);
    const card = page.getByTestId('dashboard-sla');
    await card.waitFor();
    const coverage = page.getByTestId('dashboard-sla-coverage');
    await page.locator('[data-testid="dashboard-sla-coverage"][data-total="3"]').waitFor();
    expect(await coverage.getAttribute('data-compliant')).toBe('2');
    // 2 of 3 is below 80 %: red.
    expect(await coverage.getAttribute('data-level')).toBe('error');
    expect(await coverage.innerText()).toContain('2 / 3');
    expect(await coverage.innerText()).toContain('66.7%');

    const violation = page.getByTestId(`sla-violation-${String(ids.broken)}`);
    await violation.waitFor();
    expect(await violation.getAttribute('data-never-succeeded')).toBe('true');
    const text = await violation.innerText();
    expect(text).toContain('Broken source');
    expect(text).toContain('Never succeeded');
    expect(text).toContain('RPO 1 h');
    expect(await page.getByTestId(`sla-violation-overdue-${String(ids.broken)}`).innerText()).toMatch(
      /^Overdue by (1h 5\dm|2h( \d+m)?)$/,
    );
    // Only the failing task violates its RPO.
    expect(await card.locator('[data-testid^="sla-violation-"][data-never-succeeded]').count()).toBe(1);
    await card.scrollIntoViewIfNeeded();
    await shot('01-dashboard-sla');

    // The task name opens the task's details.
    await page.getByTestId(`sla-violation-task-${String(ids.broken)}`).click();
    await page.waitForURL(new RegExp(`/backup/tasks\\?taskId=${String(ids.broken)}$`));
    await page.getByTestId('task-detail-drawer').waitFor();
    await expect.poll(() => page.getByTestId('task-detail-drawer').innerText()).toContain('Broken source');
    await shot('02-task-from-violation');
  });

  it('lists every task with its risk on the reports page, reached from the sidebar', async () => {
    await page.goto(`${product.url}/dashboard`);
    await page.getByTestId('sidebar').getByText('Reports', { exact: true }).click();
    await page.waitForURL(/\/reports$/);
    await page.locator('[data-testid="reports-page"][data-loaded="true"]').waitFor();

    const risks = {
      [ids.website]: 'ok',
      [ids.broken]: 'at_risk',
      [ids.archive]: 'at_risk',
      [ids.paused]: 'not_applicable',
    };
    for (const [id, risk] of Object.entries(risks)) {
      const row = page.getByTestId(`report-row-${id}`);
      await row.waitFor();
      expect(await row.getAttribute('data-risk'), `task ${id}`).toBe(risk);
    }
    const website = await page.getByTestId(`report-row-${String(ids.website)}`).innerText();
    expect(website).toContain('Website');
    expect(website).toContain('1 h');
    expect(website).toContain('100%');
    expect(website).toContain('OK');
    expect(await page.getByTestId(`report-status-${String(ids.website)}`).getAttribute('data-status')).toBe(
      'success',
    );
    expect(await page.getByTestId(`report-status-${String(ids.broken)}`).getAttribute('data-status')).toBe(
      'failed',
    );
    expect(await page.getByTestId(`report-runs-${String(ids.broken)}`).innerText()).toContain(
      '0 ok · 1 failed',
    );
    const archive = await page.getByTestId(`report-row-${String(ids.archive)}`).innerText();
    expect(archive).toContain('No runs');
    expect(archive).toContain('24 h');
    expect(archive).toContain('At risk');
    expect(await page.getByTestId(`report-row-${String(ids.paused)}`).innerText()).toContain(
      'Not applicable',
    );

    const summary = page.getByTestId('reports-summary');
    expect(await page.getByTestId('reports-summary-tasks').innerText()).toContain('4');
    expect(await page.getByTestId('reports-summary-compliant').innerText()).toContain('1');
    expect(await page.getByTestId('reports-summary-at-risk').innerText()).toContain('2');
    expect(await page.getByTestId('reports-summary-encrypted').innerText()).toContain('1');
    expect(await page.getByTestId('reports-summary-success-rate').innerText()).toContain('50%');
    expect(await summary.innerText()).toContain('1 of 2 runs in 30 days');
    await shot('03-report-30-days');

    // The risk column filters.
    await page
      .locator('.ant-table-thead th')
      .filter({ hasText: 'Risk' })
      .locator('.ant-table-filter-trigger')
      .click();
    const dropdown = page.locator('.ant-table-filter-dropdown:visible');
    await dropdown.getByText('At risk (2)').click();
    await dropdown.locator('.ant-btn-primary').click();
    await dropdown.waitFor({ state: 'hidden' });
    await expect.poll(() => page.locator('[data-testid^="report-row-"]').count()).toBe(2);
    expect(await page.getByTestId(`report-row-${String(ids.website)}`).count()).toBe(0);
    await shot('04-report-at-risk');
    await page
      .locator('.ant-table-thead th')
      .filter({ hasText: 'Risk' })
      .locator('.ant-table-filter-trigger')
      .click();
    await dropdown.getByRole('button', { name: 'Reset' }).click();
    await dropdown.locator('.ant-btn-primary').click();
    await expect.poll(() => page.locator('[data-testid^="report-row-"]').count()).toBe(4);

    // Another window: the URL keeps it.
    await page.getByTestId('reports-days').getByText('7 days').click();
    await page.waitForURL(/\/reports\?days=7$/);
    await page.locator('[data-testid="reports-page"][data-days="7"][data-loaded="true"]').waitFor();
    expect(await summary.innerText()).toContain('1 of 2 runs in 7 days');
  });

  it('downloads the report of the selected window as CSV', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('reports-download-csv').click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^backupx-compliance-\d{8}-\d{6}\.csv$/);
    const csv = readFileSync(await download.path());
    expect([...csv.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = csv
      .toString('utf8')
      .slice(1)
      .split('\r\n')
      .filter((line) => line !== '');
    const header = lines[0]?.split(',') ?? [];
    expect(header).toHaveLength(17);
    expect(header[0]).toBe('任务ID');
    expect(header[16]).toBe('风险');
    const rows = lines.slice(1).map((line) => line.split(','));
    expect(rows).toHaveLength(4);
    const byId = new Map(rows.map((row) => [Number(row[0]), row]));
    expect(byId.get(ids.website)?.[16]).toBe('ok');
    expect(byId.get(ids.website)?.[11]).toBe('100.00%');
    expect(byId.get(ids.broken)?.[16]).toBe('at_risk');
    expect(byId.get(ids.archive)?.[16]).toBe('at_risk');
    expect(byId.get(ids.paused)?.[16]).toBe('not_applicable');
    await page.getByText(`Saved ${download.suggestedFilename()}`).waitFor();
    await shot('05-report-downloaded');
  });

  it('shows the SLA card and the report in Chinese', async () => {
    const { context: zhContext, page: zhPage } = await chinesePage(browser, token);
    try {
      await zhPage.goto(`${product.url}/reports`);
      await zhPage.locator('[data-testid="reports-page"][data-loaded="true"]').waitFor();
      expect(await zhPage.locator('html').getAttribute('lang')).toBe('zh-CN');
      expect(await zhPage.getByTestId('sidebar').innerText()).toContain('报表');
      expect(await zhPage.getByTestId(`report-row-${String(ids.broken)}`).innerText()).toContain('有风险');
      expect(await zhPage.getByTestId(`report-row-${String(ids.website)}`).innerText()).toContain('正常');
      await screenshot(zhPage, 'reports-06-report-zh-CN');
      await zhPage.goto(`${product.url}/dashboard`);
      await zhPage.getByTestId(`sla-violation-${String(ids.broken)}`).waitFor();
      expect(await zhPage.getByTestId('dashboard-sla').innerText()).toContain('从未成功');
      await zhPage.getByTestId('dashboard-sla').scrollIntoViewIfNeeded();
      await screenshot(zhPage, 'reports-07-dashboard-sla-zh-CN');
    } finally {
      await zhContext.close();
    }
  });
});
