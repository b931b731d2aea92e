import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RecordDetail, RecordSummary, RestoreSummary, TaskDetail } from '@backupx/contract';
import { writeSampleTree } from '@backupx/testkit';
import {
  chinesePage,
  launchBrowser,
  screenshot,
  signInPage,
  startProduct,
  type RunningProduct,
} from './support.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };
const ADMIN = { username: 'admin', password: 'Admin-Password-1', displayName: 'Ada Admin' };

/**
 * The deduplicating repository in the console (SPEC §3.14): a file task created in the task form
 * with "Deduplicating repository" as its backup mode, run twice, the second run's deduplication
 * figures in the record drawer (nothing new uploaded, every file unchanged), its contents browsed
 * and one folder restored from the contents dialog, and the drawer in Chinese. Screenshots go to
 * test-results/e2e (repository-*).
 */
describe('Deduplicating repository mode in the console', () => {
  let product: RunningProduct;
  let browser: Browser;
  let page: Page;
  let work: string;
  let token: string;
  let source: string;
  let taskId = 0;
  let recordId = 0;

  const api = () => product.api;
  const shot = async (name: string, target: Page = page) => {
    await target.waitForTimeout(400);
    await screenshot(target, `repository-${name}`);
  };
  const records = async () =>
    (await api().get<Envelope<RecordSummary[]>>(`/api/backup/records?taskId=${String(taskId)}`, { token }))
      .body.data;
  const waitForRecords = async (count: number): Promise<RecordSummary[]> => {
    for (let attempt = 0; attempt < 600; attempt += 1) {
      const list = await records();
      if (list.length >= count && list.every((record) => record.status !== 'running')) return list;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the runs did not finish');
  };

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'bx-e2e-repository-'));
    source = path.join(work, 'site');
    writeSampleTree(source, { files: 40, bigBytes: 2 * 1024 * 1024 });
    mkdirSync(path.join(work, 'store'));
    product = await startProduct();
    const setup = await api().post<Envelope<{ token: string }>>('/api/auth/setup', ADMIN);
    token = setup.body.data.token;
    const target = await api().post<Envelope<{ id: number }>>(
      '/api/storage-targets',
      {
        name: 'Local disk',
        type: 'local_disk',
        enabled: true,
        config: { basePath: path.join(work, 'store') },
      },
      { token },
    );
    expect(target.status, target.text).toBe(200);
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

  it('creates a repository-mode file task in the task form', async () => {
    await page.goto(`${product.url}/backup/tasks`);
    await page.getByTestId('task-create').click();
    await page.getByTestId('task-form-drawer').waitFor();
    await page.getByTestId('task-name').fill('Deduplicated site');
    await page.getByTestId('task-type-file').click();
    await page.getByTestId('task-form-next').click();
    await page.getByTestId('task-source-path-0').fill(source);
    await page.getByTestId('task-form-next').click();
    await page.getByTestId('task-targets').click();
    await page.keyboard.type('Local disk');
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option[title="Local disk"]').waitFor();
    await page.keyboard.press('Enter');
    await page.keyboard.press('Escape');
    await page.getByTestId('task-mode-repository').click();
    await shot('01-task-form-mode');
    await page.getByTestId('task-form-submit').click();
    await page.getByTestId('task-form-drawer').waitFor({ state: 'hidden' });
    const tasks = (await api().get<Envelope<TaskDetail[]>>('/api/backup/tasks', { token })).body.data;
    taskId = tasks.find((task) => task.name === 'Deduplicated site')?.id ?? 0;
    const task = (await api().get<Envelope<TaskDetail>>(`/api/backup/tasks/${String(taskId)}`, { token }))
      .body.data;
    expect(task.backupMode).toBe('repository');
  });

  it('runs it twice and shows what the second run reused', async () => {
    await page.getByTestId(`task-run-${String(taskId)}`).click();
    await waitForRecords(1);
    await api().post(`/api/backup/tasks/${String(taskId)}/run`, undefined, { token });
    const list = await waitForRecords(2);
    for (const record of list) expect(record.status, record.errorMessage).toBe('success');
    recordId = Math.max(...list.map((record) => record.id));
    const detail = (
      await api().get<Envelope<RecordDetail>>(`/api/backup/records/${String(recordId)}`, { token })
    ).body.data;
    expect(detail.repositoryStats?.newChunks).toBe(0);
    await page.goto(`${product.url}/backup/records?recordId=${String(recordId)}`);
    await page.getByTestId('record-dedup').waitFor();
    expect(await page.getByTestId('record-dedup-new-chunks').innerText()).toBe('0');
    expect(Number(await page.getByTestId('record-dedup-unchanged-files').innerText())).toBeGreaterThan(40);
    expect(await page.getByTestId('record-dedup-ratio').innerText()).toContain('100');
    await shot('02-record-dedup');
  });

  it('browses the snapshot and restores one folder from the contents dialog', async () => {
    await page.getByTestId('record-contents').click();
    await page.getByTestId('contents-modal').waitFor();
    const treeNode = (key: string) =>
      page
        .getByTestId(`contents-node-${key}`)
        .locator('xpath=ancestor::div[contains(@class,"ant-tree-treenode")][1]');
    await treeNode('site').locator('.ant-tree-switcher').click();
    const node = page.getByTestId('contents-node-site/nested');
    await node.waitFor();
    await node
      .locator('xpath=ancestor::div[contains(@class,"ant-tree-treenode")][1]')
      .locator('.ant-tree-checkbox')
      .click();
    await shot('03-contents');
    await page.getByTestId('contents-restore-selected').click();
    await page.getByTestId('restore-modal').waitFor();
    await page.getByTestId('restore-selection').waitFor();
    const target = path.join(work, 'restored');
    await page.getByTestId('restore-target-path').fill(target);
    await shot('04-restore-selected');
    await page.getByTestId('restore-confirm').click();
    await page.waitForURL(/\/restore\/records\?restoreId=\d+/);
    const restoreId = Number(new URL(page.url()).searchParams.get('restoreId'));
    for (let attempt = 0; attempt < 600; attempt += 1) {
      const restore = (
        await api().get<Envelope<RestoreSummary>>(`/api/restore/records/${String(restoreId)}`, { token })
      ).body.data;
      if (restore.status !== 'running') {
        expect(restore.status, restore.errorMessage).toBe('success');
        break;
      }
      await page.waitForTimeout(100);
    }
    expect(readdirSync(path.join(target, 'site'))).toEqual(['nested']);
  });

  it('shows the deduplication figures in Chinese', async () => {
    const { context, page: zhPage } = await chinesePage(browser, token);
    await zhPage.goto(`${product.url}/backup/records?recordId=${String(recordId)}`);
    await zhPage.getByTestId('record-dedup').waitFor();
    expect(await zhPage.getByTestId('record-dedup').innerText()).toMatch(/[\u4e00-\u9fff]/);
    await shot('05-record-dedup-zh', zhPage);
    await context.close();
  });
});
