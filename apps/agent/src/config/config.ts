/**
 * Agent configuration (SPEC §11.7): CLI flags, a YAML file and `BACKUPX_AGENT_*` variables,
 * merged once and validated; the frozen result is passed down (architecture §7).
 *
 * Precedence — a deliberate deviation from BackupX: BackupX reads the config file *or* the
 * environment (env only when `--config` is absent), although its own #38 commit message promised
 * "CLI > file > env". We implement the promise: non-empty flags > config file > environment, key
 * by key, so a container can keep `master` in a mounted file and pass the token through the
 * environment. Every config BackupX accepts resolves the same way here (with `--config` BackupX
 * ignores env entirely, we only let env fill keys the file leaves empty).
 *
 * The credential is resolved as one unit (`token` + `tokenFile`): the highest layer that sets
 * either decides both, so `--token-file` alone replaces a token inherited from the file or env,
 * and a file's `tokenFile` is not overridden by a stray `BACKUPX_AGENT_TOKEN`. Within a layer,
 * `token` beats `tokenFile`. The token file is read after merging; an empty one is an error.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { formatDurationMs, parseGoDurationMs } from './duration.ts';

/** A configuration problem: `backupx agent` exits with code 2 (runtime errors exit 1). */
export class AgentConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentConfigError';
  }
}

export interface AgentConfig {
  /** Master base URL, absolute http(s), no trailing `/`. */
  readonly master: string;
  /** The node token (secret: never logged). */
  readonly token: string;
  readonly heartbeatIntervalMs: number;
  /** Pause between empty polls when the master does not hold polls open (a BackupX master). */
  readonly pollIntervalMs: number;
  /** Absolute directory for work directories and relay spools. */
  readonly tempDir: string;
  /** Explicit proxy (`http|https|socks5|socks5h://host:port`); '' = environment proxies. */
  readonly proxyUrl: string;
  /** PEM file appended to the system roots; '' = system roots only. */
  readonly caCertFile: string;
  /** Contents of `caCertFile` (read and checked while loading). */
  readonly caCertPem: string;
  readonly insecureSkipTlsVerify: boolean;
  /** `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` as they were when loading ('' = unset). */
  readonly environmentProxy: {
    readonly httpProxy: string;
    readonly httpsProxy: string;
    readonly noProxy: string;
  };
}

export const DEFAULT_HEARTBEAT_INTERVAL = '15s';
export const DEFAULT_POLL_INTERVAL = '5s';
export const DEFAULT_TEMP_DIR = '/var/lib/backupx-agent/tmp';

/** The settings as written in any one layer (strings as given; validated after merging). */
interface Layer {
  master?: string;
  token?: string;
  tokenFile?: string;
  heartbeatInterval?: string;
  pollInterval?: string;
  tempDir?: string;
  proxyUrl?: string;
  caCertFile?: string;
  insecureSkipTlsVerify?: boolean;
}
type Key = keyof Layer;
type Origin = Partial<Record<Key, string>>;

interface NamedLayer {
  values: Layer;
  /** Where each key came from, for error messages (`--master`, `master in /etc/…`, `BACKUPX_AGENT_MASTER`). */
  origin: Origin;
}

const fileKeys: readonly Key[] = [
  'master',
  'token',
  'tokenFile',
  'heartbeatInterval',
  'pollInterval',
  'tempDir',
  'proxyUrl',
  'caCertFile',
  'insecureSkipTlsVerify',
];

const envNames: Record<Key, string> = {
  master: 'BACKUPX_AGENT_MASTER',
  token: 'BACKUPX_AGENT_TOKEN',
  tokenFile: 'BACKUPX_AGENT_TOKEN_FILE',
  heartbeatInterval: 'BACKUPX_AGENT_HEARTBEAT',
  pollInterval: 'BACKUPX_AGENT_POLL',
  tempDir: 'BACKUPX_AGENT_TEMP_DIR',
  proxyUrl: 'BACKUPX_AGENT_PROXY_URL',
  caCertFile: 'BACKUPX_AGENT_CA_CERT_FILE',
  insecureSkipTlsVerify: 'BACKUPX_AGENT_INSECURE_TLS',
};

const flagNames: Record<Key, string> = {
  master: '--master',
  token: '--token',
  tokenFile: '--token-file',
  heartbeatInterval: '--heartbeat-interval',
  pollInterval: '--poll-interval',
  tempDir: '--temp-dir',
  proxyUrl: '--proxy-url',
  caCertFile: '--ca-cert',
  insecureSkipTlsVerify: '--insecure-tls',
};

