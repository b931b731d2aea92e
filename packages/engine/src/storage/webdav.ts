import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { webdavConfigSchema } from '@backupx/contract';
import { EngineError, isAbortError, throwIfAborted } from '../errors.ts';
import { assertSafeKey, isPartialKey, partialKeyFor } from './keys.ts';
import type { BackendDeps, StorageBackend, StorageObjectInfo, StorageUsage } from './types.ts';
import { byteCounter } from './byte-counter.ts';
import { NETWORK_ERROR_CODES } from './retry.ts';

/** One `<response>` of a PROPFIND multistatus answer. */
export interface DavEntry {
  /** The href exactly as sent (percent-encoded path or absolute URL). */
  href: string;
  collection: boolean;
  sizeBytes: number;
  updatedAt: Date | undefined;
  quotaAvailableBytes?: number;
  quotaUsedBytes?: number;
}

const decodeXmlText = (text: string): string =>
  text
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_match, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_match, code: string) => String.fromCodePoint(Number.parseInt(code, 16)))
    .replace(/&amp;/g, '&')
    .trim();

/** Regex source for an element with any (or no) namespace prefix: `<D:name …>…</D:name>`. */
const element = (name: string) =>
  `<(?:[A-Za-z][\\w.-]*:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[A-Za-z][\\w.-]*:)?${name}\\s*>`;

const firstText = (xml: string, name: string): string | undefined => {
  const match = new RegExp(element(name), 'i').exec(xml);
  return match?.[1] === undefined ? undefined : decodeXmlText(match[1]);
};

const allBlocks = (xml: string, name: string): string[] =>
  Array.from(xml.matchAll(new RegExp(element(name), 'gi')), (match) => match[1] ?? '');

const parseNumber = (text: string | undefined): number | undefined => {
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
};

/**
 * Parses a PROPFIND `multistatus` body with small regexes: any namespace prefix (`D:`, `d:`, `lp1:`,
 * none), props from `propstat` blocks whose status is 2xx only.
 */
export const parsePropfind = (xml: string): DavEntry[] => {
  const entries: DavEntry[] = [];
  for (const response of allBlocks(xml, 'response')) {
    const href = firstText(response, 'href');
    if (href === undefined) continue;
    const propstats = allBlocks(response, 'propstat');
    const okProps = (propstats.length === 0 ? [response] : propstats)
      .filter((block) => {
        const status = firstText(block, 'status');
        return status === undefined || /\s2\d\d(\s|$)/.test(` ${status.replace(/^HTTP\/[\d.]+/i, '')}`);
      })
      .join('\n');
    const resourcetype = new RegExp(element('resourcetype'), 'i').exec(okProps)?.[1] ?? '';
    const collection =
      /<(?:[A-Za-z][\w.-]*:)?collection\b/i.test(resourcetype) ||
      /<(?:[A-Za-z][\w.-]*:)?resourcetype\b[^>]*>\s*<(?:[A-Za-z][\w.-]*:)?collection\s*\/>/i.test(okProps);
    const modified = firstText(okProps, 'getlastmodified');
    const updatedAt = modified === undefined ? undefined : new Date(modified);
    const quotaAvailableBytes = parseNumber(firstText(okProps, 'quota-available-bytes'));
    const quotaUsedBytes = parseNumber(firstText(okProps, 'quota-used-bytes'));
    entries.push({
      href,
      collection,
      sizeBytes: parseNumber(firstText(okProps, 'getcontentlength')) ?? 0,
      updatedAt: updatedAt === undefined || Number.isNaN(updatedAt.getTime()) ? undefined : updatedAt,
      ...(quotaAvailableBytes === undefined ? {} : { quotaAvailableBytes }),
      ...(quotaUsedBytes === undefined ? {} : { quotaUsedBytes }),
    });
  }
  return entries;
};

/** Decoded path of an href (absolute URL or path), without a trailing slash. */
export const hrefPath = (href: string): string => {
  let pathname = href;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(href)) pathname = new URL(href).pathname;
  const decoded = pathname
    .split('/')
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    })
    .join('/');
  return decoded.length > 1 ? decoded.replace(/\/+$/, '') : decoded;
};

