/**
 * Which proxy (if any) carries the agent's traffic to the master. The agent talks to exactly one
 * origin, so the choice is made once: the explicit `proxyUrl`, else the standard environment
 * variables evaluated for the master URL the way Go's `http.ProxyFromEnvironment` (BackupX's
 * agent) and curl do — `HTTPS_PROXY` for an https master, `HTTP_PROXY` for an http one, none
 * when `NO_PROXY` matches, and never for loopback masters.
 */
import { isIP } from 'node:net';
import { AgentConfigError, checkProxyUrl, type AgentConfig } from '../config/config.ts';

export interface SelectedProxy {
  url: URL;
  kind: 'http' | 'socks5';
  /** socks5h: the proxy resolves the master's name; socks5: the agent does. */
  remoteDns: boolean;
  /** `proxyUrl` or the environment variable it came from, for the startup log. */
  source: string;
}

const isLoopback = (host: string): boolean => {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare.endsWith('.localhost') || bare === '::1' || /^127\./.test(bare);
};

/**
 * NO_PROXY matching (curl/Go semantics): comma or space separated; `*` matches everything; an
 * entry matches the host itself and its subdomains (`example.com`, `.example.com` and
 * `*.example.com` all match `a.example.com`); `host:port` entries also require the port; IP
 * literals match exactly, and `a.b.c.d/nn` CIDR entries match IPv4 addresses inside them.
 */
export const matchesNoProxy = (noProxy: string, host: string, port: number): boolean => {
  const hostname = host
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.$/, '');
  for (const rawEntry of noProxy.split(/[\s,]+/)) {
    let entry = rawEntry.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    let entryPort: number | null = null;
    const portMatch = /^(.*[^:]):(\d+)$/.exec(entry);
    if (portMatch !== null && !entry.includes('::') && isIP(entry) === 0) {
      entry = portMatch[1] ?? entry;
      entryPort = Number(portMatch[2]);
    }
    entry = entry.replace(/^\[|\]$/g, '');
    if (entryPort !== null && entryPort !== port) continue;
    if (entry.includes('/') && isIP(hostname) === 4) {
      if (inIpv4Cidr(hostname, entry)) return true;
      continue;
    }
    if (isIP(entry) !== 0 || isIP(hostname) !== 0) {
      if (entry === hostname) return true;
      continue;
    }
    const domain = entry.replace(/^\*?\./, '');
    if (hostname === domain || hostname.endsWith(`.${domain}`)) return true;
  }
  return false;
};

const ipv4ToNumber = (ip: string): number =>
  ip.split('.').reduce((total, part) => ((total << 8) | Number(part)) >>> 0, 0);

const inIpv4Cidr = (ip: string, cidr: string): boolean => {
  const [base = '', bitsText = ''] = cidr.split('/');
  const bits = Number(bitsText);
  if (isIP(base) !== 4 || bitsText === '' || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  // `>>> 0` keeps the values unsigned; a shift by 32 is a no-op in JavaScript, hence the special case.
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (ipv4ToNumber(ip) & mask) >>> 0 === (ipv4ToNumber(base) & mask) >>> 0;
};

const toSelected = (raw: string, source: string): SelectedProxy => {
  const url = new URL(raw);
  const scheme = url.protocol.replace(/:$/, '');
  return {
    url,
    kind: scheme === 'socks5' || scheme === 'socks5h' ? 'socks5' : 'http',
    remoteDns: scheme === 'socks5h',
    source,
  };
};

/** The proxy for the master, or null for a direct connection. Invalid environment proxies are config errors. */
export const selectProxy = (
  config: Pick<AgentConfig, 'master' | 'proxyUrl' | 'environmentProxy'>,
): SelectedProxy | null => {
  if (config.proxyUrl !== '') return toSelected(config.proxyUrl, 'proxyUrl');
  const master = new URL(config.master);
  if (isLoopback(master.hostname)) return null;
  const https = master.protocol === 'https:';
  const raw = https ? config.environmentProxy.httpsProxy : config.environmentProxy.httpProxy;
  if (raw === '') return null;
  const port = Number(master.port) || (https ? 443 : 80);
  if (matchesNoProxy(config.environmentProxy.noProxy, master.hostname, port)) return null;
  const source = https ? 'HTTPS_PROXY' : 'HTTP_PROXY';
  // Like Go and curl, a proxy given without a scheme is an HTTP proxy.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  try {
    return toSelected(checkProxyUrl(withScheme, source), source);
  } catch (error) {
    if (error instanceof AgentConfigError) throw error;
    throw new AgentConfigError(`${source}: ${(error as Error).message}`);
  }
};
