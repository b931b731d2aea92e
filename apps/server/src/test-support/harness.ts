import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import {
  createApiClient,
  createPostgresDatabase,
  type ApiClient,
  type TemporaryPostgresDatabase,
} from '@backupx/testkit';
import { configSchema, type MasterConfig } from '../config/schema.ts';
import { buildApp } from '../http/app.ts';
import { createContainer, type Container } from '../container.ts';
import type { Clock } from '../lib/clock.ts';
import type { FastifyInstance } from 'fastify';

export const dialects = ['sqlite', 'postgres'] as const;
export type TestDialect = (typeof dialects)[number];

/** A clock tests can move forward. */
export class TestClock implements Clock {
  #offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.#offsetMs);
  }
  advance(ms: number): void {
    this.#offsetMs += ms;
  }
}

export interface TestMaster {
  dialect: TestDialect;
  url: string;
  api: ApiClient;
  app: FastifyInstance;
  container: Container;
  clock: TestClock;
  dataDir: string;
  config: MasterConfig;
  /** Creates the first admin and returns its token. */
  setupAdmin(username?: string, password?: string): Promise<string>;
  /** Logs in and returns the token (throws on failure). */
  login(username: string, password: string, twoFactorCode?: string): Promise<string>;
  /** Creates a user as `adminToken` and returns `{ id, token }`. */
  createUser(
    adminToken: string,
    username: string,
    role: 'viewer' | 'operator' | 'admin',
  ): Promise<{ id: number; token: string }>;
  /** The throw-away PostgreSQL database (postgres dialect only). */
  postgres: TemporaryPostgresDatabase | undefined;
  stop(): Promise<void>;
  /** Stops and removes the database and data directory. */
  destroy(): Promise<void>;
}

export interface TestMasterOptions {
  config?: {
    server?: Partial<MasterConfig['server']>;
    security?: Partial<MasterConfig['security']>;
    backup?: Partial<MasterConfig['backup']>;
    cluster?: Partial<MasterConfig['cluster']>;
  };
  webRoot?: string | null;
  fetch?: typeof fetch;
  /** Google OAuth/Drive endpoints (a stand-in on 127.0.0.1; Google is not reachable in tests). */
  googleEndpoints?: { authUrl?: string; tokenUrl?: string; apiBaseUrl?: string };
  /** Listen on this port (a restarted master keeps its URL for its agents); default any free port. */
  port?: number;
  /** Reuse the database and data directory of a stopped master (restart). */
  reuse?: { dataDir: string; postgres?: TemporaryPostgresDatabase };
}

export const TEST_PASSWORD = 'Password-123';

/** Starts a real master listening on 127.0.0.1:<random port> over SQLite or PostgreSQL. */
export const startTestMaster = async (
  dialect: TestDialect,
  options: TestMasterOptions = {},
): Promise<TestMaster> => {
  const dataDir = options.reuse?.dataDir ?? mkdtempSync(path.join(tmpdir(), 'bx-master-'));
  const postgres =
    dialect === 'postgres' ? (options.reuse?.postgres ?? (await createPostgresDatabase())) : undefined;
  const config = configSchema.parse({
    server: { host: '127.0.0.1', port: 8340, ...options.config?.server },
    database: { path: path.join(dataDir, 'backupx.db'), url: postgres?.url ?? '' },
    security: { secrets_file: path.join(dataDir, 'secrets.json'), ...options.config?.security },
    backup: { ...options.config?.backup },
    cluster: { ...options.config?.cluster },
    log: { level: 'silent', file: '', stdout: false },
  });
  const clock = new TestClock();
  const logger = pino({ level: 'silent' });
  const container = await createContainer({
    config,
    logger,
    clock,
    version: '0.0.0-test',
    cwd: dataDir,
    // Upload retries wait 10 s and 20 s in production; tests keep the attempts but not the waits.
    retryPolicy: { attempts: 3, delaysMs: [50, 100] },
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.googleEndpoints ? { googleEndpoints: options.googleEndpoints } : {}),
  });
  const app = await buildApp({
    logger,
    trustedProxies: config.server.trusted_proxies,
    webRoot: options.webRoot ?? null,
    metrics: container.services.metrics,
    authenticate: (credential) => container.services.auth.authenticate(credential),
    authenticateAgent: async (token) => ({
      kind: 'agent',
      node: await container.services.nodes.authenticateAgent(token),
    }),
    registerRoutes: container.registerRoutes,
    onClosing: () => container.services.commands.releasePolls(),
  });
  const url = await app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const api = createApiClient(url);

  const login = async (username: string, password: string, twoFactorCode?: string): Promise<string> => {
    const response = await api.post<{ code: string; data: { token: string } }>('/api/auth/login', {
      username,
      password,
      ...(twoFactorCode === undefined ? {} : { twoFactorCode }),
    });
    if (response.status !== 200)
      throw new Error(`login ${username} failed: ${response.status} ${response.text}`);
    return response.body.data.token;
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.close();
    await container.close();
  };
  return {
    postgres,
    dialect,
    url,
    api,
    app,
    container,
    clock,
    dataDir,
    config,
    async setupAdmin(username = 'admin', password = TEST_PASSWORD) {
      const response = await api.post<{ data: { token: string } }>('/api/auth/setup', {
        username,
        password,
        displayName: 'Administrator',
      });
      if (response.status !== 200) throw new Error(`setup failed: ${response.status} ${response.text}`);
      return response.body.data.token;
    },
    login,
    async createUser(adminToken, username, role) {
      const response = await api.post<{ data: { id: number } }>(
        '/api/users',
        { username, password: TEST_PASSWORD, displayName: username, role },
        { token: adminToken },
      );
      if (response.status !== 200) throw new Error(`create user failed: ${response.status} ${response.text}`);
      return { id: response.body.data.id, token: await login(username, TEST_PASSWORD) };
    },
    stop,
    async destroy() {
      await stop();
      if (postgres) await postgres.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
};
