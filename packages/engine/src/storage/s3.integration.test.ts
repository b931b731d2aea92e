import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStorageContract } from '@backupx/testkit/storage-contract';
import { startFaultProxy, type FaultProxy } from '@backupx/testkit';
import { startS3rver, type S3rverService } from '@backupx/testkit/services/s3rver';
import { bufferStream, digestStream, patternStream, readAll } from '@backupx/testkit';
import { createS3Backend } from './s3.ts';

const MiB = 1024 * 1024;

let server: S3rverService;
let proxy: FaultProxy;
let admin: S3Client;

const startAll = async () => {
  server = await startS3rver();
  proxy = await startFaultProxy(server.url);
  admin = new S3Client({
    endpoint: server.url,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
};
const stopAll = async () => {
  admin.destroy();
  await proxy.close();
  await server.stop();
};

const freshBucket = async (): Promise<string> => {
  const bucket = `bx-${randomBytes(6).toString('hex')}`;
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
};

const backendFor = (bucket: string, extra: Record<string, unknown> = {}) =>
  createS3Backend({
    endpoint: `${proxy.url}/`,
    region: server.region,
    bucket,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    forcePathStyle: true,
    ...extra,
  });

runStorageContract('s3', {
  setup: startAll,
  async create() {
    return backendFor(await freshBucket());
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

describe('s3 specifics (s3rver)', () => {
  beforeAll(startAll, 120_000);
  afterAll(stopAll);

  it('stores exactly the bytes sent for a streamed body of unknown size (no aws-chunked framing)', async () => {
    const bucket = await freshBucket();
    const backend = backendFor(bucket);
    const size = 11 * MiB + 123; // two parts: multipart path
    const small = 300_001; // one part: PutObject path
    await backend.put('chunked/big.bin', patternStream(size, { seed: 3, chunkBytes: 65_536 }));
    await backend.put('chunked/small.bin', patternStream(small, { seed: 4, chunkBytes: 4096 }));
    for (const [key, length, seed] of [
      ['chunked/big.bin', size, 3],
      ['chunked/small.bin', small, 4],
    ] as const) {
      const direct = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect(direct.ContentLength).toBe(length);
      expect(await digestStream(direct.Body as NodeJS.ReadableStream)).toEqual(
        await digestStream(patternStream(length, { seed })),
      );
    }
    await backend.close();
  });

  it('fails a multipart upload whose source fails, naming the source error, with no object', async () => {
    // s3rver implements neither AbortMultipartUpload (405) nor ListMultipartUploads, so the abort
    // itself cannot be observed here; what matters is that nothing is completed.
    const bucket = await freshBucket();
    const backend = backendFor(bucket);
    await expect(
      backend.put('fail/x.bin', patternStream(40 * MiB, { failAfterBytes: 20 * MiB })),
    ).rejects.toThrow(/source failed on purpose/);
    expect(await backend.stat('fail/x.bin')).toBeNull();
    expect(await backend.list('')).toEqual([]);
    await backend.close();
  });

  it('keeps objects under the configured prefix and reports keys relative to it', async () => {
    const bucket = await freshBucket();
    const prefixed = backendFor(bucket, { prefix: '/team/backups/' });
    const plain = backendFor(bucket);
    await prefixed.put('a/b.txt', bufferStream('prefixed'));
    expect((await prefixed.list('')).map((entry) => entry.key)).toEqual(['a/b.txt']);
    expect((await plain.list('')).map((entry) => entry.key)).toEqual(['team/backups/a/b.txt']);
    expect((await readAll(await prefixed.get('a/b.txt'))).toString()).toBe('prefixed');
    await prefixed.close();
    await plain.close();
  });

  it('creates a missing bucket on testConnection', async () => {
    const backend = backendFor(`bx-new-${randomBytes(4).toString('hex')}`);
    await backend.testConnection();
    expect(await backend.list('')).toEqual([]);
    await backend.close();
  });
});
