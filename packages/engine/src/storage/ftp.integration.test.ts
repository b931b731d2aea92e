import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { runStorageContract } from '@backupx/testkit/storage-contract';
import { startVsftpd, type VsftpdService } from '@backupx/testkit/services/vsftpd';
import { createFtpBackend } from './ftp.ts';

for (const tls of [false, true]) {
  let server: VsftpdService | null = null;
  let roots = 0;
  runStorageContract(tls ? 'ftps' : 'ftp', {
    setup: async () => {
      server = await startVsftpd({ tls });
    },
    create: async () => {
      roots += 1;
      // vsftpd runs unprivileged-style without chroot: keep basePath relative to the login dir.
      const basePath = `root-${roots}`;
      await mkdir(path.join(server!.dataDir, basePath), { recursive: true, mode: 0o777 });
      return createFtpBackend({
        host: server!.host,
        port: server!.port,
        username: server!.username,
        password: server!.password,
        basePath,
        useTLS: tls,
        insecureSkipVerify: tls,
      });
    },
    teardown: async () => {
      await server?.stop();
      server = null;
    },
    faults: { serverDown: () => server!.serverDown() },
  });
}
