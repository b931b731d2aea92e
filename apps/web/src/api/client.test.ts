import { afterEach, describe, expect, it, vi } from 'vitest';
import { apiRoutes } from '@backupx/contract';
import { ApiError, apiCall, apiText, buildPath, buildQuery, onUnauthorized } from './client.ts';

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('buildPath', () => {
  it('substitutes and encodes path parameters', () => {
    expect(buildPath('/api/users/:id', { id: 42 })).toBe('/api/users/42');
    expect(buildPath('/api/users/:id/2fa/reset', { id: '7' })).toBe('/api/users/7/2fa/reset');
    expect(buildPath('/api/x/:name', { name: 'a b/c' })).toBe('/api/x/a%20b%2Fc');
  });

  it('refuses a missing parameter', () => {
    expect(() => buildPath('/api/users/:id', {})).toThrow(/id/);
  });
});

describe('buildQuery', () => {
  it('skips empty values and serialises scalars', () => {
    expect(buildQuery({ category: 'auth', action: '', username: undefined, limit: 50, offset: 0 })).toBe(
      '?category=auth&limit=50&offset=0',
    );
    expect(buildQuery({})).toBe('');
    expect(buildQuery(undefined)).toBe('');
  });

  it('encodes reserved characters', () => {
    expect(buildQuery({ dateFrom: '2025-01-01T00:00:00+08:00', keyword: 'a&b' })).toBe(
      '?dateFrom=2025-01-01T00%3A00%3A00%2B08%3A00&keyword=a%26b',
    );
  });
});

describe('apiCall', () => {
  it('returns the data of the success envelope and sends JSON bodies', async () => {
    const fetchMock = vi.fn((_url: string, _init: RequestInit) =>
      Promise.resolve(json(200, { code: 'OK', message: 'success', data: { disabled: true } })),
    );
    vi.stubGlobal('fetch', fetchMock);
    const data = await apiCall(apiRoutes.apiKeys.toggle, { params: { id: 3 }, body: { disabled: true } });
    expect(data).toEqual({ disabled: true });
    const [url, init] = fetchMock.mock.calls[0] ?? [];
    expect(url).toBe('/api/api-keys/3/toggle');
    expect(init?.method).toBe('PUT');
    expect(init?.body).toBe('{"disabled":true}');
    expect((init?.headers as Record<string, string>)['Content-Type']).toBe('application/json');
  });

  it('sends no body and no content type when the route has none', async () => {
    const fetchMock = vi.fn((_url: string, _init: RequestInit) =>
      Promise.resolve(json(200, { code: 'OK', message: 'success', data: { loggedOut: true } })),
    );
    vi.stubGlobal('fetch', fetchMock);
    await apiCall(apiRoutes.auth.logout);
    const init = fetchMock.mock.calls[0]?.[1];
    expect(init?.body).toBeUndefined();
    expect((init?.headers as Record<string, string>)['Content-Type']).toBeUndefined();
  });

  it('throws an ApiError with the stable code, message and details', async () => {
    vi.stubGlobal('fetch', () =>
      Promise.resolve(
        json(400, {
          code: 'INVALID_INPUT',
          message: 'bad',
          details: [{ path: 'email', message: 'Invalid email' }],
        }),
      ),
    );
    const error = await apiCall(apiRoutes.users.create, {
      body: { username: 'abc', displayName: 'A', role: 'viewer', password: 'password123' },
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, code: 'INVALID_INPUT', message: 'bad' });
    expect((error as ApiError).details).toEqual([{ path: 'email', message: 'Invalid email' }]);
  });

  it('maps a non-JSON error answer to UNKNOWN and a network failure to NETWORK_ERROR', async () => {
    vi.stubGlobal('fetch', () => Promise.resolve(new Response('<html>Bad gateway</html>', { status: 502 })));
    await expect(apiCall(apiRoutes.system.info)).rejects.toMatchObject({ status: 502, code: 'UNKNOWN' });
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('Failed to fetch')));
    await expect(apiCall(apiRoutes.system.info)).rejects.toMatchObject({ status: 0, code: 'NETWORK_ERROR' });
  });

  it('times out with TIMEOUT', async () => {
    vi.stubGlobal(
      'fetch',
      (_url: string, init: RequestInit) =>
        new Promise((_resolve, reject) => {
          init.signal?.addEventListener('abort', () => {
            reject(init.signal?.reason as Error);
          });
        }),
    );
    await expect(apiCall(apiRoutes.system.info, { timeoutMs: 20 })).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
  });

  it('returns the body of a text route and throws the envelope error of a failed one', async () => {
    const fetchMock = vi.fn((_url: string, _init: RequestInit) =>
      Promise.resolve(new Response('#!/bin/sh\n# BACKUPX_AGENT_INSTALL_V1\n', { status: 200 })),
    );
    vi.stubGlobal('fetch', fetchMock);
    const script = await apiText(apiRoutes.nodes.installScriptPreview, {
      params: { id: 4 },
      query: { mode: 'docker', agentVersion: '1.2.0', proxyUrl: '' },
    });
    expect(script).toContain('BACKUPX_AGENT_INSTALL_V1');
    expect(fetchMock.mock.calls[0]?.[0]).toBe(
      '/api/nodes/4/install-script-preview?mode=docker&agentVersion=1.2.0',
    );
    vi.stubGlobal('fetch', () => Promise.resolve(json(404, { code: 'NODE_NOT_FOUND', message: 'gone' })));
    await expect(
      apiText(apiRoutes.nodes.installScriptPreview, { params: { id: 4 }, query: { agentVersion: '1' } }),
    ).rejects.toMatchObject({ status: 404, code: 'NODE_NOT_FOUND' });
  });

  it('ends the session on a 401 of an authenticated route, but not for a wrong 2FA code or on login', async () => {
    const listener = vi.fn();
    const stop = onUnauthorized(listener);
    try {
      vi.stubGlobal('fetch', () =>
        Promise.resolve(json(401, { code: 'AUTH_2FA_INVALID', message: 'wrong code' })),
      );
      await expect(
        apiCall(apiRoutes.auth.twoFactorEnable, { body: { code: '000000' } }),
      ).rejects.toMatchObject({
        code: 'AUTH_2FA_INVALID',
      });
      vi.stubGlobal('fetch', () =>
        Promise.resolve(json(401, { code: 'AUTH_INVALID_CREDENTIALS', message: 'no' })),
      );
      await expect(
        apiCall(apiRoutes.auth.login, { body: { username: 'abc', password: 'password123' } }),
      ).rejects.toMatchObject({ code: 'AUTH_INVALID_CREDENTIALS' });
      expect(listener).not.toHaveBeenCalled();

      vi.stubGlobal('fetch', () =>
        Promise.resolve(json(401, { code: 'AUTH_INVALID_TOKEN', message: 'expired' })),
      );
      await expect(apiCall(apiRoutes.auth.profile)).rejects.toMatchObject({ code: 'AUTH_INVALID_TOKEN' });
      expect(listener).toHaveBeenCalledTimes(1);
    } finally {
      stop();
    }
  });
});
