import { describe, expect, it } from 'vitest';
import { createBackoff } from './backoff.ts';
import { silentLogger } from './logger.ts';
import { MasterError, isRetryableMasterError } from './master-client.ts';
import { createReportChannel, type ReportBatch } from './report-channel.ts';

interface Final {
  status: string;
  logAppend?: string;
}

const setup = (
  options: { fail?: () => Error | null; maxBufferedBytes?: number; flushIntervalMs?: number } = {},
) => {
  const batches: ReportBatch<number>[] = [];
  const finals: Final[] = [];
  let clock = 0;
  const channel = createReportChannel<number, Final>({
    sendBatch: (batch) => {
      const error = options.fail?.() ?? null;
      if (error !== null) return Promise.reject(error);
      batches.push(batch);
      return Promise.resolve();
    },
    sendFinal: (update) => {
      const error = options.fail?.() ?? null;
      if (error !== null) return Promise.reject(error);
      finals.push(update);
      return Promise.resolve();
    },
    isRetryable: isRetryableMasterError,
    signal: new AbortController().signal,
    log: silentLogger,
    label: 'test',
    flushIntervalMs: options.flushIntervalMs ?? 60_000,
    progressIntervalMs: 1000,
    ...(options.maxBufferedBytes === undefined ? {} : { maxBufferedBytes: options.maxBufferedBytes }),
    now: () => clock,
    finalBackoff: createBackoff({ initialMs: 1, maxMs: 5 }),
  });
  return { channel, batches, finals, advance: (ms: number) => (clock += ms) };
};

const down = () => new MasterError('AGENT_MASTER_UNREACHABLE', 'connect ECONNREFUSED', { retryable: true });

describe('report channel (log batching)', () => {
  it('sends buffered lines as one batch, in order', async () => {
    const { channel, batches } = setup();
    channel.line('one');
    channel.line('two\n');
    channel.line('three');
    await channel.flush();
    expect(batches).toEqual([{ logAppend: 'one\ntwo\nthree\n' }]);
    await channel.flush();
    expect(batches).toHaveLength(1);
  });

  it('flushes by itself about every 500 ms', async () => {
    const { channel, batches } = setup({ flushIntervalMs: 50 });
    channel.line('hello');
    channel.line('world');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(batches).toEqual([{ logAppend: 'hello\nworld\n' }]);
    await channel.finish({ status: 'success' });
  });

  it('sends only the newest progress, at most once per interval', async () => {
    const { channel, batches, advance } = setup();
    channel.progress(1);
    channel.progress(2);
    await channel.flush();
    channel.progress(3);
    advance(400);
    await channel.flush();
    expect(batches).toEqual([{ progress: 2 }]);
    advance(700);
    await channel.flush();
    expect(batches).toEqual([{ progress: 2 }, { progress: 3 }]);
  });

  it('keeps lines while the master is unreachable and sends them later, oldest first', async () => {
    let failing = true;
    const { channel, batches } = setup({ fail: () => (failing ? down() : null) });
    channel.line('a');
    await channel.flush();
    channel.line('b');
    await channel.flush();
    expect(batches).toEqual([]);
    expect(channel.bufferedBytes).toBe(4);
    failing = false;
    channel.line('c');
    await channel.flush();
    expect(batches).toEqual([{ logAppend: 'a\nb\nc\n' }]);
  });

  it('caps the buffer during an outage, drops the oldest lines and says how many', async () => {
    let failing = true;
    const { channel, batches } = setup({ fail: () => (failing ? down() : null), maxBufferedBytes: 100 });
    for (let i = 0; i < 50; i += 1) channel.line(`line ${String(i).padStart(3, '0')}`);
    await channel.flush();
    expect(channel.bufferedBytes).toBeLessThanOrEqual(100);
    failing = false;
    await channel.flush();
    const text = batches[0]?.logAppend ?? '';
    expect(text).toMatch(/^\[agent\] \d+ log line\(s\) dropped/);
    expect(text).toContain('line 049\n');
    expect(text).not.toContain('line 000');
    const kept = text.split('\n').filter((line) => line.startsWith('line ')).length;
    const dropped = Number(/(\d+) log line/.exec(text)?.[1]);
    expect(kept + dropped).toBe(50);
  });

  it('drops a batch the master refuses for good instead of resending it forever', async () => {
    let refuse = true;
    const { channel, batches } = setup({
      fail: () =>
        refuse ? new MasterError('BACKUP_RECORD_FORBIDDEN', 'no', { status: 401, retryable: false }) : null,
    });
    channel.line('x');
    await channel.flush();
    refuse = false;
    await channel.flush();
    expect(batches).toEqual([]);
    expect(channel.bufferedBytes).toBe(0);
  });

  it('puts every remaining line into the final report and retries it until accepted', async () => {
    let failures = 2;
    const { channel, finals } = setup({ fail: () => (failures-- > 0 ? down() : null) });
    channel.line('almost done');
    const delivered = await channel.finish({ status: 'success', logAppend: 'done\n' });
    expect(delivered).toBe(true);
    expect(finals).toEqual([{ status: 'success', logAppend: 'almost done\ndone\n' }]);
    channel.line('ignored after the end');
    expect(channel.bufferedBytes).toBe(0);
  });
});
