import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import pino from 'pino';
import { allRoutes, defineRoute, type Role, type RouteSpec } from '@backupx/contract';
import { dialects, startTestMaster, type TestMaster } from '../test-support/harness.ts';
import { buildApp } from './app.ts';

type Caller =
  | { name: 'anonymous' }
  | { name: 'disabled user'; token: string }
  | { name: 'disabled API key'; apiKey: string }
  | { name: string; role: Role; token?: string; apiKey?: string };

const NONEXISTENT_ID = '4000000000';
const rank: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

const pathFor = (route: RouteSpec): string => route.path.replace(/:[A-Za-z]+/g, NONEXISTENT_ID);

/** What the caller should get: 'pass' = reaches the handler (any status except 401/403). */
const expected = (route: RouteSpec, caller: Caller): 'pass' | { status: number; code: string } => {
  if (route.access === 'public') return 'pass';
  if (route.access === 'agent') {
    // Agent routes take node tokens only: a session or API key is no node token.
    const sendsBearer = 'token' in caller && caller.token !== undefined;
    if (!sendsBearer && route.legacyBodyToken === true) return { status: 400, code: 'INVALID_INPUT' };
    return { status: 401, code: 'NODE_INVALID_TOKEN' };
  }
  if (caller.name === 'anonymous') return { status: 401, code: 'AUTH_REQUIRED' };
  // Disabling a user ends its sessions, so its old token is simply no longer valid.
  if (caller.name === 'disabled user') return { status: 401, code: 'AUTH_INVALID_TOKEN' };
  if (caller.name === 'disabled API key') return { status: 401, code: 'AUTH_KEY_DISABLED' };
  if (!('role' in caller)) throw new Error('unreachable');
  if (rank[caller.role] < rank[route.access]) return { status: 403, code: 'AUTH_FORBIDDEN' };
  if (route.sessionOnly === true && caller.apiKey !== undefined)
    return { status: 403, code: 'AUTH_USER_SESSION_REQUIRED' };
  return 'pass';
};

describe.each(dialects)('route table access on %s', (dialect) => {
  let master: TestMaster;
  const callers: Caller[] = [{ name: 'anonymous' }];

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    const admin = await master.setupAdmin();
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const user = await master.createUser(admin, `${role}-user`, role);
      callers.push({ name: `${role} user`, role, token: user.token });
      const key = await master.api.post<{ data: { plainKey: string } }>(
        '/api/api-keys',
        { name: `${role} key`, role },
        { token: admin },
      );
      callers.push({ name: `${role} API key`, role, apiKey: key.body.data.plainKey });
    }
    const disabled = await master.createUser(admin, 'disabled-user', 'admin');
    await master.api.put(
      `/api/users/${disabled.id}`,
      { username: 'disabled-user', displayName: 'disabled', role: 'admin', disabled: true },
      { token: admin },
    );
    callers.push({ name: 'disabled user', token: disabled.token });
    const key = await master.api.post<{ data: { plainKey: string; apiKey: { id: number } } }>(
      '/api/api-keys',
      { name: 'disabled key', role: 'admin' },
      { token: admin },
    );
    await master.api.put(
      `/api/api-keys/${key.body.data.apiKey.id}/toggle`,
      { disabled: true },
      { token: admin },
    );
    callers.push({ name: 'disabled API key', apiKey: key.body.data.plainKey });
  });
  afterAll(async () => {
    await master.destroy();
  });

  it('serves every contract route', () => {
    for (const route of allRoutes)
      expect(master.app.hasRoute({ method: route.method, url: route.path }), route.path).toBe(true);
  });

  it.each(allRoutes.map((route) => [`${route.method} ${route.path}`, route] as const))(
    '%s answers every caller according to its declared role',
    async (_label, route) => {
      for (const caller of callers) {
        let token = 'token' in caller ? caller.token : undefined;
        // Logging out would end the caller's session for the remaining routes: use a fresh one.
        if (
          route.path === '/api/auth/logout' &&
          token !== undefined &&
          'role' in caller &&
          caller.apiKey === undefined
        ) {
          token = await master.login(`${caller.role}-user`, 'Password-123');
        }
        const apiKey = 'apiKey' in caller && caller.apiKey !== undefined ? caller.apiKey : undefined;
        // A live stream never ends: open it, take the status, and hang up.
        const response =
          route.responseKind === 'event-stream'
            ? await openStream(`${master.url}${pathFor(route)}`, token, apiKey)
            : await master.api.request(route.method, pathFor(route), {
                ...(token === undefined ? {} : { token }),
                ...(apiKey === undefined ? {} : { apiKey }),
                ...(route.body !== undefined ? { json: {} } : {}),
              });
        const outcome = expected(route, caller);
        const where = `${route.method} ${route.path} as ${caller.name} → ${response.status} ${response.text.slice(0, 160)}`;
        expect(response.status, where).toBeLessThan(500);
        if (outcome === 'pass') {
          expect([401, 403], where).not.toContain(response.status);
        } else {
          expect(response.status, where).toBe(outcome.status);
          expect((response.body as { code: string }).code, where).toBe(outcome.code);
        }
      }
    },
  );
});

/** Opens an SSE route and returns its status (and error body); a 200 stream is closed at once. */
const openStream = async (
  url: string,
  token: string | undefined,
  apiKey: string | undefined,
): Promise<{ status: number; text: string; body: unknown }> => {
  const controller = new AbortController();
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  if (apiKey !== undefined) headers['X-Api-Key'] = apiKey;
  const response = await fetch(url, { headers, signal: controller.signal });
  if (response.status === 200) {
    controller.abort();
    return { status: 200, text: '', body: {} };
  }
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as unknown };
};

describe('route declarations', () => {
  it('refuses to build an app with a route that declares no role', async () => {
    const master = await startTestMaster('sqlite');
    try {
      const rogue = {
        method: 'GET',
        path: '/api/rogue',
        tag: 'x',
        summary: 'no role',
      } as unknown as RouteSpec;
      await expect(
        buildApp({
          logger: pino({ level: 'silent' }),
          trustedProxies: [],
          webRoot: null,
          metrics: master.container.services.metrics,
          authenticate: () => Promise.reject(new Error('unused')),
          authenticateAgent: () => Promise.reject(new Error('unused')),
          registerRoutes: (registry) => {
            master.container.registerRoutes(registry);
            registry.add(rogue, () => Promise.resolve(undefined));
          },
        }),
      ).rejects.toThrow(/no declared role/);
    } finally {
      await master.destroy();
    }
  });

  it('refuses to build an app that leaves a contract route unimplemented', async () => {
    await expect(
      buildApp({
        logger: pino({ level: 'silent' }),
        trustedProxies: [],
        webRoot: null,
        metrics: { observeHttp: () => undefined } as never,
        authenticate: () => Promise.reject(new Error('unused')),
        authenticateAgent: () => Promise.reject(new Error('unused')),
        registerRoutes: () => undefined,
      }),
    ).rejects.toThrow(/without a handler/);
  });

  it('makes the access level a required part of a route declaration (checked by tsc)', () => {
    // @ts-expect-error a route without `access` does not type-check; if this line compiles, the guard is gone.
    const route = defineRoute({ method: 'GET', path: '/api/x', tag: 'x', summary: 'x' });
    expect(route.path).toBe('/api/x');
  });
});