/** Flags of `backupx agent` (parsed by node:util parseArgs, strict). */
export const agentFlagOptions = {
  config: { type: 'string' },
  master: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'heartbeat-interval': { type: 'string' },
  'poll-interval': { type: 'string' },
  'temp-dir': { type: 'string' },
  'proxy-url': { type: 'string' },
  'ca-cert': { type: 'string' },
  'insecure-tls': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface AgentFlags {
  config?: string;
  help: boolean;
  layer: Layer;
}

/** Parses the agent's argv; unknown flags and stray arguments are configuration errors. */
export const parseAgentFlags = (argv: readonly string[]): AgentFlags => {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: agentFlagOptions, strict: true }));
  } catch (error) {
    throw new AgentConfigError((error as Error).message);
  }
  // Empty flag values (`--token ""`, typical of templated unit files) count as not given (SPEC).
  const text = (value: string | undefined): string | undefined =>
    value === undefined || value.trim() === '' ? undefined : value.trim();
  const layer: Layer = {};
  const assign = (key: Exclude<Key, 'insecureSkipTlsVerify'>, value: string | undefined) => {
    const cleaned = text(value);
    if (cleaned !== undefined) layer[key] = cleaned;
  };
  assign('master', values.master);
  assign('token', values.token);
  assign('tokenFile', values['token-file']);
  assign('heartbeatInterval', values['heartbeat-interval']);
  assign('pollInterval', values['poll-interval']);
  assign('tempDir', values['temp-dir']);
  assign('proxyUrl', values['proxy-url']);
  assign('caCertFile', values['ca-cert']);
  if (values['insecure-tls'] === true) layer.insecureSkipTlsVerify = true;
  const config = text(values.config);
  return { ...(config === undefined ? {} : { config }), help: values.help === true, layer };
};

const parseBoolean = (raw: string, where: string): boolean | undefined => {
  const value = raw.trim().toLowerCase();
  if (value === '') return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new AgentConfigError(`${where} must be true, 1, false or 0 (got "${raw}")`);
};

const readConfigFile = (file: string, warnings: string[]): NamedLayer => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new AgentConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new AgentConfigError(`config file ${file} is not valid YAML: ${(error as Error).message}`);
  }
  const values: Layer = {};
  const origin: Origin = {};
  if (parsed === null || parsed === undefined) return { values, origin };
  if (typeof parsed !== 'object' || Array.isArray(parsed))
    throw new AgentConfigError(`config file ${file} must be a YAML mapping (master: …, tokenFile: …)`);
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    const key = fileKeys.find((candidate) => candidate === name);
    const where = `"${name}" in ${file}`;
    if (key === undefined) {
      // BackupX (Go yaml) ignores unknown keys; keep them working but say so, a typo is likely.
      warnings.push(`unknown key ${where} is ignored`);
      continue;
    }
    if (value === null || value === undefined) continue;
    if (key === 'insecureSkipTlsVerify') {
      const flag =
        typeof value === 'boolean'
          ? value
          : parseBoolean(typeof value === 'string' || typeof value === 'number' ? String(value) : '?', where);
      if (flag !== undefined) {
        values.insecureSkipTlsVerify = flag;
        origin.insecureSkipTlsVerify = where;
      }
      continue;
    }
    if (typeof value !== 'string') {
      const hint =
        key === 'heartbeatInterval' || key === 'pollInterval' ? ' such as "15s" (with a unit, quoted)' : '';
      throw new AgentConfigError(`${where} must be a string${hint}`);
    }
    // An empty value is "not set" (Go's zero value), so the environment may fill it.
    if (value.trim() === '') continue;
    values[key] = value.trim();
    origin[key] = where;
  }
  return { values, origin };
};

const readEnvLayer = (env: Record<string, string | undefined>): NamedLayer => {
  const values: Layer = {};
  const origin: Origin = {};
  for (const key of fileKeys) {
    const name = envNames[key];
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    if (key === 'insecureSkipTlsVerify') {
      const flag = parseBoolean(raw, name);
      if (flag !== undefined) values.insecureSkipTlsVerify = flag;
    } else values[key] = raw.trim();
    origin[key] = name;
  }
  return { values, origin };
};

