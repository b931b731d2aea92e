/**
 * A counting semaphore: at most `capacity` holders; waiters are served in order. The capacity can
 * change while in use (the local node's max concurrency is edited in the console): a larger one
 * lets waiters in at once, a smaller one takes effect as holders release.
 */
export class Semaphore {
  #capacity: number;
  #held = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  /** True when `acquire` would have to wait. */
  get busy(): boolean {
    return this.#held >= this.#capacity;
  }

  resize(capacity: number): void {
    this.#capacity = Math.max(1, capacity);
    this.#admit();
  }

  #admit(): void {
    while (this.#held < this.#capacity) {
      const next = this.#waiting.shift();
      if (next === undefined) return;
      this.#held += 1;
      next();
    }
  }

  /** Resolves with a release function once a slot is free; rejects if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    const release = (): void => {
      this.#held -= 1;
      this.#admit();
    };
    if (this.#held < this.#capacity) {
      this.#held += 1;
      return Promise.resolve(once(release));
    }
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(once(release));
      };
      const onAbort = (): void => {
        const index = this.#waiting.indexOf(grant);
        if (index >= 0) this.#waiting.splice(index, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('cancelled'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(grant);
    });
  }
}

const once = (fn: () => void): (() => void) => {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
};
