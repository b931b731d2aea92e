/**
 * Running an external tool (mysqldump, pg_dump, psql, mongodump, hdbsql, …) for a source: spawn
 * through the context, stream stdout, log stderr line by line with a `[tool]` prefix (secrets
 * redacted), kill on abort, and settle with an EngineError carrying the exit code and the last
 * stderr lines when the tool fails.
 */
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { Readable, Writable } from 'node:stream';
import { EngineError, type EngineStage } from '../errors.ts';
import type { SourceContext } from './types.ts';

/** How many trailing stderr lines an error message carries. */
const STDERR_TAIL_LINES = 8;
/** A stderr line longer than this is cut in the log. */
const MAX_LOG_LINE = 2000;

export interface ToolSpec {
  /** Executable name or absolute path (looked up on `ctx.env.PATH` by the spawner). */
  command: string;
  args: readonly string[];
  /** Log prefix and the name used in messages, e.g. `mysqldump`. Defaults to the command's base name. */
  label?: string;
  /** Debian package that provides the tool, named when it is missing. */
  debianPackage: string;
  /** Extra environment (secrets such as `MYSQL_PWD`, `PGPASSWORD`); never logged. */
  secretEnv?: Record<string, string>;
  /** Strings to mask in logged stderr and error messages (passwords passed on the command line). */
  redact?: readonly string[];
  /** Data for stdin; stdin is closed immediately when absent. */
  stdin?: Readable;
  /** Stage reported by errors. */
  stage: EngineStage;
  /** Kill the tool after this many milliseconds (SOURCE_TOOL_TIMEOUT). */
  timeoutMs?: number;
  /** Error code for a non-zero exit (default `SOURCE_TOOL_FAILED`). */
  failureCode?: string;
  /** Whether a failure may be retried (default false). */
  retryable?: boolean;
}

export interface ToolRun {
  /** The tool's stdout; read it (or resume it) or the tool blocks. */
  stdout: Readable;
  /** Resolves when the tool exited 0 after its output was consumed; rejects with an EngineError otherwise. */
  done: Promise<void>;
  /** The last stderr lines (redacted), for messages. */
  stderrTail: () => string[];
  /** Kills the tool. */
  kill: () => void;
}

/** Replaces every non-empty secret in `text` by `***`. */
export const redactSecrets = (text: string, secrets: readonly string[]): string => {
  let out = text;
  for (const secret of secrets) {
    if (secret !== '') out = out.split(secret).join('***');
  }
  return out;
};

/** Finds an executable on a `PATH` string (absolute paths are checked as they are). */
export const findExecutable = async (name: string, pathEnv: string | undefined): Promise<string | null> => {
  const candidates = name.includes('/')
    ? [name]
    : (pathEnv ?? '')
        .split(path.delimiter)
        .filter((dir) => dir !== '')
        .map((dir) => path.join(dir, name));
  for (const candidate of candidates) {
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // try the next directory
    }
  }
  return null;
};

/** The first of `names` found on `PATH`, else a SOURCE_TOOL_MISSING error naming all of them. */
export const requireExecutable = async (
  ctx: Pick<SourceContext, 'env'>,
  names: readonly string[],
  debianPackage: string,
  stage: EngineStage = 'source',
): Promise<string> => {
  for (const name of names) {
    const found = await findExecutable(name, ctx.env.PATH);
    if (found !== null) return found;
  }
  throw toolMissing(names.join(' / '), debianPackage, stage);
};

export const toolMissing = (tool: string, debianPackage: string, stage: EngineStage): EngineError =>
  new EngineError(
    'SOURCE_TOOL_MISSING',
    stage,
    `${tool} not found on PATH; install it (Debian package: ${debianPackage})`,
  );

