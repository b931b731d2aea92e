import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentConfig } from './config/config.ts';
import { createMasterDispatcher } from './http/dispatcher.ts';
import { matchesNoProxy, selectProxy } from './http/proxy.ts';
import { createMasterClient, MasterError, type MasterClient } from './master-client.ts';

const TOKEN = 'f'.repeat(64);

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const listen = async (
  handler: (request: IncomingMessage, response: ServerResponse, body: string) => void,
): Promise<{ server: Server; url: string; seen: Seen[] }> => {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      handler(request, response, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`, seen };
};

const envelope = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
};

const baseConfig = (master: string, extra: Partial<AgentConfig> = {}): AgentConfig => ({
  master,
  token: TOKEN,
  heartbeatIntervalMs: 15_000,
  pollIntervalMs: 5000,
  tempDir: tmpdir(),
  proxyUrl: '',
  caCertFile: '',
  caCertPem: '',
  insecureSkipTlsVerify: false,
  environmentProxy: { httpProxy: '', httpsProxy: '', noProxy: '' },
  ...extra,
});

const clientFor = (config: AgentConfig): MasterClient =>
  createMasterClient({
    master: config.master,
    token: config.token,
    dispatcher: createMasterDispatcher(config, selectProxy(config)),
    userAgent: 'backupx-agent/test',
  });

const servers: Server[] = [];
const clients: MasterClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close().catch(() => undefined)));
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

const track = <T extends { server: Server }>(started: T): T => {
  servers.push(started.server);
  return started;
};
const client = (config: AgentConfig): MasterClient => {
  const created = clientFor(config);
  clients.push(created);
  return created;
};

const caught = async (promise: Promise<unknown>): Promise<MasterError> => {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MasterError);
    return error as MasterError;
  }
  throw new Error('expected the call to fail');
};

describe('master client: protecting the token', () => {
  it('refuses to follow a redirect and never reaches its target', async () => {
    const target = track(await listen((_req, res) => envelope(res, 200, { code: 'OK', data: {} })));
    const master = track(
      await listen((_req, res) => {
        res.writeHead(302, { location: `${target.url}/api/agent/heartbeat` });
        res.end();
      }),
    );
    const error = await caught(client(baseConfig(master.url)).heartbeat({ hostname: 'h' }));
    expect(error.code).toBe('AGENT_REDIRECT_REFUSED');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('302');
    expect(master.seen).toHaveLength(1);
    expect(target.seen).toHaveLength(0);
  });

  it('sends the token only in the X-Agent-Token header', async () => {
    const master = track(
      await listen((_req, res) =>
        envelope(res, 200, { code: 'OK', message: 'success', data: { status: 'ok', nodeId: 3, name: 'n' } }),
      ),
    );
    const answer = await client(baseConfig(master.url)).heartbeat({ hostname: 'h', agentVersion: '1.0.0' });
    expect(answer).toMatchObject({ nodeId: 3, name: 'n' });
    const [request] = master.seen;
    expect(request?.headers['x-agent-token']).toBe(TOKEN);
    expect(request?.headers.authorization).toBeUndefined();
    expect(request?.url).not.toContain(TOKEN);
    expect(request?.body).not.toContain(TOKEN);
  });
});

describe('master client: envelopes and errors', () => {
  it('carries the master error code and tells retryable from permanent failures', async () => {
    let status = 401;
    const master = track(
      await listen((_req, res) =>
        status === 401
          ? envelope(res, 401, { code: 'NODE_INVALID_TOKEN', message: 'Invalid node token' })
          : envelope(res, 503, { code: 'SERVICE_UNAVAILABLE', message: 'restarting' }),
      ),
    );
    const api = client(baseConfig(master.url));
    const refused = await caught(api.heartbeat({}));
    expect(refused).toMatchObject({ code: 'NODE_INVALID_TOKEN', status: 401, retryable: false });
    status = 503;
    const unavailable = await caught(api.recordUpdate(5, { logAppend: 'x\n' }));
    expect(unavailable).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503, retryable: true });
  });

  it('reports an unreachable master as retryable with the system error', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await caught(client(baseConfig(`http://127.0.0.1:${String(port)}`)).heartbeat({}));
    expect(error).toMatchObject({ code: 'AGENT_MASTER_UNREACHABLE', retryable: true });
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('refuses an answer that is not the protocol (a proxy page)', async () => {
    const master = track(
      await listen((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>captive portal</html>');
      }),
    );
    const error = await caught(client(baseConfig(master.url)).taskSpec(1));
    expect(error.code).toBe('AGENT_PROTOCOL_ERROR');
  });

  it('long-polls with ?wait= and reads a BackupX answer without data as "no command"', async () => {
    let reply: unknown = { code: 'OK', message: 'success' };
    const master = track(await listen((_req, res) => envelope(res, 200, reply)));
    const api = client(baseConfig(master.url));
    expect(await api.poll(25)).toBeNull();
    expect(master.seen[0]?.url).toBe('/api/agent/commands/poll?wait=25');
    reply = {
      code: 'OK',
      message: 'success',
      data: { command: { id: 9, type: 'list_dir', payload: { path: '/' } } },
    };
    expect(await api.poll(0)).toEqual({ id: 9, type: 'list_dir', payload: { path: '/' } });
    expect(master.seen[1]?.url).toBe('/api/agent/commands/poll');
  });

  it('uploads an artifact with Content-Length, object key and SHA-256 headers', async () => {
    const master = track(
      await listen((_req, res) => envelope(res, 200, { code: 'OK', data: { status: 'ok' } })),
    );
    await client(baseConfig(master.url)).uploadArtifact(12, 3, {
      body: Readable.from([Buffer.from('hello '), Buffer.from('world')]),
      sizeBytes: 11,
      objectKey: 'BackupX/file/260101/records/12/a.tar.zst',
      sha256: 'ab'.repeat(32),
    });
    const [request] = master.seen;
    expect(request).toMatchObject({
      method: 'PUT',
      url: '/api/agent/records/12/artifacts/3',
      body: 'hello world',
    });
    expect(request?.headers).toMatchObject({
      'content-length': '11',
      'x-backupx-object-key': 'BackupX/file/260101/records/12/a.tar.zst',
      'x-backupx-sha256': 'ab'.repeat(32),
    });
  });

  it('fills the storage config BackupX omits for relayed restores', async () => {
    const spec = {
      restoreRecordId: 4,
      backupRecordId: 2,
      taskId: 1,
      taskName: 't',
      type: 'file',
      sourcePath: '/data',
      sourcePaths: ['/data'],
      dbHost: '',
      dbPort: 0,
      dbUser: '',
      dbPassword: '',
      dbName: '',
      dbPath: '',
      extraConfig: '',
      compression: 'gzip',
      encrypt: false,
      storage: { id: 1, type: 'local_disk', name: 'relay', transferMode: 'master_relay' },
      storagePath: 'BackupX/file/260101/records/2/a.tar.gz',
      fileName: 'a.tar.gz',
      checksum: '',
    };
    const master = track(await listen((_req, res) => envelope(res, 200, { code: 'OK', data: spec })));
    const parsed = await client(baseConfig(master.url)).restoreSpec(4);
    expect(parsed.storage.config).toEqual({});
  });
});

