import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, spawnNodeScript, stopChild, waitForPort } from './common.ts';

const require = createRequire(import.meta.url);

/** Azurite's well-known development account. */
export const azuriteAccount = 'devstoreaccount1';
export const azuriteAccountKey =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteService {
  /** Blob service URL including the account, e.g. `http://127.0.0.1:40123/devstoreaccount1`. */
  url: string;
  port: number;
  account: string;
  accountKey: string;
  connectionString: string;
  directory: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `azurite-blob` on 127.0.0.1, a free port and a temp directory (no telemetry, no API version check). */
export const startAzurite = async (): Promise<AzuriteService> => {
  const script = path.join(
    path.dirname(require.resolve('azurite/package.json')),
    'dist',
    'src',
    'blob',
    'main.js',
  );
  const directory = await mkdtemp(path.join(tmpdir(), 'backupx-azurite-'));
  const port = await freePort();
  let running: { child: ChildProcess; output: () => string } | undefined;
  const launch = async () => {
    running = spawnNodeScript(
      script,
      [
        '--blobHost',
        '127.0.0.1',
        '--blobPort',
        String(port),
        '--location',
        directory,
        '--silent',
        '--skipApiVersionCheck',
        '--loose',
        '--disableTelemetry',
      ],
      directory,
    );
    try {
      await waitForPort(port, running.child, 'azurite', 30_000);
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
  const url = `http://127.0.0.1:${port}/${azuriteAccount}`;
  return {
    url,
    port,
    account: azuriteAccount,
    accountKey: azuriteAccountKey,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${azuriteAccount};AccountKey=${azuriteAccountKey};BlobEndpoint=${url};`,
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
