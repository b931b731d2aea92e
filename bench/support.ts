// What the benches share: the scratch root, the rounds, figures and how they are printed, timing a
// shell baseline, and starting every timed run from the same page-cache state.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const GiB = 1024 ** 3;
export const benchRoot = process.env.BACKUPX_BENCH_DIR ?? path.join(tmpdir(), 'backupx-bench');
/** Runs of each 1 GiB figure (ours and its baseline alternate); the best one counts. */
export const ROUNDS = Number(process.env.BACKUPX_BENCH_ROUNDS ?? '2');

export interface Figure {
  name: string;
  seconds: number;
  bytes: number;
  maxRssBytes?: number;
  /** Wall time of the whole child process (node start-up and imports included). */
  wallSeconds?: number;
}

export const mbps = (figure: Figure) => figure.bytes / figure.seconds / 1e6;
export const line = (figure: Figure, nameWidth = 44) =>
  `${figure.name.padEnd(nameWidth)} ${figure.seconds.toFixed(2).padStart(8)} s ${mbps(figure).toFixed(1).padStart(8)} MB/s` +
  (figure.maxRssBytes === undefined ? '' : `   peak RSS ${(figure.maxRssBytes / 1e6).toFixed(0)} MB`) +
  (figure.wallSeconds === undefined ? '' : `   (process ${figure.wallSeconds.toFixed(2)} s)`);

/** Seconds a `bash -o pipefail` baseline takes; its failure fails the bench. */
export const timeShell = (script: string, env: Record<string, string> = {}): number => {
  const started = performance.now();
  const result = spawnSync('bash', ['-o', 'pipefail', '-c', script], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...env },
  });
  if (result.status !== 0) throw new Error(`baseline failed: ${script}`);
  return (performance.now() - started) / 1000;
};

/**
 * Starts a timed run from the same state every time: dirty pages written back, the page cache
 * dropped (when root), then the run's input read once so it is warm. On this VM a large page cache
 * makes every file write several times dearer in kernel time, growing run after run; without this
 * the order of the runs decides the figures.
 */
export const settle = (warm: readonly string[] = []): void => {
  execFileSync('sync');
  if (process.getuid?.() === 0) writeFileSync('/proc/sys/vm/drop_caches', '3');
  for (const input of warm)
    execFileSync('bash', ['-c', `tar -cf - ${JSON.stringify(input)} | cat > /dev/null`], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
};

/** Keeps the faster run of a figure and the highest peak RSS seen for it. */
export const keepBest = (figures: Record<string, Figure>, key: string, figure: Figure): void => {
  const best = figures[key];
  const maxRssBytes =
    figure.maxRssBytes === undefined ? undefined : Math.max(figure.maxRssBytes, best?.maxRssBytes ?? 0);
  const fastest = best === undefined || figure.seconds < best.seconds ? figure : best;
  figures[key] = { ...fastest, ...(maxRssBytes === undefined ? {} : { maxRssBytes }) };
};

export const dirBytes = (dir: string): number =>
  Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
