/**
 * Write leases of repositories (SPEC §3.14 "single writer", made safe across processes): one row
 * per storage target in `repository_leases`, taken by a conditional insert/update, renewed while
 * its holder works and given back at the end. The database is the truth, so several masters and
 * every agent (through the master) share it; a holder that dies stops renewing and its lease
 * lapses after LEASE_TTL_MS, so a crashed writer never blocks the next one for long — unlike a
 * lock file on the storage, which stays until someone removes it by hand.
 */
import type { Kysely } from 'kysely';
import { toIso, type Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import type { Database } from '../../db/tables.ts';
import { isUniqueViolation } from './runs.repository.ts';

export const LEASE_TTL_MS = 60_000;
const RENEW_EVERY_MS = LEASE_TTL_MS / 3;
const WAIT_POLL_MS = 1_000;

export const createLeasesRepository = (db: Kysely<Database>) => ({
  /** Takes the lease if it is free, expired, or already this holder's; true when held now. */
  async tryAcquire(storageTargetId: number, holder: string, now: Date, ttlMs: number): Promise<boolean> {
    const expiresAt = toIso(new Date(now.getTime() + ttlMs));
    try {
      await db
        .insertInto('repositoryLeases')
        .values({ storageTargetId, holder, acquiredAt: toIso(now), expiresAt })
        .execute();
      return true;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    const result = await db
      .updateTable('repositoryLeases')
      .set({ holder, acquiredAt: toIso(now), expiresAt })
      .where('storageTargetId', '=', storageTargetId)
      .where((eb) => eb.or([eb('expiresAt', '<', toIso(now)), eb('holder', '=', holder)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  },
  /** Extends the lease while this holder still has it; false when it lapsed and was taken. */
  async renew(storageTargetId: number, holder: string, now: Date, ttlMs: number): Promise<boolean> {
    const result = await db
      .updateTable('repositoryLeases')
      .set({ expiresAt: toIso(new Date(now.getTime() + ttlMs)) })
      .where('storageTargetId', '=', storageTargetId)
      .where('holder', '=', holder)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  },
  async release(storageTargetId: number, holder: string): Promise<void> {
    await db
      .deleteFrom('repositoryLeases')
      .where('storageTargetId', '=', storageTargetId)
      .where('holder', '=', holder)
      .execute();
  },
  async find(storageTargetId: number) {
    return db
      .selectFrom('repositoryLeases')
      .selectAll()
      .where('storageTargetId', '=', storageTargetId)
      .executeTakeFirst();
  },
});

export type LeasesRepository = ReturnType<typeof createLeasesRepository>;

export interface RepositoryLeases {
  /** Takes the lease now or throws REPOSITORY_BUSY (the agent protocol: the agent retries). */
  acquire(storageTargetId: number, holder: string): Promise<{ expiresAt: string; ttlSeconds: number }>;
  renew(storageTargetId: number, holder: string): Promise<{ expiresAt: string; ttlSeconds: number }>;
  release(storageTargetId: number, holder: string): Promise<void>;
  /**
   * Runs `work` holding the leases of every target (taken in ascending id order, waiting up to
   * `waitMs` for each), renewing them meanwhile. A lease lost while working aborts the signal
   * `work` receives, so a writer that lost its lease stops before it could race another.
   */
  withLeases<T>(
    storageTargetIds: readonly number[],
    holder: string,
    work: (signal: AbortSignal) => Promise<T>,
    options?: { waitMs?: number; signal?: AbortSignal; onWait?: (storageTargetId: number) => void },
  ): Promise<T>;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

export const createRepositoryLeases = (deps: {
  leases: LeasesRepository;
  clock: Clock;
  ttlMs?: number;
}): RepositoryLeases => {
  const ttlMs = deps.ttlMs ?? LEASE_TTL_MS;
  const granted = (now: Date) => ({
    expiresAt: toIso(new Date(now.getTime() + ttlMs)),
    ttlSeconds: Math.round(ttlMs / 1000),
  });
  const busy = (storageTargetId: number) =>
    new AppError(
      'REPOSITORY_BUSY',
      `the repository on storage target #${String(storageTargetId)} is being written by another run`,
    );

  return {
    async acquire(storageTargetId, holder) {
      const now = deps.clock.now();
      if (!(await deps.leases.tryAcquire(storageTargetId, holder, now, ttlMs))) throw busy(storageTargetId);
      return granted(now);
    },
    async renew(storageTargetId, holder) {
      const now = deps.clock.now();
      if (!(await deps.leases.renew(storageTargetId, holder, now, ttlMs)))
        throw new AppError(
          'REPOSITORY_LEASE_LOST',
          `the repository lease of storage target #${String(storageTargetId)} was lost`,
        );
      return granted(now);
    },
    release: (storageTargetId, holder) => deps.leases.release(storageTargetId, holder),

    async withLeases(storageTargetIds, holder, work, options = {}) {
      const ids = [...new Set(storageTargetIds)].sort((a, b) => a - b);
      const held: number[] = [];
      const lost = new AbortController();
      const signal =
        options.signal === undefined ? lost.signal : AbortSignal.any([lost.signal, options.signal]);
      let renewal: NodeJS.Timeout | undefined;
      try {
        for (const id of ids) {
          const deadline = Date.now() + (options.waitMs ?? 10 * 60_000);
          let waited = false;
          while (!(await deps.leases.tryAcquire(id, holder, deps.clock.now(), ttlMs))) {
            if (options.signal?.aborted === true || Date.now() >= deadline) throw busy(id);
            if (!waited) options.onWait?.(id);
            waited = true;
            await sleep(WAIT_POLL_MS, options.signal);
          }
          held.push(id);
        }
        renewal = setInterval(() => {
          void (async () => {
            for (const id of held)
              if (!(await deps.leases.renew(id, holder, deps.clock.now(), ttlMs)))
                lost.abort(new Error(`the repository lease of storage target #${String(id)} was lost`));
          })().catch(() => undefined);
        }, RENEW_EVERY_MS);
        renewal.unref();
        return await work(signal);
      } finally {
        if (renewal !== undefined) clearInterval(renewal);
        for (const id of held) await deps.leases.release(id, holder).catch(() => undefined);
      }
    },
  };
};
