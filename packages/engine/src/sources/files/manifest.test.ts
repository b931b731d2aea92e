import { describe, expect, it } from 'vitest';
import { EngineError } from '../../errors.ts';
import type { Manifest, ManifestEntry } from '../types.ts';
import { changedSince, compareUtf8, decodeManifest, deletedPaths, encodeManifest } from './manifest.ts';

const HASH = 'a'.repeat(32) + '0123456789abcdef'.repeat(2);

const baseline: Manifest = {
  entries: [
    { p: 'www', s: 0, m: 1_700_000_000_000_000_000, o: 0o755, d: true },
    { p: 'www/a.txt', s: 10, m: 1_700_000_000_123_456_768, o: 0o644, h: HASH },
    { p: 'www/link', s: 0, m: 1_700_000_000_000_000_000, o: 0o777, l: 'a.txt' },
    { p: 'www/old', s: 3, m: 1_700_000_000_000_000_000, o: 0o600 },
  ],
};

describe('manifest encode/decode', () => {
  it('round-trips with short keys, d only for directories and l only for symlinks', () => {
    const json = encodeManifest(baseline);
    expect(json).toContain('"p":"www/a.txt"');
    expect(json).not.toContain('"d":false');
    const parsed = JSON.parse(json) as { entries: Record<string, unknown>[] };
    expect(Object.keys(parsed.entries[1]!)).toEqual(['p', 's', 'm', 'o', 'h']);
    expect(Object.keys(parsed.entries[2]!)).toEqual(['p', 's', 'm', 'o', 'l']);
    expect(Object.keys(parsed.entries[3]!)).toEqual(['p', 's', 'm', 'o']);
    expect(decodeManifest(json)).toEqual(baseline);
  });

  it('keeps h (a file content SHA-256) only when present; null h is absent', () => {
    const json = encodeManifest(baseline);
    expect(json).toContain(`"h":"${HASH}"`);
    expect(json.match(/"h":/g)).toHaveLength(1);
    expect(decodeManifest(json).entries[1]?.h).toBe(HASH);
    const decoded = decodeManifest('{"entries":[{"p":"a","s":1,"m":2,"o":420,"h":null}]}');
    expect(decoded.entries).toEqual([{ p: 'a', s: 1, m: 2, o: 0o644 }]);
    expect('h' in decoded.entries[0]!).toBe(false);
  });

  it('decodes empty input as an empty manifest', () => {
    for (const input of [
      null,
      undefined,
      '',
      '   ',
      'null',
      '{}',
      '{"entries":null}',
      '{"entries":[]}',
      Buffer.alloc(0),
    ])
      expect(decodeManifest(input)).toEqual({ entries: [] });
  });

  it('decodes a manifest written by BackupX (Go)', () => {
    const go =
      '{"entries":[{"p":"www","s":0,"m":1713664800000000000,"o":493,"d":true},{"p":"www/i.html","s":5,"m":1713664800000000000,"o":420}]}';
    expect(decodeManifest(go).entries).toEqual([
      { p: 'www', s: 0, m: 1713664800000000000, o: 0o755, d: true },
      { p: 'www/i.html', s: 5, m: 1713664800000000000, o: 0o644 },
    ]);
  });

  it('rejects malformed manifests with MANIFEST_INVALID', () => {
    for (const input of [
      '{',
      '[]',
      '{"entries":{}}',
      '{"entries":[{"s":1}]}',
      '{"entries":[{"p":"a","s":"1"}]}',
      // h must be 64 lowercase hex characters.
      '{"entries":[{"p":"a","h":1}]}',
      '{"entries":[{"p":"a","h":""}]}',
      `{"entries":[{"p":"a","h":"${HASH.toUpperCase()}"}]}`,
      `{"entries":[{"p":"a","h":"${HASH.slice(1)}"}]}`,
      `{"entries":[{"p":"a","h":"${HASH}0"}]}`,
      `{"entries":[{"p":"a","h":"${HASH.slice(1)}g"}]}`,
      `{"entries":[{"p":"a","h":"${HASH}\\n"}]}`,
    ]) {
      expect(() => decodeManifest(input)).toThrow(EngineError);
      try {
        decodeManifest(input);
      } catch (error) {
        expect((error as EngineError).code).toBe('MANIFEST_INVALID');
      }
    }
  });
});

