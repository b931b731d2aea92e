// A repository writer in its own process, for the crash test: backs up argv[2] into the local
// disk repository at argv[3] (encrypted with the hex key argv[4]) and prints each pack stored.
// The test kills it with SIGKILL after its first pack.
import { Readable } from 'node:stream';
import { createLocalDiskBackend } from '../../storage/local-disk.ts';
import { backupToRepository } from '../repository-backup.ts';

const [source, repository, keyHex] = process.argv.slice(2) as [string, string, string];
const inner = createLocalDiskBackend({ basePath: repository });
const backend = {
  ...inner,
  type: inner.type,
  put: async (key: string, body: Readable, options?: Parameters<typeof inner.put>[2]) => {
    const result = await inner.put(key, body, options);
    process.stdout.write(`stored ${key}\n`);
    return result;
  },
};
await backupToRepository({
  taskId: 1,
  recordId: 99,
  createdAt: new Date(),
  sourcePaths: [source],
  compression: 'zstd',
  encryptionKey: Buffer.from(keyHex, 'hex'),
  targets: [{ name: 'disk', backend }],
  signal: new AbortController().signal,
  log: () => undefined,
});
process.stdout.write('done\n');
