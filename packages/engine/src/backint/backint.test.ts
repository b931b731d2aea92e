import { describe, expect, it } from 'vitest';
import { BackintCatalog } from './catalog.ts';
import { parseBackintParams } from './params.ts';
import {
  backupLine,
  deletedLine,
  errorLine,
  newEbid,
  notFoundLine,
  objectKeyFor,
  parseBackupRequests,
  parseDeleteRequests,
  parseFunction,
  parseInquireRequests,
  parseRestoreRequests,
  restoredLine,
  savedLine,
  splitFirstField,
} from './protocol.ts';
import { parseBackintArgs } from './agent.ts';

describe('backint parameter file', () => {
  it('parses keys, comments, quotes and defaults', () => {
    const params = parseBackintParams(
      [
        '; a comment',
        '#STORAGE_TYPE = "s3"',
        'STORAGE_CONFIG = {"bucket":"b","region":"r"}',
        'PARALLEL_FACTOR = 4',
        'COMPRESS = yes',
        'LOG_FILE = /var/log/backint.log',
        'KEY_PREFIX = /hana/prod/',
        '# just a comment line',
      ].join('\n'),
    );
    expect(params).toEqual({
      storageType: 's3',
      storageConfig: { bucket: 'b', region: 'r' },
      parallelFactor: 4,
      compress: true,
      logFile: '/var/log/backint.log',
      catalogDb: './backint_catalog.db',
      keyPrefix: 'hana/prod',
    });
    expect(
      parseBackintParams('STORAGE_TYPE=local_disk\nSTORAGE_CONFIG_JSON=/etc/cfg.json\nCOMPRESS=0'),
    ).toMatchObject({
      storageConfigJsonPath: '/etc/cfg.json',
      compress: false,
      parallelFactor: 1,
    });
  });
  it('rejects a missing type, a missing config and an invalid parallel factor', () => {
    expect(() => parseBackintParams('STORAGE_CONFIG={}')).toThrow(/STORAGE_TYPE is required/);
    expect(() => parseBackintParams('STORAGE_TYPE=s3')).toThrow(/STORAGE_CONFIG_JSON or STORAGE_CONFIG/);
    expect(() => parseBackintParams('STORAGE_TYPE=s3\nSTORAGE_CONFIG={}\nPARALLEL_FACTOR=0')).toThrow(
      /PARALLEL_FACTOR/,
    );
    expect(() => parseBackintParams('STORAGE_TYPE=s3\nSTORAGE_CONFIG={}\nPARALLEL_FACTOR=x')).toThrow(
      /PARALLEL_FACTOR/,
    );
    expect(() => parseBackintParams('STORAGE_TYPE=s3\nSTORAGE_CONFIG={bad')).toThrow(/not valid JSON/);
  });
});

