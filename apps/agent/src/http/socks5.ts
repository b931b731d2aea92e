/**
 * A SOCKS5 connector for undici (RFC 1928, with RFC 1929 username/password when the proxy URL
 * carries credentials). undici's own Socks5ProxyAgent is experimental (it prints a warning) and
 * knows only `socks5://` with remote name resolution; BackupX agents accept both `socks5://`
 * (the agent resolves the master's name and asks for an IP) and `socks5h://` (the proxy resolves
 * it — the one that works when only the proxy can resolve internal names). After the CONNECT,
 * https masters get TLS on top of the tunnel with the same options as a direct connection.
 */
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { buildConnector } from 'undici';

export interface Socks5ConnectorOptions {
  proxy: URL;
  /** socks5h: send the host name; socks5: resolve locally and send the address. */
  remoteDns: boolean;
  /** TLS options for https masters (CA, verification, minimum version). */
  tls: tls.ConnectionOptions;
  connectTimeoutMs?: number;
  /** Name resolution for socks5 (injectable for tests). */
  resolve?: (host: string) => Promise<string>;
}

const replyErrors: Record<number, string> = {
  1: 'general SOCKS server failure',
  2: 'connection not allowed by ruleset',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

export class Socks5Error extends Error {
  readonly code = 'AGENT_SOCKS5_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'Socks5Error';
  }
}

