import { randomBytes } from 'node:crypto';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { createMemoryBackend, readAll } from '@backupx/testkit';
import { runBackupPipeline } from './backup-pipeline.ts';
import { openArtifact } from './restore-pipeline.ts';
import { createThrottle, parseBandwidthLimit } from './throttle.ts';

const KiB = 1024;
const MiB = 1024 * 1024;

const chunksOf = (data: Buffer, size: number): Buffer[] => {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += size)
    chunks.push(data.subarray(offset, offset + size));
  return chunks;
};

describe('parseBandwidthLimit (rclone --bwlimit syntax)', () => {
  it.each([
    ['', 0, 0],
    ['0', 0, 0],
    ['off', 0, 0],
    ['OFF', 0, 0],
    ['10M', 10 * MiB, 10 * MiB],
    ['10m', 10 * MiB, 10 * MiB],
    ['512k', 512 * KiB, 512 * KiB],
    ['512K/s', 512 * KiB, 512 * KiB],
    ['1.5M', 1.5 * MiB, 1.5 * MiB],
    ['10MiB', 10 * MiB, 10 * MiB],
    ['10MiB/s', 10 * MiB, 10 * MiB],
    ['10Mi', 10 * MiB, 10 * MiB],
    ['10MB', 10 * MiB, 10 * MiB],
    ['1G', 1024 * MiB, 1024 * MiB],
    ['2048B', 2048, 2048],
    ['2048b/s', 2048, 2048],
    ['100', 100 * KiB, 100 * KiB],
    [' 4M ', 4 * MiB, 4 * MiB],
    ['1M:500k', MiB, 500 * KiB],
    ['off:2M', 0, 2 * MiB],
    ['1M:off', MiB, 0],
    ['1M:0', MiB, 0],
  ])('%j → up %i, down %i', (text, upload, download) => {
    expect(parseBandwidthLimit(text)).toEqual({
      uploadBytesPerSecond: upload,
      downloadBytesPerSecond: download,
    });
  });

  it.each(['fast', '10X', '-1M', '1M:2M:3M', '08:00,512k', '1..5M', 'M', '10 MiB per second', '1e3k'])(
    'refuses %j naming the expected syntax',
    (text) => {
      expect(() => parseBandwidthLimit(text)).toThrow(
        expect.objectContaining({
          code: 'BANDWIDTH_LIMIT_INVALID',
          message: expect.stringContaining('UPLOAD:DOWNLOAD') as unknown,
        }),
      );
    },
  );
});

describe('createThrottle', () => {
  it('0 is a plain pass-through', async () => {
    const data = randomBytes(3 * MiB);
    expect((await readAll(Readable.from([data]).pipe(createThrottle(0)))).equals(data)).toBe(true);
    expect(createThrottle(0)).toBeInstanceOf(PassThrough);
    expect(() => createThrottle(-1)).toThrow(expect.objectContaining({ code: 'BANDWIDTH_LIMIT_INVALID' }));
  });

  it('limits 1 MiB at 4 MiB/s to at least ~200 ms and passes the bytes unchanged', async () => {
    const data = randomBytes(MiB);
    const started = performance.now();
    const out = await readAll(Readable.from(chunksOf(data, 64 * KiB)).pipe(createThrottle(4 * MiB)));
    const elapsedMs = performance.now() - started;
    expect(out.equals(data)).toBe(true);
    // 250 ms in theory; only a lower bound is asserted (a busy machine may be slower).
    expect(elapsedMs).toBeGreaterThanOrEqual(200);
  });

  it('splits a chunk larger than the burst', async () => {
    const data = randomBytes(600 * KiB);
    const started = performance.now();
    const out = await readAll(Readable.from([data]).pipe(createThrottle(2 * MiB)));
    expect(out.equals(data)).toBe(true);
    // ≈ 293 ms in theory.
    expect(performance.now() - started).toBeGreaterThanOrEqual(230);
  });

  it('honours backpressure: a slow reader holds the writer back', async () => {
    const throttle = createThrottle(64 * MiB);
    let received = 0;
    const slowSink = new Writable({
      highWaterMark: 16 * KiB,
      write(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        setTimeout(callback, 20);
      },
    });
    const source = Readable.from(chunksOf(randomBytes(4 * MiB), 64 * KiB), { highWaterMark: 1 });
    let produced = 0;
    source.on('data', (chunk: Buffer) => (produced += chunk.length));
    const running = pipeline(source, throttle, slowSink);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The sink takes ~64 KiB per 20 ms; the writer is never far ahead of it.
    expect(produced - received).toBeLessThan(MiB);
    throttle.destroy();
    await expect(running).rejects.toBeTruthy();
  });

  it('leaves no timer behind when destroyed mid-transfer', async () => {
    const throttle = createThrottle(KiB);
    throttle.write(randomBytes(64 * KiB));
    throttle.resume();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const handles = () =>
      (process as unknown as { getActiveResourcesInfo: () => string[] })
        .getActiveResourcesInfo()
        .filter((name) => name === 'Timeout').length;
    const before = handles();
    throttle.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(handles()).toBeLessThan(before);
  });
});

