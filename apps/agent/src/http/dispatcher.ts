/**
 * The one undici dispatcher the agent uses to reach its master: TLS ≥ 1.2 with the system roots
 * (plus the configured CA, appended rather than replacing them, so a master behind a public
 * certificate keeps working after a CA file was added), and the proxy chosen in proxy.ts.
 *
 * HTTP/1.1 only: the master speaks it, and long polls and streamed uploads behave the same
 * through every reverse proxy with it.
 */
import tls from 'node:tls';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import type { AgentConfig } from '../config/config.ts';
import type { SelectedProxy } from './proxy.ts';
import { createSocks5Connector } from './socks5.ts';

export const CONNECT_TIMEOUT_MS = 15_000;

/** TLS options for connections to the master (direct, through a tunnel, or through SOCKS5). */
export const masterTlsOptions = (
  config: Pick<AgentConfig, 'caCertPem' | 'insecureSkipTlsVerify'>,
): tls.ConnectionOptions => ({
  minVersion: 'TLSv1.2',
  rejectUnauthorized: !config.insecureSkipTlsVerify,
  ...(config.caCertPem === '' ? {} : { ca: [...tls.rootCertificates, config.caCertPem] }),
});

export const createMasterDispatcher = (
  config: Pick<AgentConfig, 'caCertPem' | 'insecureSkipTlsVerify'>,
  proxy: SelectedProxy | null,
): Dispatcher => {
  const tlsOptions = masterTlsOptions(config);
  const common = {
    allowH2: false,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // Idle keep-alive connections are dropped well before typical proxy idle timeouts (60 s).
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 30_000,
  };
  if (proxy === null) return new Agent({ ...common, connect: tlsOptions });
  if (proxy.kind === 'socks5')
    return new Agent({
      ...common,
      connect: createSocks5Connector({
        proxy: proxy.url,
        remoteDns: proxy.remoteDns,
        tls: tlsOptions,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
      }),
    });
  // An https master is reached through a CONNECT tunnel (the proxy sees only the host name);
  // an http master through absolute-form requests. Credentials in the URL become Proxy-Authorization.
  return new ProxyAgent({
    ...common,
    uri: proxy.url.href,
    requestTls: tlsOptions,
    proxyTls: tlsOptions,
  });
};