const flagLayer = (layer: Layer): NamedLayer => {
  const origin: Origin = {};
  for (const key of fileKeys) if (layer[key] !== undefined) origin[key] = flagNames[key];
  return { values: layer, origin };
};

/** Checks the master URL (SPEC §11.7) and returns it without trailing slashes. */
export const normaliseMasterUrl = (raw: string, where: string): string => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AgentConfigError(`${where}: "${raw}" is not an absolute URL (e.g. https://backup.example.com)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new AgentConfigError(`${where}: the master URL must use http or https, not ${url.protocol}`);
  if (url.username !== '' || url.password !== '')
    throw new AgentConfigError(
      `${where}: the master URL must not contain credentials (the token authenticates)`,
    );
  // `new URL` drops an empty `?` or `#`, so look at the text too.
  if (url.search !== '' || raw.includes('?'))
    throw new AgentConfigError(`${where}: the master URL must not have a query string`);
  if (url.hash !== '' || raw.includes('#'))
    throw new AgentConfigError(`${where}: the master URL must not have a fragment`);
  return url.href.replace(/\/+$/, '');
};

/** Checks an explicit proxy URL (SPEC §11.7): http, https, socks5 or socks5h, no path or query. */
export const checkProxyUrl = (raw: string, where: string): string => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AgentConfigError(
      `${where}: "${raw}" is not a URL (e.g. http://proxy:3128 or socks5h://proxy:1080)`,
    );
  }
  if (!['http:', 'https:', 'socks5:', 'socks5h:'].includes(url.protocol))
    throw new AgentConfigError(
      `${where}: proxy scheme must be http, https, socks5 or socks5h, not ${url.protocol.replace(/:$/, '')}`,
    );
  if (url.hostname === '') throw new AgentConfigError(`${where}: the proxy URL has no host`);
  if (
    (url.pathname !== '' && url.pathname !== '/') ||
    url.search !== '' ||
    raw.includes('?') ||
    url.hash !== ''
  )
    throw new AgentConfigError(`${where}: the proxy URL must not have a path, query or fragment`);
  return raw;
};

const durationOf = (raw: string, where: string): number => {
  const ms = parseGoDurationMs(raw);
  if (ms === null)
    throw new AgentConfigError(
      `${where}: "${raw}" is not a duration (use Go syntax such as 15s, 1m30s, 500ms)`,
    );
  if (ms <= 0) throw new AgentConfigError(`${where}: the interval must be positive (got "${raw}")`);
  return ms;
};

export interface LoadAgentConfigInput {
  argv: readonly string[];
  env: Record<string, string | undefined>;
  /** Relative paths (config, token and CA files, temp dir) resolve against it. */
  cwd?: string;
}

export interface LoadedAgentConfig {
  config: AgentConfig;
  configFile: string | null;
  /** Non-fatal remarks for the log (unknown keys in the file). */
  warnings: string[];
}

