import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStorageContract } from '@backupx/testkit/storage-contract';
import { startFaultProxy, type FaultProxy } from '@backupx/testkit';
import { startNginxWebdav, type NginxWebdavService } from '@backupx/testkit/services/nginx-webdav';
import { bufferStream, readAll } from '@backupx/testkit';
import { createWebdavBackend } from './webdav.ts';

let server: NginxWebdavService;
let proxy: FaultProxy;

const startAll = async () => {
  server = await startNginxWebdav();
  proxy = await startFaultProxy(server.url);
};
const stopAll = async () => {
  await proxy.close();
  await server.stop();
};

const backendFor = (basePath: string, credentials: { username?: string; password?: string } = {}) =>
  createWebdavBackend({
    endpoint: `${proxy.url}/dav/`,
    username: credentials.username ?? server.username,
    password: credentials.password ?? server.password,
    basePath,
  });

runStorageContract('webdav', {
  setup: startAll,
  create: () => Promise.resolve(backendFor(`targets/t-${randomBytes(4).toString('hex')}`)),
  teardown: stopAll,
  faults: {
    flaky: (count) => proxy.failNext(count),
    serverDown: async () => {
      await server.kill();
      return () => server.restart();
    },
  },
});

describe('webdav specifics (nginx)', () => {
  beforeAll(startAll, 120_000);
  afterAll(stopAll);

  it('handles names that need percent-encoding', async () => {
    const backend = backendFor('odd names/ünï');
    await backend.testConnection();
    await backend.put('dir with space/a+b&c%d#e.txt', bufferStream('odd'));
    expect((await backend.list('')).map((entry) => entry.key)).toEqual(['dir with space/a+b&c%d#e.txt']);
    expect((await readAll(await backend.get('dir with space/a+b&c%d#e.txt'))).toString()).toBe('odd');
    expect((await backend.stat('dir with space/a+b&c%d#e.txt'))?.sizeBytes).toBe(3);
  });

  it('leaves no temporary file on the server after uploads', async () => {
    const backend = backendFor('clean');
    await backend.put('x/y.bin', bufferStream('data'));
    expect(await readdir(`${server.dataDirectory}/clean/x`)).toEqual(['y.bin']);
  });

  it('reports no usage when the server has no quota properties', async () => {
    expect(await backendFor('quota').usage()).toBeNull();
  });

  it('fails with a non-retryable error on wrong credentials', async () => {
    const backend = backendFor('auth', { password: 'wrong' });
    await expect(backend.testConnection()).rejects.toMatchObject({
      code: 'STORAGE_REQUEST_FAILED',
      retryable: false,
    });
  });
});
