/**
 * Typed HTTP client of the console, driven by the route descriptors of `@backupx/contract`:
 * `apiCall(apiRoutes.users.update, { params: { id }, body })` infers the body it needs and
 * the `data` it returns. Errors are thrown as {@link ApiError} carrying the stable code.
 */
import type {
  ErrorBody,
  RouteBodyInput,
  RouteParamsInput,
  RouteQueryInput,
  RouteResponse,
  RouteSpec,
} from '@backupx/contract';
import type { z } from 'zod';
import { fileNameFromContentDisposition } from '../lib/format.ts';
import { clearToken, readToken } from './token.ts';

/** Timeout of JSON calls. */
export const JSON_TIMEOUT_MS = 10_000;
/** Timeout of file downloads (an export may take a while to build). */
export const DOWNLOAD_TIMEOUT_MS = 120_000;

/** Codes the console produces itself when no server answer is available. */
export const clientErrorCodes = ['NETWORK_ERROR', 'TIMEOUT', 'UNKNOWN'] as const;

type ErrorDetail = NonNullable<ErrorBody['details']>[number];

/** A failed API call: HTTP status (0 when no answer), stable code, server message, field details. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[] | undefined;

  constructor(init: { status: number; code: string; message: string; details?: ErrorDetail[] | undefined }) {
    super(init.message);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
  }
}

export const isApiError = (error: unknown): error is ApiError => error instanceof ApiError;

/**
 * 401 codes that are about a code or password typed into a form rather than the session:
 * they must not sign the user out.
 */
const SESSION_NEUTRAL_CODES = new Set(['AUTH_2FA_INVALID', 'AUTH_2FA_REQUIRED', 'AUTH_INVALID_CREDENTIALS']);

type UnauthorizedListener = (error: ApiError) => void;
const unauthorizedListeners = new Set<UnauthorizedListener>();

/** Called when an authenticated call answers 401: the token has already been cleared. */
export function onUnauthorized(listener: UnauthorizedListener): () => void {
  unauthorizedListeners.add(listener);
  return () => {
    unauthorizedListeners.delete(listener);
  };
}

type IsSchema<T> = T extends z.ZodType ? true : false;
type PathParams<R extends RouteSpec> = { [K in keyof RouteParamsInput<R>]: string | number };

/** Options of {@link apiCall}; `params` and `body` are required exactly when the route declares them. */
export type CallOptions<R extends RouteSpec> = (IsSchema<R['params']> extends true
  ? { params: PathParams<R> }
  : { params?: undefined }) &
  (IsSchema<R['query']> extends true ? { query?: Partial<RouteQueryInput<R>> } : { query?: undefined }) &
  (IsSchema<R['body']> extends true ? { body: RouteBodyInput<R> } : { body?: undefined }) & {
    signal?: AbortSignal;
    timeoutMs?: number;
  };

type CallArgs<R extends RouteSpec> =
  IsSchema<R['params']> extends true
    ? [options: CallOptions<R>]
    : IsSchema<R['body']> extends true
      ? [options: CallOptions<R>]
      : [options?: CallOptions<R>];

/** Substitutes `:name` segments of a route path with URL-encoded values. */
export function buildPath(path: string, params: Record<string, string | number> | undefined): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_match, name: string) => {
    const value = params?.[name];
    if (value === undefined) throw new Error(`Missing path parameter "${name}" for ${path}`);
    return encodeURIComponent(String(value));
  });
}

