/** Backint end to end: real input/output/parameter files, a real named pipe, a local-directory backend. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StorageBackend, StorageObjectInfo } from '../storage/types.ts';
import { runBackint } from './agent.ts';

/** A tiny local-directory backend for this test (atomic put via temp file + rename). */
const localDirBackend = (root: string, calls: string[]): StorageBackend => {
  const full = (key: string): string => path.join(root, ...key.split('/'));
  return {
    type: 'local_test',
    testConnection: async () => {
      await mkdir(root, { recursive: true });
    },
    put: async (key: string, body: Readable, options = {}) => {
      calls.push(`put ${key} ${String(options.sizeBytes ?? '?')} ${JSON.stringify(options.metadata ?? {})}`);
      await mkdir(path.dirname(full(key)), { recursive: true });
      const temp = `${full(key)}.part-${randomBytes(4).toString('hex')}`;
      await pipeline(body, createWriteStream(temp));
      const { rename } = await import('node:fs/promises');
      await rename(temp, full(key));
      return { sizeBytes: (await stat(full(key))).size };
    },
    get: async (key: string) => {
      await stat(full(key));
      return createReadStream(full(key));
    },
    stat: async (key: string): Promise<StorageObjectInfo | null> => {
      const info = await stat(full(key)).catch(() => null);
      return info === null ? null : { key, sizeBytes: info.size, updatedAt: info.mtime };
    },
    list: () => Promise.resolve([]),
    delete: async (key: string) => {
      calls.push(`delete ${key}`);
      await rm(full(key), { force: true });
    },
    usage: () => Promise.resolve(null),
    removeEmptyDirs: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
};

describe('backint end to end (local directory backend, real files and a named pipe)', () => {
  let dir: string;
  let storeDir: string;
  let stderr: string[];
  let calls: string[];
  let seq: number;

  const deps = () => ({
    createStorage: (type: string, config: Record<string, unknown>) => {
      expect(type).toBe('local_disk');
      return localDirBackend(String(config.basePath), calls);
    },
    stderr: (text: string) => stderr.push(text),
    cwd: dir,
    randomHex: () => (seq++).toString(16).padStart(16, '0'),
  });
  const call = async (
    fn: string,
    input: string,
    param = 'params.txt',
  ): Promise<{ code: number; output: string }> => {
    await writeFile(path.join(dir, 'in.txt'), input);
    const code = await runBackint(
      ['-u', 'HXE', '-f', fn, '-i', 'in.txt', '-o', 'out.txt', '-p', param, '-c', '1'],
      deps(),
    );
    const output = await readFile(path.join(dir, 'out.txt'), 'utf8').catch(() => '');
    return { code, output };
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bx-backint-'));
    storeDir = path.join(dir, 'store');
    stderr = [];
    calls = [];
    seq = 1;
    await writeFile(path.join(dir, 'storage.json'), JSON.stringify({ basePath: storeDir }));
    await writeFile(
      path.join(dir, 'params.txt'),
      '; BackupX backint\n#STORAGE_TYPE = local_disk\nSTORAGE_CONFIG_JSON = storage.json\nKEY_PREFIX = /hana/HXE/\nCATALOG_DB = cat/catalog.db\n',
    );
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('backs up a file and a named pipe, inquires, restores (file and pipe), deletes, and handles unknown EBIDs', async () => {
    const payload = randomBytes(300_000);
    await writeFile(path.join(dir, 'data file.bin'), payload);
    const fifoIn = path.join(dir, 'pipe-in');
    execFileSync('mkfifo', [fifoIn]);
    const piped = randomBytes(200_000);
    // HANA writes into the pipe while backint reads it.
    const writer = pipeline(Readable.from([piped]), createWriteStream(fifoIn));
    const backup = await call(
      'BACKUP',
      `"${path.join(dir, 'data file.bin')}"\n#PIPE ${fifoIn}\n"${path.join(dir, 'missing')}"\n`,
    );
    await writer;
    expect(backup.code).toBe(0);
    const lines = backup.output.trim().split('\n');
    expect(lines).toHaveLength(3);
    const [, ebid1] = /^#SAVED (backupx-\d+-0{15}1) "(.*)"$/.exec(lines[0]!)!;
    const [, ebid2] = /^#SAVED (backupx-\d+-0{15}2) /.exec(lines[1]!)!;
    expect(lines[1]).toBe(`#SAVED ${ebid2!} "${fifoIn}"`);
    expect(lines[2]).toBe(`#ERROR "${path.join(dir, 'missing')}"`);
    expect(stderr.join('')).toMatch(/backup .*missing.* failed: ENOENT/);
    expect(calls[0]).toBe(
      `put hana/HXE/${ebid1!}.bin 300000 ${JSON.stringify({ 'source-path': path.join(dir, 'data file.bin'), ebid: ebid1, compress: 'false' })}`,
    );
    expect(calls[1]).toMatch(/^put hana\/HXE\/backupx-\d+-0+2\.bin \? /);
    expect((await readFile(path.join(storeDir, 'hana', 'HXE', `${ebid1!}.bin`))).equals(payload)).toBe(true);

    const inquire = await call('inquire', `#NULL\n"${ebid1!}"\n#EBID "backupx-0-nope"\n`);
    expect(inquire.output).toBe(
      `#BACKUP "${ebid2!}"\n#BACKUP "${ebid1!}"\n#BACKUP "${ebid1!}"\n#NOTFOUND "backupx-0-nope"\n`,
    );

    const fifoOut = path.join(dir, 'pipe-out');
    execFileSync('mkfifo', [fifoOut]);
    const reader = (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of createReadStream(fifoOut)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    })();
    const restore = await call(
      'restore',
      `${ebid1!} "${path.join(dir, 'restored.bin')}"\n#PIPE #EBID ${ebid2!} "${fifoOut}"\nbackupx-0-nope "${path.join(dir, 'x')}"\n`,
    );
    expect(restore.code).toBe(0);
    expect(restore.output).toBe(
      `#RESTORED "${ebid1!}" "${path.join(dir, 'restored.bin')}"\n#RESTORED "${ebid2!}" "${fifoOut}"\n#ERROR "${path.join(dir, 'x')}"\n`,
    );
    expect((await readFile(path.join(dir, 'restored.bin'))).equals(payload)).toBe(true);
    expect((await reader).equals(piped)).toBe(true);
    expect(stderr.join('')).toMatch(/restore "backupx-0-nope" failed: unknown EBID/);

    const del = await call('delete', `#EBID ${ebid1!}\nbackupx-0-nope\n`);
    expect(del.output).toBe(`#DELETED "${ebid1!}"\n#ERROR "backupx-0-nope"\n`);
    expect(await readdir(path.join(storeDir, 'hana', 'HXE'))).toEqual([`${ebid2!}.bin`]);
    expect((await call('inquire', '#NULL\n')).output).toBe(`#BACKUP "${ebid2!}"\n`);
  });

  it('compresses with COMPRESS=on (unknown size, .gz key) and gunzips on restore; LOG_FILE gets diagnostics', async () => {
    await writeFile(
      path.join(dir, 'gz.txt'),
      `STORAGE_TYPE = local_disk\nSTORAGE_CONFIG = ${JSON.stringify({ basePath: storeDir })}\nCOMPRESS = on\nLOG_FILE = backint.log\n`,
    );
    const text = Buffer.from('compressible '.repeat(20_000));
    await writeFile(path.join(dir, 'a.txt'), text);
    const backup = await call('backup', `${path.join(dir, 'a.txt')}\n${path.join(dir, 'nope')}\n`, 'gz.txt');
    const ebid = /^#SAVED (\S+) /.exec(backup.output)![1]!;
    expect(calls[0]).toMatch(new RegExp(`^put ${ebid}\\.bin\\.gz \\? .*"compress":"true"`));
    expect((await stat(path.join(storeDir, `${ebid}.bin.gz`))).size).toBeLessThan(text.length / 10);
    const restore = await call('restore', `"${ebid}" "${path.join(dir, 'b.txt')}"\n`, 'gz.txt');
    expect(restore.output).toBe(`#RESTORED "${ebid}" "${path.join(dir, 'b.txt')}"\n`);
    expect((await readFile(path.join(dir, 'b.txt'))).equals(text)).toBe(true);
    expect(stderr).toEqual([]);
    expect(await readFile(path.join(dir, 'backint.log'), 'utf8')).toMatch(/backup .*nope.* failed/);
    // the default catalog location is relative to the working directory
    expect((await readdir(dir)).includes('backint_catalog.db')).toBe(true);
  });

  it('exit codes: usage 2, bad parameter file 1, storage connection failure 1', async () => {
    expect(await runBackint(['-f', 'backup', '-i', 'in'], deps())).toBe(2);
    expect(await runBackint(['-f', 'list', '-i', 'a', '-o', 'b', '-p', 'c'], deps())).toBe(2);
    await writeFile(path.join(dir, 'bad.txt'), 'STORAGE_CONFIG = {}\n');
    expect((await call('backup', '', 'bad.txt')).code).toBe(1);
    expect(stderr.join('')).toMatch(/STORAGE_TYPE is required/);
    const failing = await runBackint(['-f', 'inquire', '-i', 'in.txt', '-o', 'out.txt', '-p', 'params.txt'], {
      ...deps(),
      createStorage: () => ({
        ...localDirBackend(storeDir, calls),
        testConnection: () => Promise.reject(new Error('denied')),
      }),
    });
    expect(failing).toBe(1);
    expect(stderr.join('')).toMatch(/unavailable: denied/);
    await writeFile(path.join(dir, 'in.txt'), 'only-an-ebid\n');
    expect(
      await runBackint(['-f', 'restore', '-i', 'in.txt', '-o', 'out.txt', '-p', 'params.txt'], deps()),
    ).toBe(1);
  });
});
