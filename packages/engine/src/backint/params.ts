/** The Backint parameter file (SPEC §3.21): `KEY = VALUE` lines. */

export interface BackintParams {
  storageType: string;
  /** Path of a JSON file with the storage config (STORAGE_CONFIG_JSON). */
  storageConfigJsonPath?: string;
  /** Inline JSON config (STORAGE_CONFIG), already parsed. */
  storageConfig?: Record<string, unknown>;
  parallelFactor: number;
  compress: boolean;
  logFile?: string;
  catalogDb: string;
  keyPrefix: string;
}

export class BackintParamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackintParamError';
  }
}

const unquote = (value: string): string =>
  value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;

const truthy = (value: string): boolean => ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase());

/**
 * Parses the parameter file text. Lines: optional leading `#` before a key (commented-out keys
 * are read too, as in the original), `;` comments, blank lines; values may be double-quoted.
 */
export const parseBackintParams = (text: string): BackintParams => {
  const values = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line === '' || line.startsWith(';')) continue;
    if (line.startsWith('#')) line = line.slice(1).trim();
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim().toUpperCase();
    const value = unquote(line.slice(eq + 1).trim());
    values.set(key, value);
  }

  const storageType = values.get('STORAGE_TYPE')?.trim() ?? '';
  if (storageType === '') throw new BackintParamError('STORAGE_TYPE is required');

  const jsonPath = values.get('STORAGE_CONFIG_JSON')?.trim() ?? '';
  const inline = values.get('STORAGE_CONFIG')?.trim() ?? '';
  let storageConfig: Record<string, unknown> | undefined;
  if (inline !== '') storageConfig = parseConfigJson(inline, 'STORAGE_CONFIG');
  if (jsonPath === '' && storageConfig === undefined)
    throw new BackintParamError('STORAGE_CONFIG_JSON or STORAGE_CONFIG is required');

  let parallelFactor = 1;
  const parallel = values.get('PARALLEL_FACTOR')?.trim() ?? '';
  if (parallel !== '') {
    if (!/^\d+$/.test(parallel) || Number(parallel) < 1)
      throw new BackintParamError(
        `PARALLEL_FACTOR must be a positive integer, got ${JSON.stringify(parallel)}`,
      );
    parallelFactor = Number(parallel);
  }

  const logFile = values.get('LOG_FILE')?.trim() ?? '';
  const catalogDb = values.get('CATALOG_DB')?.trim() ?? '';
  const params: BackintParams = {
    storageType,
    parallelFactor,
    compress: truthy(values.get('COMPRESS') ?? ''),
    catalogDb: catalogDb === '' ? './backint_catalog.db' : catalogDb,
    keyPrefix: (values.get('KEY_PREFIX') ?? '').trim().replace(/^\/+|\/+$/g, ''),
  };
  if (jsonPath !== '') params.storageConfigJsonPath = jsonPath;
  if (storageConfig !== undefined) params.storageConfig = storageConfig;
  if (logFile !== '') params.logFile = logFile;
  return params;
};

export const parseConfigJson = (text: string, what: string): Record<string, unknown> => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new BackintParamError(`${what} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new BackintParamError(`${what} must be a JSON object`);
  return parsed as Record<string, unknown>;
};
