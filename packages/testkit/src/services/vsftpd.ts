import { randomInt } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { freePort, run, spawnServer, stopProcessTree, waitForPort } from './common.ts';

/** A real vsftpd (Debian `vsftpd`) on 127.0.0.1 with anonymous read/write access to a temp dir. */
export interface VsftpdService {
  host: string;
  port: number;
  username: string;
  password: string;
  /** Explicit FTPS (AUTH TLS, self-signed certificate; data connections encrypted too). */
  tls: boolean;
  /**
   * The login directory of anonymous sessions (their `PWD`). vsftpd started with
   * `run_as_launching_user` does not chroot: absolute FTP paths are paths of this machine, so give
   * each backend a fresh *relative* `basePath` under this directory.
   */
  dataDir: string;
  /** Stops the server and every session process; the returned function restarts it on the same port. */
  serverDown(): Promise<() => Promise<void>>;
  stop(): Promise<void>;
}

export const startVsftpd = async (options: { tls?: boolean } = {}): Promise<VsftpdService> => {
  const tls = options.tls === true;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'backupx-vsftpd-'));
  await chmod(dir, 0o755);
  const dataDir = path.join(dir, 'data');
  await mkdir(dataDir, { mode: 0o777 });
  await chmod(dataDir, 0o777);
  await mkdir(path.join(dir, 'empty'), { mode: 0o755 });
  const port = await freePort();
  const pasvMin = randomInt(30_000, 60_000);
  const lines = [
    'listen=YES',
    'listen_ipv6=NO',
    'listen_address=127.0.0.1',
    `listen_port=${port}`,
    'run_as_launching_user=YES',
    'anonymous_enable=YES',
    'local_enable=NO',
    'no_anon_password=YES',
    `anon_root=${dataDir}`,
    'write_enable=YES',
    'anon_upload_enable=YES',
    'anon_mkdir_write_enable=YES',
    'anon_other_write_enable=YES',
    'anon_world_readable_only=NO',
    'anon_umask=022',
    'pasv_enable=YES',
    `pasv_min_port=${pasvMin}`,
    `pasv_max_port=${pasvMin + 200}`,
    'connect_from_port_20=NO',
    'seccomp_sandbox=NO',
    `secure_chroot_dir=${path.join(dir, 'empty')}`,
    'use_localtime=NO',
    'xferlog_enable=NO',
    'max_per_ip=0',
    'max_clients=0',
    'idle_session_timeout=600',
    'data_connection_timeout=300',
  ];
  if (tls) {
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    lines.push(
      'ssl_enable=YES',
      'allow_anon_ssl=YES',
      'force_anon_logins_ssl=YES',
      'force_anon_data_ssl=YES',
      'require_ssl_reuse=NO',
      'ssl_ciphers=HIGH',
      `rsa_cert_file=${cert}`,
      `rsa_private_key_file=${key}`,
    );
  }
  const configPath = path.join(dir, 'vsftpd.conf');
  await writeFile(configPath, `${lines.join('\n')}\n`);

  let child: ChildProcess | null = null;
  const launch = async () => {
    const server = spawnServer('/usr/sbin/vsftpd', [configPath]);
    child = server.child;
    try {
      await waitForPort(port, server.child, 'vsftpd');
    } catch (error) {
      await stopProcessTree(server.child);
      throw new Error(`${(error as Error).message}\n${server.output()}`, { cause: error });
    }
  };
  const halt = async () => {
    if (child) await stopProcessTree(child);
    child = null;
  };
  try {
    await launch();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    host: '127.0.0.1',
    port,
    username: 'anonymous',
    password: '',
    tls,
    dataDir,
    serverDown: async () => {
      await halt();
      return launch;
    },
    stop: async () => {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
  };
};
