import { execFileSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RecordSummary, RestoreSummary } from '@backupx/contract';
import { describeTree, mysql, psql, writeSampleTree } from '@backupx/testkit';
import { startSmtpSink, type SmtpSink } from '@backupx/testkit/services/smtp-sink';
import { startSshd, type SshdService } from '@backupx/testkit/services/sshd';
import { launchBrowser, screenshot, startProduct, type RunningProduct, signInPage } from './support.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };
const ADMIN = { username: 'admin', password: 'Admin-Password-1', displayName: 'Ada Admin' };
const WEBHOOK_SECRET = 'webhook-shared-secret';

interface Delivery {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Issue 4 walked through in the console like a user would: storage targets (local disk and
 * SFTP), notification channels (SMTP and a signed webhook), a file task to both targets with zstd
 * and encryption plus PostgreSQL and MariaDB tasks, runs with live logs and progress, download,
 * restore of the files to a new directory and of the databases after a drop, retention by count,
 * and the email and webhook that arrive. Screenshots of every page go to test-results/e2e.
 */
describe('backups end to end in the console', () => {
  let product: RunningProduct;
  let browser: Browser;
  let page: Page;
  let sshd: SshdService;
  let smtp: SmtpSink;
  let webhook: Server;
  const deliveries: Delivery[] = [];
  let webhookUrl: string;
  let work: string;
  let source: string;
  let localStore: string;
  let token: string;
  const pgDb = `bx_e2e_${randomBytes(3).toString('hex')}`;
  const myDb = `bx_e2e_${randomBytes(3).toString('hex')}`;
  const ids: Record<string, number> = {};

  const api = () => product.api;
  const shot = (name: string) => screenshot(page, `backups-${name}`);

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'bx-e2e-backups-'));
    source = path.join(work, 'website');
    writeSampleTree(source, { files: 300, bigBytes: 8 * 1024 * 1024 });
    // Incompressible bulk, so a run lasts long enough to watch its progress live.
    execFileSync('bash', [
      '-c',
      `head -c 160M /dev/zero | openssl enc -aes-128-ctr -nosalt -pass pass:bx -out '${path.join(source, 'media.bin')}'`,
    ]);
    localStore = path.join(work, 'local-store');
    mkdirSync(localStore);
    psql(`CREATE DATABASE ${pgDb}`);
    psql(
      `CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 1000) g;
       CREATE TABLE customers (id int PRIMARY KEY, name text); INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 50) g;`,
      pgDb,
    );
    mysql(`CREATE DATABASE ${myDb}`);
    mysql(
      `CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(64)); INSERT INTO orders SELECT seq, MD5(seq) FROM seq_1_to_1000;
       CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(16)); INSERT INTO customers SELECT seq, CONCAT('c', seq) FROM seq_1_to_50;`,
      myDb,
    );
    [sshd, smtp] = await Promise.all([startSshd(), startSmtpSink()]);
    webhook = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        deliveries.push({ headers: request.headers, body });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const address = webhook.address();
    webhookUrl = `http://127.0.0.1:${String(typeof address === 'object' && address ? address.port : 0)}/hook`;

