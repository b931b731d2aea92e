import { describe, expect, it } from 'vitest';
import { Semaphore } from './semaphore.ts';

describe('Semaphore (backup.max_concurrent)', () => {
  it('lets at most `capacity` holders in and serves waiters in order', async () => {
    const slots = new Semaphore(2);
    const order: string[] = [];
    const first = await slots.acquire();
    const second = await slots.acquire();
    expect(slots.busy).toBe(true);
    const third = slots.acquire().then((release) => {
      order.push('third');
      return release;
    });
    const fourth = slots.acquire().then((release) => {
      order.push('fourth');
      return release;
    });
    await Promise.resolve();
    expect(order).toEqual([]);
    first();
    first(); // releasing twice frees one slot only
    (await third)();
    second();
    (await fourth)();
    expect(order).toEqual(['third', 'fourth']);
    expect(slots.busy).toBe(false);
  });

  it('drops a waiter whose signal aborts, without losing a slot', async () => {
    const slots = new Semaphore(1);
    const held = await slots.acquire();
    const controller = new AbortController();
    const waiting = slots.acquire(controller.signal);
    controller.abort(new Error('cancelled by the user'));
    await expect(waiting).rejects.toThrow('cancelled by the user');
    held();
    const again = await slots.acquire();
    expect(slots.busy).toBe(true);
    again();
  });

  it('follows a new capacity: more lets waiters in at once, less waits for holders to leave', async () => {
    const slots = new Semaphore(1);
    const first = await slots.acquire();
    const admitted: string[] = [];
    const second = slots.acquire().then((release) => {
      admitted.push('second');
      return release;
    });
    const third = slots.acquire().then((release) => {
      admitted.push('third');
      return release;
    });
    slots.resize(3);
    await Promise.resolve();
    await Promise.resolve();
    expect(admitted).toEqual(['second', 'third']);
    expect(slots.busy).toBe(true);

    slots.resize(1);
    first();
    (await second)();
    // Two released, one still held: at capacity 1 nobody else gets in.
    expect(slots.busy).toBe(true);
    (await third)();
    expect(slots.busy).toBe(false);
    const again = await slots.acquire();
    expect(slots.busy).toBe(true);
    again();
  });
});
