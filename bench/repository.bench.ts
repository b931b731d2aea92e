// `npm run bench -- repository`: the deduplicating repository (SPEC §3.14) against restic, on the
// 1 GiB mixed corpus, both starting from an empty repository in the same run:
//  - first backup time and throughput (ours: zstd + encryption → local disk, in a child process)
//  - unchanged re-run time (second backup of the same corpus into the same repository; ours passes
//    the first snapshot as previousSnapshot, restic picks its parent snapshot itself)
//  - stored size of the repository directory after the first backup (du -sb)
//  - peak RSS of our first backup
// Restic is Debian's; its repository uses format v2 (compressed) when `restic init` offers
// --repository-version. Figures are the best of BACKUPX_BENCH_ROUNDS (default 2) rounds, each from
// fresh repositories, ours and restic taking turns going first. BACKUPX_BENCH_SKIP_OURS=1 measures
// restic alone.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { aptInstall } from '../scripts/services.ts';
import { buildCorpus } from './engine/corpus.ts';
import {
  benchRoot,
  dirBytes,
  GiB,
  keepBest,
  line,
  mbps,
  ROUNDS,
  settle,
  timeShell,
  type Figure,
} from './support.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const skipOurs = process.env.BACKUPX_BENCH_SKIP_OURS === '1';

