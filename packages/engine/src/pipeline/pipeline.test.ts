import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createMemoryBackend, digestStream, patternStream, readAll } from '@backupx/testkit';
import type { SourceArtifact } from '../sources/types.ts';
import { runBackupPipeline } from './backup-pipeline.ts';
import { createCompressor, createDecompressor, layersFromFileName, type Compression } from './compression.ts';
import { fanOut } from './fanout.ts';
import { openArtifact } from './restore-pipeline.ts';

const MiB = 1024 * 1024;
const quiet = () => undefined;
const fastRetry = { attempts: 3, delaysMs: [5, 10] };

const artifactOf = (data: Buffer | Readable, fileName = 'web_20260421T020000.tar'): SourceArtifact => ({
  fileName,
  stream: Buffer.isBuffer(data) ? Readable.from([data]) : data,
  completion: Promise.resolve({ backupKind: 'full' }),
});

describe('compression', () => {
  it.each(['zstd', 'gzip', 'none'] as Compression[])('%s round-trips', async (compression) => {
    const data = Buffer.concat([randomBytes(MiB), Buffer.alloc(2 * MiB, 'abc')]);
    const compressed = await readAll(Readable.from([data]).pipe(createCompressor(compression)));
    if (compression !== 'none') expect(compressed.length).toBeLessThan(data.length);
    expect(
      (await readAll(Readable.from([compressed]).pipe(createDecompressor(compression)))).equals(data),
    ).toBe(true);
  });

  it('reads layers from file names in BackupX order', () => {
    expect(layersFromFileName('web_20260421T020000.tar.gz.enc')).toEqual({
      encrypted: true,
      compression: 'gzip',
      artifactName: 'web_20260421T020000.tar',
    });
    expect(layersFromFileName('db.sql.zst')).toEqual({
      encrypted: false,
      compression: 'zstd',
      artifactName: 'db.sql',
    });
    expect(layersFromFileName('plain.sqlite')).toEqual({
      encrypted: false,
      compression: 'none',
      artifactName: 'plain.sqlite',
    });
  });
});

describe('fanOut', () => {
  it('feeds every consumer the same bytes at the pace of the slowest', async () => {
    const outcomes = await fanOut(patternStream(20 * MiB, { seed: 3 }), [
      { name: 'fast', consume: (branch) => digestStream(branch) },
      {
        name: 'slow',
        consume: async (branch) => {
          const slowed = new PassThrough();
          branch.on('data', (chunk: Buffer) => {
            branch.pause();
            slowed.write(chunk);
            setTimeout(() => branch.resume(), 1);
          });
          branch.on('end', () => slowed.end());
          return digestStream(slowed);
        },
      },
    ]);
    const expected = await digestStream(patternStream(20 * MiB, { seed: 3 }));
    expect(outcomes).toEqual([
      { status: 'fulfilled', value: expected },
      { status: 'fulfilled', value: expected },
    ]);
  });

  it('cuts off a failing consumer and lets the others finish', async () => {
    const outcomes = await fanOut(patternStream(8 * MiB), [
      {
        name: 'dies',
        consume: async (branch) => {
          let seen = 0;
          for await (const chunk of branch) {
            seen += (chunk as Buffer).length;
            if (seen > MiB) throw new Error('boom');
          }
          return seen;
        },
      },
      { name: 'lives', consume: async (branch) => (await digestStream(branch)).sizeBytes },
    ]);
    expect(outcomes[0]?.status).toBe('rejected');
    expect(outcomes[1]).toEqual({ status: 'fulfilled', value: 8 * MiB });
  });
});

