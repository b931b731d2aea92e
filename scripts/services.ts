// Makes sure the real services the tests use are installed and running; fails loudly when it cannot.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';

const say = (text: string) => process.stdout.write(`[services] ${text}\n`);

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

export class ServiceSetupError extends Error {}

const portOpen = (port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });

const waitForPort = async (port: number, seconds: number): Promise<boolean> => {
  for (let i = 0; i < seconds * 4; i += 1) {
    if (await portOpen(port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
};

let aptUpdated = false;
/** Installs Debian packages (idempotent); needs root. */
export const aptInstall = (packages: string[]): void => {
  const missing = packages.filter((pkg) => spawnSync('dpkg', ['-s', pkg], { stdio: 'ignore' }).status !== 0);
  if (missing.length === 0) return;
  if (!isRoot()) {
    throw new ServiceSetupError(
      `Missing Debian packages: ${missing.join(' ')}. Install them with: sudo apt-get install -y ${missing.join(' ')}`,
    );
  }
  say(`installing ${missing.join(', ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    aptUpdated = true;
  }
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env,
  });
};

/** PostgreSQL on 127.0.0.1:5432 (trust auth), as on this machine kind; started if it is installed but down. */
export const ensurePostgres = async (): Promise<void> => {
  if (process.env.BACKUPX_TEST_PG_URL !== undefined) return;
  if (await portOpen(5432)) return;
  if (!existsSync('/etc/postgresql')) aptInstall(['postgresql']);
  for (const version of readdirSync('/etc/postgresql')) {
    say(`starting PostgreSQL ${version}`);
    spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit' });
  }
  if (!(await waitForPort(5432, 30))) {
    throw new ServiceSetupError(
      'PostgreSQL is not listening on 127.0.0.1:5432 and could not be started. Start it, or set BACKUPX_TEST_PG_URL.',
    );
  }
};

export const chromiumPath = '/usr/bin/chromium';

/** Debian Chromium for browser tests (no browser downloads are possible here). */
export const ensureChromium = (): void => {
  if (existsSync(chromiumPath)) return;
  aptInstall(['chromium', 'fonts-noto-cjk']);
  if (!existsSync(chromiumPath))
    throw new ServiceSetupError(`Chromium is still missing at ${chromiumPath} after installing it.`);
};

/** Debian packages behind the real servers and tools the integration tests use. */
export const integrationPackages = [
  'openssh-server',
  'vsftpd',
  'nginx-light',
  'libnginx-mod-http-dav-ext',
  'rclone',
  'restic',
  'sqlite3',
  'mariadb-client',
  'postgresql-client',
  'zstd',
  'openssl',
];

/** MariaDB on 127.0.0.1:3306 (root, no password), as on this machine kind; started if down. */
export const ensureMariadb = async (): Promise<void> => {
  if (await portOpen(3306)) return;
  if (spawnSync('which', ['mariadbd'], { stdio: 'ignore' }).status !== 0) aptInstall(['mariadb-server']);
  say('starting MariaDB');
  spawnSync('start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', '/usr/sbin/mariadbd'], {
    stdio: 'inherit',
  });
  if (!(await waitForPort(3306, 60))) {
    throw new ServiceSetupError('MariaDB is not listening on 127.0.0.1:3306 and could not be started.');
  }
};