/** Reads exactly `n` bytes in paused mode (no data can slip past before TLS or undici take over). */
const readBytes = (socket: net.Socket, n: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const cleanup = () => {
      socket.off('readable', tryRead);
      socket.off('error', onError);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    const tryRead = () => {
      const chunk = socket.read(n) as Buffer | null;
      if (chunk === null) return;
      cleanup();
      resolve(chunk);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onEnd = () => {
      cleanup();
      reject(new Socks5Error('the SOCKS5 proxy closed the connection during the handshake'));
    };
    socket.on('readable', tryRead);
    socket.on('error', onError);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    tryRead();
  });

const write = (socket: net.Socket, data: Buffer): Promise<void> =>
  new Promise((resolve, reject) => socket.write(data, (error) => (error ? reject(error) : resolve())));

/** The CONNECT address field: IPv4, IPv6 or a domain name. */
export const encodeAddress = (host: string): Buffer => {
  const family = net.isIP(host);
  if (family === 4) return Buffer.from([0x01, ...host.split('.').map(Number)]);
  if (family === 6) return Buffer.concat([Buffer.from([0x04]), ipv6Bytes(host)]);
  const name = Buffer.from(host, 'utf8');
  if (name.length === 0 || name.length > 255) throw new Socks5Error(`host name too long for SOCKS5: ${host}`);
  return Buffer.concat([Buffer.from([0x03, name.length]), name]);
};

/** The 16 bytes of an IPv6 literal (`::` expansion, an embedded IPv4 tail such as `::ffff:1.2.3.4`). */
const ipv6Bytes = (address: string): Buffer => {
  let text = address.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1] !== undefined) {
    const [a = 0, b = 0, c = 0, d = 0] = v4[1].split('.').map(Number);
    text = `${text.slice(0, -v4[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail = ''] = text.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = text.includes('::') ? groups(tail) : [];
  const all = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  const out = Buffer.alloc(16);
  all.slice(0, 8).forEach((group, index) => out.writeUInt16BE(parseInt(group, 16), index * 2));
  return out;
};

/** Runs the SOCKS5 greeting, optional authentication and CONNECT on `socket`. */
export const socks5Handshake = async (
  socket: net.Socket,
  proxy: URL,
  host: string,
  port: number,
): Promise<void> => {
  const username = decodeURIComponent(proxy.username);
  const password = decodeURIComponent(proxy.password);
  const withAuth = username !== '';
  await write(socket, Buffer.from(withAuth ? [0x05, 0x02, 0x00, 0x02] : [0x05, 0x01, 0x00]));
  const [version, method] = await readBytes(socket, 2);
  if (version !== 0x05) throw new Socks5Error('the proxy is not a SOCKS5 proxy');
  if (method === 0x02 && withAuth) {
    const user = Buffer.from(username);
    const pass = Buffer.from(password);
    if (user.length > 255 || pass.length > 255) throw new Socks5Error('SOCKS5 credentials too long');
    await write(
      socket,
      Buffer.concat([Buffer.from([0x01, user.length]), user, Buffer.from([pass.length]), pass]),
    );
    const [, status] = await readBytes(socket, 2);
    if (status !== 0x00) throw new Socks5Error('the SOCKS5 proxy rejected the username or password');
  } else if (method !== 0x00) {
    throw new Socks5Error(
      method === 0xff
        ? `the SOCKS5 proxy accepts none of the offered authentication methods${withAuth ? '' : ' (it may need a username and password in the proxy URL)'}`
        : `the SOCKS5 proxy chose an unsupported authentication method ${String(method)}`,
    );
  }
  const portBytes = Buffer.alloc(2);
  portBytes.writeUInt16BE(port);
  await write(socket, Buffer.concat([Buffer.from([0x05, 0x01, 0x00]), encodeAddress(host), portBytes]));
  const [replyVersion, reply, , addressType] = await readBytes(socket, 4);
  if (replyVersion !== 0x05) throw new Socks5Error('malformed SOCKS5 reply');
  if (reply !== 0x00)
    throw new Socks5Error(
      `SOCKS5 proxy could not connect to ${host}:${String(port)}: ${replyErrors[reply ?? 1] ?? `error ${String(reply)}`}`,
    );
  // Skip the bound address the proxy reports; its length depends on its type.
  if (addressType === 0x01) await readBytes(socket, 4 + 2);
  else if (addressType === 0x04) await readBytes(socket, 16 + 2);
  else if (addressType === 0x03) {
    const [length = 0] = await readBytes(socket, 1);
    await readBytes(socket, length + 2);
  } else throw new Socks5Error('malformed SOCKS5 reply address');
};

/** An undici `connect` function that tunnels every connection through the SOCKS5 proxy. */
export const createSocks5Connector = (options: Socks5ConnectorOptions): buildConnector.connector => {
  const timeoutMs = options.connectTimeoutMs ?? 15_000;
  const resolve =
    options.resolve ?? (async (host: string) => (await lookup(host, { order: 'verbatim' })).address);
  return (connectOptions, callback) => {
    const host = connectOptions.hostname.replace(/^\[|\]$/g, '');
    const isHttps = connectOptions.protocol === 'https:';
    const port = Number(connectOptions.port) || (isHttps ? 443 : 80);
    const socket = net.connect({
      host: options.proxy.hostname.replace(/^\[|\]$/g, ''),
      port: Number(options.proxy.port) || 1080,
    });
    let settled = false;
    const finish = (error: Error | null, result?: net.Socket | tls.TLSSocket) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error !== null) {
        socket.destroy();
        callback(error, null);
      } else if (result !== undefined) callback(null, result);
    };
    const timer = setTimeout(
      () => finish(new Socks5Error(`SOCKS5 connection to ${host}:${String(port)} timed out`)),
      timeoutMs,
    );
    socket.once('error', (error) => finish(error));
    socket.once('connect', () => {
      void (async () => {
        try {
          const target = options.remoteDns || net.isIP(host) !== 0 ? host : await resolve(host);
          await socks5Handshake(socket, options.proxy, target, port);
          if (!isHttps) {
            finish(null, socket);
            return;
          }
          const servername = connectOptions.servername ?? host;
          const secure = tls.connect({
            ...options.tls,
            socket,
            // SNI carries names only; an IP literal there is a protocol error.
            ...(net.isIP(servername) === 0 ? { servername } : {}),
            ALPNProtocols: ['http/1.1'],
          });
          secure.once('secureConnect', () => finish(null, secure));
          secure.once('error', (error: Error) => finish(error));
        } catch (error) {
          finish(error instanceof Error ? error : new Socks5Error(String(error)));
        }
      })();
    });
  };
};
