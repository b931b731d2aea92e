import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { NodeSummary, RecordSummary } from '@backupx/contract';
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
const NODE_NAME = 'web-e2e';

/**
 * The cluster walked through in the console: the admin adds a node with the wizard and copies its
 * install command, the agent is installed from it and the node turns online, a file task bound to
 * the node runs there with a live log, and the node's page shows the task and its record.
 * Screenshots go to test-results/e2e (cluster-*).
 */
describe('cluster end to end in the console', () => {
  let product: RunningProduct;
  let browser: Browser;
  let page: Page;
  let work: string;
  let source: string;
  let store: string;
  let token: string;
  let agent: ChildProcess | undefined;
  let agentOutput = '';
  const ids: Record<string, number> = {};
  /** What the wizard showed: the node token and the three command variants. */
  const shown = { nodeToken: '', urlCommand: '', fallbackCommand: '', embeddedCommand: '' };

  const api = () => product.api;
  const shot = (name: string) => screenshot(page, `cluster-${name}`);

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'bx-e2e-cluster-'));
    source = path.join(work, 'site');
    writeSampleTree(source, { files: 60, bigBytes: 2 * 1024 * 1024 });
    store = path.join(work, 'store');
    mkdirSync(store);
    product = await startProduct();
    const setup = await api().post<Envelope<{ token: string }>>('/api/auth/setup', ADMIN);
    token = setup.body.data.token;
    const target = await api().post<Envelope<{ id: number }>>(
      '/api/storage-targets',
      { name: 'Local disk', type: 'local_disk', enabled: true, config: { basePath: store } },
      { token },
    );
    ids.target = target.body.data.id;
    browser = await launchBrowser();
    ({ page } = await signInPage(browser, product.url, ADMIN));
  }, 120_000);
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await shot(`failed-${task.name.replace(/[^a-z0-9]+/gi, '-')}`);
  });
  afterAll(async () => {
    if (agent?.pid !== undefined && agent.exitCode === null) {
      const exited = new Promise((resolve) => agent?.once('exit', resolve));
      process.kill(-agent.pid, 'SIGTERM');
      await exited;
    }
    await browser.close();
    await product.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const nodeByName = async (name: string): Promise<NodeSummary> => {
    const response = await api().get<Envelope<NodeSummary[]>>('/api/nodes', { token });
    const found = response.body.data.find((node) => node.name === name);
    if (!found) throw new Error(`node ${name} not found`);
    return found;
  };
  /** antd Select: open it, type to filter, take the highlighted option with Enter. */
  const choose = async (testId: string, values: string[]) => {
    await page.getByTestId(testId).click();
    for (const value of values) {
      await page.keyboard.type(value);
      await page.locator(`.ant-select-dropdown:visible .ant-select-item-option[title="${value}"]`).waitFor();
      await page.keyboard.press('Enter');
    }
    await page.keyboard.press('Escape');
  };

  it('adds a node with the wizard and shows its install commands', async () => {
    await page.goto(`${product.url}/nodes`);
    await page.getByTestId('nodes-table').waitFor();
    await shot('01-nodes-local-only');
    await page.getByTestId('node-add').click();
    await page.getByTestId('node-wizard-name').fill(NODE_NAME);
    await shot('02-wizard-name');
    await page.getByTestId('node-wizard-next').click();
    await page.getByTestId('node-wizard-version').waitFor();
    // The agent version defaults to the master's.
    expect(await page.getByTestId('node-wizard-version').inputValue()).not.toBe('');
    // Foreground: the installer runs the agent itself (the test supervises it; no systemd here).
    await page.getByTestId('node-wizard-install-foreground').click();
    await shot('03-wizard-options');
    await page.getByTestId('node-wizard-next').click();
    await page.getByTestId('node-wizard-commands').waitFor();

    const node = await nodeByName(NODE_NAME);
    ids.node = node.id;
    expect(node.status).toBe('offline');
    const id = String(node.id);
    shown.nodeToken = await page.getByTestId('node-wizard-token').innerText();
    shown.urlCommand = await page.getByTestId(`install-command-url-${id}`).innerText();
    shown.fallbackCommand = await page.getByTestId(`install-command-fallback-${id}`).innerText();
    shown.embeddedCommand = await page.getByTestId(`install-command-embedded-${id}`).innerText();
    expect(shown.nodeToken).toMatch(/^[0-9a-f]{64}$/);
    const base = product.url.replace(/[.]/g, '\\.');
    expect(shown.urlCommand).toMatch(
      new RegExp(`^curl -fsSL '${base}/api/install/[0-9a-f]{64}' \\| sudo bash$`),
    );
    expect(shown.fallbackCommand).toMatch(
      new RegExp(`^curl -fsSL '${base}/install/[0-9a-f]{64}' \\| sudo bash$`),
    );
    expect(shown.embeddedCommand).toMatch(/^printf '%s' '[A-Za-z0-9+/=]+' \| base64 -d \| sudo bash$/);
    await page.getByTestId(`install-countdown-${id}`).waitFor();
    expect(await page.getByTestId(`install-countdown-${id}`).getAttribute('data-expired')).toBe('false');
    await shot('04-wizard-commands');
  });

  it('installs the agent from the command and the node turns online in the wizard', async () => {
    // The command exactly as shown, run by a shell. Two test hooks keep it off the real system:
    // BACKUPX_INSTALL_PREFIX puts every file under a temp prefix, and a `sudo` that just runs its
    // command keeps that variable (a real sudo would reset the environment).
    const prefix = path.join(work, 'install-root');
    const shims = path.join(work, 'shims');
    mkdirSync(prefix);
    mkdirSync(shims);
    writeFileSync(path.join(shims, 'sudo'), '#!/bin/sh\nexec "$@"\n', { mode: 0o755 });
    agent = spawn('bash', ['-c', shown.urlCommand], {
      env: {
        PATH: `${shims}:${process.env.PATH ?? ''}`,
        HOME: work,
        BACKUPX_INSTALL_PREFIX: prefix,
        BACKUPX_INSTALL_SKIP_ROOT_CHECK: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: the shell, the installer and the agent it execs stop together.
      detached: true,
    });
    agent.stdout?.on('data', (chunk: Buffer) => (agentOutput += chunk.toString()));
    agent.stderr?.on('data', (chunk: Buffer) => (agentOutput += chunk.toString()));

    // The wizard follows the node's status while it shows the commands.
    const health = page.getByTestId(`node-wizard-health-${String(ids.node)}`);
    await page
      .locator(`[data-testid="node-wizard-health-${String(ids.node)}"][data-health="healthy"]`)
      .waitFor({ timeout: 120_000 })
      .catch((error: unknown) => {
        throw new Error(`the node did not turn healthy: ${String(error)}\nagent output:\n${agentOutput}`);
      });
    expect(await health.getAttribute('data-health')).toBe('healthy');
    await shot('05-wizard-node-online');
    // The installer laid the agent out under the prefix and runs it from there.
    expect(agentOutput).toContain('starting the agent in the foreground');
    expect(readFileSync(path.join(prefix, 'etc/backupx-agent/agent.token'), 'utf8').trim()).toBe(
      shown.nodeToken,
    );
    expect(existsSync(path.join(prefix, 'opt/backupx-agent'))).toBe(true);
    await page.getByTestId('node-wizard-done').click();
    await page.locator(`[data-testid="node-row-${String(ids.node)}"][data-status="online"]`).waitFor();
    await shot('06-nodes-online');
  });

  it('creates a file task on the node, browsing its file system', async () => {
    await page.goto(`${product.url}/backup/tasks`);
    await page.getByTestId('task-create').click();
    await page.getByTestId('task-form-drawer').waitFor();
    await page.getByTestId('task-name').fill('Site on web-e2e');
    await page.getByTestId('task-type-file').click();
    await page.getByTestId('task-run-on-node').click();
    await page.getByTestId('task-node').click();
    await page.keyboard.type(NODE_NAME);
    await page.getByTestId(`task-node-option-${String(ids.node)}`).click();
    await shot('07-task-run-on-node');
    await page.getByTestId('task-form-next').click();
    // The directory picker lists the node's file system through its agent.
    await page.getByTestId('task-source-browse-0').click();
    await page.getByTestId('directory-picker').waitFor();
    await page.getByTestId('picker-path').fill(work);
    await page.getByTestId('picker-path').press('Enter');
    await page.getByTestId('picker-entry-site').click();
    await expect.poll(() => page.getByTestId('picker-path').inputValue()).toBe(source);
    await page.getByTestId('directory-entries').locator('button').first().waitFor();
    await shot('08-task-picker-on-node');
    await page.getByTestId('picker-select-current').click();
    expect(await page.getByTestId('task-source-path-0').inputValue()).toBe(source);
    await page.getByTestId('task-form-next').click();
    await choose('task-targets', ['Local disk']);
    await page.getByTestId('task-form-submit').click();
    await page.getByTestId('task-form-drawer').waitFor({ state: 'hidden' });
    const tasks = await api().get<Envelope<{ id: number; name: string; nodeId: number }[]>>(
      '/api/backup/tasks',
      { token },
    );
    const task = tasks.body.data.find((item) => item.name === 'Site on web-e2e');
    expect(task?.nodeId).toBe(ids.node);
    ids.task = task?.id ?? 0;
    await page.getByTestId(`task-runs-on-${String(ids.task)}`).waitFor();
    expect(await page.getByTestId(`task-runs-on-${String(ids.task)}`).innerText()).toContain(NODE_NAME);
    await shot('09-tasks');
  });

  it('runs the task on the node and follows its live log to success', async () => {
    await page.getByTestId(`task-run-${String(ids.task)}`).click();
    await page.getByTestId('task-run-open-record').click();
    await page.getByTestId('record-detail-drawer').waitFor();
    await page.getByTestId('backup-live-log').waitFor();
    await page.getByTestId('live-log-lines').waitFor();
    await shot('10-record-running');
    let record: RecordSummary | undefined;
    for (let attempt = 0; attempt < 1200; attempt += 1) {
      const response = await api().get<Envelope<RecordSummary[]>>(
        `/api/backup/records?taskId=${String(ids.task)}`,
        { token },
      );
      record = response.body.data[0];
      if (record && record.status !== 'running') break;
      await page.waitForTimeout(100);
    }
    expect(record?.status, `${record?.errorMessage ?? ''}\nagent output:\n${agentOutput}`).toBe('success');
    expect(record?.nodeId).toBe(ids.node);
    await page.locator('[data-testid="record-detail-status"][data-status="success"]').waitFor();
    expect(await page.getByTestId('record-detail-node').innerText()).toBe(NODE_NAME);
    expect(await page.getByTestId('live-log-lines').innerText()).toContain('[agent]');
    await shot('11-record-done');
    ids.record = record?.id ?? 0;
  });

  it('shows the node page with its task, record and file system, in both languages', async () => {
    await page.goto(`${product.url}/nodes/${String(ids.node)}`);
    await page.locator('[data-testid="node-detail-health"][data-health="healthy"]').waitFor();
    await page.getByTestId(`node-record-${String(ids.record)}`).waitFor();
    await page.getByTestId('directory-entries').locator('button').first().waitFor();
    await shot('12-node-detail');
    // The same pages in Chinese, in a context of their own (the main one pins en-US at every load).
    const { context: zhContext, page: zhPage } = await chinesePage(browser, token);
    try {
      await zhPage.goto(`${product.url}/nodes`);
      await zhPage.locator(`[data-testid="node-row-${String(ids.node)}"][data-status="online"]`).waitFor();
      expect(await zhPage.locator('html').getAttribute('lang')).toBe('zh-CN');
      await screenshot(zhPage, 'cluster-13-nodes-zh-CN');
      await zhPage.goto(`${product.url}/nodes/${String(ids.node)}`);
      await zhPage.getByTestId(`node-record-${String(ids.record)}`).waitFor();
      await screenshot(zhPage, 'cluster-14-node-detail-zh-CN');
    } finally {
      await zhContext.close();
    }
  });

  it('shows the cluster and the node performance on the dashboard', async () => {
    await page.goto(`${product.url}/`);
    await page.getByTestId('dashboard-cluster').waitFor();
    await expect.poll(() => page.getByTestId('dashboard-cluster-online').innerText()).toBe('2');
    const row = page.getByTestId(`node-performance-row-${String(ids.node)}`);
    await row.waitFor();
    await expect.poll(() => row.innerText()).toContain(NODE_NAME);
    expect(await page.getByTestId(`node-performance-runs-${String(ids.node)}`).innerText()).toContain('1');
    await shot('15-dashboard-cluster');
  });
});
