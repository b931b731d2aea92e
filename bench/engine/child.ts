// One measured engine run in its own process, so its peak RSS is its own:
//   node bench/engine/child.ts backup <corpusDir> <targetJson> <keyHex> <outJson>
//   node bench/engine/child.ts restore <targetJson> <resultJson> <keyHex> <restoreDir> <outJson>
// Prints nothing; writes {seconds, maxRssBytes, …} to outJson.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  backupFiles,
  createStorageBackend,
  masterObjectKey,
  openArtifact,
  restoreFiles,
  runBackupPipeline,
} from '@backupx/engine';

const [mode, ...args] = process.argv.slice(2);
const workDir = mkdtempSync(path.join(tmpdir(), 'bx-bench-child-'));
const ctx = {
  signal: new AbortController().signal,
  log: () => undefined,
  workDir,
  now: new Date(),
  spawn,
  env: { PATH: process.env.PATH },
};
const started = performance.now();

if (mode === 'backup') {
  const [corpus = '', targetJson = '', keyHex = '', outJson = ''] = args;
  const target = JSON.parse(targetJson) as { type: string; config: unknown };
  const backend = await createStorageBackend(target.type, target.config);
  const artifact = await backupFiles(ctx, { taskName: 'bench', sourcePaths: [corpus], excludePatterns: [] });
  const result = await runBackupPipeline({
    artifact,
    compression: 'zstd',
    encryptionKey: Buffer.from(keyHex, 'hex'),
    targets: [{ name: target.type, backend }],
    objectKeyFor: (fileName) => masterObjectKey('file', ctx.now, fileName),
    signal: ctx.signal,
    log: ctx.log,
  });
  await backend.close();
  const { manifest: _manifest, ...summary } = result;
  writeFileSync(
    outJson,
    JSON.stringify({
      ...summary,
      seconds: (performance.now() - started) / 1000,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    }),
  );
} else if (mode === 'restore') {
  const [targetJson = '', resultJson = '', keyHex = '', restoreDir = '', outJson = ''] = args;
  const target = JSON.parse(targetJson) as { type: string; config: unknown };
  const backend = await createStorageBackend(target.type, target.config);
  const result = JSON.parse(readFileSync(resultJson, 'utf8')) as {
    objectKey: string;
    fileName: string;
    sha256: string;
  };
  const { stream } = await openArtifact(
    { backend, objectKey: result.objectKey, fileName: result.fileName, sha256: result.sha256 },
    { decryptionKey: Buffer.from(keyHex, 'hex') },
  );
  await restoreFiles(ctx, [stream], {
    sourcePaths: [path.join(restoreDir, 'corpus')],
    targetPath: restoreDir,
  });
  await backend.close();
  writeFileSync(
    outJson,
    JSON.stringify({
      seconds: (performance.now() - started) / 1000,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    }),
  );
} else {
  throw new Error(`unknown mode ${String(mode)}`);
}
rmSync(workDir, { recursive: true, force: true });
