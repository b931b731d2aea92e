import { describe, expect, it } from 'vitest';
import { parseUnixListDate } from './ftp.ts';

describe('ftp LIST dates', () => {
  const now = new Date(Date.UTC(2026, 2, 15, 12, 0));

  it('reads recent dates (time, no year) as this year, or last year when in the future', () => {
    expect(parseUnixListDate('Mar 14 09:30', now)?.toISOString()).toBe('2026-03-14T09:30:00.000Z');
    expect(parseUnixListDate('Dec  1 23:59', now)?.toISOString()).toBe('2025-12-01T23:59:00.000Z');
  });

  it('reads old dates with a year', () => {
    expect(parseUnixListDate('Jan 02  2024', now)?.toISOString()).toBe('2024-01-02T00:00:00.000Z');
  });

  it('returns null for what it cannot read', () => {
    expect(parseUnixListDate('', now)).toBeNull();
    expect(parseUnixListDate('2024-01-02 10:00', now)).toBeNull();
    expect(parseUnixListDate('Foo 02 10:00', now)).toBeNull();
  });
});
