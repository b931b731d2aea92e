import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStorageContract } from '@backupx/testkit/storage-contract';
import { createLocalDiskBackend } from './local-disk.ts';
import { bufferStream, readAll } from '@backupx/testkit';

let root = '';
let counter = 0;

runStorageContract('local_disk', {
  async setup() {
    root = await mkdtemp(path.join(tmpdir(), 'backupx-local-'));
  },
  create() {
    counter += 1;
    return Promise.resolve(createLocalDiskBackend({ basePath: path.join(root, `target-${counter}`) }));
  },
  async teardown() {
    await rm(root, { recursive: true, force: true });
  },
  reportsUsage: true,
});

describe('local_disk specifics', () => {
  let base = '';
  beforeAll(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'backupx-local-extra-'));
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('refuses to read through a symlink that leaves the root', async () => {
    const outside = path.join(base, 'outside.txt');
    await writeFile(outside, 'secret');
    const storeRoot = path.join(base, 'store');
    await mkdir(storeRoot, { recursive: true });
    await symlink(outside, path.join(storeRoot, 'link.txt'));
    await writeFile(path.join(storeRoot, 'inside.txt'), 'fine');
    await symlink(path.join(storeRoot, 'inside.txt'), path.join(storeRoot, 'inner-link.txt'));
    const backend = createLocalDiskBackend({ basePath: storeRoot });
    await expect(backend.get('link.txt')).rejects.toMatchObject({ code: 'STORAGE_PATH_ESCAPE' });
    await expect(backend.stat('link.txt')).rejects.toMatchObject({ code: 'STORAGE_PATH_ESCAPE' });
    expect((await readAll(await backend.get('inner-link.txt'))).toString()).toBe('fine');
    expect((await backend.list('')).map((entry) => entry.key).sort()).toEqual([
      'inner-link.txt',
      'inside.txt',
    ]);
  });

  it('rejects a source that is shorter than the announced size and keeps nothing', async () => {
    const backend = createLocalDiskBackend({ basePath: path.join(base, 'sized') });
    await expect(backend.put('short.bin', bufferStream('abc'), { sizeBytes: 10 })).rejects.toMatchObject({
      code: 'STORAGE_SIZE_MISMATCH',
    });
    expect(await backend.list('')).toEqual([]);
  });

  it('validates its config', () => {
    expect(() => createLocalDiskBackend({ basePath: 'relative/path' })).toThrow();
  });
});
