import { describe, expect, it } from 'vitest';
import { withRecordSuffix } from './backup-runner.ts';

describe('object names of runs in the same second', () => {
  it('adds the record id before the extensions, which the restore reads the layers from', () => {
    expect(withRecordSuffix('site_20261121T204445.tar.zst.enc', 42)).toBe(
      'site_20261121T204445-r42.tar.zst.enc',
    );
    expect(withRecordSuffix('orders_20261121T204445.sql.gz', 7)).toBe('orders_20261121T204445-r7.sql.gz');
    expect(withRecordSuffix('plain', 3)).toBe('plain-r3');
  });
});
