/** A small JSON client for black-box tests of the HTTP API. */
export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  token?: string;
  apiKey?: string;
  json?: unknown;
  /** Raw body, sent as-is (with `contentType`, default application/json). */
  raw?: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
}

export const createApiClient = (baseUrl: string) => {
  const request = async <T = { code: string; message: string; data?: unknown }>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<ApiResponse<T>> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
    if (options.apiKey !== undefined) headers['X-Api-Key'] = options.apiKey;
    let body: string | Uint8Array | undefined;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['Content-Type'] = 'application/json';
    } else if (options.raw !== undefined) {
      body = options.raw;
      headers['Content-Type'] = options.contentType ?? 'application/json';
    }
    const response = await fetch(new URL(path, baseUrl), { method, headers, body, redirect: 'manual' });
    const text = await response.text();
    let parsed: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('json') && text !== '')
      parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  };
  return {
    baseUrl,
    request,
    get: <T = { code: string; message: string; data?: unknown }>(path: string, options?: RequestOptions) =>
      request<T>('GET', path, options),
    post: <T = { code: string; message: string; data?: unknown }>(
      path: string,
      json?: unknown,
      options?: RequestOptions,
    ) => request<T>('POST', path, { ...options, ...(json === undefined ? {} : { json }) }),
    put: <T = { code: string; message: string; data?: unknown }>(
      path: string,
      json?: unknown,
      options?: RequestOptions,
    ) => request<T>('PUT', path, { ...options, ...(json === undefined ? {} : { json }) }),
    delete: <T = { code: string; message: string; data?: unknown }>(
      path: string,
      json?: unknown,
      options?: RequestOptions,
    ) => request<T>('DELETE', path, { ...options, ...(json === undefined ? {} : { json }) }),
  };
};

export type ApiClient = ReturnType<typeof createApiClient>;
