import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TarIntegrityError } from '../../verify/tar-verifier.ts';
import { TarParser } from './tar-parser.ts';
import type { ParsedTarHeader } from './tar-parser.ts';

interface Parsed {
  header: ParsedTarHeader;
  body: Buffer;
}

/** Feeds `archive` in pieces of the given sizes (cycled) and returns every entry with its data. */
const parse = (archive: Buffer, pieceSizes: readonly number[] = [archive.length]): Parsed[] => {
  const out: Parsed[] = [];
  let parts: Buffer[] = [];
  let current: ParsedTarHeader | null = null;
  const parser = new TarParser({
    entry: (header) => {
      current = header;
      parts = [];
    },
    data: (chunk) => parts.push(Buffer.from(chunk)),
    entryEnd: () => {
      if (current !== null) out.push({ header: current, body: Buffer.concat(parts) });
      current = null;
    },
  });
  let at = 0;
  let index = 0;
  while (at < archive.length) {
    const size = Math.max(1, pieceSizes[index % pieceSizes.length] ?? 1);
    parser.push(archive.subarray(at, at + size));
    at += size;
    index += 1;
  }
  parser.finish();
  return out;
};

const scratch = mkdtempSync(path.join(tmpdir(), 'bx-tar-parser-'));
const tree = path.join(scratch, 'tree');
const archives: Record<string, Buffer> = {};
const longName = `${'a'.repeat(120)}/${'b'.repeat(130)}.txt`;

beforeAll(() => {
  mkdirSync(path.join(tree, 'a'.repeat(120)), { recursive: true });
  writeFileSync(path.join(tree, longName), 'long name');
  writeFileSync(path.join(tree, 'unicodé 文件.txt'), 'unicode');
  writeFileSync(path.join(tree, 'empty'), '');
  writeFileSync(path.join(tree, 'odd.bin'), Buffer.alloc(1537, 7));
  symlinkSync(`../${'t'.repeat(140)}`, path.join(tree, 'far-link'));
  utimesSync(path.join(tree, 'odd.bin'), 1_700_000_000.25, 1_700_000_000.25);
  for (const format of ['gnu', 'pax']) {
    const file = path.join(scratch, `${format}.tar`);
    execFileSync('tar', ['-cf', file, '-H', format, '--sort=name', '-C', scratch, 'tree']);
    archives[format] = execFileSync('cat', [file]);
  }
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('TarParser', () => {
  it.each(['gnu', 'pax'])(
    'reads GNU tar %s archives: long names and link targets, unicode, empty and odd-sized files',
    (format) => {
      const entries = parse(archives[format] as Buffer);
      const byName = new Map(entries.map((entry) => [entry.header.name, entry]));
      expect(byName.get(`tree/${longName}`)?.body.toString()).toBe('long name');
      expect(byName.get('tree/unicodé 文件.txt')?.body.toString()).toBe('unicode');
      expect(byName.get('tree/empty')?.body.length).toBe(0);
      expect(byName.get('tree/odd.bin')?.body.equals(Buffer.alloc(1537, 7))).toBe(true);
      expect(byName.get('tree/far-link')?.header).toMatchObject({
        type: 'symlink',
        linkname: `../${'t'.repeat(140)}`,
      });
      expect(byName.get('tree/')?.header.type).toBe('directory');
      if (format === 'pax')
        expect(byName.get('tree/odd.bin')?.header.mtimeSeconds).toBeCloseTo(1_700_000_000.25, 5);
    },
  );

  it('gives the same entries whatever the chunk boundaries', () => {
    const archive = archives.pax as Buffer;
    const whole = parse(archive).map((entry) => [entry.header.name, entry.body.toString('hex')]);
    for (const pieces of [[1], [511, 2, 513], [7, 1024, 3], [100_000]])
      expect(parse(archive, pieces).map((entry) => [entry.header.name, entry.body.toString('hex')])).toEqual(
        whole,
      );
  });

  it('refuses an archive cut short, one without its end marker, a bad checksum, trailing garbage and nothing at all', () => {
    const archive = archives.gnu as Buffer;
    const expectIntegrity = (bytes: Buffer, message: RegExp) => {
      let caught: unknown;
      try {
        parse(bytes, [4096]);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(TarIntegrityError);
      expect((caught as Error).message).toMatch(message);
    };
    // Find where the end marker starts: the archive is entries, then ≥ 1024 zero bytes.
    let end = archive.length;
    while (end > 0 && archive[end - 1] === 0) end -= 1;
    const entriesEnd = Math.ceil(end / 512) * 512;
    expectIntegrity(archive.subarray(0, entriesEnd - 700), /cut short|no end-of-archive marker/);
    expectIntegrity(archive.subarray(0, entriesEnd), /no end-of-archive marker/);
    expectIntegrity(archive.subarray(0, entriesEnd + 512), /no end-of-archive marker/);
    const flipped = Buffer.from(archive);
    flipped[10] = (flipped[10] ?? 0) ^ 0x01;
    expectIntegrity(flipped, /Invalid tar header/);
    expectIntegrity(Buffer.concat([archive, Buffer.from('garbage')]), /no end-of-archive marker/);
    expectIntegrity(Buffer.alloc(0), /empty/);
  });
});
