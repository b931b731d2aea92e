import { describe, expect, it } from 'vitest';
import { compileExcludes, globMatch, isExcluded } from './glob.ts';

describe('globMatch', () => {
  it('supports shell-style *, ? and classes without crossing /', () => {
    expect(globMatch('*.log', 'a.log')).toBe(true);
    expect(globMatch('*.log', 'dir/a.log')).toBe(false);
    expect(globMatch('?.txt', 'a.txt')).toBe(true);
    expect(globMatch('?.txt', 'ab.txt')).toBe(false);
    expect(globMatch('file[0-9].txt', 'file7.txt')).toBe(true);
    expect(globMatch('file[!0-9].txt', 'file7.txt')).toBe(false);
    expect(globMatch('file[^0-9].txt', 'fileA.txt')).toBe(true);
    expect(globMatch('[ab]c', 'bc')).toBe(true);
    expect(globMatch('a[/]b', 'a/b')).toBe(true);
  });

  it('treats regex characters and escapes literally', () => {
    expect(globMatch('a+b(1).txt', 'a+b(1).txt')).toBe(true);
    expect(globMatch('a.txt', 'abtxt')).toBe(false);
    expect(globMatch('\\*.txt', '*.txt')).toBe(true);
    expect(globMatch('\\*.txt', 'a.txt')).toBe(false);
    expect(globMatch('[abc', '[abc')).toBe(true);
    expect(globMatch('a-b', 'a-b')).toBe(true);
  });

  it('supports ** across directories', () => {
    expect(globMatch('**/*.log', 'a.log')).toBe(true);
    expect(globMatch('**/*.log', 'www/logs/deep/a.log')).toBe(true);
    expect(globMatch('www/**/cache', 'www/cache')).toBe(true);
    expect(globMatch('www/**/cache', 'www/a/b/cache')).toBe(true);
    expect(globMatch('www/**/cache', 'other/a/cache')).toBe(false);
    expect(globMatch('www/node_modules/**', 'www/node_modules/x/y.js')).toBe(true);
    expect(globMatch('www/node_modules/**', 'www/node_modules')).toBe(false);
    expect(globMatch('**', 'anything/at/all')).toBe(true);
    expect(globMatch('a**z', 'a/b/c/z')).toBe(true);
  });

  it('matches unicode names one code point per ?', () => {
    expect(globMatch('r?sum?.txt', 'résumé.txt')).toBe(true);
    expect(globMatch('*.日本', '文書.日本')).toBe(true);
  });
});

describe('isExcluded (SPEC §3.12 rule)', () => {
  const patterns = compileExcludes([
    '*.tmp',
    'www/cache',
    'node_modules',
    'build/',
    '**/secret/*.key',
    '  ',
    '',
  ]);

  it('drops blank patterns', () => {
    expect(patterns.map((p) => p.source)).toEqual([
      '*.tmp',
      'www/cache',
      'node_modules',
      'build/',
      '**/secret/*.key',
    ]);
  });

  it('matches the whole relative path', () => {
    expect(isExcluded('www/cache', 'cache', true, patterns)).toBe(true);
    expect(isExcluded('other/cache', 'cache', true, patterns)).toBe(false);
    expect(isExcluded('www/a/secret/id.key', 'id.key', false, patterns)).toBe(true);
  });

  it('matches the base name', () => {
    expect(isExcluded('www/deep/x.tmp', 'x.tmp', false, patterns)).toBe(true);
    expect(isExcluded('www/deep/x.tmpl', 'x.tmpl', false, patterns)).toBe(false);
  });

  it('matches a directory by the pattern without its trailing slash', () => {
    expect(isExcluded('www/node_modules', 'node_modules', true, patterns)).toBe(true);
    expect(isExcluded('www/app/build', 'build', true, patterns)).toBe(true);
    // `build/` applies to directories only.
    expect(isExcluded('www/app/build', 'build', false, patterns)).toBe(false);
  });

  it('accepts raw string patterns', () => {
    expect(isExcluded('a/b.log', 'b.log', false, ['**/*.log'])).toBe(true);
    expect(isExcluded('a/b.log', 'b.log', false, [])).toBe(false);
  });
});
