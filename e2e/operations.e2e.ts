import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { TaskDetail, TaskSummary, TaskTemplateSummary } from '@backupx/contract';
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

/**
 * Task templates, global search and task import/export in the console (SPEC §14.1, §14.4, §14.5).
 * Through the API: an admin, a local_disk target and a file task "Website". In the browser: a
 * template made from that task's settings (after the server rejects a broken payload), applied
 * with two rows; Ctrl+K finds one of the new tasks and opens it; the export downloads the three
 * tasks and importing that file skips them all; the templates page in Chinese.
 * Screenshots go to test-results/e2e (operations-*).
 */
describe('Task templates, global search and task import/export in the console', () => {
  let product: RunningProduct;
  let browser: Browser;
  let page: Page;
  let work: string;
  let token: string;
  let source: string;
  const ids = { target: 0, website: 0, template: 0, siteA: 0, siteB: 0 };

  const api = () => product.api;
  /** Lets opening and closing animations finish before a screenshot. */
  const settle = (target: Page = page) => target.waitForTimeout(400);
  const shot = async (name: string) => {
    await settle();
    await screenshot(page, `operations-${name}`);
  };
  const listTasks = async () =>
    (await api().get<Envelope<TaskSummary[]>>('/api/backup/tasks', { token })).body.data;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'bx-e2e-operations-'));
    source = path.join(work, 'site');
    writeSampleTree(source, { files: 10, bigBytes: 64 * 1024 });
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
    const task = await api().post<Envelope<{ id: number }>>(
      '/api/backup/tasks',
      {
        name: 'Website',
        type: 'file',
        sourcePaths: [source],
        storageTargetIds: [ids.target],
        cronExpr: '0 3 * * *',
        tags: 'web,prod',
      },
      { token },
    );
    expect(task.status, task.text).toBe(200);
    ids.website = task.body.data.id;

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

  it('creates a template from the task’s settings, after showing the server’s rejection', async () => {
    const detail = (
      await api().get<Envelope<TaskDetail>>(`/api/backup/tasks/${String(ids.website)}`, { token })
    ).body.data;
    const payload = {
      type: detail.type,
      sourcePaths: detail.sourcePaths,
      storageTargetIds: detail.storageTargetIds,
      cronExpr: detail.cronExpr,
      tags: detail.tags,
      retentionDays: detail.retentionDays,
      maxBackups: detail.maxBackups,
    };

    await page.getByTestId('sidebar').getByText('Templates', { exact: true }).click();
    await page.locator('[data-testid="templates-page"][data-loaded="true"]').waitFor();
    expect(page.url()).toBe(`${product.url}/task-templates`);
    expect(await page.getByTestId('templates-page').innerText()).toContain('No template yet');
    await shot('01-templates-empty');

    await page.getByTestId('template-create').click();
    await page.getByTestId('template-form-name').fill('Web servers');
    await page
      .getByTestId('template-form-description')
      .fill('File backup of a site directory, daily at 03:00');
    const editor = page.getByTestId('template-form-payload');
    // Not JSON: the form says so before anything is sent.
    await editor.fill('{ "type": "file", ');
    await page.getByTestId('template-form-submit').click();
    await page.getByText('This is not valid JSON').waitFor();
    // JSON, but not a task body the server takes: its 400 answer is shown.
    await editor.fill(JSON.stringify({ ...payload, type: 'tape' }, null, 2));
    await page.getByTestId('template-form-submit').click();
    const rejection = page.getByTestId('template-form-error');
    await rejection.waitFor();
    expect(await rejection.innerText()).toContain('The template or one of its rows is not valid.');
    await shot('02-template-rejected');

    await editor.fill(JSON.stringify(payload, null, 2));
    await page.getByTestId('template-form-submit').click();
    await page.getByText('Template Web servers created').waitFor();
    await page.getByTestId('template-drawer').waitFor({ state: 'hidden' });
    const templates = (await api().get<Envelope<TaskTemplateSummary[]>>('/api/task-templates', { token }))
      .body.data;
    expect(templates).toHaveLength(1);
    ids.template = templates[0]?.id ?? 0;
    expect(templates[0]).toMatchObject({ name: 'Web servers', taskType: 'file', createdBy: 'admin' });
    const row = page.getByTestId(`template-row-${String(ids.template)}`);
    await row.waitFor();
    const text = await row.innerText();
    expect(text).toContain('Web servers');
    expect(text).toContain('File');
    expect(text).toContain('admin');
    await shot('03-templates-list');
  });

  it('applies the template with two rows and links to the new tasks', async () => {
    await page.getByTestId(`template-apply-${String(ids.template)}`).click();
    const dialog = page.getByTestId('template-apply-dialog');
    await dialog.waitFor();
    await page.getByTestId('template-apply-name-0').fill('Site A');
    await page.getByTestId('template-apply-sourcePath-0').fill(source);
    await page.getByTestId('template-apply-add-row').click();
    await page.getByTestId('template-apply-add-row').click();
    await page.getByTestId('template-apply-remove-2').click();
    await page.getByTestId('template-apply-name-1').fill('Site B');
    await shot('04-apply-dialog');
    await page.getByTestId('template-apply-submit').click();

    for (const index of [0, 1]) {
      const result = page.getByTestId(`template-apply-result-${String(index)}`);
      await result.waitFor();
      expect(await result.getAttribute('data-success')).toBe('true');
    }
    expect(await dialog.innerText()).toContain('2 of 2 tasks created');
    const tasks = await listTasks();
    const byName = new Map(tasks.map((task) => [task.name, task]));
    ids.siteA = byName.get('Site A')?.id ?? 0;
    ids.siteB = byName.get('Site B')?.id ?? 0;
    expect(ids.siteA).toBeGreaterThan(0);
    expect(ids.siteB).toBeGreaterThan(0);
    expect(await page.getByTestId('template-apply-result-1').getAttribute('data-task-id')).toBe(
      String(ids.siteB),
    );
    await shot('05-apply-results');

    // The result links to the task's details.
    await page.getByTestId('template-apply-result-0').getByText('Open').click();
    await page.waitForURL(`${product.url}/backup/tasks?taskId=${String(ids.siteA)}`);
    await page.getByTestId(`task-name-${String(ids.siteB)}`).waitFor();
    await page.keyboard.press('Escape');
  });

  it('finds a task with Ctrl+K, moves with the arrows and opens it with Enter', async () => {
    await page.goto(`${product.url}/dashboard`);
    await page.getByTestId('user-menu').waitFor();
    await page.keyboard.press('Control+K');
    const modal = page.getByTestId('global-search-modal');
    await modal.waitFor();
    await page.getByTestId('global-search-hint').waitFor();
    const input = page.getByTestId('global-search-input');
    await input.fill('no such thing');
    await page.getByTestId('global-search-empty').waitFor();
    expect(await page.getByTestId('global-search-empty').innerText()).toContain(
      'Nothing matches “no such thing”',
    );

    await input.fill('site');
    const siteA = page.getByTestId(`search-result-task-${String(ids.siteA)}`);
    const siteB = page.getByTestId(`search-result-task-${String(ids.siteB)}`);
    await siteB.waitFor();
    await siteA.waitFor();
    expect(await siteA.getAttribute('data-active')).toBe('true');
    await input.press('ArrowDown');
    expect(await siteB.getAttribute('data-active')).toBe('true');
    expect(await siteA.getAttribute('data-active')).toBe('false');
    await shot('06-search');
    const url = await siteB.getAttribute('data-url');
    expect(url).toMatch(/^\/backup\/tasks/);
    await input.press('Enter');
    await modal.waitFor({ state: 'hidden' });
    await page.waitForURL(`${product.url}${url ?? ''}`);
    await page.getByTestId(`task-name-${String(ids.siteB)}`).waitFor();

    // The header button opens it too; a click on a result navigates.
    await page.getByTestId('global-search-open').click();
    await page.getByTestId('global-search-input').fill('Local disk');
    await page.getByTestId(`search-result-storage-${String(ids.target)}`).click();
    await page.waitForURL(`${product.url}/storage-targets`);
  });

  it('exports the tasks as JSON and skips them all when the file is imported back', async () => {
    await page.goto(`${product.url}/backup/tasks`);
    await page.getByTestId(`task-name-${String(ids.siteB)}`).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('tasks-export').click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^backupx-tasks-\d{8}-\d{6}\.json$/);
    // Saved under its own name, which the import's results then show.
    const file = path.join(work, download.suggestedFilename());
    await download.saveAs(file);
    const exported = JSON.parse(readFileSync(file, 'utf8')) as {
      version: string;
      taskCount: number;
      tasks: { name: string; storageTargetNames: string[]; sourcePaths: string[] }[];
    };
    expect(exported.version).toBe('v1');
    expect(exported.taskCount).toBe(3);
    expect(exported.tasks.map((task) => task.name).sort()).toEqual(['Site A', 'Site B', 'Website']);
    expect(exported.tasks.find((task) => task.name === 'Site A')?.sourcePaths).toEqual([source]);
    expect(exported.tasks.every((task) => task.storageTargetNames.includes('Local disk'))).toBe(true);
    await page.getByText(`Saved ${download.suggestedFilename()}`).waitFor();

    await page.getByTestId('tasks-import-file').setInputFiles(file);
    const results = page.getByTestId('tasks-import-results');
    await results.waitFor();
    await page.mouse.move(0, 0);
    expect(await page.getByRole('dialog').innerText()).toContain(`Import of ${download.suggestedFilename()}`);
    expect(await page.getByTestId('tasks-import-summary').innerText()).toContain(
      '0 created · 3 skipped · 0 failed',
    );
    const rows = page.locator('[data-testid^="tasks-import-result-"]');
    expect(await rows.count()).toBe(3);
    for (const index of [0, 1, 2])
      expect(
        await page.getByTestId(`tasks-import-result-${String(index)}`).getAttribute('data-outcome'),
      ).toBe('skipped');
    await shot('07-import-results');
    await page.getByTestId('tasks-import-close').click();
    expect(await listTasks()).toHaveLength(3);
  });

  it('shows the templates page in Chinese', async () => {
    const { context: zhContext, page: zhPage } = await chinesePage(browser, token);
    try {
      await zhPage.goto(`${product.url}/task-templates`);
      await zhPage.locator('[data-testid="templates-page"][data-loaded="true"]').waitFor();
      expect(await zhPage.locator('html').getAttribute('lang')).toBe('zh-CN');
      expect(await zhPage.getByTestId('sidebar').innerText()).toContain('模板');
      expect(await zhPage.getByTestId('templates-page').innerText()).toContain('任务模板');
      await zhPage.getByTestId(`template-apply-${String(ids.template)}`).click();
      await zhPage.getByTestId('template-apply-dialog').waitFor();
      await zhPage.getByTestId('template-apply-name-0').fill('网站 A');
      await settle(zhPage);
      await screenshot(zhPage, 'operations-08-templates-zh-CN');
    } finally {
      await zhContext.close();
    }
  });
});
