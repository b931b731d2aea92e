import { randomBytes } from 'node:crypto';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStorageContract } from '@backupx/testkit/storage-contract';
import { startFaultProxy, type FaultProxy } from '@backupx/testkit';
import { startAzurite, type AzuriteService } from '@backupx/testkit/services/azurite';
import { bufferStream, patternStream, readAll } from '@backupx/testkit';
import { createAzureBlobBackend } from './azure-blob.ts';

const MiB = 1024 * 1024;

let server: AzuriteService;
let proxy: FaultProxy;
let admin: BlobServiceClient;

const startAll = async () => {
  server = await startAzurite();
  proxy = await startFaultProxy(`http://127.0.0.1:${server.port}`);
  admin = new BlobServiceClient(
    server.url,
    new StorageSharedKeyCredential(server.account, server.accountKey),
  );
};
const stopAll = async () => {
  await proxy.close();
  await server.stop();
};

const freshContainer = async (): Promise<string> => {
  const name = `bx-${randomBytes(6).toString('hex')}`;
  await admin.getContainerClient(name).create();
  return name;
};

const backendFor = (root: string) =>
  createAzureBlobBackend({
    account: server.account,
    key: server.accountKey,
    endpoint: `${proxy.url}/${server.account}`,
    root,
  });

runStorageContract('azureblob', {
  setup: startAll,
  async create() {
    return backendFor(await freshContainer());
  },
  teardown: stopAll,
  faults: {
    flaky: (count) => proxy.failNext(count),
    serverDown: async () => {
      await server.kill();
      return () => server.restart();
    },
  },
});

describe('azureblob specifics (azurite)', () => {
  beforeAll(startAll, 120_000);
  afterAll(stopAll);

  it('creates the container on testConnection and keeps keys under the root prefix', async () => {
    const container = `bx-new-${randomBytes(4).toString('hex')}`;
    const backend = backendFor(`${container}/some/prefix`);
    await backend.testConnection();
    await backend.put('a/b.txt', bufferStream('under prefix'));
    expect((await backend.list('')).map((entry) => entry.key)).toEqual(['a/b.txt']);
    const names: string[] = [];
    for await (const item of admin.getContainerClient(container).listBlobsFlat()) names.push(item.name);
    expect(names).toEqual(['some/prefix/a/b.txt']);
    expect((await readAll(await backend.get('a/b.txt'))).toString()).toBe('under prefix');
  });

  it('leaves only uncommitted blocks (no blob) when the source fails after several blocks', async () => {
    const container = await freshContainer();
    const backend = backendFor(container);
    await expect(backend.put('x.bin', patternStream(40 * MiB, { failAfterBytes: 20 * MiB }))).rejects.toThrow(
      /source failed on purpose/,
    );
    const names: string[] = [];
    for await (const item of admin.getContainerClient(container).listBlobsFlat()) names.push(item.name);
    expect(names).toEqual([]);
  });

  it('accepts a container-level SAS URL for the same container only', () => {
    expect(() =>
      createAzureBlobBackend({
        account: 'acct',
        sas_url: 'https://acct.blob.core.windows.net/other?sv=2024&sig=x',
        root: 'mine',
      }),
    ).toThrow(/SAS URL/);
    expect(() => createAzureBlobBackend({ account: 'acct', root: 'mine' })).toThrow(/key/);
  });
});