/**
 * Streams a PUT body with node:http(s). Node 24's built-in fetch (undici 7.29) keeps every chunk
 * of a streamed request body alive until the request ends (measured: a 512 MiB upload holds
 * ~545 MB), so large uploads go through `http.request`, which honours backpressure (~10 MB).
 */
const streamingPut = (
  url: string,
  headers: Record<string, string>,
  body: Readable,
  signal: AbortSignal,
  agents: { http: http.Agent; https: https.Agent },
): Promise<number> =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const send = secure ? https.request : http.request;
    const outgoing = send(
      target,
      { method: 'PUT', headers, signal, agent: secure ? agents.https : agents.http },
      (response) => {
        response.resume();
        response.once('end', () => {
          if (!body.readableEnded) body.unpipe(outgoing);
          resolve(response.statusCode ?? 0);
        });
        response.once('error', reject);
      },
    );
    outgoing.once('error', reject);
    body.once('error', (error) => outgoing.destroy(error));
    body.pipe(outgoing);
  });

const propfindBody =
  '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>' +
  '<D:resourcetype/><D:getcontentlength/><D:getlastmodified/></D:prop></D:propfind>';
const quotaBody =
  '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>' +
  '<D:quota-available-bytes/><D:quota-used-bytes/></D:prop></D:propfind>';

/**
 * WebDAV over `fetch` (`deps.fetch` or the global one), except the streamed PUT body, which uses
 * node:http(s) (see `streamingPut`). Uploads go to a hidden partial name and are MOVEd over the key
 * (`Overwrite: T`), so the key only ever holds a complete object. Listing walks PROPFIND Depth 1.
 */