describe('bandwidth limits in the pipelines', () => {
  it('throttles the upload of a backup and the download of a restore', async () => {
    const data = randomBytes(MiB);
    const backend = createMemoryBackend();
    let started = performance.now();
    const result = await runBackupPipeline({
      artifact: {
        fileName: 'db.sql',
        stream: Readable.from(chunksOf(data, 64 * KiB)),
        completion: Promise.resolve({ backupKind: 'full' }),
      },
      compression: 'none',
      bandwidthLimit: '4M:8M',
      targets: [{ name: 'disk', backend }],
      objectKeyFor: (fileName) => fileName,
      signal: new AbortController().signal,
      log: () => undefined,
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(200);
    started = performance.now();
    const { stream } = await openArtifact(
      { backend, objectKey: result.objectKey, fileName: result.fileName, sha256: result.sha256 },
      { bandwidthLimit: '4M:2M' },
    );
    expect((await readAll(stream)).equals(data)).toBe(true);
    // 1 MiB at 2 MiB/s ≈ 500 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('throttles the copy that retries a failed target, and the copy is complete', async () => {
    const good = createMemoryBackend();
    const flaky = createMemoryBackend();
    flaky.faults.failPutAfterBytes = 10_000;
    flaky.faults.failPutsRemaining = 1;
    const started = performance.now();
    const result = await runBackupPipeline({
      artifact: {
        fileName: 'db.sql',
        stream: Readable.from(chunksOf(randomBytes(512 * KiB), 64 * KiB)),
        completion: Promise.resolve({ backupKind: 'full' }),
      },
      compression: 'none',
      bandwidthLimit: '4M',
      targets: [
        { name: 'good', backend: good },
        { name: 'flaky', backend: flaky },
      ],
      objectKeyFor: (fileName) => fileName,
      signal: new AbortController().signal,
      log: () => undefined,
      retryPolicy: { attempts: 2, delaysMs: [5] },
    });
    expect(result.targets.map((target) => target.status)).toEqual(['success', 'success']);
    expect(
      flaky.objects
        .get(result.objectKey)
        ?.data.equals(good.objects.get(result.objectKey)?.data ?? Buffer.alloc(0)),
    ).toBe(true);
    // 512 KiB streamed, then 512 KiB copied, both at 4 MiB/s: ≈ 250 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(200);
  });

  it('refuses an invalid limit before writing anything', async () => {
    const backend = createMemoryBackend();
    await expect(
      runBackupPipeline({
        artifact: {
          fileName: 'db.sql',
          stream: Readable.from([Buffer.from('x')]),
          completion: Promise.resolve({ backupKind: 'full' }),
        },
        compression: 'none',
        bandwidthLimit: 'fast',
        targets: [{ name: 'disk', backend }],
        objectKeyFor: (fileName) => fileName,
        signal: new AbortController().signal,
        log: () => undefined,
      }),
    ).rejects.toMatchObject({ code: 'BANDWIDTH_LIMIT_INVALID' });
    expect(backend.objects.size).toBe(0);
  });
});
