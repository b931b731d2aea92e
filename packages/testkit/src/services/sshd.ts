import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { freePort, run, spawnServer, stopProcessTree, waitForPort } from './common.ts';

/** A real OpenSSH server (Debian `openssh-server`) on 127.0.0.1 serving SFTP from a temp dir. */
export interface SshdService {
  host: string;
  port: number;
  /** Login user: a dedicated throw-away local user when running as root, else the current user. */
  user: string;
  /** That user's password, or null when password auth is unavailable (not running as root). */
  password: string | null;
  /** OpenSSH-format ed25519 private key (no passphrase) authorised for `user`. */
  privateKeyPem: string;
  /** A second authorised key, encrypted with `encryptedKeyPassphrase`. */
  encryptedPrivateKeyPem: string;
  encryptedKeyPassphrase: string;
  /** The server's host key as `ssh-keygen -lf` prints it: `SHA256:<base64>`. */
  hostKeySha256: string;
  /** An absolute directory writable by `user`; give each backend a fresh subdirectory. */
  dataDir: string;
  /** Stops the server and every session process; the returned function restarts it on the same port. */
  serverDown(): Promise<() => Promise<void>>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** useradd/userdel take a lock on /etc/passwd; parallel test files may collide, so retry a little. */
const withPasswdLock = async (command: string, args: string[], input?: string): Promise<void> => {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await run(command, args, input);
      return;
    } catch (error) {
      if (attempt >= 20 || !/lock|try again/i.test((error as Error).message)) throw error;
      await sleep(100 + Math.random() * 200);
    }
  }
};

export const startSshd = async (): Promise<SshdService> => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'backupx-sshd-'));
  await chmod(dir, 0o755);
  const dataDir = path.join(dir, 'data');
  await mkdir(dataDir, { mode: 0o755 });
  await mkdir('/run/sshd', { recursive: true }).catch(() => undefined);

  const isRoot = process.getuid?.() === 0;
  let user = os.userInfo().username;
  let password: string | null = null;
  let createdUser: string | null = null;
  if (isRoot) {
    user = `bxsftp${randomBytes(4).toString('hex')}`;
    password = randomBytes(12).toString('base64url');
    await withPasswdLock('useradd', ['-M', '-d', dataDir, '-s', '/bin/sh', user]);
    createdUser = user;
    await withPasswdLock('chpasswd', [], `${user}:${password}\n`);
    const uid = Number((await run('id', ['-u', user])).trim());
    const gid = Number((await run('id', ['-g', user])).trim());
    await chown(dataDir, uid, gid);
  }

  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'hostkey')]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'client_key')]);
  const encryptedKeyPassphrase = randomBytes(9).toString('base64url');
  await run('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    encryptedKeyPassphrase,
    '-f',
    path.join(dir, 'client_key_enc'),
  ]);
  const authorized = [
    await readFile(path.join(dir, 'client_key.pub'), 'utf8'),
    await readFile(path.join(dir, 'client_key_enc.pub'), 'utf8'),
  ].join('');
  await writeFile(path.join(dir, 'authorized_keys'), authorized, { mode: 0o644 });
  const fingerprint = (await run('ssh-keygen', ['-lf', path.join(dir, 'hostkey.pub')])).split(' ')[1] ?? '';

  const port = await freePort();
  const configPath = path.join(dir, 'sshd_config');
  await writeFile(
    configPath,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'hostkey')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'UsePAM yes',
      'StrictModes no',
      'PubkeyAuthentication yes',
      `PasswordAuthentication ${password === null ? 'no' : 'yes'}`,
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'MaxStartups 100',
      'MaxSessions 100',
      'LogLevel ERROR',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );

  let child: ChildProcess | null = null;
  const launch = async () => {
    const server = spawnServer('/usr/sbin/sshd', ['-D', '-e', '-f', configPath]);
    child = server.child;
    try {
      await waitForPort(port, server.child, 'sshd');
    } catch (error) {
      await stopProcessTree(server.child);
      throw new Error(`${(error as Error).message}\n${server.output()}`, { cause: error });
    }
  };
  const halt = async () => {
    if (child) await stopProcessTree(child);
    child = null;
  };
  const cleanup = async () => {
    await halt();
    if (createdUser !== null) await withPasswdLock('userdel', [createdUser]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await launch();
  } catch (error) {
    await cleanup();
    throw error;
  }

  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    privateKeyPem: await readFile(path.join(dir, 'client_key'), 'utf8'),
    encryptedPrivateKeyPem: await readFile(path.join(dir, 'client_key_enc'), 'utf8'),
    encryptedKeyPassphrase,
    hostKeySha256: fingerprint,
    dataDir,
    serverDown: async () => {
      await halt();
      return launch;
    },
    stop: cleanup,
  };
};
