import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import { googleDriveConfigSchema } from '@backupx/contract';
import { EngineError, isAbortError, throwIfAborted } from '../errors.ts';
import { assertSafeKey } from './keys.ts';
import type {
  BackendDeps,
  PutOptions,
  PutResult,
  StorageBackend,
  StorageObjectInfo,
  StorageUsage,
} from './types.ts';

export const GOOGLE_DRIVE_SCOPE = 'https://www.googleapis.com/auth/drive';
export const GOOGLE_AUTH_URL = 'https://accounts.google.com/o/oauth2/v2/auth';
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const FOLDER_MIME = 'application/vnd.google-apps.folder';
/** Resumable upload chunk: a multiple of 256 KiB (Drive's rule for every chunk but the last). */
const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
const FILE_FIELDS = 'id,name,mimeType,size,modifiedTime';

/** The consent URL of SPEC §4.8: full Drive scope, offline access, always ask (so a refresh token comes back). */
export const buildGoogleAuthUrl = (options: {
  clientId: string;
  redirectUri: string;
  state: string;
  authUrl?: string;
}): string => {
  const url = new URL(options.authUrl ?? GOOGLE_AUTH_URL);
  url.searchParams.set('client_id', options.clientId);
  url.searchParams.set('redirect_uri', options.redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', GOOGLE_DRIVE_SCOPE);
  url.searchParams.set('access_type', 'offline');
  url.searchParams.set('prompt', 'consent');
  url.searchParams.set('include_granted_scopes', 'true');
  url.searchParams.set('state', options.state);
  return url.toString();
};

export interface GoogleTokens {
  accessToken: string;
  /** Absent when Google did not issue one (the caller answers STORAGE_GOOGLE_OAUTH_REFRESH_TOKEN_MISSING). */
  refreshToken?: string;
  expiresInSeconds: number;
  scope?: string;
}

interface TokenResponse {
  access_token?: string;
  refresh_token?: string;
  expires_in?: number;
  scope?: string;
  error?: string;
  error_description?: string;
}

const postToken = async (
  fetchImpl: typeof fetch,
  tokenUrl: string,
  form: Record<string, string>,
  signal?: AbortSignal,
): Promise<GoogleTokens> => {
  let response: Response;
  try {
    response = await fetchImpl(tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    if (isAbortError(error)) throw error;
    throw new EngineError('STORAGE_CONNECTION_FAILED', 'storage', `google token endpoint unreachable`, {
      cause: error,
      retryable: true,
    });
  }
  const body = (await response.json().catch(() => ({}))) as TokenResponse;
  if (!response.ok || typeof body.access_token !== 'string') {
    const retryable = response.status >= 500 || response.status === 429;
    throw new EngineError(
      retryable ? 'STORAGE_OPERATION_FAILED' : 'STORAGE_AUTH_FAILED',
      'storage',
      `google token request failed (${response.status}): ${body.error ?? ''} ${body.error_description ?? ''}`.trim(),
      { retryable },
    );
  }
  const tokens: GoogleTokens = { accessToken: body.access_token, expiresInSeconds: body.expires_in ?? 3600 };
  if (typeof body.refresh_token === 'string') tokens.refreshToken = body.refresh_token;
  if (typeof body.scope === 'string') tokens.scope = body.scope;
  return tokens;
};

/** Exchanges the authorisation code of the OAuth callback for tokens (SPEC §4.8 step 3). */
export const exchangeGoogleAuthCode = (options: {
  clientId: string;
  clientSecret: string;
  code: string;
  redirectUri: string;
  tokenUrl?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}): Promise<GoogleTokens> =>
  postToken(
    options.fetch ?? fetch,
    options.tokenUrl ?? GOOGLE_TOKEN_URL,
    {
      grant_type: 'authorization_code',
      code: options.code,
      client_id: options.clientId,
      client_secret: options.clientSecret,
      redirect_uri: options.redirectUri,
    },
    options.signal,
  );

/** Drive query string literal: backslash and single quote escaped. */
export const driveQueryLiteral = (value: string): string =>
  `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

interface DriveFile {
  id: string;
  name: string;
  mimeType: string;
  size?: string;
  modifiedTime?: string;
}

export interface GoogleDriveBackendOptions extends BackendDeps {
  /** Resumable upload chunk size (multiple of 256 KiB; default 8 MiB). */
  chunkBytes?: number;
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const isTransientStatus = (status: number) => status >= 500 || status === 429 || status === 408;

const wrapError = (operation: string, error: unknown): EngineError => {
  if (error instanceof EngineError) return error;
  if (isAbortError(error))
    return new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: error });
  if (error instanceof HttpError) {
    return new EngineError(
      error.status === 401 || error.status === 403 ? 'STORAGE_AUTH_FAILED' : 'STORAGE_OPERATION_FAILED',
      'storage',
      `google drive ${operation}: ${error.message}`,
      {
        cause: error,
        retryable: isTransientStatus(error.status) || /rateLimitExceeded/i.test(error.message),
      },
    );
  }
  // fetch() network failures (TypeError: fetch failed, ECONNREFUSED causes).
  const message = error instanceof Error ? error.message : String(error);
  return new EngineError('STORAGE_OPERATION_FAILED', 'storage', `google drive ${operation}: ${message}`, {
    cause: error,
    retryable: true,
  });
};

/** Google Drive on the v3 REST API: folders under `folderId` mirror the key's path. */
export const createGoogleDriveBackend = (
  rawConfig: unknown,
  deps: GoogleDriveBackendOptions = {},
): StorageBackend => {
  const config = googleDriveConfigSchema.parse(rawConfig);
  const fetchImpl = deps.fetch ?? fetch;
  const api = config.apiBaseUrl.replace(/\/+$/, '');
  const chunkBytes = deps.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (chunkBytes <= 0 || chunkBytes % (256 * 1024) !== 0) {
    throw new EngineError('STORAGE_CONFIG_INVALID', 'storage', 'chunkBytes must be a multiple of 256 KiB');
  }
  const rootId = config.folderId || 'root';
  let token: { value: string; expiresAt: number } | null = null;
  let refreshing: Promise<string> | null = null;
  /** Folder path ('' = root) → id; pending lookups are shared so parallel puts create a folder once. */
  const folders = new Map<string, Promise<string | null>>();

  const accessToken = async (signal?: AbortSignal): Promise<string> => {
    if (token && token.expiresAt > Date.now()) return token.value;
    refreshing ??= postToken(
      fetchImpl,
      config.tokenUrl,
      {
        grant_type: 'refresh_token',
        refresh_token: config.refreshToken,
        client_id: config.clientId,
        client_secret: config.clientSecret,
      },
      signal,
    )
      .then((tokens) => {
        token = {
          value: tokens.accessToken,
          expiresAt: Date.now() + Math.max(0, tokens.expiresInSeconds - 60) * 1000,
        };
        return tokens.accessToken;
      })
      .finally(() => {
        refreshing = null;
      });
    return refreshing;
  };

  /** One authorised request; a 401 refreshes the token once (bodies here are replayable). */
  const request = async (
    url: string,
    init: RequestInit & { signal?: AbortSignal } = {},
    accept: (status: number) => boolean = (status) => status >= 200 && status < 300,
  ): Promise<Response> => {
    for (let attempt = 0; ; attempt += 1) {
      const headers = new Headers(init.headers);
      headers.set('Authorization', `Bearer ${await accessToken(init.signal ?? undefined)}`);
      const response = await fetchImpl(url, { ...init, headers });
      if (response.status === 401 && attempt === 0) {
        await response.body?.cancel();
        token = null;
        continue;
      }
      if (!accept(response.status)) {
        const text = await response.text().catch(() => '');
        throw new HttpError(response.status, `HTTP ${response.status} ${text.slice(0, 300)}`.trim());
      }
      return response;
    }
  };

  const json = async <T>(url: string, init: RequestInit & { signal?: AbortSignal } = {}): Promise<T> =>
    (await (await request(url, init)).json()) as T;

  /** Children of a folder, optionally only those named `name`, every page. */
  const children = async (parentId: string, name?: string, signal?: AbortSignal): Promise<DriveFile[]> => {
    let q = `${driveQueryLiteral(parentId)} in parents and trashed = false`;
    if (name !== undefined) q += ` and name = ${driveQueryLiteral(name)}`;
    const out: DriveFile[] = [];
    let pageToken: string | undefined;
    do {
      const url = new URL(`${api}/drive/v3/files`);
      url.searchParams.set('q', q);
      url.searchParams.set('fields', `nextPageToken,files(${FILE_FIELDS})`);
      url.searchParams.set('pageSize', '1000');
      url.searchParams.set('orderBy', 'modifiedTime desc');
      url.searchParams.set('supportsAllDrives', 'true');
      url.searchParams.set('includeItemsFromAllDrives', 'true');
      if (pageToken !== undefined) url.searchParams.set('pageToken', pageToken);
      const page = await json<{ files?: DriveFile[]; nextPageToken?: string }>(url.toString(), {
        ...(signal ? { signal } : {}),
      });
      out.push(...(page.files ?? []));
      pageToken = page.nextPageToken;
    } while (pageToken !== undefined);
    return out;
  };

  /** Folder id for a `/`-separated path under the root; null when missing (and not `create`). */
  const folderId = (dir: string, create: boolean, signal?: AbortSignal): Promise<string | null> => {
    if (dir === '') return Promise.resolve(rootId);
    const cached = folders.get(dir);
    if (cached) {
      return cached.then((id) => (id === null && create ? resolveFolder(dir, create, signal) : id));
    }
    return resolveFolder(dir, create, signal);
  };

  const resolveFolder = (dir: string, create: boolean, signal?: AbortSignal): Promise<string | null> => {
    const slash = dir.lastIndexOf('/');
    const parentDir = slash >= 0 ? dir.slice(0, slash) : '';
    const name = dir.slice(slash + 1);
    const pending = (async () => {
      const parentId = await folderId(parentDir, create, signal);
      if (parentId === null) return null;
      const found = (await children(parentId, name, signal)).find((file) => file.mimeType === FOLDER_MIME);
      if (found) return found.id;
      if (!create) return null;
      const created = await json<DriveFile>(`${api}/drive/v3/files?fields=id&supportsAllDrives=true`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name, mimeType: FOLDER_MIME, parents: [parentId] }),
        ...(signal ? { signal } : {}),
      });
      return created.id;
    })();
    folders.set(dir, pending);
    pending.then(
      (id) => {
        // Remember only hits: a missing folder may be created by the next put.
        if (id === null && folders.get(dir) === pending) folders.delete(dir);
      },
      () => {
        if (folders.get(dir) === pending) folders.delete(dir);
      },
    );
    return pending;
  };

  const forgetFolders = (dir: string) => {
    for (const path of folders.keys()) {
      if (dir === '' || path === dir || path.startsWith(`${dir}/`)) folders.delete(path);
    }
  };

  const splitKey = (key: string) => {
    const slash = key.lastIndexOf('/');
    return { dir: slash >= 0 ? key.slice(0, slash) : '', name: key.slice(slash + 1) };
  };

  /** The newest non-folder file at `key`, or null. */
  const findFile = async (key: string, signal?: AbortSignal): Promise<DriveFile | null> => {
    const { dir, name } = splitKey(key);
    const parentId = await folderId(dir, false, signal);
    if (parentId === null) return null;
    return (await children(parentId, name, signal)).find((file) => file.mimeType !== FOLDER_MIME) ?? null;
  };

  const info = (key: string, file: DriveFile): StorageObjectInfo => ({
    key,
    sizeBytes: Number(file.size ?? 0),
    updatedAt: file.modifiedTime === undefined ? new Date(0) : new Date(file.modifiedTime),
  });

  const op = async <T>(operation: string, run: () => Promise<T>, signal?: AbortSignal): Promise<T> => {
    throwIfAborted(signal, 'storage');
    try {
      return await run();
    } catch (error) {
      if (signal?.aborted === true) {
        throw new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: error });
      }
      throw wrapError(operation, error);
    }
  };

  /** PUTs one chunk of a resumable session, retrying transient failures (the chunk is in memory). */
  const sendChunk = async (
    session: string,
    chunk: Buffer,
    start: number,
    total: number | null,
    signal?: AbortSignal,
  ): Promise<Response> => {
    const range =
      chunk.length === 0
        ? `bytes */${total ?? 0}`
        : `bytes ${start}-${start + chunk.length - 1}/${total === null ? '*' : String(total)}`;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const response = await fetchImpl(session, {
          method: 'PUT',
          headers: { 'Content-Range': range, 'Content-Length': String(chunk.length) },
          body: chunk,
          ...(signal ? { signal } : {}),
        });
        if (response.status === 308 || response.ok) {
          if (response.status === 308) {
            await response.body?.cancel();
            const received = /bytes=0-(\d+)/.exec(response.headers.get('Range') ?? '');
            const expected = start + chunk.length - 1;
            if (chunk.length > 0 && (received === null || Number(received[1]) !== expected)) {
              throw new HttpError(500, `upload session kept ${received?.[1] ?? 'nothing'} of ${expected}`);
            }
          }
          return response;
        }
        const text = await response.text().catch(() => '');
        throw new HttpError(response.status, `HTTP ${response.status} ${text.slice(0, 300)}`.trim());
      } catch (error) {
        const transient =
          !isAbortError(error) &&
          signal?.aborted !== true &&
          (!(error instanceof HttpError) || isTransientStatus(error.status));
        if (!transient || attempt >= 3) throw error;
        await sleep(500 * attempt, undefined, signal ? { signal } : {});
      }
    }
  };

  const put = async (key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> => {
    assertSafeKey(key);
    const signal = options.signal;
    throwIfAborted(signal, 'storage');
    let session: string | null = null;
    const onAbort = () => body.destroy(new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const { dir, name } = splitKey(key);
      const parentId = await folderId(dir, true, signal);
      if (parentId === null) throw new Error(`folder ${dir} could not be created`);
      const existing = (await children(parentId, name, signal)).find((file) => file.mimeType !== FOLDER_MIME);
      const metadata: Record<string, unknown> = { name };
      if (options.metadata) metadata.appProperties = options.metadata;
      const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=UTF-8' };
      if (options.sizeBytes !== undefined) headers['X-Upload-Content-Length'] = String(options.sizeBytes);
      // A new revision of an existing file replaces it only when the upload completes.
      const started = existing
        ? await request(
            `${api}/upload/drive/v3/files/${encodeURIComponent(existing.id)}?uploadType=resumable&supportsAllDrives=true`,
            { method: 'PATCH', headers, body: JSON.stringify(metadata), ...(signal ? { signal } : {}) },
          )
        : await request(`${api}/upload/drive/v3/files?uploadType=resumable&supportsAllDrives=true`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ ...metadata, parents: [parentId] }),
            ...(signal ? { signal } : {}),
          });
      await started.body?.cancel();
      session = started.headers.get('Location');
      if (session === null) throw new HttpError(502, 'resumable upload: no session URL');
      const uploadUrl: string = session;

      let sent = 0;
      let buffered: Buffer[] = [];
      let bufferedBytes = 0;
      const takeChunk = (): Buffer => {
        const all = Buffer.concat(buffered, bufferedBytes);
        const chunk = all.subarray(0, chunkBytes);
        const restBytes = all.subarray(chunkBytes);
        buffered = restBytes.length > 0 ? [restBytes] : [];
        bufferedBytes = restBytes.length;
        return chunk;
      };
      for await (const piece of body) {
        const data = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer);
        buffered.push(data);
        bufferedBytes += data.length;
        // Send only when more follows: the last chunk must carry the total.
        while (bufferedBytes > chunkBytes) {
          const chunk = takeChunk();
          await sendChunk(uploadUrl, chunk, sent, null, signal);
          sent += chunk.length;
        }
      }
      throwIfAborted(signal, 'storage');
      const last = bufferedBytes > 0 ? takeChunk() : Buffer.alloc(0);
      const total = sent + last.length;
      if (options.sizeBytes !== undefined && options.sizeBytes !== total) {
        throw new EngineError(
          'STORAGE_SIZE_MISMATCH',
          'storage',
          `google drive upload of ${key}: expected ${options.sizeBytes} bytes, got ${total}`,
        );
      }
      const done = await sendChunk(uploadUrl, last, sent, total, signal);
      if (!done.ok) throw new HttpError(done.status, 'resumable upload did not complete');
      await done.body?.cancel();
      session = null;
      return { sizeBytes: total };
    } catch (error) {
      if (!body.destroyed) body.destroy();
      const open = session;
      if (open !== null) {
        // Cancelling the session discards every byte sent: nothing appears at the key.
        await fetchImpl(open, { method: 'DELETE' })
          .then((response) => response.body?.cancel())
          .catch(() => undefined);
      }
      if (signal?.aborted === true) {
        throw new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: error });
      }
      throw wrapError(`upload of ${key}`, error);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  };

  const get = async (
    key: string,
    options: { offset?: number; length?: number; signal?: AbortSignal } = {},
  ): Promise<Readable> => {
    assertSafeKey(key);
    const signal = options.signal;
    return await op(
      `download of ${key}`,
      async () => {
        const file = await findFile(key, signal);
        if (!file)
          throw new EngineError('STORAGE_NOT_FOUND', 'storage', `google drive: object ${key} not found`);
        const size = Number(file.size ?? 0);
        const start = Math.min(options.offset ?? 0, size);
        const end = options.length === undefined ? size : Math.min(size, start + options.length);
        if (end <= start) return Readable.from([]);
        const headers: Record<string, string> = {};
        if (start > 0 || end < size) headers.Range = `bytes=${start}-${end - 1}`;
        const response = await request(
          `${api}/drive/v3/files/${encodeURIComponent(file.id)}?alt=media&supportsAllDrives=true`,
          { headers, ...(signal ? { signal } : {}) },
        );
        if (response.body === null) return Readable.from([]);
        const stream = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
        return stream;
      },
      signal,
    );
  };

  const removeEmpty = async (id: string, removeSelf: boolean): Promise<boolean> => {
    let remaining = 0;
    for (const child of await children(id)) {
      if (child.mimeType === FOLDER_MIME && (await removeEmpty(child.id, true).catch(() => false))) continue;
      remaining += 1;
    }
    if (!removeSelf || remaining > 0) return false;
    await request(`${api}/drive/v3/files/${encodeURIComponent(id)}?supportsAllDrives=true`, {
      method: 'DELETE',
    }).then((response) => response.body?.cancel());
    return true;
  };

  return {
    type: 'google_drive',
    testConnection: (signal) =>
      op(
        'connection test',
        async () => {
          if (rootId !== 'root') {
            const root = await json<DriveFile>(
              `${api}/drive/v3/files/${encodeURIComponent(rootId)}?fields=${FILE_FIELDS}&supportsAllDrives=true`,
              signal ? { signal } : {},
            );
            if (root.mimeType !== FOLDER_MIME) throw new Error(`folderId ${rootId} is not a folder`);
          }
          await children(rootId, undefined, signal);
        },
        signal,
      ),
    put,
    get,
    stat: async (key, signal) => {
      assertSafeKey(key);
      return await op(
        `stat of ${key}`,
        async () => {
          const file = await findFile(key, signal);
          return file ? info(key, file) : null;
        },
        signal,
      );
    },
    list: async (prefix, signal) => {
      const trimmed = prefix.replace(/\/+$/, '');
      if (trimmed !== '') assertSafeKey(trimmed);
      const slash = prefix.lastIndexOf('/');
      const dir = slash >= 0 ? prefix.slice(0, slash) : '';
      return await op(
        `listing of ${prefix || '/'}`,
        async () => {
          const out: StorageObjectInfo[] = [];
          const walk = async (id: string, relative: string) => {
            for (const file of await children(id, undefined, signal)) {
              const key = relative === '' ? file.name : `${relative}/${file.name}`;
              if (file.mimeType === FOLDER_MIME) await walk(file.id, key);
              else if (key.startsWith(prefix)) out.push(info(key, file));
            }
          };
          const id = await folderId(dir, false, signal);
          if (id !== null) await walk(id, dir);
          return out;
        },
        signal,
      );
    },
    delete: async (key, signal) => {
      assertSafeKey(key);
      return await op(
        `delete of ${key}`,
        async () => {
          const file = await findFile(key, signal);
          if (!file) return;
          await request(
            `${api}/drive/v3/files/${encodeURIComponent(file.id)}?supportsAllDrives=true`,
            { method: 'DELETE', ...(signal ? { signal } : {}) },
            (status) => (status >= 200 && status < 300) || status === 404,
          ).then((response) => response.body?.cancel());
        },
        signal,
      );
    },
    usage: (signal) =>
      op(
        'usage query',
        async (): Promise<StorageUsage | null> => {
          const about = await json<{ storageQuota?: { limit?: string; usage?: string } }>(
            `${api}/drive/v3/about?fields=storageQuota`,
            signal ? { signal } : {},
          );
          const quota = about.storageQuota;
          if (!quota) return null;
          const usage: StorageUsage = {};
          if (quota.usage !== undefined) usage.usedBytes = Number(quota.usage);
          if (quota.limit !== undefined) {
            usage.totalBytes = Number(quota.limit);
            if (usage.usedBytes !== undefined)
              usage.freeBytes = Math.max(0, usage.totalBytes - usage.usedBytes);
          }
          return usage;
        },
        signal,
      ),
    removeEmptyDirs: async (prefix) => {
      const trimmed = prefix.replace(/\/+$/, '');
      if (trimmed !== '') assertSafeKey(trimmed);
      try {
        const id = await folderId(trimmed, false);
        if (id !== null) await removeEmpty(id, trimmed !== '');
      } catch {
        // best effort (SPEC §4.1)
      } finally {
        forgetFolders(trimmed);
      }
    },
    close: () => Promise.resolve(),
  };
};
