// One measured repository backup in its own process, so its timing and peak RSS are its own:
//   node bench/repository/child.ts <corpusDir> <storageDir> <keyHex> <recordId> <previousKey|-> <outJson>
// Backs the corpus up (zstd, encrypted) into a repository on a local_disk backend at storageDir.
// Prints only warnings and errors of the run; writes {seconds, maxRssBytes, snapshotKey, …} to outJson.
import { writeFileSync } from 'node:fs';
import { backupToRepository, createStorageBackend } from '@backupx/engine';

const [corpus = '', storageDir = '', keyHex = '', recordId = '', previousKey = '-', outJson = ''] =
  process.argv.slice(2);
const started = performance.now();
const backend = await createStorageBackend('local_disk', { basePath: storageDir });
const result = await backupToRepository({
  taskId: 1,
  recordId: Number(recordId),
  createdAt: new Date(),
  sourcePaths: [corpus],
  compression: 'zstd',
  encryptionKey: Buffer.from(keyHex, 'hex'),
  targets: [{ name: 'local_disk', backend }],
  ...(previousKey === '-' ? {} : { previousSnapshot: { key: previousKey } }),
  signal: new AbortController().signal,
  log: (level, message) => {
    if (level !== 'info') process.stderr.write(`[repository ${level}] ${message}\n`);
  },
});
await backend.close();
const seconds = (performance.now() - started) / 1000;
const failed = result.targets.filter((target) => target.status !== 'success');
if (failed.length > 0)
  throw new Error(
    `repository backup failed: ${failed.map((t) => `${t.name}: ${t.error ?? '?'}`).join('; ')}`,
  );
const { manifest: _manifest, ...summary } = result;
writeFileSync(
  outJson,
  JSON.stringify({ ...summary, seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 }),
);
