import { createHash } from 'node:crypto';
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import type { StorageBackend } from '@backupx/engine';
import { isPartialKey, resilientBackend } from '@backupx/engine';
import { bufferStream, digestStream, patternStream, readAll } from './streams.ts';

/**
 * How a backend's test file plugs into the shared contract suite: it starts its real server on
 * loopback in `setup`, and hands out fresh backends rooted in an empty directory/bucket/container.
 */
export interface StorageFixture {
  /** Starts servers; called once. */
  setup(): Promise<void>;
  /** A backend on a fresh, empty root. */
  create(): Promise<StorageBackend>;
  teardown(): Promise<void>;
  /**
   * Fault injection, where the fixture can: `serverDown` makes the server unreachable until the
   * returned function restores it; `flaky(n)` makes the next n requests fail with a server error.
   */
  faults?: {
    serverDown?: () => Promise<() => Promise<void>>;
    flaky?: (count: number) => void;
  };
  /** Size of the large-object round trip; default BACKUPX_TEST_LARGE_BYTES or 1 GiB. */
  largeObjectBytes?: number;
  /** Whether `usage()` must return figures (local disk, WebDAV with quota, rclone local). */
  reportsUsage?: boolean;
}

const MiB = 1024 * 1024;
const fastRetries = { attempts: 3, delaysMs: [50, 100] };

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Runs the storage contract (SPEC §4.1 and issue 3's list) against one backend. */
export const runStorageContract = (name: string, fixture: StorageFixture): void => {
  describe(`storage contract: ${name}`, () => {
    let backend: StorageBackend;
    beforeAll(async () => {
      await fixture.setup();
      backend = await fixture.create();
    }, 300_000);
    afterAll(async () => {
      await backend.close();
      await fixture.teardown();
    }, 120_000);

    it('tests the connection on an empty root and lists nothing', async () => {
      await backend.testConnection();
      expect(await backend.list('')).toEqual([]);
    });

    it('round-trips small and empty objects with exact bytes and sizes', async () => {
      const data = Buffer.from('héllo BackupX ✓\n'.repeat(1000));
      const put = await backend.put('small.txt', bufferStream(data), {
        sizeBytes: data.length,
        metadata: { taskId: '1', recordId: '2' },
      });
      expect(put.sizeBytes).toBe(data.length);
      expect((await readAll(await backend.get('small.txt'))).equals(data)).toBe(true);
      expect((await backend.stat('small.txt'))?.sizeBytes).toBe(data.length);
      const empty = await backend.put('empty.bin', bufferStream(Buffer.alloc(0)), { sizeBytes: 0 });
      expect(empty.sizeBytes).toBe(0);
      expect((await readAll(await backend.get('empty.bin'))).length).toBe(0);
      expect((await backend.stat('empty.bin'))?.sizeBytes).toBe(0);
    });

    it('streams an object of unknown size', async () => {
      const put = await backend.put('unknown-size.bin', patternStream(3 * MiB + 17, { seed: 7 }));
      expect(put.sizeBytes).toBe(3 * MiB + 17);
      const expected = await digestStream(patternStream(3 * MiB + 17, { seed: 7 }));
      expect(await digestStream(await backend.get('unknown-size.bin'))).toEqual(expected);
    });

    it('stores nested keys and lists by prefix (recursive, relative keys)', async () => {
      for (const key of ['tree/a/one.bin', 'tree/a/b/two.bin', 'tree/c/three.bin', 'treehouse.bin']) {
        await backend.put(key, bufferStream(key), { sizeBytes: key.length });
      }
      const listed = (await backend.list('tree/')).map((entry) => `${entry.key}:${entry.sizeBytes}`).sort();
      expect(listed).toEqual(['tree/a/b/two.bin:16', 'tree/a/one.bin:14', 'tree/c/three.bin:16']);
      expect((await backend.list('tree/a/')).map((entry) => entry.key).sort()).toEqual([
        'tree/a/b/two.bin',
        'tree/a/one.bin',
      ]);
      expect(await backend.list('no/such/prefix/')).toEqual([]);
      const all = await backend.list('');
      expect(
        all.every((entry) => entry.updatedAt instanceof Date && !Number.isNaN(entry.updatedAt.getTime())),
      ).toBe(true);
    });

    it('overwrites an existing key', async () => {
      await backend.put('over.txt', bufferStream('first version, longer'), {});
      await backend.put('over.txt', bufferStream('second'), {});
      expect((await readAll(await backend.get('over.txt'))).toString()).toBe('second');
      expect((await backend.stat('over.txt'))?.sizeBytes).toBe(6);
    });

    it('reads byte ranges', async () => {
      const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
      await backend.put('ranged.bin', bufferStream(data), { sizeBytes: data.length });
      expect(
        (await readAll(await backend.get('ranged.bin', { offset: 1000, length: 5000 }))).equals(
          data.subarray(1000, 6000),
        ),
      ).toBe(true);
      expect(
        (await readAll(await backend.get('ranged.bin', { offset: 299_990 }))).equals(data.subarray(299_990)),
      ).toBe(true);
    });

    it('treats missing keys: stat null, get STORAGE_NOT_FOUND, delete is fine', async () => {
      expect(await backend.stat('missing/nothing.bin')).toBeNull();
      await expect(backend.get('missing/nothing.bin').then(readAll)).rejects.toMatchObject({
        code: 'STORAGE_NOT_FOUND',
      });
      await backend.delete('missing/nothing.bin');
    });

    it('deletes objects and removes empty directories', async () => {
      await backend.put('gone/deep/x.bin', bufferStream('x'), {});
      await backend.delete('gone/deep/x.bin');
      expect(await backend.stat('gone/deep/x.bin')).toBeNull();
      await backend.removeEmptyDirs('gone/');
      expect(await backend.list('gone/')).toEqual([]);
    });

    it('refuses unsafe keys before touching the server', async () => {
      for (const key of ['../escape.bin', '/absolute.bin', 'a/../../b', 'a//b', 'back\\slash']) {
        await expect(backend.put(key, bufferStream('x'), {}), key).rejects.toMatchObject({
          code: 'STORAGE_KEY_INVALID',
        });
        await expect(backend.get(key), key).rejects.toMatchObject({ code: 'STORAGE_KEY_INVALID' });
      }
    });

    it('leaves nothing behind when an upload is aborted midway', async () => {
      const controller = new AbortController();
      const body = patternStream(64 * MiB, { delayEveryBytes: MiB, delayMs: 20 });
      setTimeout(() => controller.abort(new Error('stop')), 300);
      await expect(backend.put('aborted.bin', body, { signal: controller.signal })).rejects.toBeTruthy();
      expect(await backend.stat('aborted.bin')).toBeNull();
      const leftovers = (await backend.list('')).filter(
        (entry) => entry.key.includes('aborted') || isPartialKey(entry.key),
      );
      expect(leftovers).toEqual([]);
    });

    it('leaves nothing behind when the source stream fails midway', async () => {
      await expect(
        backend.put('broken.bin', patternStream(16 * MiB, { failAfterBytes: 4 * MiB }), {}),
      ).rejects.toBeTruthy();
      expect(await backend.stat('broken.bin')).toBeNull();
      expect(
        (await backend.list('')).filter((entry) => entry.key.includes('broken') || isPartialKey(entry.key)),
      ).toEqual([]);
    });

    it('keeps the previous object intact when an overwrite fails', async () => {
      await backend.put('keep.bin', bufferStream('the good copy'), {});
      await expect(
        backend.put('keep.bin', patternStream(8 * MiB, { failAfterBytes: MiB }), {}),
      ).rejects.toBeTruthy();
      expect((await readAll(await backend.get('keep.bin'))).toString()).toBe('the good copy');
    });

    it('reports usage or says it cannot', async () => {
      const usage = await backend.usage();
      if (fixture.reportsUsage === true) {
        expect(usage).not.toBeNull();
        expect((usage?.totalBytes ?? usage?.usedBytes ?? -1) >= 0).toBe(true);
      } else if (usage !== null) {
        expect(typeof usage).toBe('object');
      }
    });

    it('round-trips a large object byte-exactly, streaming', async () => {
      const size = fixture.largeObjectBytes ?? Number(process.env.BACKUPX_TEST_LARGE_BYTES ?? 1024 * MiB);
      const expected = await digestStream(patternStream(size, { seed: 42 }));
      const put = await backend.put('large/object.bin', patternStream(size, { seed: 42 }), {
        sizeBytes: size,
      });
      expect(put.sizeBytes).toBe(size);
      expect(await digestStream(await backend.get('large/object.bin'))).toEqual(expected);
      await backend.delete('large/object.bin');
    }, 900_000);

    if (fixture.faults?.flaky) {
      const flaky = fixture.faults.flaky;
      it('retries server errors and succeeds', async () => {
        const resilient = resilientBackend(backend, `${name} target`, fastRetries);
        await resilient.put('flaky.txt', bufferStream('ok'), {});
        flaky(2);
        expect((await readAll(await resilient.get('flaky.txt'))).toString()).toBe('ok');
        flaky(2);
        expect((await resilient.list('')).some((entry) => entry.key === 'flaky.txt')).toBe(true);
      });
    }

    if (fixture.faults?.serverDown) {
      const serverDown = fixture.faults.serverDown;
      it('fails with a clear error naming the target after 3 attempts when the server is down', async () => {
        const resilient = resilientBackend(backend, `${name} target`, fastRetries);
        const bring = await serverDown();
        try {
          const error = (await resilient.list('').then(
            () => null,
            (caught: unknown) => caught,
          )) as { code?: string; message?: string } | null;
          expect(error?.code).toBe('STORAGE_OPERATION_FAILED');
          expect(error?.message).toContain(`storage target "${name} target"`);
          expect(error?.message).toContain('after 3 attempts');
        } finally {
          await bring();
        }
        await resilient.testConnection();
      }, 120_000);
    }

    it('hashes what it stored (sanity of the suite itself)', () => {
      expect(sha256(Buffer.from('abc'))).toBe(
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      );
    });
  });
};