export const createWebdavBackend = (config: unknown, deps: BackendDeps = {}): StorageBackend => {
  const settings = webdavConfigSchema.parse(config);
  const doFetch = deps.fetch ?? globalThis.fetch;
  const endpoint = new URL(settings.endpoint);
  const decodeSegments = (text: string) =>
    text
      .split('/')
      .filter((segment) => segment !== '')
      .map((segment) => {
        try {
          return decodeURIComponent(segment);
        } catch {
          return segment;
        }
      });
  /** The endpoint's own path is assumed to exist; only basePath directories are created. */
  const endpointSegments = decodeSegments(endpoint.pathname);
  const rootSegments = [...endpointSegments, ...decodeSegments(settings.basePath)];
  for (const segment of rootSegments) {
    if (segment === '.' || segment === '..') {
      throw new EngineError(
        'STORAGE_CONFIG_INVALID',
        'storage',
        'WebDAV basePath must not contain "." or ".."',
      );
    }
  }
  const origin = endpoint.origin;
  // A fresh connection per upload: a stale keep-alive socket could reset an unrepeatable stream.
  const agents = { http: new http.Agent({ keepAlive: false }), https: new https.Agent({ keepAlive: false }) };
  const rootPath = `/${rootSegments.join('/')}`.replace(/\/+$/, '');
  const authorization =
    settings.username === '' && settings.password === ''
      ? undefined
      : `Basic ${Buffer.from(`${settings.username}:${settings.password}`).toString('base64')}`;

  /** URL of a key (or of a directory when `collection`), each segment percent-encoded. */
  const urlOf = (relative: string, collection = false): string => {
    const segments = [...rootSegments, ...relative.split('/').filter((segment) => segment !== '')];
    const encoded = segments.map((segment) => encodeURIComponent(segment)).join('/');
    const pathname = encoded === '' ? '/' : `/${encoded}${collection ? '/' : ''}`;
    return `${origin}${pathname}`;
  };

  const failure = (operation: string, cause: unknown, status?: number): EngineError => {
    if (cause instanceof EngineError) return cause;
    const code =
      (cause as { cause?: { code?: string }; code?: string } | null)?.cause?.code ??
      (cause as { code?: string } | null)?.code;
    const retryable =
      status !== undefined
        ? status >= 500 || status === 429 || status === 408
        : NETWORK_ERROR_CODES.has(code ?? '') || cause instanceof TypeError;
    const detail =
      status !== undefined
        ? `HTTP ${status}`
        : `${cause instanceof Error ? cause.message : String(cause)}${code ? ` (${code})` : ''}`;
    return new EngineError('STORAGE_REQUEST_FAILED', 'storage', `WebDAV ${operation} failed: ${detail}`, {
      retryable,
      cause,
    });
  };

  interface DavInit {
    method: string;
    headers?: Record<string, string>;
    body?: string | ReadableStream<Uint8Array>;
    signal?: AbortSignal | undefined;
  }

  /** Sends a request; network faults become retryable EngineErrors, aborts pass through. */
  const request = async (operation: string, url: string, init: DavInit): Promise<Response> => {
    const headers: Record<string, string> = { ...init.headers };
    if (authorization !== undefined) headers.Authorization = authorization;
    const send = () =>
      doFetch(url, {
        method: init.method,
        headers,
        ...(init.body === undefined ? {} : { body: init.body }),
        ...(typeof init.body === 'object' ? { duplex: 'half' as const } : {}),
        ...(init.signal ? { signal: init.signal } : {}),
        redirect: 'manual',
      });
    try {
      try {
        return await send();
      } catch (error) {
        // A pooled keep-alive connection the server just closed: repeat once (not for stream bodies).
        const code = (error as { cause?: { code?: string } } | null)?.cause?.code;
        const stale = code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE';
        if (!stale || typeof init.body === 'object' || init.signal?.aborted === true) throw error;
        return await send();
      }
    } catch (error) {
      if (isAbortError(error) || init.signal?.aborted === true) {
        throw new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: error });
      }
      throw failure(operation, error);
    }
  };

  const discard = async (response: Response): Promise<void> => {
    await response.body?.cancel().catch(() => undefined);
  };

  /** Fails unless the status is one of `ok`; the body is consumed either way. */
  const expectStatus = async (operation: string, response: Response, ok: number[]): Promise<void> => {
    if (ok.includes(response.status)) return;
    await discard(response);
    throw failure(operation, new Error(`HTTP ${response.status} ${response.statusText}`), response.status);
  };

  const propfind = async (
    relative: string,
    depth: '0' | '1',
    collection: boolean,
    signal?: AbortSignal,
    body = propfindBody,
  ): Promise<DavEntry[] | null> => {
    const response = await request('PROPFIND', urlOf(relative, collection), {
      method: 'PROPFIND',
      headers: { Depth: depth, 'Content-Type': 'application/xml; charset=utf-8' },
      body,
      signal,
    });
    if (response.status === 404) {
      await discard(response);
      return null;
    }
    await expectStatus(`listing of ${relative || '/'}`, response, [207, 200]);
    return parsePropfind(await response.text());
  };

  /** Key of an href relative to the root, or undefined when it is outside it. */
  const keyOfHref = (href: string): string | undefined => {
    const decoded = hrefPath(href);
    if (decoded === rootPath || (rootPath === '' && decoded === '/')) return '';
    const base = `${rootPath}/`;
    return decoded.startsWith(base) ? decoded.slice(base.length) : undefined;
  };

  /** MKCOL each missing directory from the root down to `directory` (405 = already there). */
  const knownDirectories = new Set<string>();
  const ensureDirectory = async (
    directory: string,
    signal?: AbortSignal,
    includeRootParents = false,
  ): Promise<void> => {
    const segments = directory.split('/').filter((segment) => segment !== '');
    const chain: { url: string; id: string }[] = [];
    if (includeRootParents) {
      for (let index = endpointSegments.length + 1; index <= rootSegments.length; index += 1) {
        const encoded = rootSegments
          .slice(0, index)
          .map((segment) => encodeURIComponent(segment))
          .join('/');
        chain.push({ url: `${origin}/${encoded}/`, id: `root:${index}` });
      }
    }
    for (let index = 1; index <= segments.length; index += 1) {
      const relative = segments.slice(0, index).join('/');
      chain.push({ url: urlOf(relative, true), id: relative });
    }
    for (const { url, id } of chain) {
      if (knownDirectories.has(id)) continue;
      const response = await request('MKCOL', url, { method: 'MKCOL', signal });
      await discard(response);
      if (![200, 201, 204, 301, 405].includes(response.status)) {
        throw failure(`creating directory ${id}`, new Error(`HTTP ${response.status}`), response.status);
      }
      knownDirectories.add(id);
    }
  };

  const deleteUrl = async (operation: string, url: string, signal?: AbortSignal): Promise<void> => {
    const response = await request(operation, url, { method: 'DELETE', signal });
    await discard(response);
    if (response.status === 404) return;
    if (response.status >= 200 && response.status < 300) return;
    throw failure(operation, new Error(`HTTP ${response.status}`), response.status);
  };

  const walk = async (directory: string, out: StorageObjectInfo[], signal?: AbortSignal): Promise<void> => {
    throwIfAborted(signal, 'storage');
    const entries = await propfind(directory, '1', true, signal);
    if (entries === null) return;
    for (const entry of entries) {
      const key = keyOfHref(entry.href);
      if (key === undefined || key === '' || key === directory) continue;
      if (directory !== '' && !key.startsWith(`${directory}/`)) continue;
      if (entry.collection) {
        await walk(key, out, signal);
      } else if (!isPartialKey(key)) {
        out.push({ key, sizeBytes: entry.sizeBytes, updatedAt: entry.updatedAt ?? new Date(0) });
      }
    }
  };

  const assertSafePrefix = (prefix: string): void => {
    if (prefix !== '') assertSafeKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  };

  /** Removes empty collections below `directory`, deepest first; returns whether it is now empty. */
  const prune = async (directory: string): Promise<boolean> => {
    const entries = await propfind(directory, '1', true);
    if (entries === null) return false;
    let empty = true;
    for (const entry of entries) {
      const key = keyOfHref(entry.href);
      if (key === undefined || key === directory || key === '') continue;
      if (directory !== '' && !key.startsWith(`${directory}/`)) continue;
      if (entry.collection && (await prune(key))) {
        await deleteUrl(`cleanup of ${key}`, urlOf(key, true)).catch(() => {
          empty = false;
        });
      } else {
        empty = false;
      }
    }
    return empty;
  };

  return {
    type: 'webdav',

    async testConnection(signal) {
      await ensureDirectory('', signal, true);
      const entries = await propfind('', '1', true, signal);
      if (entries === null) {
        throw new EngineError('STORAGE_REQUEST_FAILED', 'storage', 'WebDAV root is missing after MKCOL');
      }
    },

    async put(key, body, options = {}) {
      assertSafeKey(key);
      const { signal } = options;
      throwIfAborted(signal, 'storage');
      const slash = key.lastIndexOf('/');
      await ensureDirectory(slash >= 0 ? key.slice(0, slash) : '', signal, true);
      const temporary = partialKeyFor(key, options.uploadId ?? randomBytes(8).toString('hex'));
      const counter = byteCounter(options.sizeBytes);
      let sourceError: Error | undefined;
      body.on('error', (error) => {
        sourceError = error;
        counter.destroy(error);
      });
      body.pipe(counter);
      const controller = new AbortController();
      const onAbort = () => controller.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      counter.once('error', (error) => controller.abort(error));
      let moved = false;
      try {
        const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
        if (options.sizeBytes !== undefined && options.sizeBytes >= 0) {
          headers['Content-Length'] = String(options.sizeBytes);
        }
        // Always node:http(s) for the body, even with an injected fetch: memory must stay bounded.
        if (authorization !== undefined) headers.Authorization = authorization;
        const status = await streamingPut(
          urlOf(temporary),
          headers,
          counter,
          controller.signal,
          agents,
        ).catch((error: unknown) => {
          if (sourceError !== undefined || signal?.aborted === true) throw error;
          throw failure(`upload of ${key}`, error);
        });
        if (status < 200 || status > 299) {
          throw failure(`upload of ${key}`, new Error(`HTTP ${status}`), status);
        }
        if (sourceError !== undefined) throw sourceError;
        throwIfAborted(signal, 'storage');
        const move = await request(`upload of ${key}`, urlOf(temporary), {
          method: 'MOVE',
          headers: { Destination: urlOf(key), Overwrite: 'T' },
          signal,
        });
        await expectStatus(`upload of ${key} (move into place)`, move, [200, 201, 204]);
        await discard(move);
        moved = true;
        return { sizeBytes: counter.bytes };
      } catch (error) {
        if (!body.destroyed) body.destroy();
        if (signal?.aborted === true) {
          throw new EngineError('ENGINE_CANCELLED', 'storage', 'cancelled', { cause: signal.reason });
        }
        if (sourceError !== undefined) throw failure(`upload of ${key}`, sourceError);
        throw error;
      } finally {
        signal?.removeEventListener('abort', onAbort);
        if (!moved) await deleteUrl(`cleanup of ${temporary}`, urlOf(temporary)).catch(() => undefined);
      }
    },

    async get(key, options = {}) {
      assertSafeKey(key);
      const { signal } = options;
      const offset = options.offset ?? 0;
      if (options.length === 0) {
        if ((await this.stat(key, signal)) === null) {
          throw new EngineError('STORAGE_NOT_FOUND', 'storage', `object "${key}" not found`);
        }
        return Readable.from([]);
      }
      const headers: Record<string, string> = {};
      if (options.length !== undefined) headers.Range = `bytes=${offset}-${offset + options.length - 1}`;
      else if (offset > 0) headers.Range = `bytes=${offset}-`;
      const response = await request(`download of ${key}`, urlOf(key), { method: 'GET', headers, signal });
      if (response.status === 404) {
        await discard(response);
        throw new EngineError('STORAGE_NOT_FOUND', 'storage', `object "${key}" not found`);
      }
      if (response.status === 416) {
        await discard(response);
        return Readable.from([]);
      }
      await expectStatus(`download of ${key}`, response, [200, 206]);
      if (response.body === null) return Readable.from([]);
      const stream = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
      if (response.status === 206 || headers.Range === undefined) return stream;
      // The server ignored Range: skip and cut locally.
      let skip = offset;
      let remaining = options.length ?? Number.POSITIVE_INFINITY;
      const slicer = new Transform({
        transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
          let part = chunk;
          if (skip > 0) {
            const dropped = Math.min(skip, part.length);
            skip -= dropped;
            part = part.subarray(dropped);
          }
          if (part.length > remaining) part = part.subarray(0, remaining);
          remaining -= part.length;
          callback(null, part.length > 0 ? part : undefined);
          if (remaining <= 0) {
            this.push(null);
            stream.destroy();
          }
        },
      });
      stream.on('error', (error) => slicer.destroy(error));
      return stream.pipe(slicer);
    },

    async stat(key, signal) {
      assertSafeKey(key);
      const entries = await propfind(key, '0', false, signal);
      const entry = entries?.find((candidate) => keyOfHref(candidate.href) === key) ?? entries?.[0];
      if (!entry || entry.collection) return null;
      return { key, sizeBytes: entry.sizeBytes, updatedAt: entry.updatedAt ?? new Date(0) };
    },

    async list(prefix, signal) {
      assertSafePrefix(prefix);
      const slash = prefix.lastIndexOf('/');
      const out: StorageObjectInfo[] = [];
      await walk(slash >= 0 ? prefix.slice(0, slash) : '', out, signal);
      return out.filter((entry) => entry.key.startsWith(prefix));
    },

    async delete(key, signal) {
      assertSafeKey(key);
      await deleteUrl(`delete of ${key}`, urlOf(key), signal);
    },

    async usage(signal): Promise<StorageUsage | null> {
      const entries = await propfind('', '0', true, signal, quotaBody);
      const root = entries?.[0];
      if (!root || (root.quotaAvailableBytes === undefined && root.quotaUsedBytes === undefined)) return null;
      const usage: StorageUsage = {};
      if (root.quotaUsedBytes !== undefined) usage.usedBytes = root.quotaUsedBytes;
      if (root.quotaAvailableBytes !== undefined) usage.freeBytes = root.quotaAvailableBytes;
      if (root.quotaUsedBytes !== undefined && root.quotaAvailableBytes !== undefined) {
        usage.totalBytes = root.quotaUsedBytes + root.quotaAvailableBytes;
      }
      return usage;
    },

    async removeEmptyDirs(prefix) {
      assertSafePrefix(prefix);
      const directory = prefix.replace(/\/+$/, '');
      knownDirectories.clear();
      try {
        const empty = await prune(directory);
        if (empty && directory !== '') await deleteUrl(`cleanup of ${directory}`, urlOf(directory, true));
      } catch {
        // Cleanup is best effort (SPEC §4.1).
      }
    },

    close() {
      agents.http.destroy();
      agents.https.destroy();
      return Promise.resolve();
    },
  };
};
