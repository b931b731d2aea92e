/** Progress of a transfer (SPEC §3.11). */
export interface TransferProgress {
  bytesSent: number;
  /** Known total, when the size is known up front. */
  totalBytes?: number;
  percent?: number;
  speedBps: number;
  targetName: string;
}

/** Emits progress at most every `intervalMs` (500 ms by default), plus a final report. */
export const createProgressReporter = (
  targetName: string,
  onProgress: ((progress: TransferProgress) => void) | undefined,
  options: { totalBytes?: number; intervalMs?: number; now?: () => number } = {},
) => {
  const now = options.now ?? (() => performance.now());
  const interval = options.intervalMs ?? 500;
  const started = now();
  let lastReport = -Infinity;
  const make = (bytes: number): TransferProgress => {
    const elapsedSeconds = Math.max((now() - started) / 1000, 0.001);
    const progress: TransferProgress = {
      bytesSent: bytes,
      speedBps: Math.round(bytes / elapsedSeconds),
      targetName,
    };
    if (options.totalBytes !== undefined && options.totalBytes > 0) {
      progress.totalBytes = options.totalBytes;
      progress.percent = Math.min(100, Math.round((bytes / options.totalBytes) * 1000) / 10);
    }
    return progress;
  };
  return {
    update(bytes: number): void {
      if (onProgress === undefined) return;
      const at = now();
      if (at - lastReport < interval) return;
      lastReport = at;
      onProgress(make(bytes));
    },
    finish(bytes: number): void {
      if (onProgress === undefined) return;
      const final = make(bytes);
      if (options.totalBytes === undefined) {
        final.totalBytes = bytes;
        final.percent = 100;
      }
      onProgress(final);
    },
  };
};
