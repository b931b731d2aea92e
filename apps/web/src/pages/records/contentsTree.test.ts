import { describe, expect, it } from 'vitest';
import { buildContentsTree, minimalSelection } from './contentsTree.ts';

describe('buildContentsTree', () => {
  it('nests paths, creates missing directories, sums sizes and sorts directories first', () => {
    const tree = buildContentsTree([
      { path: 'www/index.html', size: 10, isDir: false },
      { path: 'www/assets', size: 0, isDir: true },
      { path: 'www/assets/app.js', size: 30, isDir: false },
      { path: 'notes.txt', size: 5, isDir: false },
    ]);
    expect(tree.map((node) => node.key)).toEqual(['www', 'notes.txt']);
    const www = tree[0];
    expect(www?.isDir).toBe(true);
    expect(www?.size).toBe(40);
    expect(www?.fileCount).toBe(2);
    expect(www?.children?.map((node) => node.key)).toEqual(['www/assets', 'www/index.html']);
    expect(tree[1]?.children).toBeUndefined();
  });

  it('ignores empty paths and duplicates', () => {
    const tree = buildContentsTree([
      { path: '', size: 0, isDir: true },
      { path: 'a.txt', size: 1, isDir: false },
      { path: 'a.txt', size: 1, isDir: false },
    ]);
    expect(tree).toHaveLength(1);
  });
});

describe('minimalSelection', () => {
  it('drops paths covered by a checked ancestor', () => {
    expect(minimalSelection(['www', 'www/a', 'www/a/b.txt', 'www-old/x', 'c.txt', 'c.txt'])).toEqual([
      'c.txt',
      'www',
      'www-old/x',
    ]);
  });

  it('keeps siblings when only files are checked', () => {
    expect(minimalSelection(['d/x', 'd/y'])).toEqual(['d/x', 'd/y']);
  });
});
