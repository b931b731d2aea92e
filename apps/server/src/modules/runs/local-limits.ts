/** The local node's own limits as edited in the console (0 / empty = not set). */
export interface LocalNodeLimits {
  maxConcurrent: number;
  bandwidthLimit: string;
}

export interface LocalLimitsDeps {
  /** `backup.max_concurrent`. */
  maxConcurrent: number;
  /** `backup.bandwidth_limit` (rclone syntax; empty = unlimited). */
  bandwidthLimit: string;
  /** Reads this master's node row; absent in setups without nodes. */
  localNode?: () => Promise<LocalNodeLimits | undefined>;
}

/**
 * What this master applies to its own backups and restores (SPEC §6 bandwidth): the local node's
 * max concurrency and bandwidth limit when set, else the configured ones. Read at every run, so
 * an edit takes effect for the next run without a restart.
 */
export const localLimitsOf = async (
  deps: LocalLimitsDeps,
): Promise<{ concurrency: number; bandwidthLimit: string }> => {
  const node = await deps.localNode?.();
  return {
    concurrency: node !== undefined && node.maxConcurrent > 0 ? node.maxConcurrent : deps.maxConcurrent,
    bandwidthLimit: node?.bandwidthLimit.trim() || deps.bandwidthLimit.trim(),
  };
};
