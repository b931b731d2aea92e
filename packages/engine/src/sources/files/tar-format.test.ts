import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { readTarEntries } from '../../verify/tar-verifier.ts';
import { readAll } from '../test-context.ts';
import { TAR_BLOCK, TAR_END_BYTES, planTarHeader, tarPaddingBytes, writeTarHeader } from './tar-format.ts';
import type { TarEntryHeader } from './tar-format.ts';

const longDir = `${'d'.repeat(120)}/${'e'.repeat(20)}`;
/** Too long for ustar's name and prefix: needs a pax path. */
const paxName = `${'x'.repeat(200)}/${'y'.repeat(200)}.txt`;
const entries: { header: TarEntryHeader; data?: string }[] = [
  {
    header: {
      name: 'top/',
      type: 'directory',
      mode: 0o40755,
      uid: 1000,
      gid: 1000,
      size: 0,
      mtimeSeconds: 1_700_000_000,
    },
  },
  {
    header: {
      name: 'top/plain.txt',
      type: 'file',
      mode: 0o100644,
      uid: 0,
      gid: 0,
      size: 5,
      mtimeSeconds: 1_700_000_001,
    },
    data: 'hello',
  },
  {
    header: {
      name: `top/${longDir}/prefixed.txt`,
      type: 'file',
      mode: 0o100600,
      uid: 0,
      gid: 0,
      size: 3,
      mtimeSeconds: 1_700_000_002,
    },
    data: 'abc',
  },
  {
    header: {
      name: `top/${paxName}`,
      type: 'file',
      mode: 0o104755,
      uid: 0,
      gid: 0,
      size: 1,
      mtimeSeconds: 1_700_000_003,
    },
    data: 'z',
  },
  {
    header: {
      name: 'top/héllo 世界 🎉.txt',
      type: 'file',
      mode: 0o100644,
      uid: 0,
      gid: 0,
      size: 7,
      mtimeSeconds: 1_700_000_004,
    },
    data: 'unicode',
  },
  {
    header: {
      name: 'top/link',
      type: 'symlink',
      linkname: `../${'t'.repeat(150)}/目标`,
      mode: 0o120777,
      uid: 0,
      gid: 0,
      size: 0,
      mtimeSeconds: 1_700_000_005,
    },
  },
  {
    header: {
      name: 'top/precise.bin',
      type: 'file',
      mode: 0o100640,
      uid: 3_000_000,
      gid: 2_500_000,
      size: 2,
      mtimeSeconds: 1_700_000_006,
      pax: { mtime: '1700000006.123456789' },
    },
    data: 'ns',
  },
];

const buildArchive = (): Buffer => {
  const parts: Buffer[] = [];
  for (const { header, data } of entries) {
    const planned = planTarHeader(header);
    const block = Buffer.alloc(planned.bytes);
    expect(writeTarHeader(block, 0, planned)).toBe(block.length);
    parts.push(block);
    if (data !== undefined) {
      const bytes = Buffer.from(data);
      parts.push(bytes, Buffer.alloc(tarPaddingBytes(bytes.length)));
    }
  }
  parts.push(Buffer.alloc(TAR_END_BYTES));
  return Buffer.concat(parts);
};

const scratch = mkdtempSync(path.join(tmpdir(), 'bx-tar-format-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('tar headers', () => {
  it('are read back by tar-stream with names, link targets, owners, modes and pax mtimes', async () => {
    const archive = buildArchive();
    expect(archive.length % TAR_BLOCK).toBe(0);
    const seen: Record<string, unknown>[] = [];
    for await (const entry of readTarEntries(Readable.from([archive]))) {
      const body = (await readAll(entry.stream)).toString();
      seen.push({
        name: entry.header.name,
        type: entry.header.type,
        mode: entry.header.mode,
        uid: entry.header.uid,
        gid: entry.header.gid,
        linkname: entry.header.linkname,
        mtime: entry.header.pax?.mtime ?? String(entry.header.mtime.getTime()),
        body,
      });
    }
    expect(seen.map((entry) => entry.name)).toEqual(entries.map((entry) => entry.header.name));
    expect(seen.map((entry) => entry.body)).toEqual(entries.map((entry) => entry.data ?? ''));
    expect(seen[5]).toMatchObject({ type: 'symlink', linkname: entries[5]?.header.linkname });
    expect(seen[6]).toMatchObject({
      uid: 3_000_000,
      gid: 2_500_000,
      mtime: '1700000006.123456789',
      mode: 0o640,
    });
    expect(seen[3]).toMatchObject({ mode: 0o4755 });
  });

  it('are extracted by GNU tar exactly', () => {
    const file = path.join(scratch, 'a.tar');
    writeFileSync(file, buildArchive());
    const out = path.join(scratch, 'out');
    execFileSync('mkdir', ['-p', out]);
    execFileSync('tar', ['-xf', file, '-C', out, '--no-same-owner']);
    expect(readFileSync(path.join(out, 'top', longDir, 'prefixed.txt'), 'utf8')).toBe('abc');
    expect(readFileSync(path.join(out, 'top', paxName), 'utf8')).toBe('z');
    expect(readFileSync(path.join(out, 'top', 'héllo 世界 🎉.txt'), 'utf8')).toBe('unicode');
    expect(readlinkSync(path.join(out, 'top', 'link'))).toBe(entries[5]?.header.linkname);
    const precise = statSync(path.join(out, 'top', 'precise.bin'), { bigint: true });
    expect(precise.mtimeNs).toBe(1_700_000_006_123_456_789n);
    const listing = execFileSync('tar', ['-tvf', file, '--numeric-owner'], { encoding: 'utf8' });
    expect(listing).toContain('3000000/2500000');
  });

  it('write sizes beyond 8 GiB in base-256 and negative mtimes without corrupting the checksum', () => {
    const header: TarEntryHeader = {
      name: 'huge.bin',
      type: 'file',
      mode: 0o100644,
      uid: 0,
      gid: 0,
      size: 10 * 1024 ** 3,
      mtimeSeconds: -86_400,
    };
    const block = Buffer.alloc(TAR_BLOCK);
    writeTarHeader(block, 0, planTarHeader(header));
    const sizeField = block.subarray(124, 136);
    expect(sizeField[0]).toBe(0x80);
    expect(sizeField.readBigUInt64BE(4)).toBe(BigInt(10 * 1024 ** 3));
    expect(block[136]).toBe(0xff);
    let sum = 8 * 0x20;
    for (let index = 0; index < TAR_BLOCK; index += 1)
      if (index < 148 || index >= 156) sum += block[index] ?? 0;
    expect(Number.parseInt(block.subarray(148, 154).toString('latin1'), 8)).toBe(sum);
    // GNU tar reads the header (and then misses the 10 GiB of data, which is expected here).
    const file = path.join(scratch, 'huge.tar');
    writeFileSync(file, Buffer.concat([block, Buffer.alloc(TAR_END_BYTES)]));
    let listing = '';
    try {
      listing = execFileSync('tar', ['-tvf', file], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    } catch (error) {
      const { stdout } = error as { stdout?: string };
      listing = stdout ?? '';
    }
    expect(listing).toContain(String(10 * 1024 ** 3));
  });
});
