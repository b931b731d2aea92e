import { describe, expect, it } from 'vitest';
import { DELETIONS_ENTRY, fileArtifactName } from './file-source.ts';

describe('file artifact naming (SPEC §3.4)', () => {
  const now = new Date(Date.UTC(2026, 3, 21, 2, 0, 0));

  it('is <sanitizeA(name)>_<YYYYMMDDTHHMMSS>.tar in UTC', () => {
    expect(fileArtifactName('web', now)).toBe('web_20260421T020000.tar');
    expect(fileArtifactName('My Site.com!', now)).toBe('my_site_com_20260421T020000.tar');
    expect(fileArtifactName('网站', now)).toBe('backup_20260421T020000.tar');
    expect(fileArtifactName('  ', new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))).toBe(
      'backup_20260102T030405.tar',
    );
  });

  it('names the deletions entry of a differential', () => {
    expect(DELETIONS_ENTRY).toBe('.backupx/deletions.json');
  });
});