    product = await startProduct();
    const setup = await api().post<Envelope<{ token: string }>>('/api/auth/setup', ADMIN);
    token = setup.body.data.token;
    browser = await launchBrowser();
    ({ page } = await signInPage(browser, product.url, ADMIN));
  }, 120_000);
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await shot(`failed-${task.name.replace(/[^a-z0-9]+/gi, '-')}`);
  });
  afterAll(async () => {
    await browser.close();
    await product.stop();
    await Promise.all([sshd.stop(), smtp.stop(), new Promise((resolve) => webhook.close(resolve))]);
    psql(`DROP DATABASE IF EXISTS ${pgDb} WITH (FORCE)`);
    mysql(`DROP DATABASE IF EXISTS ${myDb}`);
    rmSync(work, { recursive: true, force: true });
  });

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
  const idByName = async (pathName: string, name: string): Promise<number> => {
    const response = await api().get<Envelope<{ id: number; name: string }[]>>(pathName, { token });
    const found = response.body.data.find((item) => item.name === name);
    if (!found) throw new Error(`${name} not found in ${pathName}`);
    return found.id;
  };
  const waitForRecord = async (taskId: number, count: number): Promise<RecordSummary> => {
    for (let attempt = 0; attempt < 1200; attempt += 1) {
      const response = await api().get<Envelope<RecordSummary[]>>(
        `/api/backup/records?taskId=${String(taskId)}`,
        { token },
      );
      const latest = response.body.data[0];
      if (response.body.data.length >= count && latest && latest.status !== 'running') return latest;
      await page.waitForTimeout(100);
    }
    throw new Error(`no finished record ${String(count)} for task ${String(taskId)}`);
  };

  it('creates a local-disk and an SFTP storage target', async () => {
    await page.goto(`${product.url}/storage-targets`);
    await page.getByTestId('storage-create').click();
    await page.getByTestId('storage-drawer').waitFor();
    await page.getByTestId('storage-form-name').fill('Local disk');
    await page.getByTestId('storage-form-type').click();
    await page.keyboard.type('local');
    await page.keyboard.press('Enter');
    await page.getByTestId('storage-field-basePath').fill(localStore);
    await page.getByTestId('storage-form-test').click();
    await page.locator('[data-testid="storage-form-test-result"][data-ok="true"]').waitFor();
    await shot('01-storage-form');
    await page.getByTestId('storage-form-submit').click();
    await page.getByTestId('storage-drawer').waitFor({ state: 'hidden' });

    await page.getByTestId('storage-create').click();
    await page.getByTestId('storage-form-name').fill('Offsite SFTP');
    await page.getByTestId('storage-form-type').click();
    await page.keyboard.type('sftp');
    await page.keyboard.press('Enter');
    await page.getByTestId('storage-field-host').fill(sshd.host);
    await page.getByTestId('storage-field-port').fill(String(sshd.port));
    await page.getByTestId('storage-field-user').fill(sshd.user);
    await page.getByTestId('storage-field-pass').fill(sshd.password ?? '');
    await page.getByTestId('storage-field-root').fill(path.join(sshd.dataDir, 'offsite'));
    await page.getByTestId('storage-form-test').click();
    await page.locator('[data-testid="storage-form-test-result"][data-ok="true"]').waitFor();
    await page.getByTestId('storage-form-submit').click();
    await page.getByTestId('storage-drawer').waitFor({ state: 'hidden' });

    ids.local = await idByName('/api/storage-targets', 'Local disk');
    ids.sftp = await idByName('/api/storage-targets', 'Offsite SFTP');
    await page.getByTestId(`storage-card-${String(ids.sftp)}`).waitFor();
    await shot('02-storage-targets');
  });

  it('adds an email channel and a signed webhook channel', async () => {
    await page.goto(`${product.url}/settings/notifications`);
    await page.getByTestId('notification-create').click();
    await page.getByTestId('notification-drawer').waitFor();
    await page.getByTestId('notification-form-name').fill('Ops mail');
    await page.getByTestId('notification-form-type-email').click();
    await page.getByTestId('notification-field-host').fill(smtp.host);
    await page.getByTestId('notification-field-port').fill(String(smtp.port));
    await page.getByTestId('notification-field-from').fill('backupx@example.test');
    await page.getByTestId('notification-field-to').click();
    await page.keyboard.type('ops@example.test');
    await page.keyboard.press('Enter');
    await page.getByTestId('notification-form-name').click(); // closes the address list, not the drawer
    await page.getByTestId('notification-form-on-success').click();
    await shot('03-notification-form');
    await page.getByTestId('notification-form-submit').click();
    await page.getByTestId('notification-drawer').waitFor({ state: 'hidden' });

    await page.getByTestId('notification-create').click();
    await page.getByTestId('notification-form-name').fill('Ops webhook');
    await page.getByTestId('notification-form-type-webhook').click();
    await page.getByTestId('notification-field-url').fill(webhookUrl);
    await page.getByTestId('notification-field-secret').fill(WEBHOOK_SECRET);
    await page.getByTestId('notification-form-on-success').click();
    await page.getByTestId('notification-form-submit').click();
    await page.getByTestId('notification-drawer').waitFor({ state: 'hidden' });
    const channels = await api().get<Envelope<{ name: string; onSuccess: boolean }[]>>('/api/notifications', {
      token,
    });
    expect(channels.body.data.map((channel) => [channel.name, channel.onSuccess]).sort()).toEqual([
      ['Ops mail', true],
      ['Ops webhook', true],
    ]);
    await shot('04-notifications');
  });

  const openTaskForm = async (name: string) => {
    await page.goto(`${product.url}/backup/tasks`);
    await page.getByTestId('task-create').click();
    await page.getByTestId('task-form-drawer').waitFor();
    await page.getByTestId('task-name').fill(name);
  };
  const pickTargets = (names: string[]) => choose('task-targets', names);
  const submitTask = async (name: string): Promise<number> => {
    await page.getByTestId('task-form-submit').click();
    await page.getByTestId('task-form-drawer').waitFor({ state: 'hidden' });
    return idByName('/api/backup/tasks', name);
  };

  it('creates a file task with two targets, zstd and encryption, and PostgreSQL and MariaDB tasks', async () => {
    await openTaskForm('Website files');
    await page.getByTestId('task-type-file').click();
    await page.getByTestId('task-form-next').click();
    await page.getByTestId('task-source-path-0').fill(source);
    await shot('05-task-form-source');
    await page.getByTestId('task-form-next').click();
    await pickTargets(['Local disk', 'Offsite SFTP']);
    await page.getByTestId('task-compression-zstd').click();
    await page.getByTestId('task-encrypt').click();
    await page.getByTestId('task-maxBackups').fill('2');
    await shot('06-task-form-policy');
    ids.files = await submitTask('Website files');
    const task = await api().get<
      Envelope<{ storageTargetIds: number[]; compression: string; encrypt: boolean; maxBackups: number }>
    >(`/api/backup/tasks/${String(ids.files)}`, { token });
    expect(task.body.data).toMatchObject({
      storageTargetIds: [ids.local, ids.sftp],
      compression: 'zstd',
      encrypt: true,
      maxBackups: 2,
    });

    await openTaskForm('Orders PostgreSQL');
    await page.getByTestId('task-type-postgresql').click();
    await page.getByTestId('task-form-next').click();
    await page.getByTestId('task-db-host').fill('127.0.0.1');
    await page.getByTestId('task-db-port').fill('5432');
    await page.getByTestId('task-db-user').fill('postgres');
    await page.getByTestId('task-db-names').click();
    await page.keyboard.type(pgDb);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Escape');
    await page.getByTestId('task-form-next').click();
    await pickTargets(['Local disk']);
    ids.pg = await submitTask('Orders PostgreSQL');

    await openTaskForm('Orders MariaDB');
    await page.getByTestId('task-type-mysql').click();
    await page.getByTestId('task-form-next').click();
    await page.getByTestId('task-db-host').fill('127.0.0.1');
    await page.getByTestId('task-db-port').fill('3306');
    await page.getByTestId('task-db-user').fill('root');
    await page.getByTestId('task-db-names').click();
    await page.keyboard.type(myDb);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Escape');
    await page.getByTestId('task-form-next').click();
    await pickTargets(['Local disk']);
    ids.my = await submitTask('Orders MariaDB');
    await page.getByTestId(`task-row-${String(ids.my)}`).waitFor();
    await shot('07-tasks');
  });

  it('runs the file task and follows its live log and progress to success', async () => {
    await page.getByTestId(`task-run-${String(ids.files)}`).click();
    await page.getByTestId('task-run-open-record').click();
    await page.getByTestId('record-detail-drawer').waitFor();
    await page.getByTestId('backup-live-log').waitFor();
    await page.getByTestId('live-log-lines').waitFor();
    await page.getByTestId('live-log-progress').waitFor();
    // The first run has no earlier size: the bar comes from the size of the source tree.
    await page.locator('[data-testid="live-log-progress"] .ant-progress').waitFor();
    await shot('08-record-running');
    const record = await waitForRecord(ids.files ?? 0, 1);
    expect(record.status, record.errorMessage).toBe('success');
    await page.locator('[data-testid="live-log-lines"] [data-level]').first().waitFor();
    await shot('08-record-live-log-done');
    expect(await page.getByTestId('live-log-lines').innerText()).toContain('backup succeeded');
    ids.fileRecord = record.id;
    // A second run knows the size of the first: its progress has a total and a bar.
    await api().post(`/api/backup/tasks/${String(ids.files)}/run`, undefined, { token });
    await page.goto(`${product.url}/backup/records?taskId=${String(ids.files)}`);
    const second = await waitForRecord(ids.files ?? 0, 2);
    expect(second.status, second.errorMessage).toBe('success');
    await page.goto(`${product.url}/backup/records?recordId=${String(second.id)}`);
    await page.getByTestId('record-upload-results').waitFor();
    await page.getByTestId(`upload-result-${String(ids.sftp)}`).waitFor();
    await shot('09-record-detail');
  });

  it('downloads the backup exactly as stored', async () => {
    const record = (
      await api().get<Envelope<RecordSummary>>(`/api/backup/records/${String(ids.fileRecord)}`, { token })
    ).body.data;
    await page.goto(`${product.url}/backup/records?recordId=${String(record.id)}`);
    await page.getByTestId('record-download').waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('record-download').click(),
    ]);
    const file = path.join(work, 'downloaded.bin');
    await download.saveAs(file);
    expect(download.suggestedFilename()).toBe(record.fileName);
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(record.checksum);
  });

  it('restores the file backup into a new directory, byte for byte', async () => {
    const target = path.join(work, 'restored-site');
    await page.goto(`${product.url}/backup/records?recordId=${String(ids.fileRecord)}`);
    await page.getByTestId('record-restore').click();
    await page.getByTestId('restore-modal').waitFor();
    await page.getByTestId('restore-target-path').fill(target);
    await shot('10-restore-dialog');
    await page.getByTestId('restore-confirm').click();
    await page.waitForURL(/\/restore\/records\?restoreId=\d+/);
    await page.getByTestId('restore-detail-drawer').waitFor();
    const restoreId = Number(new URL(page.url()).searchParams.get('restoreId'));
    for (let attempt = 0; attempt < 600; attempt += 1) {
      const restore = await api().get<Envelope<RestoreSummary>>(`/api/restore/records/${String(restoreId)}`, {
        token,
      });
      if (restore.body.data.status !== 'running') {
        expect(restore.body.data.status, restore.body.data.errorMessage).toBe('success');
        break;
      }
      await page.waitForTimeout(100);
    }
    expect(describeTree(path.join(target, 'website'))).toEqual(describeTree(source));
    await page.locator('[data-testid="restore-detail-status"]').waitFor();
    await shot('11-restore-records');
  });

  it('backs up PostgreSQL and MariaDB, and restores them after a drop with the same rows', async () => {
    const pgFingerprint = () =>
      `${psql('SELECT count(*) FROM orders', pgDb)}:${psql("SELECT md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o", pgDb)}:${psql('SELECT count(*) FROM customers', pgDb)}`;
    const myFingerprint = () =>
      `${mysql('SELECT COUNT(*) FROM orders', myDb)}|${mysql('CHECKSUM TABLE orders, customers EXTENDED', myDb)}`;
    const pgBefore = pgFingerprint();
    const myBefore = myFingerprint();
    await page.goto(`${product.url}/backup/tasks`);
    await page.getByTestId(`task-run-${String(ids.pg)}`).click();
    await page.getByTestId(`task-run-${String(ids.my)}`).click();
    const pgRecord = await waitForRecord(ids.pg ?? 0, 1);
    const myRecord = await waitForRecord(ids.my ?? 0, 1);
    expect(pgRecord.status, pgRecord.errorMessage).toBe('success');
    expect(myRecord.status, myRecord.errorMessage).toBe('success');
    psql(`DROP DATABASE ${pgDb} WITH (FORCE)`);
    mysql(`DROP DATABASE ${myDb}`);

    for (const record of [pgRecord, myRecord]) {
      await page.goto(`${product.url}/backup/records?recordId=${String(record.id)}`);
      await page.getByTestId('record-restore').click();
      await page.getByTestId('restore-confirm').click();
      await page.waitForURL(/\/restore\/records\?restoreId=\d+/);
      const restoreId = Number(new URL(page.url()).searchParams.get('restoreId'));
      let status = 'running';
      for (let attempt = 0; attempt < 600 && status === 'running'; attempt += 1) {
        const restore = await api().get<Envelope<RestoreSummary>>(
          `/api/restore/records/${String(restoreId)}`,
          { token },
        );
        status = restore.body.data.status;
        if (status === 'failed') throw new Error(restore.body.data.errorMessage);
        await page.waitForTimeout(100);
      }
    }
    expect(pgFingerprint()).toBe(pgBefore);
    expect(myFingerprint()).toBe(myBefore);
  });

  it('trims the file task to its configured count of two on both targets', async () => {
    await api().post(`/api/backup/tasks/${String(ids.files)}/run`, undefined, { token });
    await waitForRecord(ids.files ?? 0, 3).catch(() => undefined);
    let records: RecordSummary[] = [];
    for (let attempt = 0; attempt < 600; attempt += 1) {
      records = (
        await api().get<Envelope<RecordSummary[]>>(`/api/backup/records?taskId=${String(ids.files)}`, {
          token,
        })
      ).body.data;
      if (records.length === 2 && records.every((record) => record.status === 'success')) break;
      await page.waitForTimeout(100);
    }
    expect(records.map((record) => record.status)).toEqual(['success', 'success']);
    expect(records.map((record) => record.id)).not.toContain(ids.fileRecord);
    const localFiles = readdirSync(path.join(localStore, 'BackupX', 'file'), { recursive: true })
      .map(String)
      .filter((name) => name.endsWith('.enc'));
    expect(localFiles).toHaveLength(2);
    await page.goto(`${product.url}/backup/records?taskId=${String(ids.files)}`);
    await page.getByTestId('records-table').waitFor();
    await shot('12-records');
  });

  it('delivered an email to the SMTP sink and a signed payload to the webhook', async () => {
    const mail = await smtp.waitForMessage((message) => message.subject.includes('备份成功'), 15_000);
    expect(mail.envelope.to).toEqual(['ops@example.test']);
    expect(mail.text).toContain('Website files');
    for (let attempt = 0; attempt < 100 && deliveries.length === 0; attempt += 1)
      await page.waitForTimeout(100);
    const delivery = deliveries.find((item) => item.body.includes('backup_success'));
    expect(delivery).toBeDefined();
    const signature = String(delivery?.headers['x-backupx-signature'] ?? '');
    const expected = `sha256=${createHmac('sha256', WEBHOOK_SECRET)
      .update(delivery?.body ?? '')
      .digest('hex')}`;
    expect(signature).toBe(expected);
    expect(JSON.stringify(delivery?.headers)).not.toContain(WEBHOOK_SECRET);
  });

  it('shows the dashboard and the event center with what happened', async () => {
    await page.goto(`${product.url}/dashboard`);
    await page.getByTestId('dashboard-recent').waitFor();
    await page.getByTestId('dashboard-trend').waitFor();
    await shot('13-dashboard');
    await page.getByTestId('event-center-bell').click();
    await page.getByTestId('event-center-drawer').waitFor();
    await shot('14-event-center');
  });
});
