import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childProcessEnv } from '../config/child-env.ts';

/** The `backupx` executable of this checkout. */
const backupxBin = fileURLToPath(new URL('../../../cli/bin/backupx.js', import.meta.url));

export interface AgentProcess {
  child: ChildProcess;
  tempDir: string;
  /** The agent's stdout and stderr so far (the last 200 kB). */
  output(): string;
  /** SIGTERM and wait for the exit code (graceful shutdown). */
  stop(): Promise<number | null>;
  /** SIGKILL: the process dies without reporting anything. */
  kill9(): Promise<void>;
}

/**
 * Starts `backupx agent` as a real child process against a master on loopback, with short
 * intervals so tests see heartbeats and polls quickly.
 */
export const startAgentProcess = (options: {
  masterUrl: string;
  token: string;
  heartbeat?: string;
  extraArgs?: string[];
  env?: Record<string, string>;
}): AgentProcess => {
  const tempDir = mkdtempSync(path.join(tmpdir(), 'bx-agent-'));
  const child = spawn(
    process.execPath,
    [
      backupxBin,
      'agent',
      '--master',
      options.masterUrl,
      '--token',
      options.token,
      '--temp-dir',
      tempDir,
      '--heartbeat-interval',
      options.heartbeat ?? '1s',
      '--poll-interval',
      '1s',
      ...(options.extraArgs ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...childProcessEnv(), ...options.env } },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-200_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const cleanup = () => rmSync(tempDir, { recursive: true, force: true });
  return {
    child,
    tempDir,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      cleanup();
      return code;
    },
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      cleanup();
    },
  };
};
