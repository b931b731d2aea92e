/**
 * MongoDB and SAP HANA sources against STAND-IN executables (no MongoDB or HANA on this machine):
 * small shell scripts put first on PATH that record their arguments/stdin and write a plausible
 * artifact. They pin the command lines, the streaming, retries and the restore flow — not the
 * behaviour of the real tools.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../errors.ts';
import { verifySaphanaTar } from '../verify/database-verifiers.ts';
import { backupMongodb, restoreMongodb } from './mongodb.ts';
import { backupSaphana, restoreSaphana } from './saphana.ts';
import { createTestContext, readAll, type TestContext } from './test-context.ts';

const MONGODUMP = `#!/bin/sh
for a in "$@"; do printf '%s\\n' "$a"; done > "$STANDIN_DIR/mongodump.args"
echo "writing archive" >&2
echo "connecting with password \${10}" >&2
if [ "$STANDIN_MODE" = empty ]; then exit 0; fi
if [ "$STANDIN_MODE" = fail ]; then echo "Failed: auth error" >&2; exit 1; fi
i=0; while [ $i -lt 2000 ]; do printf 'mongo-archive-chunk-%06d\\n' $i; i=$((i+1)); done
`;
const MONGORESTORE = `#!/bin/sh
for a in "$@"; do printf '%s\\n' "$a"; done > "$STANDIN_DIR/mongorestore.args"
cat > "$STANDIN_DIR/mongorestore.stdin"
echo "restored" >&2
`;
// hdbsql stand-in: the SQL is the last argument; BACKUP writes two pieces per prefix, RECOVER
// records the prefix it got and checks that the first piece exists.
const HDBSQL = `#!/bin/sh
for a in "$@"; do sql="$a"; done
printf '%s\\n' "$*" >> "$STANDIN_DIR/hdbsql.calls"
if [ -f "$STANDIN_DIR/fails" ]; then
  n=$(cat "$STANDIN_DIR/fails")
  if [ "$n" -gt 0 ]; then echo $((n-1)) > "$STANDIN_DIR/fails"; echo "* 10: authentication failed SQLSTATE: 28000" >&2; exit 1; fi
fi
case "$sql" in
  BACKUP*)
    for p in $(printf '%s' "$sql" | grep -o "'[^']*'" | tr -d "'"); do
      printf 'piece0 of %s\\n' "$p" > "\${p}_databackup_0_1"
      printf 'piece1 of %s\\n' "$p" > "\${p}_databackup_1_1"
    done ;;
  RECOVER*)
    p=$(printf '%s' "$sql" | grep -o "'[^']*'" | tr -d "'")
    [ -f "\${p}_databackup_0_1" ] || { echo "no backup at $p" >&2; exit 2; }
    cat "\${p}_databackup_0_1" > "$STANDIN_DIR/recovered" ;;
esac
echo "0 rows affected"
`;

const install = async (dir: string, name: string, script: string): Promise<void> => {
  await writeFile(path.join(dir, name), script);
  await chmod(path.join(dir, name), 0o755);
};

describe('stand-in tools', () => {
  let ctx: TestContext;
  let bin: string;
  const envFor = (mode = ''): Record<string, string | undefined> => ({
    PATH: `${bin}:${String(process.env.PATH)}`,
    STANDIN_DIR: bin,
    STANDIN_MODE: mode,
  });
  beforeEach(async () => {
    ctx = await createTestContext({});
    bin = path.join(ctx.workDir, 'bin');
    await mkdir(bin);
    await install(bin, 'mongodump', MONGODUMP);
    await install(bin, 'mongorestore', MONGORESTORE);
    await install(bin, 'hdbsql', HDBSQL);
    ctx.env = envFor();
    ctx.workDir = path.join(ctx.workDir, 'run');
    await mkdir(ctx.workDir);
  });
  afterEach(async () => {
    ctx.workDir = path.dirname(ctx.workDir);
    await ctx.cleanup();
  });

  describe('mongodump / mongorestore (stand-in)', () => {
    const conn = { host: 'mongo', port: 27017, user: 'root', password: 'Secr3t-pw', databases: ['shop'] };

    it('streams the archive from stdout and restores it on stdin', async () => {
      const artifact = await backupMongodb(ctx, conn, 'Mongo Main');
      expect(artifact.fileName).toBe('mongo-main_20260421_020000.archive');
      const file = path.join(ctx.workDir, artifact.fileName);
      await pipeline(artifact.stream, createWriteStream(file));
      await expect(artifact.completion).resolves.toMatchObject({ summary: expect.stringContaining('bytes') });
      expect((await readFile(path.join(bin, 'mongodump.args'), 'utf8')).trim().split('\n')).toEqual([
        '--host',
        'mongo',
        '--port',
        '27017',
        '--username',
        'root',
        '--authenticationDatabase',
        'admin',
        '--password',
        'Secr3t-pw',
        '--db',
        'shop',
        '--archive',
      ]);
      expect(ctx.lines.map((l) => l.message)).toContain('[mongodump] connecting with password ***');
      expect(JSON.stringify(ctx.lines)).not.toContain('Secr3t-pw');

      await restoreMongodb(ctx, conn, createReadStream(file));
      expect((await readFile(path.join(bin, 'mongorestore.stdin'))).equals(await readFile(file))).toBe(true);
      expect(await readFile(path.join(bin, 'mongorestore.args'), 'utf8')).toContain('--drop\n--archive\n');
    });

    it('dumps all databases when no name is given', async () => {
      const artifact = await backupMongodb(ctx, { ...conn, databases: [] }, 'm');
      await readAll(artifact.stream);
      await artifact.completion;
      expect(await readFile(path.join(bin, 'mongodump.args'), 'utf8')).not.toContain('--db');
    });

    it('rejects empty output and a failing dump', async () => {
      ctx.env = envFor('empty');
      const empty = await backupMongodb(ctx, conn, 'm');
      await readAll(empty.stream);
      await expect(empty.completion).rejects.toMatchObject({ code: 'SOURCE_EMPTY_OUTPUT' });
      ctx.env = envFor('fail');
      const failed = await backupMongodb(ctx, conn, 'm');
      await readAll(failed.stream);
      await expect(failed.completion).rejects.toThrow(/mongodump exited with code 1: .*auth error/);
    });

    it('names the missing tool and its package', async () => {
      ctx.env = { PATH: '/nonexistent' };
      await expect(backupMongodb(ctx, conn, 'm')).rejects.toThrow(
        /mongodump not found.*mongodb-database-tools/,
      );
    });
  });

  describe('hdbsql (stand-in)', () => {
    const conn = { host: 'hana', port: 30215, user: 'SYSTEM', password: 'H4na-secret', databases: ['HXE'] };
    const fast = { sleep: () => Promise.resolve(), delayMs: (n: number) => n };

    it('backs up over 2 channels into a tar of hana_data and recovers from it', async () => {
      const artifact = await backupSaphana(
        ctx,
        conn,
        'HANA prod',
        { backupChannels: 2, backupLevel: 'differential' },
        fast,
      );
      expect(artifact.fileName).toBe('hana_prod_20260421T020000.tar');
      const file = path.join(ctx.workDir, artifact.fileName);
      await pipeline(artifact.stream, createWriteStream(file));
      await artifact.completion;

      const calls = (await readFile(path.join(bin, 'hdbsql.calls'), 'utf8')).trim().split('\n');
      expect(calls).toHaveLength(1);
      const hanaDir = path.join(ctx.workDir, 'hana_data');
      expect(calls[0]).toBe(
        `-n hana:30215 -u SYSTEM -p H4na-secret -d HXE -j -A -xC BACKUP DATA FOR HXE DIFFERENTIAL USING FILE ` +
          `('${hanaDir}/chan_0/hana_hxe_20260421_020000', '${hanaDir}/chan_1/hana_hxe_20260421_020000')`,
      );
      expect(ctx.lines.some((l) => l.message.includes('instance 02'))).toBe(true);
      expect(JSON.stringify(ctx.lines)).not.toContain('H4na-secret');

      const names: string[] = [];
      const extract = tar.extract();
      extract.on('entry', (header, stream, next) => {
        names.push(header.name);
        stream.resume();
        stream.on('end', () => next());
      });
      await pipeline(createReadStream(file), extract);
      expect(names).toEqual([
        'chan_0/hana_hxe_20260421_020000_databackup_0_1',
        'chan_0/hana_hxe_20260421_020000_databackup_1_1',
        'chan_1/hana_hxe_20260421_020000_databackup_0_1',
        'chan_1/hana_hxe_20260421_020000_databackup_1_1',
      ]);
      expect(await verifySaphanaTar(file)).toMatchObject({ ok: true });

      await restoreSaphana(ctx, conn, createReadStream(file), {}, fast);
      const recoverCall = (await readFile(path.join(bin, 'hdbsql.calls'), 'utf8')).trim().split('\n')[1]!;
      expect(recoverCall).toMatch(
        /-xC RECOVER DATA FOR HXE USING FILE \('.*\/hana-restore-[^/]+\/chan_0\/hana_hxe_20260421_020000'\) CLEAR LOG$/,
      );
      expect(await readFile(path.join(bin, 'recovered'), 'utf8')).toContain('piece0 of');
    });

    it('retries with the 5 s × n² backoff and gives up after maxRetries', async () => {
      await writeFile(path.join(bin, 'fails'), '2');
      const waits: number[] = [];
      const retry = {
        sleep: (ms: number) => {
          waits.push(ms);
          return Promise.resolve();
        },
      };
      const artifact = await backupSaphana(ctx, { ...conn, databases: [] }, 'h', {}, retry);
      await readAll(artifact.stream);
      await artifact.completion;
      expect(waits).toEqual([20_000, 45_000]);
      expect((await readFile(path.join(bin, 'hdbsql.calls'), 'utf8')).trim().split('\n')).toHaveLength(3);
      expect(await readFile(path.join(bin, 'hdbsql.calls'), 'utf8')).toContain(
        "-d SYSTEMDB -j -A -xC BACKUP DATA USING FILE ('",
      );

      await writeFile(path.join(bin, 'fails'), '5');
      const error = await backupSaphana(ctx, conn, 'h', { maxRetries: 2 }, fast).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect((error as EngineError).message).toMatch(
        /failed after 2 attempt\(s\): hdbsql exited with code 1: .*authentication failed/,
      );
    });

    it('a cancelled wait stops the retries', async () => {
      await writeFile(path.join(bin, 'fails'), '5');
      const pending = backupSaphana(ctx, conn, 'h', {}, { delayMs: () => 60_000 });
      setTimeout(() => ctx.controller.abort(), 200);
      await expect(pending).rejects.toMatchObject({ code: 'ENGINE_CANCELLED' });
    });

    it('zero backup files is an error; a tar without HANA files cannot be recovered', async () => {
      await install(bin, 'hdbsql', '#!/bin/sh\necho ok\n');
      await expect(backupSaphana(ctx, conn, 'h', {}, fast)).rejects.toMatchObject({
        code: 'SOURCE_EMPTY_OUTPUT',
      });
      const pack = tar.pack();
      pack.entry({ name: 'readme.txt' }, 'hello');
      pack.entry({ name: '../escape_databackup_0_1' }, 'evil');
      pack.finalize();
      const bytes = await readAll(Readable.from(pack));
      await expect(restoreSaphana(ctx, conn, Readable.from([bytes]), {}, fast)).rejects.toMatchObject({
        code: 'RESTORE_ARTIFACT_INVALID',
      });
      expect(await readdir(path.dirname(ctx.workDir))).not.toContain('escape_databackup_0_1');
      const plain = tar.pack();
      plain.entry({ name: 'readme.txt' }, 'hello');
      plain.finalize();
      expect(await verifySaphanaTar(Readable.from(plain))).toMatchObject({ ok: false });
      expect(await verifySaphanaTar(Readable.from([bytes.subarray(0, 700)]))).toMatchObject({ ok: false });
    });
  });
});
