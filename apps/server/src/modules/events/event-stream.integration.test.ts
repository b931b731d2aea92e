import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../lib/clock.ts';
import { createEventBus, type EventBus } from './event-bus.ts';
import { createEventStreamHub, type EventStreamHub } from './event-stream.ts';

/** The hub on a plain loopback HTTP server: real sockets, no master. */
const startHubServer = async (options: { heartbeatMs?: number; bufferFrames?: number } = {}) => {
  const events: EventBus = createEventBus({ clock: systemClock });
  let dropped = 0;
  const hub: EventStreamHub = createEventStreamHub({
    events,
    clock: systemClock,
    ...options,
    onDropped: (count) => {
      dropped += count;
    },
  });
  const server: Server = createServer((_request, response) => hub.attach(response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    events,
    hub,
    port,
    dropped: () => dropped,
    async stop() {
      hub.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

/** Opens the stream with node:http so the test decides when to read (a paused response = a stalled client). */
const connect = (port: number): Promise<IncomingMessage> =>
  new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path: '/' }, resolve);
    request.once('error', reject);
    request.end();
  });

const readAll = (response: IncomingMessage, until: (text: string) => boolean): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => reject(new Error(`stream did not deliver; got ${text.length} chars`)),
      20_000,
    );
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      text += chunk;
      if (until(text)) {
        clearTimeout(timer);
        resolve(text);
      }
    });
    response.resume();
  });

const waitFor = async (condition: () => boolean, what: string) => {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('event stream hub', () => {
  let running: Awaited<ReturnType<typeof startHubServer>> | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  it('writes a heartbeat comment on its interval', async () => {
    running = await startHubServer({ heartbeatMs: 30 });
    const response = await connect(running.port);
    const text = await readAll(response, (t) => /: heartbeat \d+\n\n/.test(t));
    expect(text).toMatch(/^: connected \d+\n\n/);
    expect(text).toMatch(/: heartbeat \d+\n\n/);
    response.destroy();
  });

  it('keeps at most 32 frames for a client that does not read, drops and counts the rest', async () => {
    running = await startHubServer();
    const response = await connect(running.port);
    response.pause();
    await waitFor(() => running?.hub.subscriberCount === 1, 'the subscriber');

    // Each frame is larger than the response's write buffer, so from the first one on the socket
    // reports "not draining" and the hub must queue (up to 32) and then drop.
    const big = 'x'.repeat(64 * 1024);
    const published = 200;
    for (let i = 0; i < published; i += 1) {
      running.events.publish('backup_failed', `event ${i}`, big, { index: i });
    }
    expect(running.hub.droppedCount).toBe(published - 1 - 32);
    expect(running.dropped()).toBe(published - 1 - 32);

    // The client catches up: it gets the first frame and the 32 queued ones, in order, nothing else.
    const text = await readAll(response, (t) => (t.match(/"index":\d+/g) ?? []).length >= 33);
    const indexes = [...text.matchAll(/"index":(\d+)/g)].map((m) => Number(m[1]));
    expect(indexes).toEqual(Array.from({ length: 33 }, (_, i) => i));

    // Afterwards it is live again.
    running.events.publish('backup_success', 'after', 'small', { index: 999 });
    await readAll(response, (t) => t.includes('"index":999'));
    response.destroy();
    await waitFor(() => running?.hub.subscriberCount === 0, 'the unsubscription');
  });

  it('ends every stream on stop', async () => {
    running = await startHubServer();
    const response = await connect(running.port);
    await readAll(response, (t) => t.startsWith(': connected '));
    const ended = new Promise<void>((resolve) => response.once('end', resolve));
    running.hub.closeAll();
    await ended;
    expect(running.hub.subscriberCount).toBe(0);
  });
});
