/**
 * There is no Google here: these tests run the Drive backend against a local stand-in for the
 * Google Drive v3 and OAuth token APIs (node:http on 127.0.0.1), implementing exactly the
 * endpoints the backend calls. It proves our side of the protocol, not Google's behaviour.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat as fsStat, unlink } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { runStorageContract } from '@backupx/testkit/storage-contract';
import { bufferStream, readAll } from '@backupx/testkit';
import { buildGoogleAuthUrl, createGoogleDriveBackend, exchangeGoogleAuthCode } from './google-drive.ts';

const FOLDER = 'application/vnd.google-apps.folder';

interface FakeFile {
  id: string;
  name: string;
  mimeType: string;
  parents: string[];
  size: number;
  modifiedTime: string;
  appProperties?: Record<string, string>;
}

interface FakeSession {
  fileId: string | null;
  metadata: { name: string; parents: string[]; appProperties?: Record<string, string> };
  received: number;
  temp: string;
}

/** Stand-in for the Google APIs: OAuth token endpoint + the Drive v3 calls the backend makes. */
const startFakeGoogle = async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'backupx-fake-drive-'));
  const files = new Map<string, FakeFile>();
  const sessions = new Map<string, FakeSession>();
  const refreshToken = 'refresh-token-123';
  let issued = '';
  let tokenRequests = 0;
  const newId = () => randomBytes(8).toString('hex');
  const blob = (id: string) => path.join(dir, `blob-${id}`);
  const send = (
    response: http.ServerResponse,
    status: number,
    body?: unknown,
    headers: http.OutgoingHttpHeaders = {},
  ) => {
    response.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    response.end(body === undefined ? '' : JSON.stringify(body));
  };
  const readBody = async (request: http.IncomingMessage) => (await readAll(request)).toString();
  const view = (file: FakeFile) => ({
    id: file.id,
    name: file.name,
    mimeType: file.mimeType,
    modifiedTime: file.modifiedTime,
    ...(file.mimeType === FOLDER ? {} : { size: String(file.size) }),
  });
  const removeTree = async (id: string) => {
    for (const child of [...files.values()].filter((file) => file.parents.includes(id)))
      await removeTree(child.id);
    const file = files.get(id);
    files.delete(id);
    if (file && file.mimeType !== FOLDER) await unlink(blob(id)).catch(() => undefined);
  };

  const handle = async (request: http.IncomingMessage, response: http.ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const method = request.method ?? 'GET';
    if (url.pathname === '/token' && method === 'POST') {
      tokenRequests += 1;
      const form = new URLSearchParams(await readBody(request));
      if (form.get('grant_type') === 'refresh_token' && form.get('refresh_token') === refreshToken) {
        issued = `access-${newId()}`;
        return send(response, 200, { access_token: issued, expires_in: 3600, token_type: 'Bearer' });
      }
      if (form.get('grant_type') === 'authorization_code' && form.get('code') === 'good-code') {
        return send(response, 200, {
          access_token: 'a1',
          refresh_token: refreshToken,
          expires_in: 3599,
          scope: 'https://www.googleapis.com/auth/drive',
        });
      }
      return send(response, 400, { error: 'invalid_grant' });
    }
    const sessionMatch = /^\/upload\/session\/(\w+)$/.exec(url.pathname);
    if (sessionMatch) {
      const session = sessions.get(sessionMatch[1]!);
      if (!session) return send(response, 404, { error: 'no session' });
      if (method === 'DELETE') {
        sessions.delete(sessionMatch[1]!);
        await unlink(session.temp).catch(() => undefined);
        return send(response, 499);
      }
      const range = request.headers['content-range'] ?? '';
      const match = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(range);
      if (!match) return send(response, 400, { error: `bad Content-Range ${range}` });
      if (match[1] !== undefined && Number(match[1]) !== session.received) {
        return send(response, 400, { error: `expected offset ${session.received}` });
      }
      await pipeline(request, createWriteStream(session.temp, { flags: 'a' }));
      session.received = (await fsStat(session.temp)).size;
      if (match[3] === '*' || Number(match[3]) > session.received) {
        return send(
          response,
          308,
          undefined,
          session.received > 0 ? { Range: `bytes=0-${session.received - 1}` } : {},
        );
      }
      sessions.delete(sessionMatch[1]!);
      const id = session.fileId ?? newId();
      const previous = files.get(id);
      const file: FakeFile = {
        id,
        name: session.metadata.name,
        mimeType: 'application/octet-stream',
        parents: previous?.parents ?? session.metadata.parents,
        size: session.received,
        modifiedTime: new Date().toISOString(),
        ...(session.metadata.appProperties ? { appProperties: session.metadata.appProperties } : {}),
      };
      const { rename } = await import('node:fs/promises');
      await rename(session.temp, blob(id));
      files.set(id, file);
      return send(response, previous ? 200 : 201, view(file));
    }
    if (request.headers.authorization !== `Bearer ${issued}` || issued === '') {
      return send(response, 401, { error: { code: 401, message: 'Invalid Credentials' } });
    }
    if (url.pathname === '/drive/v3/about') {
      const used = [...files.values()].reduce((sum, file) => sum + file.size, 0);
      return send(response, 200, { storageQuota: { limit: String(15 * 1024 ** 3), usage: String(used) } });
    }
    const uploadMatch = /^\/upload\/drive\/v3\/files(?:\/(\w+))?$/.exec(url.pathname);
    if (uploadMatch && url.searchParams.get('uploadType') === 'resumable') {
      const metadata = JSON.parse(await readBody(request)) as FakeSession['metadata'];
      const fileId = uploadMatch[1] ?? null;
      if (fileId !== null && !files.has(fileId)) return send(response, 404, { error: 'no file' });
      const sid = newId();
      sessions.set(sid, { fileId, metadata, received: 0, temp: path.join(dir, `session-${sid}`) });
      return send(response, 200, undefined, {
        Location: `http://${request.headers.host}/upload/session/${sid}`,
      });
    }
    if (url.pathname === '/drive/v3/files' && method === 'GET') {
      const q = url.searchParams.get('q') ?? '';
      const parent = /^'((?:[^'\\]|\\.)*)' in parents/.exec(q)?.[1];
      const nameMatch = / and name = '((?:[^'\\]|\\.)*)'/.exec(q)?.[1]?.replace(/\\(.)/g, '$1');
      const listed = [...files.values()]
        .filter((file) => parent !== undefined && file.parents.includes(parent))
        .filter((file) => nameMatch === undefined || file.name === nameMatch)
        .sort((a, b) => b.modifiedTime.localeCompare(a.modifiedTime));
      // Two per page, to exercise pagination.
      const start = Number(url.searchParams.get('pageToken') ?? 0);
      const page = listed.slice(start, start + 2);
      return send(response, 200, {
        files: page.map(view),
        ...(start + 2 < listed.length ? { nextPageToken: String(start + 2) } : {}),
      });
    }
    if (url.pathname === '/drive/v3/files' && method === 'POST') {
      const body = JSON.parse(await readBody(request)) as {
        name: string;
        mimeType: string;
        parents: string[];
      };
      const file: FakeFile = {
        id: newId(),
        name: body.name,
        mimeType: body.mimeType,
        parents: body.parents,
        size: 0,
        modifiedTime: new Date().toISOString(),
      };
      files.set(file.id, file);
      return send(response, 200, { id: file.id });
    }
    const fileMatch = /^\/drive\/v3\/files\/(\w+)$/.exec(url.pathname);
    if (fileMatch) {
      const file = files.get(fileMatch[1]!);
      if (!file) return send(response, 404, { error: { code: 404, message: 'File not found' } });
      if (method === 'DELETE') {
        await removeTree(file.id);
        return send(response, 204);
      }
      if (url.searchParams.get('alt') !== 'media') return send(response, 200, view(file));
      const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? '');
      const start = range ? Number(range[1]) : 0;
      const end = range ? Math.min(Number(range[2]), file.size - 1) : file.size - 1;
      response.writeHead(range ? 206 : 200, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(Math.max(0, end - start + 1)),
      });
      if (end < start) return response.end();
      await pipeline(createReadStream(blob(file.id), { start, end }), response);
      return;
    }
    return send(response, 404, { error: `stand-in does not implement ${method} ${url.pathname}` });
  };

  let server: http.Server | null = null;
  let port = 0;
  const listen = async () => {
    const created = http.createServer((request, response) => {
      handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) send(response, 500, { error: String(error) });
        else response.destroy();
      });
    });
    created.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => created.listen(port, '127.0.0.1', resolve));
    port = (created.address() as { port: number }).port;
    server = created;
  };
  const halt = async () => {
    const current = server;
    server = null;
    if (!current) return;
    current.closeAllConnections();
    await new Promise<void>((resolve) => current.close(() => resolve()));
  };
  await listen();
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    refreshToken,
    files,
    sessions,
    get tokenRequests() {
      return tokenRequests;
    },
    rootFolder: () => {
      const file: FakeFile = {
        id: newId(),
        name: 'backups',
        mimeType: FOLDER,
        parents: ['root'],
        size: 0,
        modifiedTime: new Date().toISOString(),
      };
      files.set(file.id, file);
      return file.id;
    },
    serverDown: async () => {
      await halt();
      return listen;
    },
    stop: async () => {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
  };
};

