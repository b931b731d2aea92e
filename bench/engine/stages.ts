// Diagnostic: throughput and peak RSS of each engine stage on the bench corpus, stage by stage
// (`node bench/engine/stages.ts [corpusDir]`). Not part of `npm run bench`'s figures.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { backupFiles, createBxencEncryptor, createCompressor, DigestTap } from '@backupx/engine';

const corpus = process.argv[2] ?? path.join(tmpdir(), 'backupx-bench', 'corpus-1g', 'corpus');
const ctx = {
  signal: new AbortController().signal,
  log: () => undefined,
  workDir: tmpdir(),
  now: new Date(),
  spawn,
  env: {},
};
const discard = () =>
  new Writable({
    highWaterMark: 4 << 20,
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

const plans: string[][] = [[], ['zstd'], ['zstd', 'encrypt'], ['zstd', 'encrypt', 'sha256']];
for (const plan of plans) {
  const artifact = await backupFiles(ctx, { taskName: 'probe', sourcePaths: [corpus], excludePatterns: [] });
  const started = performance.now();
  const stages: NodeJS.ReadWriteStream[] = plan.map((stage) =>
    stage === 'zstd'
      ? createCompressor('zstd')
      : stage === 'encrypt'
        ? createBxencEncryptor(randomBytes(32))
        : new DigestTap(),
  );
  await pipeline([artifact.stream, ...stages, discard()]);
  await artifact.completion;
  process.stdout.write(
    `${(plan.join(' + ') || 'tar').padEnd(24)} ${((performance.now() - started) / 1000).toFixed(2)} s   peak RSS so far ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB\n`,
  );
}