describe('changedSince (SPEC §3.13)', () => {
  const entry = (patch: Partial<ManifestEntry> & { p: string }): ManifestEntry => ({
    s: 0,
    m: 0,
    o: 0o644,
    ...patch,
  });

  it('includes entries not in the baseline', () => {
    expect(changedSince(baseline, entry({ p: 'www/new.txt', s: 1 }))).toBe(true);
    expect(changedSince(baseline, entry({ p: 'www/newdir', d: true }))).toBe(true);
  });

  it('skips existing directories even when their mtime changed', () => {
    expect(changedSince(baseline, entry({ p: 'www', d: true, m: 1 }))).toBe(false);
  });

  it('includes a file when size or mtime (ns) differs, not when only the mode does', () => {
    const same = { p: 'www/a.txt', s: 10, m: 1_700_000_000_123_456_768 };
    expect(changedSince(baseline, entry({ ...same, o: 0o600 }))).toBe(false);
    expect(changedSince(baseline, entry({ ...same, s: 11 }))).toBe(true);
    expect(changedSince(baseline, entry({ ...same, m: 1_700_000_001_123_456_768 }))).toBe(true);
  });

  it('includes type changes and changed symlink targets', () => {
    expect(changedSince(baseline, entry({ p: 'www/a.txt', d: true }))).toBe(true);
    expect(changedSince(baseline, entry({ p: 'www', s: 0, m: 1_700_000_000_000_000_000 }))).toBe(true);
    const link = { p: 'www/link', s: 0, m: 1_700_000_000_000_000_000, o: 0o777 };
    expect(changedSince(baseline, entry({ ...link, l: 'a.txt' }))).toBe(false);
    expect(changedSince(baseline, entry({ ...link, l: 'b.txt' }))).toBe(true);
    expect(changedSince(baseline, entry({ p: 'www/old', s: 0, m: 1_700_000_000_000_000_000, l: 'x' }))).toBe(
      true,
    );
  });

  it('compares mtimes after the same rounding as JSON (ns above 2^53)', () => {
    const ns = 1_776_000_000_123_456_789n;
    const stored = decodeManifest(encodeManifest({ entries: [{ p: 'f', s: 1, m: Number(ns), o: 0o644 }] }));
    expect(changedSince(stored, { p: 'f', s: 1, m: Number(ns), o: 0o644 })).toBe(false);
  });
});

describe('deletedPaths (SPEC §3.13)', () => {
  it('lists baseline paths not seen, sorted ascending by bytes', () => {
    expect(deletedPaths(baseline, new Set(['www', 'www/a.txt']))).toEqual(['www/link', 'www/old']);
    expect(deletedPaths(baseline, new Set(baseline.entries.map((e) => e.p)))).toEqual([]);
    expect(deletedPaths({ entries: [] }, new Set())).toEqual([]);
    const many: Manifest = {
      entries: ['b', 'a/z', 'a', 'é', 'Z', 'a b'].map((p) => ({ p, s: 0, m: 0, o: 0 })),
    };
    expect(deletedPaths(many, new Set())).toEqual(['Z', 'a', 'a b', 'a/z', 'b', 'é']);
  });

  it('orders like Go (UTF-8 bytes), not UTF-16 code units', () => {
    const astral = '\u{1F600}';
    const bmpHigh = '\uFF01';
    expect([astral, bmpHigh].sort(compareUtf8)).toEqual([bmpHigh, astral]);
  });
});