describe('backup pipeline', () => {
  it.each([
    ['zstd', true],
    ['zstd', false],
    ['gzip', true],
    ['gzip', false],
    ['none', true],
    ['none', false],
  ] as const)(
    'writes %s (encrypted: %s) to every target and reads back byte-exact',
    async (compression, encrypted) => {
      const key = randomBytes(32);
      const data = Buffer.concat([randomBytes(3 * MiB), Buffer.alloc(5 * MiB, 'compressible ')]);
      const targets = [createMemoryBackend(), createMemoryBackend()];
      const result = await runBackupPipeline({
        artifact: artifactOf(data),
        compression,
        ...(encrypted ? { encryptionKey: key } : {}),
        targets: targets.map((backend, index) => ({ name: `t${index}`, backend })),
        objectKeyFor: (fileName) => `BackupX/file/260421/${fileName}`,
        signal: new AbortController().signal,
        log: quiet,
      });
      const suffix = { zstd: '.zst', gzip: '.gz', none: '' }[compression] + (encrypted ? '.enc' : '');
      expect(result.fileName).toBe(`web_20260421T020000.tar${suffix}`);
      expect(result.targets.map((target) => target.status)).toEqual(['success', 'success']);
      for (const backend of targets) {
        const stored = backend.objects.get(result.objectKey)?.data;
        expect(stored?.length).toBe(result.sizeBytes);
        const { stream } = await openArtifact(
          { backend, objectKey: result.objectKey, fileName: result.fileName, sha256: result.sha256 },
          encrypted ? { decryptionKey: key } : {},
        );
        expect((await readAll(stream)).equals(data)).toBe(true);
      }
    },
  );

  it('refuses a corrupted artifact on read (checksum, or authentication when encrypted)', async () => {
    for (const encrypted of [false, true]) {
      const key = randomBytes(32);
      const backend = createMemoryBackend();
      const result = await runBackupPipeline({
        artifact: artifactOf(randomBytes(2 * MiB)),
        compression: 'none',
        ...(encrypted ? { encryptionKey: key } : {}),
        targets: [{ name: 'only', backend }],
        objectKeyFor: (fileName) => fileName,
        signal: new AbortController().signal,
        log: quiet,
      });
      const stored = backend.objects.get(result.objectKey);
      if (!stored) throw new Error('missing');
      stored.data[stored.data.length >> 1] = (stored.data[stored.data.length >> 1] ?? 0) ^ 1;
      const { stream } = await openArtifact(
        { backend, objectKey: result.objectKey, fileName: result.fileName, sha256: result.sha256 },
        encrypted ? { decryptionKey: key } : {},
      );
      // Per-frame authentication or the whole-object checksum, whichever notices first.
      await expect(readAll(stream)).rejects.toMatchObject({
        code: encrypted
          ? expect.stringMatching(/^(ARTIFACT_DECRYPT_FAILED|BACKUP_CHECKSUM_MISMATCH)$/)
          : 'BACKUP_CHECKSUM_MISMATCH',
      });
    }
  });

  it('retries a failed target by copying from one that succeeded', async () => {
    const good = createMemoryBackend();
    const flaky = createMemoryBackend();
    flaky.faults.failPutAfterBytes = 100_000;
    flaky.faults.failPutsRemaining = 2; // the streamed attempt and the first copy fail, the second copy works
    const logged: string[] = [];
    const result = await runBackupPipeline({
      artifact: artifactOf(randomBytes(2 * MiB)),
      compression: 'zstd',
      targets: [
        { name: 'good', backend: good },
        { name: 'flaky', backend: flaky },
      ],
      objectKeyFor: (fileName) => fileName,
      signal: new AbortController().signal,
      log: (_level, message) => logged.push(message),
      retryPolicy: fastRetry,
    });
    expect(result.targets.map((target) => target.status)).toEqual(['success', 'success']);
    expect(
      flaky.objects
        .get(result.objectKey)
        ?.data.equals(good.objects.get(result.objectKey)?.data ?? Buffer.alloc(0)),
    ).toBe(true);
    expect(logged.some((line) => line.includes('copying from good'))).toBe(true);
  });

  it('keeps the record of a target that stays down and succeeds with the others', async () => {
    const good = createMemoryBackend();
    const down = createMemoryBackend();
    down.faults.failPutAfterBytes = 0;
    down.faults.failPutsRemaining = 10;
    const result = await runBackupPipeline({
      artifact: artifactOf(randomBytes(MiB)),
      compression: 'none',
      targets: [
        { name: 'good', backend: good },
        { name: 'down', backend: down },
      ],
      objectKeyFor: (fileName) => fileName,
      signal: new AbortController().signal,
      log: quiet,
      retryPolicy: fastRetry,
    });
    expect(result.targets[0]?.status).toBe('success');
    expect(result.targets[1]).toMatchObject({ status: 'failed', name: 'down' });
    expect(result.targets[1]?.error).toContain('storage target "down"');
    expect(down.objects.size).toBe(0);
  });

  it('fails with every target named when all fail, leaving nothing stored', async () => {
    const a = createMemoryBackend();
    const b = createMemoryBackend();
    for (const backend of [a, b]) {
      backend.faults.failPutAfterBytes = 10;
      backend.faults.failPutsRemaining = 5;
    }
    await expect(
      runBackupPipeline({
        artifact: artifactOf(randomBytes(MiB)),
        compression: 'none',
        targets: [
          { name: 'alpha', backend: a },
          { name: 'bravo', backend: b },
        ],
        objectKeyFor: (fileName) => fileName,
        signal: new AbortController().signal,
        log: quiet,
      }),
    ).rejects.toMatchObject({
      code: 'BACKUP_UPLOAD_FAILED',
      message: expect.stringMatching(/alpha: .*bravo: /) as unknown,
    });
    expect(a.objects.size + b.objects.size).toBe(0);
  });

  it('removes what it wrote when the source fails after the stream ended', async () => {
    const backend = createMemoryBackend();
    const artifact: SourceArtifact = {
      fileName: 'db_20260421_020000.sql',
      stream: Readable.from([Buffer.from('-- partial dump')]),
      completion: Promise.reject(new Error('mysqldump exited with code 2')),
    };
    artifact.completion.catch(() => undefined);
    await expect(
      runBackupPipeline({
        artifact,
        compression: 'gzip',
        targets: [{ name: 'disk', backend }],
        objectKeyFor: (f) => f,
        signal: new AbortController().signal,
        log: quiet,
      }),
    ).rejects.toMatchObject({ message: expect.stringContaining('mysqldump exited with code 2') as unknown });
    expect(backend.objects.size).toBe(0);
  });

  it('stops on cancel and leaves nothing behind', async () => {
    const backend = createMemoryBackend();
    const controller = new AbortController();
    const slow = patternStream(64 * MiB, { delayEveryBytes: MiB, delayMs: 20 });
    const running = runBackupPipeline({
      artifact: artifactOf(slow),
      compression: 'zstd',
      targets: [{ name: 'disk', backend }],
      objectKeyFor: (f) => f,
      signal: controller.signal,
      log: quiet,
    });
    await sleep(150);
    controller.abort();
    await expect(running).rejects.toMatchObject({ code: 'ENGINE_CANCELLED' });
    expect(backend.objects.size).toBe(0);
  });

  it('reports progress at most every 500 ms and a final 100 %', async () => {
    const reports: { bytesSent: number; percent?: number }[] = [];
    await runBackupPipeline({
      artifact: artifactOf(patternStream(16 * MiB, { delayEveryBytes: 2 * MiB, delayMs: 150 })),
      compression: 'none',
      targets: [{ name: 'disk', backend: createMemoryBackend() }],
      objectKeyFor: (f) => f,
      signal: new AbortController().signal,
      log: quiet,
      onProgress: (progress) => reports.push(progress),
    });
    expect(reports.length).toBeGreaterThan(1);
    expect(reports.at(-1)).toMatchObject({ bytesSent: 16 * MiB, percent: 100 });
    expect(reports.length).toBeLessThan(10);
  });
});
