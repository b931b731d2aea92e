import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, stopChild, waitForPort } from './common.ts';

export interface NginxWebdavService {
  /** WebDAV root URL with a trailing slash, e.g. `http://127.0.0.1:40123/dav/`. */
  url: string;
  port: number;
  username: string;
  password: string;
  /** Directory on disk that `url` serves. */
  dataDirectory: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts Debian's nginx with the DAV and dav-ext modules on 127.0.0.1, a free port and a temp
 * directory, with basic auth (htpasswd from `openssl passwd -apr1`).
 */
export const startNginxWebdav = async (
  options: { nginxPath?: string; davExtModule?: string } = {},
): Promise<NginxWebdavService> => {
  const nginxPath = options.nginxPath ?? '/usr/sbin/nginx';
  const davExtModule = options.davExtModule ?? '/usr/lib/nginx/modules/ngx_http_dav_ext_module.so';
  const directory = await mkdtemp(path.join(tmpdir(), 'backupx-webdav-'));
  const dataDirectory = path.join(directory, 'data');
  const port = await freePort();
  const username = 'backupx';
  const password = randomBytes(12).toString('hex');
  let running: ChildProcess | undefined;
  let output = '';
  try {
    for (const sub of ['data', 'client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
      await mkdir(path.join(directory, sub), { recursive: true });
    }
    const hash = execFileSync('openssl', ['passwd', '-apr1', password], { encoding: 'utf8' }).trim();
    await writeFile(path.join(directory, 'htpasswd'), `${username}:${hash}\n`);
    const asRoot = process.getuid?.() === 0;
    await writeFile(
      path.join(directory, 'nginx.conf'),
      [
        `load_module ${davExtModule};`,
        asRoot ? 'user root root;' : '',
        'daemon off;',
        'worker_processes 1;',
        `pid ${directory}/nginx.pid;`,
        `error_log ${directory}/error.log warn;`,
        'events { worker_connections 256; }',
        'http {',
        '  default_type application/octet-stream;',
        '  access_log off;',
        '  sendfile on;',
        `  client_body_temp_path ${directory}/client_body;`,
        `  proxy_temp_path ${directory}/proxy;`,
        `  fastcgi_temp_path ${directory}/fastcgi;`,
        `  uwsgi_temp_path ${directory}/uwsgi;`,
        `  scgi_temp_path ${directory}/scgi;`,
        '  server {',
        `    listen 127.0.0.1:${port};`,
        '    server_name localhost;',
        '    location /dav/ {',
        `      alias ${dataDirectory}/;`,
        '      dav_methods PUT DELETE MKCOL COPY MOVE;',
        '      dav_ext_methods PROPFIND OPTIONS;',
        '      dav_access user:rw group:rw all:r;',
        '      create_full_put_path on;',
        '      client_max_body_size 0;',
        '      autoindex on;',
        '      auth_basic "BackupX test";',
        `      auth_basic_user_file ${directory}/htpasswd;`,
        '    }',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const launch = async () => {
    output = '';
    const child = spawn(
      nginxPath,
      ['-p', directory, '-e', `${directory}/error.log`, '-c', `${directory}/nginx.conf`],
      {
        cwd: directory,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    running = child;
    try {
      await waitForPort(port, child, 'nginx', 30_000);
    } catch (error) {
      await stopChild(child);
      throw new Error(`${(error as Error).message}\n${output}`, { cause: error });
    }
  };
  const kill = async () => {
    if (running) await stopChild(running);
    running = undefined;
  };
  try {
    await launch();
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}/dav/`,
    port,
    username,
    password,
    dataDirectory,
    kill,
    restart: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      await kill();
      await rm(directory, { recursive: true, force: true });
    },
  };
};