type FakeGoogle = Awaited<ReturnType<typeof startFakeGoogle>>;

const backendFor = (fake: FakeGoogle, folderId: string, chunkBytes?: number) =>
  createGoogleDriveBackend(
    {
      clientId: 'client-id',
      clientSecret: 'client-secret',
      refreshToken: fake.refreshToken,
      folderId,
      apiBaseUrl: fake.baseUrl,
      tokenUrl: `${fake.baseUrl}/token`,
    },
    chunkBytes === undefined ? {} : { chunkBytes },
  );

{
  let fake: FakeGoogle | null = null;
  runStorageContract('google_drive (local stand-in for the Google API)', {
    setup: async () => {
      fake = await startFakeGoogle();
    },
    create: () => Promise.resolve(backendFor(fake!, fake!.rootFolder(), 1024 * 1024)),
    teardown: async () => {
      await fake?.stop();
      fake = null;
    },
    faults: { serverDown: () => fake!.serverDown() },
    reportsUsage: true,
  });
}

describe('google drive against a local stand-in for the Google API', () => {
  it('builds the consent URL of SPEC §4.8', () => {
    const url = new URL(
      buildGoogleAuthUrl({
        clientId: 'cid',
        redirectUri: 'https://bx.example/storage-targets/google-drive/callback',
        state: 'st',
      }),
    );
    expect(url.origin + url.pathname).toBe('https://accounts.google.com/o/oauth2/v2/auth');
    expect(url.searchParams.get('scope')).toBe('https://www.googleapis.com/auth/drive');
    expect(url.searchParams.get('access_type')).toBe('offline');
    expect(url.searchParams.get('prompt')).toBe('consent');
    expect(url.searchParams.get('state')).toBe('st');
    expect(url.searchParams.get('response_type')).toBe('code');
  });

  it('exchanges an authorisation code and reports refusals', async () => {
    const fake = await startFakeGoogle();
    try {
      const tokens = await exchangeGoogleAuthCode({
        clientId: 'c',
        clientSecret: 's',
        code: 'good-code',
        redirectUri: 'https://x/cb',
        tokenUrl: `${fake.baseUrl}/token`,
      });
      expect(tokens.refreshToken).toBe(fake.refreshToken);
      await expect(
        exchangeGoogleAuthCode({
          clientId: 'c',
          clientSecret: 's',
          code: 'bad',
          redirectUri: 'https://x/cb',
          tokenUrl: `${fake.baseUrl}/token`,
        }),
      ).rejects.toMatchObject({ code: 'STORAGE_AUTH_FAILED' });
    } finally {
      await fake.stop();
    }
  });

  it('uploads in chunks, overwrites in place, keeps appProperties, and cancels sessions on failure', async () => {
    const fake = await startFakeGoogle();
    const backend = backendFor(fake, '', 256 * 1024);
    try {
      const data = randomBytes(700 * 1024);
      await backend.put('a/b/c.bin', bufferStream(data), { metadata: { taskId: '7' } });
      expect((await readAll(await backend.get('a/b/c.bin'))).equals(data)).toBe(true);
      await backend.put('a/b/c.bin', bufferStream('v2'), {});
      const named = [...fake.files.values()].filter((file) => file.name === 'c.bin');
      expect(named).toHaveLength(1);
      expect([...fake.files.values()].filter((file) => file.name === 'a')).toHaveLength(1);
      expect((await readAll(await backend.get('a/b/c.bin'))).toString()).toBe('v2');
      await expect(
        backend.put(
          'a/fail.bin',
          Readable.from(
            (async function* () {
              yield randomBytes(600 * 1024);
              await Promise.resolve();
              throw new Error('source broke');
            })(),
          ),
          {},
        ),
      ).rejects.toBeTruthy();
      expect(fake.sessions.size).toBe(0);
      expect(await backend.stat('a/fail.bin')).toBeNull();
      // Token refreshed once and reused.
      expect(fake.tokenRequests).toBe(1);
    } finally {
      await backend.close();
      await fake.stop();
    }
  });
});
