import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { freePort, spawnNodeScript, stopChild, waitForPort } from './common.ts';

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
      await waitForPort(port, running.child, 's3rver', 30_000);
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