describe('master client: TLS and proxies', () => {
  let certDir: string;
  let cert: string;
  let key: string;
  beforeAll(() => {
    certDir = mkdtempSync(path.join(tmpdir(), 'bx-agent-tls-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '2',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost,IP:127.0.0.1',
          '-keyout',
          path.join(certDir, 'key.pem'),
          '-out',
          path.join(certDir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
    } catch (error) {
      throw new Error(`these tests need the openssl command (apt-get install openssl): ${String(error)}`);
    }
    cert = readFileSync(path.join(certDir, 'cert.pem'), 'utf8');
    key = readFileSync(path.join(certDir, 'key.pem'), 'utf8');
  });
  afterAll(() => rmSync(certDir, { recursive: true, force: true }));

  const startHttps = async () => {
    const server = createHttpsServer({ cert, key }, (_req, res) =>
      envelope(res, 200, { code: 'OK', data: { status: 'ok', nodeId: 1, name: 'tls' } }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    return (server.address() as AddressInfo).port;
  };

  it('trusts a custom CA in addition to the system roots, or nothing when verification is off', async () => {
    const port = await startHttps();
    const master = `https://localhost:${String(port)}`;
    const untrusted = await caught(client(baseConfig(master)).heartbeat({}));
    expect(untrusted.code).toBe('AGENT_MASTER_UNREACHABLE');
    expect(untrusted.message).toMatch(/self[- ]signed|certificate/i);
    expect(await client(baseConfig(master, { caCertPem: cert })).heartbeat({})).toMatchObject({
      name: 'tls',
    });
    expect(await client(baseConfig(master, { insecureSkipTlsVerify: true })).heartbeat({})).toMatchObject({
      name: 'tls',
    });
  });

  /** A minimal SOCKS5 server (no auth, CONNECT) that records the address it was asked for. */
  const startSocks = async () => {
    const requested: string[] = [];
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.once('data', () => {
        socket.write(Buffer.from([0x05, 0x00]));
        socket.once('data', (request: Buffer) => {
          const type = request[3];
          let host: string;
          let offset: number;
          if (type === 0x01) {
            host = [...request.subarray(4, 8)].join('.');
            offset = 8;
          } else {
            const length = request[4] ?? 0;
            host = request.subarray(5, 5 + length).toString();
            offset = 5 + length;
          }
          const port = request.readUInt16BE(offset);
          requested.push(`${host}:${String(port)}`);
          const upstream = net.connect({ host: host === 'localhost' ? '127.0.0.1' : host, port }, () => {
            socket.write(Buffer.from([0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
            socket.pipe(upstream);
            upstream.pipe(socket);
          });
          upstream.on('error', () => socket.destroy());
          socket.on('error', () => upstream.destroy());
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    return {
      requested,
      url: `127.0.0.1:${String(port)}`,
      close: () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => resolve());
        }),
    };
  };

  it('tunnels through socks5h (the proxy resolves) and socks5 (the agent resolves), TLS on top', async () => {
    const port = await startHttps();
    const socks = await startSocks();
    try {
      const master = `https://localhost:${String(port)}`;
      const remote = client(baseConfig(master, { caCertPem: cert, proxyUrl: `socks5h://${socks.url}` }));
      expect(await remote.heartbeat({})).toMatchObject({ name: 'tls' });
      expect(socks.requested).toEqual([`localhost:${String(port)}`]);
      const local = client(baseConfig(master, { caCertPem: cert, proxyUrl: `socks5://${socks.url}` }));
      expect(await local.heartbeat({})).toMatchObject({ name: 'tls' });
      expect(socks.requested[1]).toMatch(new RegExp(`^(127\\.0\\.0\\.1|::1):${String(port)}$`));
    } finally {
      await socks.close();
    }
  });

  it('sends http masters through an HTTP proxy (absolute-form requests)', async () => {
    const proxy = track(
      await listen((_req, res) =>
        envelope(res, 200, { code: 'OK', data: { status: 'ok', nodeId: 1, name: 'via-proxy' } }),
      ),
    );
    const answer = await client(baseConfig('http://master.invalid:8340', { proxyUrl: proxy.url })).heartbeat(
      {},
    );
    expect(answer.name).toBe('via-proxy');
    expect(proxy.seen[0]?.url).toBe('http://master.invalid:8340/api/agent/heartbeat');
  });
});

describe('proxy selection from the environment', () => {
  const env = (httpsProxy: string, noProxy = '') => ({ httpProxy: 'http://plain:3128', httpsProxy, noProxy });

  it('uses HTTPS_PROXY for https masters and HTTP_PROXY for http ones, never for loopback', () => {
    expect(
      selectProxy({
        master: 'https://m.example.com',
        proxyUrl: '',
        environmentProxy: env('http://secure:3128'),
      })?.url.host,
    ).toBe('secure:3128');
    expect(
      selectProxy({
        master: 'http://m.example.com',
        proxyUrl: '',
        environmentProxy: env('http://secure:3128'),
      })?.url.host,
    ).toBe('plain:3128');
    expect(
      selectProxy({
        master: 'https://127.0.0.1:8340',
        proxyUrl: '',
        environmentProxy: env('http://secure:3128'),
      }),
    ).toBeNull();
    expect(
      selectProxy({
        master: 'https://m.example.com',
        proxyUrl: 'socks5h://s:1080',
        environmentProxy: env(''),
      }),
    ).toMatchObject({ kind: 'socks5', remoteDns: true, source: 'proxyUrl' });
    expect(
      selectProxy({ master: 'https://m.example.com', proxyUrl: '', environmentProxy: env('secure:3128') })
        ?.url.href,
    ).toBe('http://secure:3128/');
  });

  it('honours NO_PROXY like curl and Go', () => {
    expect(matchesNoProxy('example.com', 'm.example.com', 443)).toBe(true);
    expect(matchesNoProxy('.example.com', 'example.com', 443)).toBe(true);
    expect(matchesNoProxy('*.example.com', 'm.example.com', 443)).toBe(true);
    expect(matchesNoProxy('example.com', 'badexample.com', 443)).toBe(false);
    expect(matchesNoProxy('example.com:8443', 'm.example.com', 443)).toBe(false);
    expect(matchesNoProxy('example.com:443', 'm.example.com', 443)).toBe(true);
    expect(matchesNoProxy('10.0.0.0/8, other', '10.2.3.4', 443)).toBe(true);
    expect(matchesNoProxy('10.0.0.0/8', '11.2.3.4', 443)).toBe(false);
    expect(matchesNoProxy('*', 'anything', 1)).toBe(true);
    expect(matchesNoProxy('', 'anything', 1)).toBe(false);
    expect(
      selectProxy({
        master: 'https://m.example.com',
        proxyUrl: '',
        environmentProxy: env('http://secure:3128', 'example.com'),
      }),
    ).toBeNull();
  });
});
