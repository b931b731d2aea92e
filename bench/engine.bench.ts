// `npm run bench -- engine`: backup/restore throughput and memory of the engine, each figure next
// to a baseline measured in the same run on the same corpus:
//  - backup (zstd -3 + BXENC1 → local disk) vs `tar | zstd -3 -T0 | openssl enc -aes-256-ctr | tee | sha256sum`
//  - backup vs `restic backup` (first run, Debian restic)
//  - restore (local disk → files) vs `openssl enc -d | zstd -d | tar -x`
//  - backup to SFTP (sshd) and S3 (s3rver) on loopback
//  - peak RSS of a backup at 1 GiB and at 4 GiB (set BACKUPX_BENCH_SKIP_4G=1 to skip the 4 GiB corpus)
// Local figures are the best of BACKUPX_BENCH_ROUNDS (default 2) alternating runs.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startS3rver } from '@backupx/testkit/services/s3rver';
import { startSshd } from '@backupx/testkit/services/sshd';
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

const runChild = (args: string[]): Record<string, unknown> => {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'bx-bench-out-')), 'out.json');
  const result = spawnSync(process.execPath, [path.join(here, 'engine', 'child.ts'), ...args, out], {
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error(`bench child failed: ${args[0] ?? ''}`);
  return JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
};

export const run = async (): Promise<void> => {
  const sizes = process.env.BACKUPX_BENCH_SKIP_4G === '1' ? [1] : [1, 4];
  const keyHex = randomBytes(32).toString('hex');
  const ivHex = randomBytes(16).toString('hex');
  const figures: Record<string, Figure> = {};
  for (const gib of sizes) {
    const corpus = path.join(benchRoot, `corpus-${gib}g`, 'corpus');
    process.stdout.write(`preparing a ${gib} GiB corpus in ${corpus} …\n`);
    await buildCorpus(corpus, gib * GiB);
    const bytes = dirBytes(corpus);
    const scratch = mkdtempSync(path.join(benchRoot, 'run-'));
    try {
      const storage = path.join(scratch, 'storage');
      mkdirSync(storage);
      const local = JSON.stringify({ type: 'local_disk', config: { basePath: storage } });
      if (gib !== 1) {
        settle([corpus]);
        const ours = runChild(['backup', corpus, local, keyHex]);
        figures[`backup-${gib}`] = {
          name: `ours: backup ${gib} GiB (zstd+enc → local)`,
          seconds: Number(ours.seconds),
          bytes,
          maxRssBytes: Number(ours.maxRssBytes),
        };
        continue;
      }

      // Each figure is the best of ROUNDS runs, ours and the baseline taking turns, each run
      // starting from a settled page cache (see settle).
      const shellOut = path.join(scratch, 'shell.tar.zst.enc');
      const resultJson = path.join(scratch, 'result.json');
      let ours: Record<string, unknown> = {};
      for (let round = 0; round < ROUNDS; round += 1) {
        rmSync(storage, { recursive: true, force: true });
        mkdirSync(storage);
        settle([corpus]);
        ours = runChild(['backup', corpus, local, keyHex]);
        keepBest(figures, 'backup-1', {
          name: 'ours: backup 1 GiB (zstd+enc → local)',
          seconds: Number(ours.seconds),
          bytes,
          maxRssBytes: Number(ours.maxRssBytes),
        });
        settle([corpus]);
        keepBest(figures, 'shell', {
          name: 'baseline: tar|zstd -T0|openssl|tee|sha256sum',
          seconds: timeShell(
            `tar -cf - -C ${JSON.stringify(path.dirname(corpus))} corpus | zstd -3 -T0 -q | openssl enc -aes-256-ctr -K ${keyHex} -iv ${ivHex} | tee ${JSON.stringify(shellOut)} | sha256sum >/dev/null`,
          ),
          bytes,
        });
        writeFileSync(resultJson, JSON.stringify(ours));
        const restoreDir = path.join(scratch, 'restored');
        rmSync(restoreDir, { recursive: true, force: true });
        mkdirSync(restoreDir);
        settle([storage]);
        const restore = runChild(['restore', local, resultJson, keyHex, restoreDir]);
        keepBest(figures, 'restore', {
          name: 'ours: restore 1 GiB (local → files)',
          seconds: Number(restore.seconds),
          bytes,
          maxRssBytes: Number(restore.maxRssBytes),
        });
        const shellRestoreDir = path.join(scratch, 'shell-restored');
        rmSync(shellRestoreDir, { recursive: true, force: true });
        mkdirSync(shellRestoreDir);
        settle([shellOut]);
        keepBest(figures, 'shellRestore', {
          name: 'baseline: openssl -d|zstd -d|tar -x',
          seconds: timeShell(
            `openssl enc -d -aes-256-ctr -K ${keyHex} -iv ${ivHex} -in ${JSON.stringify(shellOut)} | zstd -d -T0 -q | tar -xf - -C ${JSON.stringify(shellRestoreDir)}`,
          ),
          bytes,
        });
        rmSync(restoreDir, { recursive: true, force: true });
        rmSync(shellRestoreDir, { recursive: true, force: true });
      }

      const repo = path.join(scratch, 'restic');
      const resticEnv = { RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: repo };
      execFileSync('restic', ['init', '--quiet'], { env: { ...process.env, ...resticEnv } });
      settle([corpus]);
      figures.restic = {
        name: 'baseline: restic backup (first run)',
        seconds: timeShell(`restic backup --quiet ${JSON.stringify(corpus)}`, resticEnv),
        bytes,
      };
      rmSync(repo, { recursive: true, force: true });

      const sshd = await startSshd();
      try {
        const sftp = JSON.stringify({
          type: 'sftp',
          config: {
            host: sshd.host,
            port: sshd.port,
            user: sshd.user,
            key_pem: sshd.privateKeyPem,
            root: path.join(sshd.dataDir, 'bench'),
          },
        });
        settle([corpus]);
        const result = runChild(['backup', corpus, sftp, keyHex]);
        figures.sftp = {
          name: 'ours: backup 1 GiB → SFTP (loopback)',
          seconds: Number(result.seconds),
          bytes,
          maxRssBytes: Number(result.maxRssBytes),
        };
      } finally {
        await sshd.stop();
      }
      const s3 = await startS3rver({ bucket: 'bench' });
      try {
        const target = JSON.stringify({
          type: 's3',
          config: {
            endpoint: s3.url,
            region: s3.region,
            bucket: s3.bucket,
            accessKeyId: s3.accessKeyId,
            secretAccessKey: s3.secretAccessKey,
            forcePathStyle: true,
          },
        });
        settle([corpus]);
        const result = runChild(['backup', corpus, target, keyHex]);
        figures.s3 = {
          name: 'ours: backup 1 GiB → S3 (s3rver loopback)',
          seconds: Number(result.seconds),
          bytes,
          maxRssBytes: Number(result.maxRssBytes),
        };
      } finally {
        await s3.stop();
      }
      process.stdout.write(
        `stored: ours ${(Number(ours.sizeBytes) / 1e6).toFixed(0)} MB, shell ${(statSync(shellOut).size / 1e6).toFixed(0)} MB\n`,
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  for (const figure of Object.values(figures)) process.stdout.write(`${line(figure)}\n`);
  const ratio = (a?: Figure, b?: Figure) => (a && b ? (mbps(a) / mbps(b)).toFixed(2) : 'n/a');
  const rss = (figure?: Figure) =>
    figure?.maxRssBytes === undefined ? 'n/a' : `${(figure.maxRssBytes / 1e6).toFixed(0)} MB`;
  process.stdout.write(
    `ratios: backup/shell ${ratio(figures['backup-1'], figures.shell)}x (target ≥0.9), backup/restic ${ratio(figures['backup-1'], figures.restic)}x (target ≥2), ` +
      `restore/shell ${ratio(figures.restore, figures.shellRestore)}x (target ≥0.9), sftp/local ${ratio(figures.sftp, figures['backup-1'])}x, s3/local ${ratio(figures.s3, figures['backup-1'])}x, ` +
      `peak RSS 1 GiB ${rss(figures['backup-1'])}, 4 GiB ${rss(figures['backup-4'])} (target ≤300 MB, flat)\n`,
  );
};