/** Merges flags, file and environment (see the module comment), validates, and freezes. */
export const resolveAgentConfig = (
  flags: AgentFlags,
  env: Record<string, string | undefined>,
  cwd: string = process.cwd(),
): LoadedAgentConfig => {
  const warnings: string[] = [];
  const configFile = flags.config === undefined ? null : path.resolve(cwd, flags.config);
  // Highest precedence first.
  const layers: NamedLayer[] = [
    flagLayer(flags.layer),
    ...(configFile === null ? [] : [readConfigFile(configFile, warnings)]),
    readEnvLayer(env),
  ];
  const pick = <K extends Key>(key: K): { value: Layer[K]; where: string } | undefined => {
    for (const layer of layers) {
      const value = layer.values[key];
      if (value !== undefined) return { value, where: layer.origin[key] ?? key };
    }
    return undefined;
  };

  const master = pick('master');
  if (master === undefined)
    throw new AgentConfigError(
      'the master URL is required: --master, "master" in the config file, or BACKUPX_AGENT_MASTER',
    );
  const masterUrl = normaliseMasterUrl(master.value ?? '', master.where);

  // The credential as one unit: the highest layer that sets token or tokenFile decides.
  const credentialLayer = layers.find(
    (layer) => layer.values.token !== undefined || layer.values.tokenFile !== undefined,
  );
  let token = '';
  if (credentialLayer?.values.token !== undefined) {
    token = credentialLayer.values.token;
  } else if (credentialLayer?.values.tokenFile !== undefined) {
    const file = path.resolve(cwd, credentialLayer.values.tokenFile);
    const where = credentialLayer.origin.tokenFile ?? 'tokenFile';
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new AgentConfigError(`${where}: cannot read token file ${file}: ${(error as Error).message}`);
    }
    if (token === '') throw new AgentConfigError(`${where}: token file ${file} is empty`);
  }
  if (token === '')
    throw new AgentConfigError(
      'the node token is required: --token, --token-file, "token"/"tokenFile" in the config file, or BACKUPX_AGENT_TOKEN / BACKUPX_AGENT_TOKEN_FILE',
    );
  // It travels in an HTTP header: no control characters (a CR/LF would split the request).
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f\s]/.test(token) || token.length > 256)
    throw new AgentConfigError('the node token must be one line of at most 256 printable characters');

  const heartbeat = pick('heartbeatInterval');
  const poll = pick('pollInterval');
  const heartbeatIntervalMs = durationOf(
    heartbeat?.value ?? DEFAULT_HEARTBEAT_INTERVAL,
    heartbeat?.where ?? 'heartbeatInterval',
  );
  const pollIntervalMs = durationOf(poll?.value ?? DEFAULT_POLL_INTERVAL, poll?.where ?? 'pollInterval');

  const proxy = pick('proxyUrl');
  const proxyUrl = proxy === undefined ? '' : checkProxyUrl(proxy.value ?? '', proxy.where);

  const insecure = pick('insecureSkipTlsVerify');
  const insecureSkipTlsVerify = insecure?.value === true;
  const ca = pick('caCertFile');
  let caCertFile = '';
  let caCertPem = '';
  if (ca !== undefined) {
    if (insecureSkipTlsVerify)
      throw new AgentConfigError(
        `${ca.where} and ${insecure.where} are mutually exclusive: a custom CA is pointless when verification is off`,
      );
    caCertFile = path.resolve(cwd, ca.value ?? '');
    try {
      caCertPem = readFileSync(caCertFile, 'utf8');
    } catch (error) {
      throw new AgentConfigError(
        `${ca.where}: cannot read CA file ${caCertFile}: ${(error as Error).message}`,
      );
    }
    if (!caCertPem.includes('-----BEGIN CERTIFICATE-----'))
      throw new AgentConfigError(`${ca.where}: ${caCertFile} holds no PEM certificate`);
  }

  const tempDir = path.resolve(cwd, pick('tempDir')?.value ?? DEFAULT_TEMP_DIR);
  // Standard proxy variables (curl and Go read both spellings, lower case first).
  const envText = (...names: string[]): string =>
    names.map((name) => env[name]?.trim() ?? '').find((v) => v !== '') ?? '';

  const config: AgentConfig = Object.freeze({
    master: masterUrl,
    token,
    heartbeatIntervalMs,
    pollIntervalMs,
    tempDir,
    proxyUrl,
    caCertFile,
    caCertPem,
    insecureSkipTlsVerify,
    environmentProxy: Object.freeze({
      httpProxy: envText('http_proxy', 'HTTP_PROXY'),
      httpsProxy: envText('https_proxy', 'HTTPS_PROXY'),
      noProxy: envText('no_proxy', 'NO_PROXY'),
    }),
  });
  return { config, configFile, warnings };
};

/** Parses argv and resolves the configuration in one step. */
export const loadAgentConfig = (input: LoadAgentConfigInput): LoadedAgentConfig =>
  resolveAgentConfig(parseAgentFlags(input.argv), input.env, input.cwd);

/** A printable summary without secrets (the token is never shown, not even in part). */
export const describeAgentConfig = (config: AgentConfig): Record<string, string | boolean> => ({
  master: config.master,
  heartbeatInterval: formatDurationMs(config.heartbeatIntervalMs),
  pollInterval: formatDurationMs(config.pollIntervalMs),
  tempDir: config.tempDir,
  proxy: config.proxyUrl === '' ? '(environment)' : redactUrlCredentials(config.proxyUrl),
  caCertFile: config.caCertFile,
  insecureSkipTlsVerify: config.insecureSkipTlsVerify,
});

/** `http://user:pass@proxy:3128` → `http://***@proxy:3128`. */
export const redactUrlCredentials = (raw: string): string => {
  try {
    const url = new URL(raw);
    if (url.username === '' && url.password === '') return raw;
    url.username = '***';
    url.password = '';
    return url.href.replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
};
