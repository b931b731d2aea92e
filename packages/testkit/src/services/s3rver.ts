import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A free TCP port on 127.0.0.1 (bound and released; good enough for tests on loopback). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });

/** Resolves once something accepts TCP connections on the port; fails after `timeoutMs`. */
export const waitForPort = async (
  port: number,
  options: { timeoutMs?: number; child?: ChildProcess; name?: string } = {},
): Promise<void> => {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (options.child && options.child.exitCode !== null) {
      throw new Error(
        `${options.name ?? 'service'} exited with code ${options.child.exitCode} before listening`,
      );
    }
    if (Date.now() > deadline) throw new Error(`${options.name ?? 'service'} did not listen on port ${port}`);
    await sleep(100);
  }
};

/** Stops a child process by PID: SIGTERM, then SIGKILL after `graceMs`. */
export const stopChild = async (child: ChildProcess, graceMs = 5000): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
};

/** Spawns `node <script> …args` with the running Node, keeping the last lines of output for errors. */
export const spawnNodeScript = (
  script: string,
  args: string[],
  cwd: string,
): { child: ChildProcess; output: () => string } => {
  const child = spawn(process.execPath, [script, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return { child, output: () => output };
};

const require = createRequire(import.meta.url);

export interface S3rverService {
  /** Endpoint for the S3 client, e.g. `http://127.0.0.1:40123` (path-style). */
  url: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** The bucket configured at start. */
  bucket: string;
  /** Data directory (kept across `restart`). */
  directory: string;
  /** Stops the process but keeps the data directory and port for `restart`. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `s3rver` (keys S3RVER/S3RVER) on 127.0.0.1, a free port and a temp data directory. */
export const startS3rver = async (options: { bucket?: string } = {}): Promise<S3rverService> => {
  const script = path.join(path.dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
  const directory = await mkdtemp(path.join(tmpdir(), 'backupx-s3rver-'));
  const port = await freePort();
  const bucket = options.bucket ?? 'test';
  let running: { child: ChildProcess; output: () => string } | undefined;
  const launch = async () => {
    running = spawnNodeScript(
      script,
      ['-d', directory, '-a', '127.0.0.1', '-p', String(port), '--configure-bucket', bucket, '--silent'],
      directory,
    );
    try {
      await waitForPort(port, { child: running.child, name: 's3rver' });
    } catch (error) {
      const output = running.output();
      await stopChild(running.child);
      throw new Error(`${(error as Error).message}\n${output}`, { cause: error });
    }
  };
  const kill = async () => {
    if (running) await stopChild(running.child);
    running = undefined;
  };
  try {
    await launch();
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    region: 'us-east-1',
    bucket,
    directory,
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
