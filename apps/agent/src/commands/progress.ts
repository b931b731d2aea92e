/**
 * Progress of a backup for the record's live view. The archive is not sized up front, so file
 * backups count raw archive bytes against the size of the source tree (summed beside the run,
 * as the master does for its own runs); other sources report bytes and speed without a percent.
 */
import type { AgentProgress, TransferProgress } from '../protocol-types.ts';

/** Tracks raw bytes against an estimate and converts the pipeline's progress for the protocol. */
export const createProgressEstimator = () => {
  let sourceBytes = 0;
  let rawBytes = 0;
  return {
    setSourceBytes(bytes: number) {
      sourceBytes = bytes;
    },
    addRawBytes(bytes: number) {
      rawBytes += bytes;
    },
    convert(progress: TransferProgress): AgentProgress {
      const fraction = sourceBytes > 0 ? Math.min(1, rawBytes / sourceBytes) : 0;
      // The stored size, extrapolated from how much of the source is done when that is known.
      const totalBytes =
        fraction > 0 ? Math.round(progress.bytesSent / fraction) : (progress.totalBytes ?? 0);
      return {
        bytesSent: progress.bytesSent,
        totalBytes: Math.max(totalBytes, progress.bytesSent),
        percent: Math.min(99, Math.round(fraction * 1000) / 10),
        speedBps: Math.max(0, progress.speedBps),
        targetName: progress.targetName.slice(0, 128),
      };
    },
  };
};
