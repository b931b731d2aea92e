import { describe, expect, it } from 'vitest';
import { splitAzureRoot } from './azure-blob.ts';

describe('Azure root parsing', () => {
  it('splits container and prefix', () => {
    expect(splitAzureRoot('backups')).toEqual({ container: 'backups', prefix: '' });
    expect(splitAzureRoot('/backups/a/b/')).toEqual({ container: 'backups', prefix: 'a/b/' });
  });
  it('rejects invalid container names and unsafe prefixes', () => {
    for (const root of ['', 'Upper', 'ab', 'a--b', 'bad_name', '-abc'])
      expect(() => splitAzureRoot(root), root).toThrow();
    expect(() => splitAzureRoot('backups/../x')).toThrow();
  });
});
