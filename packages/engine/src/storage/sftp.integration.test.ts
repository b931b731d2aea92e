import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStorageContract } from '@backupx/testkit/storage-contract';
import { startSshd, type SshdService } from '@backupx/testkit/services/sshd';
import { createSftpBackend } from './sftp.ts';

let sshd: SshdService | null = null;
let starts = 0;
let roots = 0;

/** The login user owns dataDir; the backend creates its root itself (testConnection). */
const freshRoot = (server: SshdService): string => {
  roots += 1;
  return path.join(server.dataDir, `root-${roots}`);
};

const sharedSetup = async () => {
  starts += 1;
  sshd ??= await startSshd();
};
const sharedTeardown = async () => {
  starts -= 1;
  if (starts === 0 && sshd) {
    await sshd.stop();
    sshd = null;
  }
};

runStorageContract('sftp (key auth)', {
  setup: sharedSetup,
  create: () =>
    Promise.resolve(
      createSftpBackend({
        host: sshd!.host,
        port: sshd!.port,
        user: sshd!.user,
        key_pem: sshd!.privateKeyPem,
        host_key_sha256: sshd!.hostKeySha256,
        root: freshRoot(sshd!),
      }),
    ),
  teardown: sharedTeardown,
  faults: { serverDown: () => sshd!.serverDown() },
  reportsUsage: true,
});

describe('sftp authentication and host keys', () => {
  let server: SshdService;
  beforeAll(async () => {
    server = await startSshd();
  }, 120_000);
  afterAll(async () => {
    await server.stop();
  });

  it('logs in with a password', async (context) => {
    if (server.password === null) {
      context.skip('password auth needs root to create a local user');
      return;
    }
    const backend = createSftpBackend({
      host: server.host,
      port: server.port,
      user: server.user,
      pass: server.password,
      host_key_sha256: server.hostKeySha256,
      root: path.join(server.dataDir, 'password'),
    });
    try {
      await backend.testConnection();
      const { bufferStream, readAll } = await import('@backupx/testkit');
      await backend.put('p/hello.txt', bufferStream('hello'), {});
      expect((await readAll(await backend.get('p/hello.txt'))).toString()).toBe('hello');
    } finally {
      await backend.close();
    }
  });

  it('rejects a wrong password as an authentication failure (not retryable)', async (context) => {
    if (server.password === null) {
      context.skip('password auth needs root to create a local user');
      return;
    }
    const backend = createSftpBackend({
      host: server.host,
      port: server.port,
      user: server.user,
      pass: `${server.password}-wrong`,
      root: path.join(server.dataDir, 'wrong'),
    });
    await expect(backend.testConnection()).rejects.toMatchObject({
      code: 'STORAGE_AUTH_FAILED',
      retryable: false,
    });
    await backend.close();
  });

  it('logs in with a passphrase-protected key and warns once without a host key', async () => {
    const warnings: string[] = [];
    const backend = createSftpBackend(
      {
        host: server.host,
        port: server.port,
        user: server.user,
        key_pem: server.encryptedPrivateKeyPem,
        key_file_pass: server.encryptedKeyPassphrase,
        root: path.join(server.dataDir, 'enc'),
      },
      { log: (level, message) => level === 'warn' && warnings.push(message) },
    );
    try {
      await backend.testConnection();
      await backend.list('');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(server.hostKeySha256);
    } finally {
      await backend.close();
    }
  });

  it('refuses a server whose host key does not match the fingerprint', async () => {
    await mkdir(path.join(server.dataDir, 'mismatch'), { recursive: true });
    const backend = createSftpBackend({
      host: server.host,
      port: server.port,
      user: server.user,
      key_pem: server.privateKeyPem,
      host_key_sha256: 'SHA256:' + Buffer.alloc(32, 7).toString('base64').replace(/=+$/, ''),
      root: path.join(server.dataDir, 'mismatch'),
    });
    await expect(backend.testConnection()).rejects.toMatchObject({
      code: 'STORAGE_HOST_KEY_MISMATCH',
      retryable: false,
    });
    await backend.close();
  });
});
