import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { totpCode } from '@backupx/testkit';
import { launchBrowser, screenshot, startProduct, type RunningProduct } from './support.ts';

const ADMIN = { username: 'admin', password: 'Admin-Password-1', displayName: 'Ada Admin' };
const OPERATOR = { username: 'olivia', password: 'Operator-Password-1', displayName: 'Olivia Operator' };

/**
 * The foundation walk-through of issue 2, as a person would do it in the console:
 * setup → login → TOTP → login with a code → create an operator → the operator sees no admin
 * pages → an API key used from a plain HTTP client → all of it in the audit page and its CSV.
 */
describe('console foundation', () => {
  let product: RunningProduct;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    product = await startProduct();
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
    // Scripts run in the page; strings keep this file free of DOM types.
    await context.addInitScript("window.localStorage.setItem('backupx-language', 'en-US')");
    page = await context.newPage();
  });
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail')
      await screenshot(page, `failed-${task.name.replace(/[^a-z0-9]+/gi, '-')}`);
  });
  afterAll(async () => {
    await browser.close();
    await product.stop();
  });

  const signOut = async () => {
    // The user menu slides in; a click during the animation can land on its neighbour, so retry.
    for (let attempt = 1; ; attempt += 1) {
      await page.getByTestId('user-menu').click();
      const logout = page.getByTestId('menu-logout');
      await logout.waitFor({ state: 'visible' });
      await page.waitForTimeout(300);
      await logout.click();
      try {
        await page.getByTestId('login-username').waitFor({ timeout: 5000 });
        return;
      } catch (error) {
        if (attempt >= 3) throw error;
        await page.keyboard.press('Escape');
      }
    }
  };

  const signIn = async (username: string, password: string) => {
    await page.getByTestId('login-username').fill(username);
    await page.getByTestId('login-password').fill(password);
    await page.getByTestId('login-submit').click();
  };

  let totpSecret = '';
  let recoveryCodes: string[] = [];
  let apiKey = '';

  it('creates the first administrator from the setup page', async () => {
    await page.goto(product.url);
    await page.getByTestId('setup-username').waitFor();
    await screenshot(page, '01-setup');
    await page.getByTestId('setup-displayname').fill(ADMIN.displayName);
    await page.getByTestId('setup-username').fill(ADMIN.username);
    await page.getByTestId('setup-password').fill(ADMIN.password);
    await page.getByTestId('setup-password-confirm').fill(ADMIN.password);
    await page.getByTestId('setup-submit').click();
    await page.waitForURL(/\/dashboard$/);
    await page.getByTestId('role-tag').waitFor();
    expect(await page.getByTestId('role-tag').innerText()).toMatch(/admin/i);
    await screenshot(page, '02-dashboard');
  });

  it('logs out and back in', async () => {
    await signOut();
    await screenshot(page, '03-login');
    await signIn(ADMIN.username, ADMIN.password);
    await page.waitForURL(/\/dashboard$/);
  });

  it('enables TOTP and shows one-time recovery codes', async () => {
    await page.getByTestId('user-menu').click();
    await page.getByTestId('menu-2fa').click();
    await page.getByTestId('totp-password').fill(ADMIN.password);
    await page.getByTestId('totp-start').click();
    await page.getByTestId('totp-secret').waitFor();
    totpSecret = (await page.getByTestId('totp-secret').innerText()).trim();
    expect(totpSecret).toMatch(/^[A-Z2-7]{32}$/);
    await screenshot(page, '04-totp-setup');
    await page.getByTestId('totp-code').fill(totpCode(totpSecret));
    await page.getByTestId('totp-enable-submit').click();
    await page.getByTestId('recovery-codes').waitFor();
    recoveryCodes = (await page.getByTestId('recovery-code').allInnerTexts()).map((code) => code.trim());
    expect(recoveryCodes).toHaveLength(10);
    await screenshot(page, '05-recovery-codes');
    await page.getByTestId('totp-done').click();
  });

  it('asks for the code at the next login and accepts it', async () => {
    await signOut();
    await signIn(ADMIN.username, ADMIN.password);
    await page.getByTestId('login-code').waitFor();
    await screenshot(page, '06-login-code');
    // The enabling code's time step is used up; the next step's code is within the allowed skew.
    await page.getByTestId('login-code').fill(totpCode(totpSecret, Date.now(), 1));
    await page.getByTestId('login-submit').click();
    await page.waitForURL(/\/dashboard$/);
  });

  it('creates an operator', async () => {
    await page.goto(`${product.url}/admin/users`);
    await page.getByTestId('user-create').click();
    await page.getByTestId('user-username').fill(OPERATOR.username);
    await page.getByTestId('user-displayname').fill(OPERATOR.displayName);
    await page.getByTestId('user-password').fill(OPERATOR.password);
    await page.getByTestId('user-role').click();
    await page
      .locator('.ant-select-item-option')
      .filter({ hasText: /^Operator/ })
      .first()
      .click();
    await page.getByTestId('user-submit').click();
    await page.getByTestId('users-table').getByText(OPERATOR.displayName).waitFor();
    await screenshot(page, '07-users');
  });

  it('shows the operator no admin pages', async () => {
    await signOut();
    await signIn(OPERATOR.username, OPERATOR.password);
    await page.getByTestId('role-tag').waitFor();
    await page.goto(`${product.url}/dashboard`);
    await page.getByTestId('role-tag').waitFor();
    expect(await page.getByTestId('role-tag').innerText()).toMatch(/operator/i);
    const sidebar = await page.getByTestId('sidebar').innerText();
    expect(sidebar).not.toMatch(/Users|API keys|Access management/i);
    expect(sidebar).toMatch(/Audit/i);
    await screenshot(page, '08-operator-dashboard');
    await page.goto(`${product.url}/admin/users`);
    await page.getByTestId('forbidden').waitFor();
    await screenshot(page, '09-operator-forbidden');
    const direct = await product.api.get('/api/users', {
      token: (await page.evaluate<string | null>("window.localStorage.getItem('backupx-auth')")) ?? '',
    });
    expect(direct.status).toBe(403);
  });

  it('creates an API key as admin (with a recovery code) and uses it from a plain HTTP client', async () => {
    await signOut();
    await signIn(ADMIN.username, ADMIN.password);
    await page.getByTestId('login-code').waitFor();
    await page.getByTestId('login-code').fill(recoveryCodes[0] ?? '');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('role-tag').waitFor();

    await page.goto(`${product.url}/admin/api-keys`);
    await page.getByTestId('apikey-create').click();
    await page.getByTestId('apikey-name').fill('deploy-bot');
    await page.getByTestId('apikey-role').click();
    await page
      .locator('.ant-select-item-option')
      .filter({ hasText: /^Admin/ })
      .first()
      .click();
    await page.getByTestId('apikey-ttl').fill('24');
    await page.getByTestId('apikey-submit').click();
    await page.getByTestId('apikey-plaintext').waitFor();
    apiKey = (await page.getByTestId('apikey-plaintext').innerText()).trim();
    expect(apiKey).toMatch(/^bax_[0-9a-f]{48}$/);
    await screenshot(page, '10-api-key-created');
    await page.getByTestId('apikey-plaintext-close').click();
    await page.getByTestId('apikeys-table').getByText('deploy-bot').waitFor();
    expect(await page.content()).not.toContain(apiKey);
    await screenshot(page, '11-api-keys');

    // A plain HTTP client, no browser: header form and bearer form.
    const settings = await fetch(`${product.url}/api/settings`, { headers: { 'X-Api-Key': apiKey } });
    expect(settings.status).toBe(200);
    const update = await fetch(`${product.url}/api/settings`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ site_name: 'BackupX E2E' }),
    });
    expect(update.status).toBe(200);
    const wrongKey = `${apiKey.slice(0, -1)}${apiKey.endsWith('0') ? '1' : '0'}`;
    const wrong = await fetch(`${product.url}/api/settings`, { headers: { 'X-Api-Key': wrongKey } });
    expect(wrong.status).toBe(401);
  });

  it('shows all of it in the audit log and its CSV export', async () => {
    await page.goto(`${product.url}/audit`);
    const table = page.getByTestId('audit-table');
    await table.getByText('login_success').first().waitFor();
    const text = await table.innerText();
    for (const action of [
      'setup',
      'login_success',
      'two_factor_enable',
      'two_factor_recovery_code_used',
      'create',
      'update',
    ]) {
      expect(text, action).toContain(action);
    }
    expect(text).toContain(OPERATOR.username);
    expect(text).toMatch(/api_key:\d+:deploy-bot/);
    await screenshot(page, '12-audit');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('audit-export').click(),
    ]);
    const file = await download.path();
    const csv = readFileSync(file);
    expect([...csv.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const body = csv.toString('utf8');
    expect(download.suggestedFilename()).toMatch(/^backupx-audit-\d{8}-\d{6}\.csv$/);
    for (const needle of [
      'login_success',
      'two_factor_enable',
      'api_key',
      'deploy-bot',
      OPERATOR.username,
      'settings',
    ]) {
      expect(body, needle).toContain(needle);
    }
    expect(body).not.toContain(apiKey);
  });
});