/** Starts a tool. Its stdout must be consumed; `done` tells how it ended. */
export const startTool = (ctx: SourceContext, spec: ToolSpec): ToolRun => {
  const label = spec.label ?? path.basename(spec.command);
  const secrets = [...(spec.redact ?? []), ...Object.values(spec.secretEnv ?? {})];
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(ctx.env)) {
    if (value !== undefined) env[key] = value;
  }
  Object.assign(env, spec.secretEnv ?? {});

  const tail: string[] = [];
  const child = ctx.spawn(spec.command, [...spec.args], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    windowsHide: true,
  });

  let killedFor: 'abort' | 'timeout' | null = null;
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  const onAbort = (): void => {
    killedFor ??= 'abort';
    kill();
  };
  if (ctx.signal.aborted) onAbort();
  else ctx.signal.addEventListener('abort', onAbort, { once: true });
  const timer =
    spec.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          killedFor ??= 'timeout';
          kill();
        }, spec.timeoutMs);

  // stderr → log, line by line, redacted.
  let pending = '';
  const emitLine = (raw: string): void => {
    const line = redactSecrets(raw.replace(/\r$/, ''), secrets);
    if (line.trim() === '') return;
    const cut = line.length > MAX_LOG_LINE ? `${line.slice(0, MAX_LOG_LINE)}…` : line;
    tail.push(cut);
    if (tail.length > STDERR_TAIL_LINES) tail.shift();
    ctx.log('info', `[${label}] ${cut}`);
  };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) emitLine(line);
  });
  child.stderr.on('end', () => {
    if (pending !== '') emitLine(pending);
    pending = '';
  });

  // stdin: pipe the given stream or close it. A tool exiting early gives EPIPE: ignored here,
  // the exit code tells the story.
  let inputError: Error | undefined;
  const stdin: Writable = child.stdin;
  stdin.on('error', () => undefined);
  if (spec.stdin === undefined) stdin.end();
  else {
    const input = spec.stdin;
    input.on('error', (error) => {
      inputError ??= error;
      kill();
    });
    input.pipe(stdin);
  }

  const done = new Promise<void>((resolve, reject) => {
    let spawnError: NodeJS.ErrnoException | undefined;
    child.on('error', (error: NodeJS.ErrnoException) => {
      spawnError ??= error;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      if (spawnError?.code === 'ENOENT') {
        reject(toolMissing(label, spec.debianPackage, spec.stage));
        return;
      }
      if (killedFor === 'abort') {
        reject(new EngineError('ENGINE_CANCELLED', spec.stage, 'cancelled', { cause: ctx.signal.reason }));
        return;
      }
      if (killedFor === 'timeout') {
        reject(
          new EngineError(
            'SOURCE_TOOL_TIMEOUT',
            spec.stage,
            `${label} did not finish within ${String(spec.timeoutMs)} ms`,
            { retryable: spec.retryable ?? false },
          ),
        );
        return;
      }
      if (spawnError !== undefined) {
        reject(
          new EngineError(
            'SOURCE_TOOL_FAILED',
            spec.stage,
            `${label} could not start: ${spawnError.message}`,
            {
              cause: spawnError,
            },
          ),
        );
        return;
      }
      if (inputError !== undefined) {
        reject(
          new EngineError(
            'SOURCE_INPUT_FAILED',
            spec.stage,
            `reading input for ${label} failed: ${inputError.message}`,
            {
              cause: inputError,
            },
          ),
        );
        return;
      }
      if (code === 0) {
        resolve();
        return;
      }
      const how = code === null ? `was killed by ${String(signal)}` : `exited with code ${String(code)}`;
      const detail = tail.length > 0 ? `: ${tail.join(' | ')}` : '';
      const error = new EngineError(
        spec.failureCode ?? 'SOURCE_TOOL_FAILED',
        spec.stage,
        `${label} ${how}${detail}`,
        {
          retryable: spec.retryable ?? false,
        },
      );
      Object.assign(error, { exitCode: code, stderrTail: [...tail] });
      reject(error);
    });
  });
  // Callers may attach handlers late (after reading stdout); never an unhandled rejection here.
  done.catch(() => undefined);

  // Node drops the unread output of a child that exits before anyone listens to its stdout
  // (child_process flushStdio resumes unlistened streams). A quick dump whose reader attaches
  // late — after an await — would silently become empty. Piping now keeps every byte, and
  // backpressure still reaches the tool through the pipe.
  const stdout = new PassThrough();
  child.stdout.on('error', (error) => stdout.destroy(error));
  child.stdout.pipe(stdout);

  return { stdout, done, stderrTail: () => [...tail], kill };
};

/** Runs a tool to the end and returns its stdout as text (small outputs only: discovery, hdbsql). */
export const runToolCollect = async (
  ctx: SourceContext,
  spec: ToolSpec,
  maxBytes = 4 * 1024 * 1024,
): Promise<string> => {
  const run = startTool(ctx, spec);
  const chunks: Buffer[] = [];
  let size = 0;
  run.stdout.on('data', (chunk: Buffer) => {
    if (size < maxBytes) {
      chunks.push(chunk);
      size += chunk.length;
    }
  });
  await run.done;
  return Buffer.concat(chunks).toString('utf8');
};

/** Runs a tool whose stdout is not needed (restores): stdout is drained, stderr is logged. */
export const runToolToEnd = async (ctx: SourceContext, spec: ToolSpec): Promise<void> => {
  const run = startTool(ctx, spec);
  run.stdout.resume();
  await run.done;
};
