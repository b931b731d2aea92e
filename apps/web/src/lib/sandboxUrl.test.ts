import { describe, expect, it } from 'vitest';
import { MASKED_SECRET } from '@backupx/contract';
import { isSandboxUrl } from './sandboxUrl.ts';

const mysql = ['mysql', 'mariadb'];

describe('isSandboxUrl', () => {
  it('accepts empty, the masked value and a URL with user and host', () => {
    expect(isSandboxUrl('', mysql)).toBe(true);
    expect(isSandboxUrl(MASKED_SECRET, mysql)).toBe(true);
    expect(isSandboxUrl('mysql://root:p%40ss@db.local:3306', mysql)).toBe(true);
    expect(isSandboxUrl(' mariadb://drill@10.0.0.5 ', mysql)).toBe(true);
  });

  it('refuses another scheme, a missing user and text that is no URL', () => {
    expect(isSandboxUrl('postgresql://u:p@host:5432', mysql)).toBe(false);
    expect(isSandboxUrl('mysql://host:3306', mysql)).toBe(false);
    expect(isSandboxUrl('db.local:3306', mysql)).toBe(false);
  });
});
