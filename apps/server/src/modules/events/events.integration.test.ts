import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiKeySummary, SystemEvent } from '@backupx/contract';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

/** Reads an SSE response as text, chunk by chunk, until a predicate holds on everything read. */
const openStream = async (url: string, headers: Record<string, string>) => {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  const reader = response.body?.getReader();
  const decoder = new TextDecoder();
  let text = '';
  return {
    response,
    get text() {
      return text;
    },
    async readUntil(predicate: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
      if (reader === undefined) throw new Error('no body');
      const deadline = Date.now() + timeoutMs;
      while (!predicate(text)) {
        if (Date.now() > deadline) throw new Error(`stream did not deliver in time; got: ${text}`);
        const timeout = new Promise<'timeout'>((resolve) => {
          setTimeout(() => resolve('timeout'), Math.max(1, deadline - Date.now())).unref();
        });
        const chunk = await Promise.race([reader.read(), timeout]);
        if (chunk === 'timeout') continue;
        if (chunk.done) throw new Error(`stream ended; got: ${text}`);
        text += decoder.decode(chunk.value as Uint8Array, { stream: true });
      }
      return text;
    },
    close() {
      controller.abort();
    },
  };
};

/** Parses the `event:`/`data:` frames of an SSE text. */
const framesOf = (text: string): { event: string; data: SystemEvent }[] =>
  text
    .split('\n\n')
    .filter((block) => block.startsWith('event: '))
    .map((block) => {
      const [eventLine = '', dataLine = ''] = block.split('\n');
      return {
        event: eventLine.slice('event: '.length),
        data: JSON.parse(dataLine.slice('data: '.length)) as SystemEvent,
      };
    });

const waitFor = async (condition: () => boolean, what: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe.each(dialects)('live event stream on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let viewer: string;

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    viewer = (await master.createUser(admin, 'stream-viewer', 'viewer')).token;
  });
  afterAll(async () => {
    await master.destroy();
  });

  const streamUrl = () => new URL('/api/events/stream', master.url).toString();

  it('streams events to a signed-in client with the SSE headers', async () => {
    const { eventStream, events } = master.container.services;
    const before = eventStream.subscriberCount;
    const stream = await openStream(streamUrl(), { Authorization: `Bearer ${admin}` });
    try {
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get('content-type')).toBe('text/event-stream');
      expect(stream.response.headers.get('cache-control')).toBe('no-cache');
      expect(stream.response.headers.get('connection')).toBe('keep-alive');
      expect(stream.response.headers.get('x-accel-buffering')).toBe('no');
      expect(stream.response.headers.get('access-control-allow-origin')).toBe('*');

      const connected = await stream.readUntil((text) => text.includes('\n\n'));
      const seconds = Math.floor(master.clock.now().getTime() / 1000);
      const match = /^: connected (\d+)\n\n/.exec(connected);
      expect(match, connected).not.toBeNull();
      expect(Math.abs(Number(match?.[1]) - seconds)).toBeLessThan(60);
      await waitFor(() => eventStream.subscriberCount === before + 1, 'the subscription');

      // Backup results reach the stream too (SPEC §17.4 quirk 2: intended behaviour).
      const published = events.publish(
        'backup_success',
        'BackupX 备份成功通知',
        '任务：nightly\n状态：成功',
        {
          taskName: 'nightly',
          recordId: 11,
        },
      );
      events.publish('storage_unhealthy', 'BackupX 存储目标连接失败', 'line one\nline two', {
        storageTargetId: 2,
      });
      const text = await stream.readUntil((t) => framesOf(t).length >= 2);
      const frames = framesOf(text);
      expect(frames.map((frame) => frame.event)).toEqual(['backup_success', 'storage_unhealthy']);
      expect(frames[0]?.data).toEqual({
        type: 'backup_success',
        title: 'BackupX 备份成功通知',
        body: '任务：nightly\n状态：成功',
        fields: {
          taskName: 'nightly',
          recordId: 11,
          eventType: 'backup_success',
          timestamp: published.timestamp,
        },
        timestamp: published.timestamp,
      });
      expect(frames[1]?.data.body).toBe('line one\nline two');
      // Each frame is exactly `event:` + one `data:` line.
      expect(text).toMatch(/event: storage_unhealthy\ndata: \{[^\n]*\}\n\n$/);
    } finally {
      stream.close();
    }
    // The server notices the client left and drops the subscription.
    await waitFor(() => eventStream.subscriberCount === before, 'the unsubscription');
  });

  it('lets a viewer and a viewer API key connect, and refuses anonymous or bad credentials', async () => {
    const viewerStream = await openStream(streamUrl(), { Authorization: `Bearer ${viewer}` });
    try {
      expect(viewerStream.response.status).toBe(200);
      await viewerStream.readUntil((text) => text.startsWith(': connected '));
    } finally {
      viewerStream.close();
    }

    const key = await master.api.post<Envelope<{ apiKey: ApiKeySummary; plainKey: string }>>(
      '/api/api-keys',
      { name: 'dashboard screen', role: 'viewer' },
      { token: admin },
    );
    const keyStream = await openStream(streamUrl(), { 'X-Api-Key': key.body.data.plainKey });
    try {
      expect(keyStream.response.status).toBe(200);
      await keyStream.readUntil((text) => text.startsWith(': connected '));
    } finally {
      keyStream.close();
    }

    const anonymous = await master.api.get('/api/events/stream');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('AUTH_REQUIRED');
    const bad = await master.api.get('/api/events/stream', { token: 'not-a-token' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('content-type')).toContain('application/json');
  });

  it('does not hold up shutdown while a client is still connected', async () => {
    const other = await startTestMaster(dialect);
    try {
      const token = await other.setupAdmin();
      const stream = await openStream(new URL('/api/events/stream', other.url).toString(), {
        Authorization: `Bearer ${token}`,
      });
      await stream.readUntil((text) => text.startsWith(': connected '));
      await other.stop();
      // The server ended the stream: the client sees its end instead of waiting forever.
      await expect(stream.readUntil(() => false, 10_000)).rejects.toThrow(/stream ended/);
    } finally {
      await other.destroy();
    }
  });
});
