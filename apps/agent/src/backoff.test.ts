import { describe, expect, it } from 'vitest';
import { createBackoff, deliver, sleep } from './backoff.ts';
import { silentLogger } from './logger.ts';
import { MasterError } from './master-client.ts';

describe('backoff', () => {
  it('doubles from 1 s and stays at the 30 s cap', () => {
    const backoff = createBackoff();
    const delays = Array.from({ length: 8 }, () => backoff.next());
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(backoff.attempts).toBe(8);
    backoff.reset();
    expect(backoff.next()).toBe(1000);
  });

  it('spreads delays by the jitter without passing the cap', () => {
    const low = createBackoff({ jitter: 0.2, random: () => 0 });
    const high = createBackoff({ jitter: 0.2, random: () => 1 });
    expect(low.next()).toBe(800);
    expect(high.next()).toBe(1200);
    for (let i = 0; i < 10; i += 1) high.next();
    expect(high.next()).toBe(30_000);
  });

  it('sleep ends early, without throwing, when the signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const slept = sleep(10_000, controller.signal);
    controller.abort();
    expect(await slept).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await sleep(1)).toBe(true);
  });
});

describe('deliver (reports retried until accepted)', () => {
  const fast = () => createBackoff({ initialMs: 1, maxMs: 5 });

  it('retries transient failures until the master accepts', async () => {
    let calls = 0;
    const delivered = await deliver(
      () => {
        calls += 1;
        return calls < 4
          ? Promise.reject(new MasterError('AGENT_MASTER_UNREACHABLE', 'down', { retryable: true }))
          : Promise.resolve();
      },
      {
        signal: new AbortController().signal,
        log: silentLogger,
        what: 'test',
        isRetryable: () => true,
        backoff: fast(),
      },
    );
    expect(delivered).toBe(true);
    expect(calls).toBe(4);
  });

  it('gives up at once on a refusal that will not change', async () => {
    let calls = 0;
    const delivered = await deliver(
      () => {
        calls += 1;
        return Promise.reject(
          new MasterError('AGENT_ARTIFACT_INVALID', 'bad', { status: 400, retryable: false }),
        );
      },
      {
        signal: new AbortController().signal,
        log: silentLogger,
        what: 'test',
        isRetryable: (error) => (error as MasterError).retryable,
        backoff: fast(),
      },
    );
    expect(delivered).toBe(false);
    expect(calls).toBe(1);
  });

  it('stops retrying when its signal aborts', async () => {
    const controller = new AbortController();
    let calls = 0;
    const delivered = deliver(
      () => {
        calls += 1;
        if (calls === 2) controller.abort();
        return Promise.reject(new Error('down'));
      },
      {
        signal: controller.signal,
        log: silentLogger,
        what: 'test',
        isRetryable: () => true,
        backoff: fast(),
      },
    );
    expect(await delivered).toBe(false);
    expect(calls).toBe(2);
  });
});
