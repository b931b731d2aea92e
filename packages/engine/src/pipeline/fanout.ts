import { PassThrough, type Readable } from 'node:stream';

export interface FanoutConsumer<T> {
  name: string;
  /** Reads its branch to the end (e.g. uploads it); rejecting detaches only this consumer. */
  consume: (branch: Readable) => Promise<T>;
}

/** Per-branch buffer: memory is bounded by this times the number of consumers. */
const BRANCH_HIGH_WATER_MARK = 4 * 1024 * 1024;

/**
 * Feeds one stream to several consumers at the pace of the slowest live one. A consumer that
 * fails is cut off and the others go on; when none is left, the source is abandoned. A source
 * error reaches every live consumer. Returns each consumer's outcome in order.
 */
export const fanOut = async <T>(
  source: Readable,
  consumers: readonly FanoutConsumer<T>[],
): Promise<PromiseSettledResult<T>[]> => {
  const branches = consumers.map(() => {
    const branch = new PassThrough({ highWaterMark: BRANCH_HIGH_WATER_MARK });
    // A consumer that stops reading may leave an error on its branch; its own promise reports it.
    branch.on('error', () => undefined);
    return branch;
  });
  const live = new Set(branches);
  const outcomes = consumers.map((consumer, index) => {
    const branch = branches[index] as PassThrough;
    const outcome = consumer.consume(branch);
    outcome.catch(() => {
      live.delete(branch);
      branch.destroy();
    });
    return outcome;
  });

  /** Resolves on drain, or when the branch is torn down because its consumer failed. */
  const waitForRoom = (branch: PassThrough) =>
    new Promise<void>((resolve) => {
      const done = () => {
        branch.off('drain', done);
        branch.off('close', done);
        branch.off('error', done);
        resolve();
      };
      branch.on('drain', done);
      branch.on('close', done);
      branch.on('error', done);
    });

  try {
    for await (const chunk of source) {
      if (live.size === 0) break;
      const full: PassThrough[] = [];
      for (const branch of live) {
        if (!branch.write(chunk)) full.push(branch);
      }
      if (full.length > 0)
        await Promise.all(full.map((branch) => (live.has(branch) ? waitForRoom(branch) : Promise.resolve())));
    }
    for (const branch of live) branch.end();
  } catch (error) {
    for (const branch of branches) branch.destroy(error as Error);
  }
  if (live.size === 0) source.destroy();
  return Promise.allSettled(outcomes);
};
