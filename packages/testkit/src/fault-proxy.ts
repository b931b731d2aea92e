import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP reverse proxy on 127.0.0.1 in front of a real server, that can answer the next N
 * requests with 503 (a flaky server) or refuse to connect (a dead one).
 */
export interface FaultProxy {
  url: string;
  /** The next `count` requests get `503 Service Unavailable`. */
  failNext(count: number): void;
  /** Until `restore()`, every request gets 503. */
  failAll(): void;
  restore(): void;
  /** Requests seen so far (including failed ones). */
  requests: number;
  close(): Promise<void>;
}

export const startFaultProxy = async (target: string): Promise<FaultProxy> => {
  const upstream = new URL(target);
  let failuresLeft = 0;
  let failAll = false;
  const state = { requests: 0 };
  const server = http.createServer((request, response) => {
    state.requests += 1;
    if (failAll || failuresLeft > 0) {
      if (!failAll) failuresLeft -= 1;
      request.resume();
      response.writeHead(503, { 'Content-Type': 'text/plain', Connection: 'close' }).end('injected fault');
      return;
    }
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, host: upstream.host },
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forward.on('error', (error) => {
      if (!response.headersSent) response.writeHead(502).end(error.message);
      else response.destroy(error);
    });
    request.pipe(forward);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    failNext: (count) => {
      failuresLeft = count;
    },
    failAll: () => {
      failAll = true;
    },
    restore: () => {
      failAll = false;
      failuresLeft = 0;
    },
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
