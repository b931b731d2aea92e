/** Test support (used only by the source tests): a SourceContext over a temp dir that records its log. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { RunLogLevel, SourceContext } from './types.ts';

export interface TestContext extends SourceContext {
  lines: { level: RunLogLevel; message: string }[];
  controller: AbortController;
  cleanup: () => Promise<void>;
}

export const createTestContext = async (
  env: Record<string, string | undefined>,
  now = new Date(Date.UTC(2026, 3, 21, 2, 0, 0)),
): Promise<TestContext> => {
  const workDir = await mkdtemp(path.join(tmpdir(), 'bx-source-test-'));
  const controller = new AbortController();
  const lines: { level: RunLogLevel; message: string }[] = [];
  return {
    signal: controller.signal,
    log: (level, message) => lines.push({ level, message }),
    workDir,
    now,
    spawn,
    env,
    lines,
    controller,
    cleanup: () => rm(workDir, { recursive: true, force: true }),
  };
};

/** Reads a stream to the end into one buffer (small test artifacts only). */
export const readAll = async (stream: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
};
