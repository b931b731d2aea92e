/**
 * Google cannot be reached from here: these tests run the Google Drive OAuth flow (SPEC §4.8)
 * against a stand-in for Google's token endpoint and Drive `about` API on 127.0.0.1. They prove our
 * side of the protocol (what we send, what we store, what we answer), not Google's behaviour.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, StorageTargetDetail } from '@backupx/contract';
import { readAll } from '@backupx/testkit';
import { deriveEncryptionKey, SecretBox } from '../../lib/crypto.ts';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

const CLIENT_ID = 'client-id-1234.apps.googleusercontent.com';
const CLIENT_SECRET = 'client-secret-abcdef';
const REFRESH_TOKEN = 'refresh-token-from-stand-in';
const ACCESS_TOKEN = 'access-token-from-stand-in';

interface TokenRequest {
  form: Record<string, string>;
}

/** Stand-in for Google: `/token` (code exchange + refresh) and `/drive/v3/about?fields=user`. */
const startGoogleStandIn = async () => {
  const tokenRequests: TokenRequest[] = [];
  const server = http.createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://stand-in');
      const send = (status: number, body: unknown) => {
        response.writeHead(status, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (request.method === 'POST' && url.pathname === '/token') {
        const form = Object.fromEntries(new URLSearchParams((await readAll(request)).toString()));
        tokenRequests.push({ form });
        if (form.client_id !== CLIENT_ID || form.client_secret !== CLIENT_SECRET)
          return send(401, { error: 'invalid_client' });
        if (form.grant_type === 'authorization_code' && form.code === 'good-code')
          return send(200, {
            access_token: ACCESS_TOKEN,
            refresh_token: REFRESH_TOKEN,
            expires_in: 3599,
            scope: 'https://www.googleapis.com/auth/drive',
          });
        if (form.grant_type === 'authorization_code' && form.code === 'no-refresh-code')
          return send(200, { access_token: ACCESS_TOKEN, expires_in: 3599 });
        if (form.grant_type === 'refresh_token' && form.refresh_token === REFRESH_TOKEN)
          return send(200, { access_token: ACCESS_TOKEN, expires_in: 3599 });
        return send(400, { error: 'invalid_grant', error_description: 'Bad Request' });
      }
      if (request.method === 'GET' && url.pathname === '/drive/v3/about') {
        if (request.headers.authorization !== `Bearer ${ACCESS_TOKEN}`)
          return send(401, { error: 'unauthorized' });
        return send(200, {
          user: {
            displayName: 'Backup Operator',
            emailAddress: 'ops@example.com',
            photoLink: 'https://example.com/photo.png',
          },
        });
      }
      send(404, { error: 'not_found' });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoints: { authUrl: `${base}/o/oauth2/v2/auth`, tokenUrl: `${base}/token`, apiBaseUrl: base },
    tokenRequests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

describe.each(dialects)('Google Drive OAuth against a local Google stand-in on %s', (dialect) => {
  let google: Awaited<ReturnType<typeof startGoogleStandIn>>;
  let master: TestMaster;
  let admin: string;
  let operator: string;
  let viewer: string;
  let box: SecretBox;

  beforeAll(async () => {
    google = await startGoogleStandIn();
    master = await startTestMaster(dialect, { googleEndpoints: google.endpoints });
    admin = await master.setupAdmin();
    operator = (await master.createUser(admin, 'ops', 'operator')).token;
    viewer = (await master.createUser(admin, 'watcher', 'viewer')).token;
    box = new SecretBox(deriveEncryptionKey(master.container.secrets.encryptionKey));
  });
  afterAll(async () => {
    await master.destroy();
    await google.close();
  });

  const db = () => master.container.database.db;
  const sessionRows = () =>
    db().selectFrom('systemConfigs').selectAll().where('key', 'like', 'oauth.session.%').execute();
  const targetCount = async () => (await db().selectFrom('storageTargets').select('id').execute()).length;
  const storedConfig = async (id: number) =>
    JSON.parse(
      box.open(
        (
          await db()
            .selectFrom('storageTargets')
            .select('configCiphertext')
            .where('id', '=', id)
            .executeTakeFirstOrThrow()
        ).configCiphertext,
      ),
    ) as Record<string, unknown>;

  const startAuth = async (body: Record<string, unknown>, origin = 'https://console.example.com') => {
    const response = await master.api.post<Envelope<{ authUrl: string }>>(
      '/api/storage-targets/google-drive/auth-url',
      body,
      { token: operator, headers: { Origin: origin } },
    );
    expect(response.status, response.text).toBe(200);
    const url = new URL(response.body.data.authUrl);
    return { url, state: url.searchParams.get('state') ?? '' };
  };

  it('connects a new Drive target: consent URL, sealed single-use session, code exchange, masked target', async () => {
    const { url, state } = await startAuth({
      name: 'Team Drive',
      description: 'shared drive',
      config: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, folderId: 'folder-42' },
    });
    expect(`${url.origin}${url.pathname}`).toBe(google.endpoints.authUrl);
    const redirectUri = 'https://console.example.com/storage-targets/google-drive/callback';
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: CLIENT_ID,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'https://www.googleapis.com/auth/drive',
      access_type: 'offline',
      prompt: 'consent',
    });
    expect(Buffer.from(state, 'base64url')).toHaveLength(24);
    const sessions = await sessionRows();
    expect(sessions.map((row) => row.key)).toContain(`oauth.session.${state}`);
    for (const session of sessions) expect(session.value).not.toContain(CLIENT_SECRET);

    const completed = await master.api.post<Envelope<StorageTargetDetail>>(
      '/api/storage-targets/google-drive/complete',
      { state, code: 'good-code' },
      { token: operator },
    );
    expect(completed.status, completed.text).toBe(200);
    const target = completed.body.data;
    expect(target).toMatchObject({
      name: 'Team Drive',
      type: 'google_drive',
      description: 'shared drive',
      enabled: true,
    });
    expect(target.config).toMatchObject({
      clientId: '********',
      clientSecret: '********',
      refreshToken: '********',
      folderId: 'folder-42',
      redirectUri,
    });
    expect(await storedConfig(target.id)).toMatchObject({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      refreshToken: REFRESH_TOKEN,
      tokenUrl: google.endpoints.tokenUrl,
      apiBaseUrl: google.endpoints.apiBaseUrl,
    });
    expect(google.tokenRequests.at(-1)?.form).toMatchObject({
      grant_type: 'authorization_code',
      code: 'good-code',
      redirect_uri: redirectUri,
    });
    expect(await sessionRows()).toHaveLength(sessions.length - 1);
    for (const text of [completed.text, JSON.stringify(await auditFor(target.id))]) {
      expect(text).not.toContain(CLIENT_SECRET);
      expect(text).not.toContain(REFRESH_TOKEN);
    }

    // Single use: the same state cannot create a second target.
    const replay = await master.api.post(
      '/api/storage-targets/google-drive/complete',
      { state, code: 'good-code' },
      { token: operator },
    );
    expect(replay.status).toBe(400);
    expect(replay.body.code).toBe('STORAGE_GOOGLE_OAUTH_STATE_INVALID');

    const profile = await master.api.get<Envelope<{ email: string; name: string; picture: string }>>(
      `/api/storage-targets/${target.id}/google-drive/profile`,
      { token: viewer },
    );
    expect(profile.status, profile.text).toBe(200);
    expect(profile.body.data).toEqual({
      email: 'ops@example.com',
      name: 'Backup Operator',
      picture: 'https://example.com/photo.png',
    });
  });

  const auditFor = async (id: number): Promise<AuditEntry[]> =>
    (
      await master.api.get<Envelope<{ items: AuditEntry[] }>>(
        `/api/audit-logs?category=storage_target&targetId=${id}`,
        { token: admin },
      )
    ).body.data.items;

  it('re-authorises an existing target with its stored client credentials through the GET callback', async () => {
    const { state } = await startAuth({
      name: 'Drive to renew',
      config: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    });
    const created = await master.api.post<Envelope<StorageTargetDetail>>(
      '/api/storage-targets/google-drive/complete',
      { state, code: 'good-code' },
      { token: operator },
    );
    const id = created.body.data.id;

    // The edit form shows masks; they fall back to the stored credentials.
    const renewal = await startAuth({
      targetId: id,
      name: 'Drive renewed',
      config: { clientId: '********', clientSecret: '', folderId: 'new-folder' },
    });
    expect(renewal.url.searchParams.get('client_id')).toBe(CLIENT_ID);
    const callback = await master.api.get<
      Envelope<{ success: boolean; message: string; target: StorageTargetDetail }>
    >(
      `/api/storage-targets/google-drive/callback?state=${encodeURIComponent(renewal.state)}&code=good-code&scope=drive`,
      { token: operator },
    );
    expect(callback.status, callback.text).toBe(200);
    expect(callback.body.data).toMatchObject({
      success: true,
      target: { id, name: 'Drive renewed', config: { folderId: 'new-folder' } },
    });
    expect((await auditFor(id)).map((entry) => entry.action)).toEqual(['update', 'create']);
  });

  it('refuses unknown, expired and refresh-token-less authorisations and changes nothing', async () => {
    const before = await targetCount();
    const unknown = await master.api.post(
      '/api/storage-targets/google-drive/complete',
      { state: 'no-such-state', code: 'good-code' },
      { token: operator },
    );
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('STORAGE_GOOGLE_OAUTH_STATE_INVALID');

    const expired = await startAuth({
      name: 'Too slow',
      config: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    });
    master.clock.advance(10 * 60_000 + 1000);
    const late = await master.api.post(
      '/api/storage-targets/google-drive/complete',
      { state: expired.state, code: 'good-code' },
      { token: operator },
    );
    expect(late.status).toBe(400);
    expect(late.body.code).toBe('STORAGE_GOOGLE_OAUTH_STATE_INVALID');

    const noRefresh = await startAuth({
      name: 'No refresh',
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
    });
    const missing = await master.api.post(
      '/api/storage-targets/google-drive/complete',
      { state: noRefresh.state, code: 'no-refresh-code' },
      { token: operator },
    );
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe('STORAGE_GOOGLE_OAUTH_REFRESH_TOKEN_MISSING');

    const rejected = await startAuth({ name: 'Bad code', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    const refused = await master.api.post(
      '/api/storage-targets/google-drive/complete',
      { state: rejected.state, code: 'forged-code' },
      { token: operator },
    );
    expect(refused.status).toBe(502);
    expect(refused.body.code).toBe('STORAGE_GOOGLE_API_FAILED');
    expect(refused.text).not.toContain(CLIENT_SECRET);

    const noCredentials = await master.api.post(
      '/api/storage-targets/google-drive/auth-url',
      { name: 'No client' },
      { token: operator },
    );
    expect(noCredentials.status).toBe(400);
    expect(noCredentials.body.code).toBe('STORAGE_TARGET_INVALID_CONFIG');

    const unknownTarget = await master.api.post(
      '/api/storage-targets/google-drive/auth-url',
      { targetId: 4_000_000_000, name: 'Ghost' },
      { token: operator },
    );
    expect(unknownTarget.status).toBe(404);
    expect(unknownTarget.body.code).toBe('STORAGE_TARGET_NOT_FOUND');

    for (const [method, path, body] of [
      [
        'POST',
        '/api/storage-targets/google-drive/auth-url',
        { name: 'V', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      ],
      ['POST', '/api/storage-targets/google-drive/complete', { state: 'x', code: 'y' }],
      ['GET', '/api/storage-targets/google-drive/callback?state=x&code=y', undefined],
    ] as const) {
      const forbidden = await master.api.request(method, path, { token: viewer, json: body });
      expect(forbidden.status).toBe(403);
      expect((forbidden.body as { code: string }).code).toBe('AUTH_FORBIDDEN');
    }
    expect(await targetCount()).toBe(before);
  });

  it('answers profile requests only for Drive targets', async () => {
    const local = await master.api.post<Envelope<StorageTargetDetail>>(
      '/api/storage-targets',
      { name: 'Local', type: 'local_disk', config: { basePath: '/tmp/bx-oauth-local' } },
      { token: operator },
    );
    const profile = await master.api.get(`/api/storage-targets/${local.body.data.id}/google-drive/profile`, {
      token: viewer,
    });
    expect(profile.status).toBe(400);
    expect(profile.body.code).toBe('STORAGE_PROVIDER_UNSUPPORTED');
    const missing = await master.api.get('/api/storage-targets/4000000000/google-drive/profile', {
      token: viewer,
    });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('STORAGE_TARGET_NOT_FOUND');
  });
});
