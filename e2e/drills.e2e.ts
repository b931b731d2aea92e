import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type {
  RecordDetail,
  RecordSummary,
  ReplicationRecord,
  TaskDetail,
  TaskSummary,
  VerificationSummary,
} from '@backupx/contract';
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
 * Verification drills and the 3-2-1 posture in the console (SPEC §8, §9, §15.5), in one flow:
 * a template applied to create two file tasks (Files A, Files B, each also copied to a second
 * disk), B made to depend on A in its task form ("Upstream tasks"), both batch-run from the tasks
 * list, the dependency graph showing both green, a record's posture, a manual "Replicate to…" of
 * it to a spare disk, a deep drill of its copy and a quick drill of the record,
 * both passing on the verification page, a drill from the tasks page, the dashboard's posture
 * card, the sandbox settings, the compliance CSV, and the verification and replication pages in
 * Chinese. Screenshots go to test-results/e2e (drills-*).
 */
describe('Templates, batch run, dependency graph, drills and the compliance report', () => {
  let product: RunningProduct;
  let browser: Browser;
  let page: Page;
  let work: string;
  let token: string;
  let source: string;
  const ids = { disk: 0, archive: 0, spare: 0, template: 0, a: 0, b: 0, recordA: 0 };

  const api = () => product.api;
  /** Lets opening and closing animations finish before a screenshot. */
  const settle = (target: Page = page) => target.waitForTimeout(400);
  const shot = async (name: string) => {
    await settle();
    await screenshot(page, `drills-${name}`);
  };
  const listTasks = async () =>
    (await api().get<Envelope<TaskSummary[]>>('/api/backup/tasks', { token })).body.data;
  const records = async (taskId: number) =>
    (await api().get<Envelope<RecordSummary[]>>(`/api/backup/records?taskId=${String(taskId)}`, { token }))
      .body.data;
  /** Titles of the options of an antd Select's open dropdown. */
  const optionTitles = async (testId: string): Promise<string[]> => {
    await page.getByTestId(testId).click();
    const options = page.locator('.ant-select-dropdown:visible .ant-select-item-option');
    await options.first().waitFor();
    // The list can re-render while it opens (its options' query settles): read until it holds still.
    const read = (): Promise<string[]> =>
      options.evaluateAll((nodes: { getAttribute(name: string): string | null }[]) =>
        nodes.map((node) => node.getAttribute('title') ?? ''),
      );
    let titles = await read();
    for (let attempt = 0; attempt < 20; attempt += 1) {
      await page.waitForTimeout(150);
      const again = await read();
      if (again.length > 0 && again.join('\n') === titles.join('\n')) break;
      titles = again;
    }
    await page.keyboard.press('Escape');
    // The next dropdown must not be mistaken for this one while it closes.
    await expect.poll(() => page.locator('.ant-select-dropdown:visible').count()).toBe(0);
    return titles;
  };
  /** antd (multi) Select: open it, type to filter, take the highlighted option with Enter. */
  const choose = async (testId: string, values: string[]) => {
    await page.getByTestId(testId).click();
    for (const value of values) {
      await page.keyboard.type(value);
      await page.locator(`.ant-select-dropdown:visible .ant-select-item-option[title="${value}"]`).waitFor();
      await page.keyboard.press('Enter');
    }
    await page.keyboard.press('Escape');
  };
  const poll = async <T>(
    what: string,
    probe: () => Promise<T | undefined>,
    timeoutMs = 60_000,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'bx-e2e-drills-'));
    source = path.join(work, 'site');
    writeSampleTree(source, { files: 12, bigBytes: 96 * 1024 });
    mkdirSync(path.join(work, 'store'));
    mkdirSync(path.join(work, 'archive'));
    mkdirSync(path.join(work, 'spare'));
    product = await startProduct();
    const setup = await api().post<Envelope<{ token: string }>>('/api/auth/setup', ADMIN);
    token = setup.body.data.token;
    for (const [key, name, dir] of [
      ['disk', 'Local disk', 'store'],
      ['archive', 'Archive disk', 'archive'],
      ['spare', 'Spare disk', 'spare'],
    ] as const) {
      const target = await api().post<Envelope<{ id: number }>>(
        '/api/storage-targets',
        { name, type: 'local_disk', enabled: true, config: { basePath: path.join(work, dir) } },
        { token },
      );
      expect(target.status, target.text).toBe(200);
      ids[key] = target.body.data.id;
    }
    const template = await api().post<Envelope<{ id: number }>>(
      '/api/task-templates',
      {
        name: 'Site files',
        description: 'File backup of a site directory, copied to the archive disk',
        payload: {
          name: 'template',
          type: 'file',
          sourcePaths: [source],
          storageTargetIds: [ids.disk],
          replicationTargetIds: [ids.archive],
          cronExpr: '',
        },
      },
      { token },
    );
    expect(template.status, template.text).toBe(200);
    ids.template = template.body.data.id;

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

  it('applies a template to create two tasks, and B is made to depend on A', async () => {
    await page.goto(`${product.url}/task-templates`);
    await page.locator('[data-testid="templates-page"][data-loaded="true"]').waitFor();
    await page.getByTestId(`template-apply-${String(ids.template)}`).click();
    await page.getByTestId('template-apply-dialog').waitFor();
    await page.getByTestId('template-apply-name-0').fill('Files A');
    await page.getByTestId('template-apply-add-row').click();
    await page.getByTestId('template-apply-name-1').fill('Files B');
    await page.getByTestId('template-apply-submit').click();
    for (const index of [0, 1]) {
      const result = page.getByTestId(`template-apply-result-${String(index)}`);
      await result.waitFor();
      expect(await result.getAttribute('data-success')).toBe('true');
    }
    await shot('01-template-applied');
    const byName = new Map((await listTasks()).map((task) => [task.name, task]));
    ids.a = byName.get('Files A')?.id ?? 0;
    ids.b = byName.get('Files B')?.id ?? 0;
    expect(ids.a).toBeGreaterThan(0);
    expect(ids.b).toBeGreaterThan(0);

    // B's edit drawer: the template's replication target comes back, A is chosen as upstream.
    await page.goto(`${product.url}/backup/tasks`);
    await page.getByTestId(`task-edit-${String(ids.b)}`).click();
    const drawer = page.getByTestId('task-form-drawer');
    await drawer.locator('[data-testid="task-name"][value="Files B"]').waitFor();
    await drawer.getByText('Storage & policy', { exact: true }).click();
    const policy = page.getByTestId('task-form-step-2');
    await policy.getByTestId('task-upstream').waitFor();
    expect(await page.getByTestId('task-replication-targets').innerText()).toContain('Archive disk');
    // Replication targets never offer a primary; upstream tasks never offer the task itself.
    const replicaChoices = await optionTitles('task-replication-targets');
    expect(replicaChoices).toContain('Spare disk');
    expect(replicaChoices).not.toContain('Local disk');
    const upstreamChoices = await optionTitles('task-upstream');
    expect(upstreamChoices).toContain('Files A');
    expect(upstreamChoices).not.toContain('Files B');
    await choose('task-upstream', ['Files A']);
    expect(await page.getByTestId('task-upstream').innerText()).toContain('Files A');
    await policy
      .getByText("When an upstream task's backup succeeds, this task starts.", { exact: false })
      .waitFor();
    await shot('01b-task-form-upstream');
    await page.getByTestId('task-form-submit').click();
    await page.getByText('Task Files B was updated').waitFor();
    await drawer.waitFor({ state: 'hidden' });

    const detail = (await api().get<Envelope<TaskDetail>>(`/api/backup/tasks/${String(ids.b)}`, { token }))
      .body.data;
    expect(detail.dependsOnTaskIds).toEqual([ids.a]);
    expect(detail.replicationTargetIds).toEqual([ids.archive]);

    // A depending on B would close a cycle: the server's error lands on the field.
    await page.getByTestId(`task-edit-${String(ids.a)}`).click();
    await drawer.locator('[data-testid="task-name"][value="Files A"]').waitFor();
    await drawer.getByText('Storage & policy', { exact: true }).click();
    await choose('task-upstream', ['Files B']);
    await page.getByTestId('task-form-submit').click();
    await page
      .getByText('An upstream task does not exist, is the task itself, or would create a cycle.')
      .waitFor();
    await policy
      .getByText(`Depending on task ${String(ids.b)} would close a cycle`, { exact: false })
      .waitFor();
    await page.mouse.move(0, 0);
    await shot('01c-task-form-cycle');
    await drawer.getByRole('button', { name: 'Cancel' }).click();
    await drawer.waitFor({ state: 'hidden' });
    const a = (await api().get<Envelope<TaskDetail>>(`/api/backup/tasks/${String(ids.a)}`, { token })).body
      .data;
    expect(a.dependsOnTaskIds).toEqual([]);
  });

  it('batch-runs both tasks from the list and both succeed', async () => {
    await page.goto(`${product.url}/backup/tasks`);
    for (const id of [ids.a, ids.b])
      await page
        .getByTestId(`task-row-${String(id)}`)
        .locator('input[type="checkbox"]')
        .check();
    await page.getByTestId('tasks-batch-bar').waitFor();
    await shot('02-tasks-selected');
    await page.getByTestId('tasks-batch-run').click();
    await page.getByText('Started 2 of 2 tasks').waitFor();

    // B runs from the batch and once more after A's success; wait for everything to settle.
    await poll(
      'both tasks to succeed',
      async () => {
        const tasks = await listTasks();
        const done = [ids.a, ids.b].every(
          (id) => tasks.find((task) => task.id === id)?.lastStatus === 'success',
        );
        const running = (await Promise.all([records(ids.a), records(ids.b)]))
          .flat()
          .some((record) => record.status === 'running');
        return done && !running ? true : undefined;
      },
      120_000,
    );
    await page
      .getByTestId(`task-status-${String(ids.b)}`)
      .and(page.locator('[data-status="success"]'))
      .waitFor();
    await page
      .getByTestId(`task-status-${String(ids.a)}`)
      .and(page.locator('[data-status="success"]'))
      .waitFor();
    await page.mouse.move(0, 0);
    await shot('03-tasks-succeeded');
  });

  it('draws the dependency graph with both tasks green and opens a task from it', async () => {
    await page.getByTestId('tasks-view-graph').click();
    await page.waitForURL(/view=graph/);
    const nodeA = page.getByTestId(`dep-node-${String(ids.a)}`);
    const nodeB = page.getByTestId(`dep-node-${String(ids.b)}`);
    await nodeA.waitFor();
    expect(await nodeA.getAttribute('data-status')).toBe('success');
    expect(await nodeB.getAttribute('data-status')).toBe('success');
    await page.getByTestId(`dep-edge-${String(ids.a)}-${String(ids.b)}`).waitFor({ state: 'attached' });
    const [boxA, boxB] = await Promise.all([nodeA.boundingBox(), nodeB.boundingBox()]);
    expect(boxA?.x ?? 0).toBeLessThan(boxB?.x ?? 0);
    await page.getByTestId('dep-graph-legend').waitFor();
    await shot('04-dependency-graph');

    await nodeB.click();
    await page.waitForURL(new RegExp(`taskId=${String(ids.b)}`));
    await page.getByTestId('task-detail-drawer').waitFor();
    await page.keyboard.press('Escape');
  });

  it('shows the record’s 3-2-1 posture and runs a deep drill of its copy', async () => {
    const newest = await poll('a replicated record of A', async () => {
      const record = (await records(ids.a)).find((item) => item.status === 'success');
      if (!record) return undefined;
      const replicas = (
        await api().get<Envelope<ReplicationRecord[]>>(
          `/api/replication/records?backupRecordId=${String(record.id)}`,
          { token },
        )
      ).body.data;
      return replicas.some((replica) => replica.status === 'success') ? record : undefined;
    });
    ids.recordA = newest.id;
    const detail = (
      await api().get<Envelope<RecordDetail>>(`/api/backup/records/${String(ids.recordA)}`, { token })
    ).body.data;
    expect(detail.posture?.copies).toBe(2);

    await page.goto(`${product.url}/backup/records?recordId=${String(ids.recordA)}`);
    const posture = page.getByTestId('record-posture');
    await posture.waitFor();
    // Two local disks: two copies, but one kind of storage and nothing off this machine.
    expect(await posture.getAttribute('data-status')).toBe('degraded');
    expect(await page.getByTestId('record-posture-count-copies').getAttribute('data-value')).toBe('2');
    await page.getByTestId('record-posture-problem-single_provider').waitFor();
    await page.getByTestId('record-posture-problem-no_offsite_copy').waitFor();
    expect(await page.getByTestId(`copy-verified-${String(ids.archive)}`).getAttribute('data-state')).toBe(
      'never',
    );
    await page.getByTestId('record-posture').scrollIntoViewIfNeeded();
    await shot('05-record-posture');

    // "Replicate to…": the spare disk is offered, the disks that already hold a copy are not.
    await page.getByTestId('record-replicate').click();
    await page.getByTestId('replicate-target').waitFor();
    const destinations = await optionTitles('replicate-target');
    expect(destinations).toEqual(['Spare disk']);
    await choose('replicate-target', ['Spare disk']);
    await shot('05b-replicate-modal');
    await page.getByTestId('replicate-submit').click();
    await page.waitForURL(`${product.url}/replication/records`);
    await page.getByText(`Copying backup #${String(ids.recordA)} to Spare disk`).waitFor();
    const manual = await poll('the manual copy to the spare disk', async () => {
      const copies = (
        await api().get<Envelope<ReplicationRecord[]>>(
          `/api/replication/records?backupRecordId=${String(ids.recordA)}&destTargetId=${String(ids.spare)}`,
          { token },
        )
      ).body.data;
      return copies.find((copy) => copy.status === 'success');
    });
    expect(manual.triggeredBy).toBe(ADMIN.username);
    const manualRow = page.getByTestId(`replication-row-${String(manual.id)}`);
    await manualRow.waitFor({ timeout: 30_000 });
    await manualRow.and(page.locator('[data-status="success"]')).waitFor({ timeout: 30_000 });
    expect(await manualRow.innerText()).toContain('Spare disk');
    await page.mouse.move(0, 0);
    await shot('05c-replication-manual-copy');

    await page.goto(`${product.url}/backup/records?recordId=${String(ids.recordA)}`);
    await page.getByTestId('record-posture').waitFor();
    expect(await page.getByTestId('record-posture-count-copies').getAttribute('data-value')).toBe('3');

    await page.getByTestId(`copy-drill-deep-${String(ids.archive)}`).click();
    await page.waitForURL(/\/verify\/records\?verifyId=\d+/);
    const drawer = page.getByTestId('verify-detail-drawer');
    await page
      .getByTestId('verify-detail-status')
      .and(page.locator('[data-status="success"]'))
      .waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('verify-detail-mode').getAttribute('data-mode')).toBe('deep');
    await page.getByTestId('verify-checks').waitFor();
    expect(await page.getByTestId('verify-check-manifest').getAttribute('data-ok')).toBe('true');
    expect(await drawer.innerText()).toContain('Archive disk');
    await page.getByTestId('verify-detail-rto').waitFor();
    await shot('06-deep-drill-passed');
  });

  it('runs a quick drill from the record’s Verify button and lists both drills', async () => {
    await page.goto(`${product.url}/backup/records?recordId=${String(ids.recordA)}`);
    await page.getByTestId('record-posture').waitFor();
    // The archive copy now shows its passed drill.
    expect(await page.getByTestId(`copy-verified-${String(ids.archive)}`).getAttribute('data-state')).toBe(
      'verified',
    );
    await page.getByTestId('record-verify').click();
    await page.waitForURL(/\/verify\/records\?verifyId=\d+/);
    await page
      .getByTestId('verify-detail-status')
      .and(page.locator('[data-status="success"]'))
      .waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('verify-detail-mode').getAttribute('data-mode')).toBe('quick');
    expect(await page.getByTestId('verify-check-checksum').getAttribute('data-ok')).toBe('true');
    await shot('07-quick-drill-passed');

    await page.keyboard.press('Escape');
    await page.waitForURL(`${product.url}/verify/records`);
    const drills = (await api().get<Envelope<VerificationSummary[]>>('/api/verify/records', { token })).body
      .data;
    expect(drills.map((drill) => drill.mode).sort()).toEqual(['deep', 'quick']);
    for (const drill of drills) {
      const row = page.getByTestId(`verify-row-${String(drill.id)}`);
      await row.and(page.locator('[data-status="success"]')).waitFor();
    }
    await page.mouse.move(0, 0);
    await shot('08-verification-list');
  });

  it('starts a drill of a task from the tasks list', async () => {
    await page.goto(`${product.url}/backup/tasks`);
    await page.getByTestId(`task-drill-${String(ids.b)}`).click();
    await page.getByTestId(`task-drill-${String(ids.b)}-quick`).waitFor();
    await shot('09-task-drill-menu');
    await page.getByTestId(`task-drill-${String(ids.b)}-quick`).click();
    await page.waitForURL(/\/verify\/records\?verifyId=\d+/);
    await page
      .getByTestId('verify-detail-status')
      .and(page.locator('[data-status="success"]'))
      .waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('verify-detail-drawer').innerText()).toContain('Files B');
  });

  it('shows the 3-2-1 posture on the dashboard', async () => {
    await page.goto(`${product.url}/dashboard`);
    const card = page.getByTestId('dashboard-posture');
    await card.waitFor();
    await page.locator('[data-testid="dashboard-posture-degraded"][data-count]').waitFor();
    expect(Number(await page.getByTestId('dashboard-posture-degraded').getAttribute('data-count'))).toBe(2);
    await page.getByTestId('dashboard-posture-records').waitFor();
    await shot('10-dashboard-posture');
  });

  it('keeps a deep-drill sandbox server masked in the settings', async () => {
    await page.goto(`${product.url}/settings`);
    const mysql = page.getByTestId('settings-sandbox-mysql');
    await mysql.fill('db.example:3306');
    await page.getByTestId('settings-submit').click();
    await page.getByText('Enter a URL such as mysql://user:password@host:3306').waitFor();
    await mysql.fill('mysql://drill:s3cret@127.0.0.1:3306');
    await page.getByTestId('settings-submit').click();
    await page.getByText('The settings were saved').waitFor();
    const settings = (await api().get<Envelope<Record<string, string>>>('/api/settings', { token })).body
      .data;
    expect(settings.verify_sandbox_mysql).toBe('********');
    expect(settings.verify_sandbox_postgresql).toBe('');
    // A full-page screenshot of a scrolled page draws the sticky sider half-way down.
    await page.evaluate('window.scrollTo(0, 0)');
    await shot('11-settings-sandbox');
  });

  it('downloads the compliance report as CSV with both tasks', async () => {
    await page.goto(`${product.url}/reports`);
    await page.locator('[data-testid="reports-page"][data-loaded="true"]').waitFor();
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
    expect(lines[0]?.split(',')).toHaveLength(17);
    const rows = new Map(lines.slice(1).map((line) => [Number(line.split(',')[0]), line.split(',')]));
    expect([...rows.keys()].sort()).toEqual([ids.a, ids.b].sort());
    expect(rows.get(ids.a)?.[1]).toBe('Files A');
    expect(rows.get(ids.b)?.[1]).toBe('Files B');
    await page.getByText(`Saved ${download.suggestedFilename()}`).waitFor();
    await shot('12-report-downloaded');
  });

  it('shows the verification and replication pages in Chinese', async () => {
    const { context, page: zhPage } = await chinesePage(browser, token);
    try {
      await zhPage.goto(`${product.url}/verify/records`);
      await zhPage.locator('[data-testid="verify-table"][data-loaded="true"]').waitFor();
      expect(await zhPage.getByTestId('sidebar').innerText()).toContain('验证演练');
      const text = await zhPage.getByTestId('verify-table').innerText();
      expect(text).toContain('深度');
      expect(text).toContain('通过');
      await settle(zhPage);
      await screenshot(zhPage, 'drills-13-verification-zh-CN');

      await zhPage.goto(`${product.url}/replication/records`);
      await zhPage.locator('[data-testid="replication-table"][data-loaded="true"]').waitFor();
      expect(await zhPage.getByTestId('sidebar').innerText()).toContain('复制');
      const copies = (await api().get<Envelope<ReplicationRecord[]>>('/api/replication/records', { token }))
        .body.data;
      expect(copies.length).toBeGreaterThanOrEqual(2);
      const first = copies.find((copy) => copy.triggeredBy === 'system');
      expect(first).toBeDefined();
      if (first) {
        const row = await zhPage.getByTestId(`replication-row-${String(first.id)}`).innerText();
        expect(row).toContain('Archive disk');
        expect(row).toContain('自动');
      }
      await settle(zhPage);
      await screenshot(zhPage, 'drills-14-replication-zh-CN');

      await zhPage.goto(`${product.url}/backup/tasks?view=graph`);
      await zhPage.getByTestId(`dep-node-${String(ids.a)}`).waitFor();
      await settle(zhPage);
      await screenshot(zhPage, 'drills-15-graph-zh-CN');
    } finally {
      await context.close();
    }
  });
});