describe('backint protocol', () => {
  it('parses the function case-insensitively', () => {
    expect(parseFunction('BACKUP')).toBe('backup');
    expect(parseFunction(' Inquire ')).toBe('inquire');
    expect(() => parseFunction('list')).toThrow(/unsupported/);
  });
  it('splits fields, quoted or not', () => {
    expect(splitFirstField('"abc def" "path"')).toEqual(['abc def', '"path"']);
    expect(splitFirstField('ebid   "/p q"')).toEqual(['ebid', '"/p q"']);
    expect(splitFirstField('single')).toEqual(['single', '']);
    expect(splitFirstField('')).toEqual(['', '']);
  });
  it('parses backup requests', () => {
    expect(parseBackupRequests('#PIPE /hana/pipe1\n\n"/tmp/a file"\n/tmp/b\n')).toEqual([
      { isPipe: true, path: '/hana/pipe1' },
      { isPipe: false, path: '/tmp/a file' },
      { isPipe: false, path: '/tmp/b' },
    ]);
    expect(() => parseBackupRequests('#PIPE')).toThrow(/invalid #PIPE/);
  });
  it('parses restore requests', () => {
    expect(
      parseRestoreRequests('#PIPE #EBID backupx-1-ab "/p 1"\nbackupx-2-cd "/p2"\n#EBID "e 3" /p3'),
    ).toEqual([
      { isPipe: true, ebid: 'backupx-1-ab', path: '/p 1' },
      { isPipe: false, ebid: 'backupx-2-cd', path: '/p2' },
      { isPipe: false, ebid: 'e 3', path: '/p3' },
    ]);
    expect(() => parseRestoreRequests('only-an-ebid')).toThrow(/invalid restore line/);
  });
  it('parses inquire and delete requests', () => {
    expect(parseInquireRequests('#NULL\n"e1"\n#EBID "e2"\ne3')).toEqual([
      { all: true, ebid: '' },
      { all: false, ebid: 'e1' },
      { all: false, ebid: 'e2' },
      { all: false, ebid: 'e3' },
    ]);
    expect(parseDeleteRequests('#EBID e1\n"e2"\n')).toEqual([{ ebid: 'e1' }, { ebid: 'e2' }]);
  });
  it('writes responses with escaped quotes', () => {
    expect(savedLine('e1', '/p "x"')).toBe('#SAVED e1 "/p \\"x\\""\n');
    expect(restoredLine('e1', '/p')).toBe('#RESTORED "e1" "/p"\n');
    expect(backupLine('e1')).toBe('#BACKUP "e1"\n');
    expect(notFoundLine('e1')).toBe('#NOTFOUND "e1"\n');
    expect(deletedLine('e1')).toBe('#DELETED "e1"\n');
    expect(errorLine('/p')).toBe('#ERROR "/p"\n');
  });
  it('formats EBIDs and object keys', () => {
    expect(newEbid(new Date(1_700_000_000_123), () => '0123456789abcdef')).toBe(
      'backupx-1700000000-0123456789abcdef',
    );
    expect(newEbid(new Date())).toMatch(/^backupx-\d+-[0-9a-f]{16}$/);
    expect(objectKeyFor('', 'e', false)).toBe('e.bin');
    expect(objectKeyFor('hana/prod', 'e', true)).toBe('hana/prod/e.bin.gz');
  });
  it('parses the command line', () => {
    expect(
      parseBackintArgs([
        '-u',
        'HXE',
        '-f',
        'backup',
        '-i',
        'in',
        '-o',
        'out',
        '-p',
        'par',
        '-c',
        '1',
        '-l',
        'FULL',
        '-v',
      ]),
    ).toEqual({
      fn: 'backup',
      input: 'in',
      output: 'out',
      paramFile: 'par',
    });
    expect(parseBackintArgs(['-f', 'backup', '-i', 'in', '-o', 'out'])).toBeNull();
  });
});

describe('backint catalog', () => {
  it('puts, upserts, lists newest first and deletes', () => {
    const catalog = BackintCatalog.open(':memory:');
    catalog.put({ ebid: 'a', objectKey: 'a.bin', sourcePath: '/a', size: 1, createdAt: new Date(1000) });
    catalog.put({ ebid: 'b', objectKey: 'b.bin', sourcePath: '/b', size: 2, createdAt: new Date(2000) });
    expect(catalog.list().map((e) => e.ebid)).toEqual(['b', 'a']);
    catalog.put({ ebid: 'a', objectKey: 'a2.bin', sourcePath: '/a', size: 3, createdAt: new Date(3000) });
    expect(catalog.get('a')).toEqual({
      ebid: 'a',
      objectKey: 'a2.bin',
      sourcePath: '/a',
      size: 3,
      createdAt: new Date(3000),
    });
    expect(catalog.list().map((e) => e.ebid)).toEqual(['a', 'b']);
    expect(catalog.delete('a')).toBe(true);
    expect(catalog.delete('a')).toBe(false);
    expect(catalog.get('a')).toBeNull();
    expect(() =>
      catalog.put({ ebid: 'x'.repeat(129), objectKey: 'k', sourcePath: '', size: 0, createdAt: new Date() }),
    ).toThrow();
    catalog.close();
  });
});