/** Serialises a query object, skipping undefined, null and empty-string values. */
export function buildQuery(query: Record<string, unknown> | undefined): string {
  if (!query) return '';
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (typeof value === 'string') search.append(key, value);
    else if (typeof value === 'number' || typeof value === 'boolean') search.append(key, String(value));
    else if (value instanceof Date) search.append(key, value.toISOString());
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

const buildUrl = (
  route: RouteSpec,
  params?: Record<string, string | number>,
  query?: Record<string, unknown>,
) => `${buildPath(route.path, params)}${buildQuery(query)}`;

function authHeaders(): Record<string, string> {
  const token = readToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

function parseDetails(value: unknown): ErrorDetail[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const details: ErrorDetail[] = [];
  for (const item of value as unknown[]) {
    if (isRecord(item) && typeof item.message === 'string') {
      details.push({ path: typeof item.path === 'string' ? item.path : '', message: item.message });
    }
  }
  return details;
}

/** Builds the ApiError for an error answer (JSON error body, or anything else). */
function errorFromResponse(status: number, payload: unknown, fallbackText: string): ApiError {
  if (isRecord(payload) && typeof payload.code === 'string') {
    return new ApiError({
      status,
      code: payload.code,
      message: typeof payload.message === 'string' ? payload.message : fallbackText,
      details: parseDetails(payload.details),
    });
  }
  return new ApiError({ status, code: 'UNKNOWN', message: fallbackText || `HTTP ${String(status)}` });
}

/** Maps a fetch failure to TIMEOUT / NETWORK_ERROR; a caller's own abort is rethrown as is. */
function errorFromFetchFailure(error: unknown, callerSignal: AbortSignal | undefined): unknown {
  if (callerSignal?.aborted) return error;
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new ApiError({ status: 0, code: 'TIMEOUT', message: 'The server did not answer in time' });
  }
  return new ApiError({
    status: 0,
    code: 'NETWORK_ERROR',
    message: error instanceof Error ? error.message : 'Network error',
  });
}

function signalWithTimeout(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

function notifyUnauthorized(route: RouteSpec, error: ApiError): void {
  if (error.status !== 401 || route.access === 'public' || SESSION_NEUTRAL_CODES.has(error.code)) return;
  clearToken();
  for (const listener of unauthorizedListeners) listener(error);
}

/**
 * Calls a JSON route and returns the `data` of its success envelope.
 * @throws {ApiError} on an error answer, a timeout ({@link JSON_TIMEOUT_MS}) or a network failure.
 */
export async function apiCall<R extends RouteSpec>(
  route: R,
  ...[options]: CallArgs<R>
): Promise<RouteResponse<R>> {
  return (await callWithHeaders(route, options)).data;
}

/**
 * Calls a paged JSON list route and returns its `data` with the `X-Total-Count` header
 * (the number of rows matching the filters; falls back to the length of `data`).
 */
export async function apiCallWithTotal<R extends RouteSpec>(
  route: R,
  ...[options]: CallArgs<R>
): Promise<{ data: RouteResponse<R>; total: number }> {
  const { data, headers } = await callWithHeaders(route, options);
  const header = Number(headers.get('X-Total-Count'));
  const total =
    Number.isFinite(header) && headers.has('X-Total-Count') ? header : Array.isArray(data) ? data.length : 0;
  return { data, total };
}

async function callWithHeaders<R extends RouteSpec>(
  route: R,
  options: CallArgs<R>[0],
): Promise<{ data: RouteResponse<R>; headers: Headers }> {
  const opts = options as
    | {
        params?: Record<string, string | number>;
        query?: Record<string, unknown>;
        body?: unknown;
        signal?: AbortSignal;
        timeoutMs?: number;
      }
    | undefined;
  const headers: Record<string, string> = { Accept: 'application/json', ...authHeaders() };
  const init: RequestInit = {
    method: route.method,
    headers,
    signal: signalWithTimeout(opts?.signal, opts?.timeoutMs ?? JSON_TIMEOUT_MS),
  };
  if (opts?.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }

  let status: number;
  let text: string;
  let responseHeaders: Headers;
  try {
    const response = await fetch(buildUrl(route, opts?.params, opts?.query), init);
    status = response.status;
    responseHeaders = response.headers;
    text = await response.text();
  } catch (error) {
    throw errorFromFetchFailure(error, opts?.signal);
  }

  let payload: unknown = undefined;
  if (text !== '') {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = undefined;
    }
  }

  if (status < 200 || status >= 300) {
    const error = errorFromResponse(status, payload, text.slice(0, 200));
    notifyUnauthorized(route, error);
    throw error;
  }
  if (!isRecord(payload) || payload.code !== 'OK') {
    throw errorFromResponse(status, payload, 'Unexpected response from the server');
  }
  const data = payload.data;
  if (import.meta.env.DEV && route.response) {
    const checked = route.response.safeParse(data);
    if (!checked.success)
      console.warn(`Response of ${route.method} ${route.path} does not match the contract`, checked.error);
  }
  return { data: data as RouteResponse<R>, headers: responseHeaders };
}

/**
 * Calls a route that answers plain text (`responseKind: 'text'`, e.g. a rendered script) and
 * returns the body as is. Error answers are JSON envelopes like every other route.
 * @throws {ApiError} on an error answer, a timeout ({@link JSON_TIMEOUT_MS}) or a network failure.
 */
export async function apiText<R extends RouteSpec>(
  route: R,
  options: {
    params?: PathParams<R>;
    query?: Partial<RouteQueryInput<R>>;
    signal?: AbortSignal;
    timeoutMs?: number;
  },
): Promise<string> {
  let status: number;
  let text: string;
  try {
    const response = await fetch(buildUrl(route, options.params, options.query), {
      method: route.method,
      headers: { Accept: 'text/plain, application/json;q=0.5', ...authHeaders() },
      signal: signalWithTimeout(options.signal, options.timeoutMs ?? JSON_TIMEOUT_MS),
      cache: 'no-store',
    });
    status = response.status;
    text = await response.text();
  } catch (error) {
    throw errorFromFetchFailure(error, options.signal);
  }
  if (status >= 200 && status < 300) return text;
  let payload: unknown = undefined;
  try {
    payload = JSON.parse(text);
  } catch {
    payload = undefined;
  }
  throw apiErrorFromAnswer(route, status, payload, text.slice(0, 200));
}

/**
 * Downloads a file route (CSV, …) with the session token and saves it in the browser under the
 * name of its `Content-Disposition` header, else `fallbackName`. Returns the saved name.
 */
export async function downloadFile<R extends RouteSpec>(
  route: R,
  options: { query?: Partial<RouteQueryInput<R>> | undefined; params?: PathParams<R> },
  fallbackName: string,
): Promise<string> {
  const query = options.query as Record<string, unknown> | undefined;
  const params = options.params as Record<string, string | number> | undefined;
  let blob: Blob;
  let disposition: string | null;
  try {
    const response = await fetch(buildUrl(route, params, query), {
      method: route.method,
      headers: authHeaders(),
      signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
    });
    if (!response.ok) {
      const text = await response.text();
      let payload: unknown = undefined;
      try {
        payload = JSON.parse(text);
      } catch {
        payload = undefined;
      }
      const error = errorFromResponse(response.status, payload, text.slice(0, 200));
      notifyUnauthorized(route, error);
      throw error;
    }
    disposition = response.headers.get('Content-Disposition');
    blob = await response.blob();
  } catch (error) {
    if (isApiError(error)) throw error;
    throw errorFromFetchFailure(error, undefined);
  }
  const fileName = fileNameFromContentDisposition(disposition, fallbackName);
  saveBlob(blob, fileName);
  return fileName;
}

/**
 * Opens a streamed route (Server-Sent Events, a file download) with the session token and
 * returns the response once its status is 2xx, for the caller to read `body` incrementally.
 * No timeout applies: stop it with `signal`.
 * @throws {ApiError} on an error answer or a network failure.
 */
export async function openApiStream<R extends RouteSpec>(
  route: R,
  options: {
    params?: PathParams<R>;
    query?: Partial<RouteQueryInput<R>>;
    signal?: AbortSignal;
    accept?: string;
  },
): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(buildUrl(route, options.params, options.query), {
      method: route.method,
      headers: { Accept: options.accept ?? '*/*', ...authHeaders() },
      signal: options.signal ?? null,
      cache: 'no-store',
    });
  } catch (error) {
    throw errorFromFetchFailure(error, options.signal);
  }
  if (response.ok) return response;
  const text = await response.text().catch(() => '');
  let payload: unknown = undefined;
  try {
    payload = JSON.parse(text);
  } catch {
    payload = undefined;
  }
  throw apiErrorFromAnswer(route, response.status, payload, text.slice(0, 200));
}

/**
 * The ApiError of an error answer obtained outside {@link apiCall} (e.g. by a service worker);
 * a 401 of an authenticated route ends the session as it does for every other call.
 */
export function apiErrorFromAnswer(
  route: RouteSpec,
  status: number,
  payload: unknown,
  fallbackText: string,
): ApiError {
  const error = errorFromResponse(status, payload, fallbackText);
  notifyUnauthorized(route, error);
  return error;
}

/** Offers a Blob as a download. */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = fileName;
  anchor.rel = 'noopener';
  anchor.style.display = 'none';
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
  // Give the browser time to start the download before the URL is released.
  window.setTimeout(() => {
    URL.revokeObjectURL(url);
  }, 10_000);
}