/** Runs bench/repository/child.ts; returns its result plus the wall time of the whole process. */
const runChild = (args: string[]): Record<string, unknown> & { wallSeconds: number } => {
  const outDir = mkdtempSync(path.join(tmpdir(), 'bx-bench-out-'));
  const out = path.join(outDir, 'out.json');
  try {
    const started = performance.now();
    const result = spawnSync(process.execPath, [path.join(here, 'repository', 'child.ts'), ...args, out], {
      stdio: 'inherit',
    });
    const wallSeconds = (performance.now() - started) / 1000;
    if (result.status !== 0) throw new Error('repository bench child failed');
    return { ...(JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>), wallSeconds };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
};

const resticVersion = (): string =>
  execFileSync('restic', ['version'], { encoding: 'utf8' }).trim().split(' ').slice(0, 2).join(' ');

/** Whether this restic can create a v2 (compressed) repository. */
const resticHasV2 = (): boolean =>
  execFileSync('restic', ['init', '--help'], { encoding: 'utf8' }).includes('--repository-version');

export const run = async (): Promise<void> => {
  const corpus = path.join(benchRoot, 'corpus-1g', 'corpus');
  process.stdout.write(`preparing a 1 GiB corpus in ${corpus} …\n`);
  await buildCorpus(corpus, GiB);
  const bytes = dirBytes(corpus);
  const keyHex = randomBytes(32).toString('hex');
  // The baseline is Debian's restic, installed here when missing (root, as `npm test` does).
  if (spawnSync('which', ['restic'], { stdio: 'ignore' }).status !== 0) aptInstall(['restic']);
  const v2 = resticHasV2();
  const figures: Record<string, Figure> = {};
  const stored: { ours?: number; restic?: number } = {};
  const notes: string[] = [];
  let resticFormat = '?';

  mkdirSync(benchRoot, { recursive: true });
  const scratch = mkdtempSync(path.join(benchRoot, 'repository-'));
  try {
    const ours = (): void => {
      const storage = path.join(scratch, 'ours');
      rmSync(storage, { recursive: true, force: true });
      mkdirSync(storage);
      settle([corpus]);
      const first = runChild([corpus, storage, keyHex, '1', '-']);
      keepBest(figures, 'ours-first', {
        name: 'ours: first backup 1 GiB (zstd+enc → local)',
        seconds: Number(first.seconds),
        bytes,
        maxRssBytes: Number(first.maxRssBytes),
        wallSeconds: first.wallSeconds,
      });
      const size = dirBytes(storage);
      stored.ours = Math.min(size, stored.ours ?? size);
      settle([corpus]);
      const second = runChild([corpus, storage, keyHex, '2', String(first.snapshotKey)]);
      keepBest(figures, 'ours-rerun', {
        name: 'ours: unchanged re-run 1 GiB',
        seconds: Number(second.seconds),
        bytes,
        maxRssBytes: Number(second.maxRssBytes),
        wallSeconds: second.wallSeconds,
      });
      const target = (second.targets as { uploadedBytes?: number; newChunks?: number }[] | undefined)?.[0];
      notes.push(
        `ours re-run: ${String(second.unchangedFiles)} unchanged files, ${String(target?.newChunks ?? '?')} new chunks, ` +
          `${String(target?.uploadedBytes ?? '?')} bytes uploaded (first run: ${String(first.uniqueChunks)} unique chunks)`,
      );
      rmSync(storage, { recursive: true, force: true });
    };

    const restic = (): void => {
      const repo = path.join(scratch, 'restic');
      const cache = path.join(scratch, 'restic-cache');
      rmSync(repo, { recursive: true, force: true });
      rmSync(cache, { recursive: true, force: true });
      const env = { RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: cache };
      const resticEnv = { ...process.env, ...env };
      execFileSync('restic', ['init', '--quiet', ...(v2 ? ['--repository-version', '2'] : [])], {
        env: resticEnv,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const config = JSON.parse(
        execFileSync('restic', ['cat', 'config', '--quiet'], { env: resticEnv, encoding: 'utf8' }),
      ) as { version?: number };
      resticFormat = `repository format v${String(config.version ?? '?')}${config.version === 2 ? ' (compression auto)' : ' (uncompressed)'}`;
      const backup = `restic backup --quiet ${JSON.stringify(corpus)}`;
      settle([corpus]);
      keepBest(figures, 'restic-first', {
        name: 'restic: first backup 1 GiB',
        seconds: timeShell(backup, env),
        bytes,
      });
      const size = dirBytes(repo);
      stored.restic = Math.min(size, stored.restic ?? size);
      settle([corpus]);
      keepBest(figures, 'restic-rerun', {
        name: 'restic: unchanged re-run 1 GiB',
        seconds: timeShell(backup, env),
        bytes,
      });
      const snapshots = JSON.parse(
        execFileSync('restic', ['snapshots', '--json', '--quiet'], { env: resticEnv, encoding: 'utf8' }),
      ) as { parent?: string }[];
      notes.push(
        `restic re-run: ${snapshots.length} snapshots, second has a parent: ${snapshots[1]?.parent === undefined ? 'no' : 'yes'}`,
      );
      rmSync(repo, { recursive: true, force: true });
      rmSync(cache, { recursive: true, force: true });
    };

    for (let round = 0; round < ROUNDS; round += 1) {
      const order = skipOurs ? [restic] : round % 2 === 0 ? [ours, restic] : [restic, ours];
      for (const step of order) step();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  process.stdout.write(`baseline: ${resticVersion()}, ${resticFormat}; corpus ${bytes} bytes\n`);
  for (const note of [...new Set(notes)]) process.stdout.write(`${note}\n`);
  for (const figure of Object.values(figures)) process.stdout.write(`${line(figure, 52)}\n`);
  const mb = (value?: number) =>
    value === undefined ? 'n/a' : `${(value / 1e6).toFixed(1)} MB (${value} bytes)`;
  process.stdout.write(`stored after first backup: ours ${mb(stored.ours)}, restic ${mb(stored.restic)}\n`);
  const fixed = (value?: number) =>
    value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(2);
  const [oursFirst, resticFirst] = [figures['ours-first'], figures['restic-first']];
  const [oursRerun, resticRerun] = [figures['ours-rerun'], figures['restic-rerun']];
  const throughput = oursFirst && resticFirst ? mbps(oursFirst) / mbps(resticFirst) : undefined;
  const rerun = oursRerun && resticRerun ? oursRerun.seconds / resticRerun.seconds : undefined;
  const size = stored.ours !== undefined && stored.restic ? stored.ours / stored.restic : undefined;
  process.stdout.write(
    `ratios: first-backup throughput ours/restic ${fixed(throughput)} (target ≥1.0), ` +
      `unchanged re-run time ours/restic ${fixed(rerun)} (target ≤1.0), ` +
      `stored size ours/restic ${fixed(size)} (target ≤1.05)\n`,
  );
};
