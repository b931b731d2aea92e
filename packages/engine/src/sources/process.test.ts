import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../errors.ts';
import { findExecutable, redactSecrets, requireExecutable, runToolCollect, startTool } from './process.ts';
import { createTestContext, readAll, type TestContext } from './test-context.ts';

describe('tool runner', () => {
  let ctx: TestContext;
  beforeEach(async () => {
    ctx = await createTestContext({ PATH: process.env.PATH });
  });
  afterEach(async () => {
    await ctx.cleanup();
  });

  it('streams stdout, logs stderr with a prefix and passes secrets only via env', async () => {
    const run = startTool(ctx, {
      command: 'sh',
      label: 'dumper',
      args: ['-c', 'echo "warn: using $MYSQL_PWD" >&2; printf "%s" "$MYSQL_PWD" | wc -c; echo done'],
      secretEnv: { MYSQL_PWD: 'top-secret' },
      debianPackage: 'dash',
      stage: 'source',
    });
    expect((await readAll(run.stdout)).toString()).toMatch(/^\s*10\ndone\n$/);
    await run.done;
    expect(ctx.lines).toEqual([{ level: 'info', message: '[dumper] warn: using ***' }]);
  });

  it('keeps every byte of a tool that exits before its output is read (a reader that attaches late)', async () => {
    // Node drops unread stdout of an exited child unless someone listens (flushStdio); a small
    // dump read after an await (an agent reporting to its master) came out empty before the fix.
    const run = startTool(ctx, {
      command: 'sh',
      args: ['-c', 'i=0; while [ $i -lt 2000 ]; do echo "row $i"; i=$((i+1)); done'],
      debianPackage: 'dash',
      stage: 'source',
    });
    await run.done;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const text = (await readAll(run.stdout)).toString();
    expect(text.split('\n').filter((line) => line !== '')).toHaveLength(2000);
  });

  it('fails with the exit code and the last stderr lines', async () => {
    const error = await runToolCollect(ctx, {
      command: 'sh',
      args: ['-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do echo "line $i" >&2; done; exit 3'],
      debianPackage: 'dash',
      stage: 'source',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('SOURCE_TOOL_FAILED');
    expect((error as EngineError).message).toBe(
      'sh exited with code 3: line 3 | line 4 | line 5 | line 6 | line 7 | line 8 | line 9 | line 10',
    );
    expect((error as EngineError & { exitCode: number }).exitCode).toBe(3);
  });

  it('names a missing tool and its Debian package', async () => {
    const error = await runToolCollect(ctx, {
      command: 'bx-no-such-tool',
      args: [],
      debianPackage: 'bx-pkg',
      stage: 'source',
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'SOURCE_TOOL_MISSING',
      message: expect.stringMatching(/bx-no-such-tool not found.*bx-pkg/),
    });
    await expect(requireExecutable(ctx, ['bx-a', 'bx-b'], 'pkg')).rejects.toThrow(/bx-a \/ bx-b not found/);
    expect(await findExecutable('sh', process.env.PATH)).toMatch(/\/sh$/);
  });

  it('kills the tool on abort and on timeout', async () => {
    const run = startTool(ctx, {
      command: 'sleep',
      args: ['30'],
      debianPackage: 'coreutils',
      stage: 'source',
    });
    run.stdout.resume();
    setTimeout(() => ctx.controller.abort(), 50);
    await expect(run.done).rejects.toMatchObject({ code: 'ENGINE_CANCELLED' });
    const other = await createTestContext({ PATH: process.env.PATH });
    await expect(
      runToolCollect(other, {
        command: 'sleep',
        args: ['30'],
        debianPackage: 'coreutils',
        stage: 'source',
        timeoutMs: 50,
      }),
    ).rejects.toMatchObject({ code: 'SOURCE_TOOL_TIMEOUT' });
    await other.cleanup();
  });

  it('redacts every secret', () => {
    expect(redactSecrets('a pw b pw', ['pw', ''])).toBe('a *** b ***');
  });
});
