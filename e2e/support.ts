import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createApiClient, type ApiClient } from '@backupx/testkit';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const artifactsDir = path.join(repoRoot, 'test-results', 'e2e');

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });

export interface RunningProduct {
  url: string;
  api: ApiClient;
  dataDir: string;
  logs: () => string;
  stop(): Promise<void>;
}

/** Starts the real `backupx` binary on a fresh data directory, serving the built console. */
export const startProduct = async (): Promise<RunningProduct> => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bx-e2e-'));
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(
    process.execPath,
    [
      path.join(repoRoot, 'apps/cli/bin/backupx.js'),
      'server',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--web-root',
      path.join(repoRoot, 'apps/web/dist'),
    ],
    {
      cwd: dataDir,
      env: { PATH: process.env.PATH ?? '', BACKUPX_LOG_FILE: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const api = createApiClient(url);
  for (let attempt = 0; ; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`backupx exited early:\n${output}`);
    try {
      if ((await api.get('/ready')).status === 200) break;
    } catch {
      // not listening yet
    }
    if (attempt > 150) throw new Error(`backupx did not become ready:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    api,
    dataDir,
    logs: () => output,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
};

/** Debian Chromium, headless, with a fresh profile and no background traffic. */
export const launchBrowser = (): Promise<Browser> =>
  chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });

export const screenshot = async (page: Page, name: string): Promise<void> => {
  mkdirSync(artifactsDir, { recursive: true });
  await page.screenshot({ path: path.join(artifactsDir, `${name}.png`), fullPage: true });
};

const VIEWPORT = { width: 1440, height: 900 };

/** A 1440×900 console page in English, signed in through the login form. */
export const signInPage = async (
  browser: Browser,
  baseUrl: string,
  user: { username: string; password: string },
): Promise<{ context: BrowserContext; page: Page }> => {
  const context = await browser.newContext({ viewport: VIEWPORT, acceptDownloads: true });
  await context.addInitScript("window.localStorage.setItem('backupx-language', 'en-US')");
  const page = await context.newPage();
  await page.goto(`${baseUrl}/login`);
  await page.getByTestId('login-username').fill(user.username);
  await page.getByTestId('login-password').fill(user.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('user-menu').waitFor();
  return { context, page };
};

/**
 * A console page in Chinese, signed in with `token`, in a context of its own (a `signInPage`
 * context pins en-US at every load). The caller closes the context.
 */
export const chinesePage = async (
  browser: Browser,
  token: string,
): Promise<{ context: BrowserContext; page: Page }> => {
  const context = await browser.newContext({ viewport: VIEWPORT });
  await context.addInitScript(
    `window.localStorage.setItem('backupx-language', 'zh-CN'); window.localStorage.setItem('backupx-auth', ${JSON.stringify(token)});`,
  );
  return { context, page: await context.newPage() };
};
