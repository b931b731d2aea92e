import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { runStorageContract } from '@backupx/testkit/storage-contract';
import { freePort, spawnServer, stopProcessTree, waitForPort } from '@backupx/testkit/services/common';
import { startSshd, type SshdService } from '@backupx/testkit/services/sshd';
import { createRcloneBackend } from './rclone.ts';

let counter = 0;
const next = () => (counter += 1);

{
  let dir = '';
  runStorageContract('rclone local', {
    setup: async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'backupx-rclone-local-'));
    },
    create: () =>
      Promise.resolve(createRcloneBackend({ backend: 'local', root: path.join(dir, `root-${next()}`) })),
    teardown: () => rm(dir, { recursive: true, force: true }),
    reportsUsage: true,
  });
}

{
  let sshd: SshdService | null = null;
  runStorageContract('rclone sftp', {
    setup: async () => {
      sshd = await startSshd();
    },
    create: () => {
      const server = sshd!;
      const auth = server.password !== null ? { pass: server.password } : { key_pem: server.privateKeyPem };
      return Promise.resolve(
        createRcloneBackend({
          backend: 'sftp',
          host: server.host,
          port: server.port,
          user: server.user,
          ...auth,
          shell_type: 'none',
          disable_hashcheck: true,
          root: path.join(server.dataDir, `root-${next()}`),
        }),
      );
    },
    teardown: async () => {
      await sshd?.stop();
      sshd = null;
    },
    faults: { serverDown: () => sshd!.serverDown() },
  });
}

{
  /** `rclone serve webdav` on loopback, restartable on the same port. */
  let dir = '';
  let port = 0;
  let server: ChildProcess | null = null;
  const user = 'backupx';
  const pass = 'webdav-secret';
  const launch = async () => {
    const started = spawnServer('rclone', [
      '--config',
      path.join(dir, 'empty.conf'),
      'serve',
      'webdav',
      path.join(dir, 'data'),
      '--addr',
      `127.0.0.1:${port}`,
      '--user',
      user,
      '--pass',
      pass,
    ]);
    server = started.child;
    try {
      await waitForPort(port, started.child, 'rclone serve webdav');
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${started.output()}`, { cause: error });
    }
  };
  const halt = async () => {
    if (server) await stopProcessTree(server);
    server = null;
  };
  runStorageContract('rclone webdav', {
    setup: async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'backupx-rclone-webdav-'));
      port = await freePort();
      await launch();
    },
    create: () =>
      Promise.resolve(
        createRcloneBackend({
          backend: 'webdav',
          url: `http://127.0.0.1:${port}/`,
          vendor: 'other',
          user,
          pass,
          root: `root-${next()}`,
        }),
      ),
    teardown: async () => {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
    faults: {
      serverDown: async () => {
        await halt();
        return launch;
      },
    },
  });
}
