import { describe, expect, it } from 'vitest';
import { cronError, nextRuns, processTimeZone, resolveTimeZone } from './cron.ts';

const iso = (dates: Date[]) => dates.map((date) => date.toISOString());

describe('cron validation', () => {
  it('accepts 5 fields and 6 with leading seconds, including the console presets', () => {
    for (const expr of [
      '0 2 * * *',
      '0 0 * * *',
      '0 */6 * * *',
      '0 */12 * * *',
      '0 3 * * 0',
      '0 2 1 * *',
      '*/30 * * * *',
      '0 * * * *',
      '* * * * * *',
      '30 15 2 * * mon-fri',
      '0 0 1 jan *',
    ]) {
      expect(cronError(expr), expr).toBeNull();
    }
  });

  it('names the bad field', () => {
    expect(cronError('61 * * * *')).toMatch(/^minute field "61" is invalid/);
    expect(cronError('* 25 * * *')).toMatch(/^hour field "25"/);
    expect(cronError('* * 32 * *')).toMatch(/^day-of-month field "32"/);
    expect(cronError('* * * 13 *')).toMatch(/^month field "13"/);
    expect(cronError('* * * * 8')).toMatch(/^day-of-week field "8"/);
    expect(cronError('60 * * * * *')).toMatch(/^second field "60"/);
    expect(cronError('0 61 * * * *')).toMatch(/^minute field "61"/);
    expect(cronError('abc * * * *')).toMatch(/^minute field "abc"/);
    expect(cronError('*/0 * * * *')).toMatch(/^minute field/);
  });

  it('refuses other field counts, descriptors and expressions that never fire', () => {
    expect(cronError('* * * *')).toMatch(/has 4 fields; expected 5/);
    expect(cronError('0 0 0 1 1 * 2030')).toMatch(/has 7 fields/);
    expect(cronError('@daily')).toMatch(/has 1 field;/);
    expect(cronError('')).toMatch(/has 0 fields/);
    expect(cronError('0 0 30 2 *')).toMatch(/never matches/);
  });
});

describe('next runs', () => {
  const from = new Date('2026-04-17T10:15:30.000Z');

  it('lists fire times after a reference in the given zone', () => {
    expect(iso(nextRuns('0 2 * * *', 'UTC', 3, from))).toEqual([
      '2026-04-18T02:00:00.000Z',
      '2026-04-19T02:00:00.000Z',
      '2026-04-20T02:00:00.000Z',
    ]);
    // 02:00 in Berlin (CEST, UTC+2) is midnight UTC.
    expect(iso(nextRuns('0 2 * * *', 'Europe/Berlin', 1, from))).toEqual(['2026-04-18T00:00:00.000Z']);
    expect(iso(nextRuns('*/30 * * * *', 'UTC', 2, from))).toEqual([
      '2026-04-17T10:30:00.000Z',
      '2026-04-17T11:00:00.000Z',
    ]);
  });

  it('handles seconds and is strictly after the reference', () => {
    expect(iso(nextRuns('* * * * * *', 'UTC', 2, new Date('2026-04-17T10:15:30.000Z')))).toEqual([
      '2026-04-17T10:15:31.000Z',
      '2026-04-17T10:15:32.000Z',
    ]);
    expect(iso(nextRuns('15 * * * * *', 'UTC', 1, from))).toEqual(['2026-04-17T10:16:15.000Z']);
  });

  it('follows daylight saving time: a wall-clock time in the spring gap runs once, right after it', () => {
    // Berlin skips 02:00–03:00 on 2026-03-29.
    expect(iso(nextRuns('30 2 * * *', 'Europe/Berlin', 3, new Date('2026-03-27T12:00:00Z')))).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  it('uses the process zone when the configured zone is empty', () => {
    expect(resolveTimeZone('')).toBe(processTimeZone());
    expect(resolveTimeZone(' Asia/Tokyo ')).toBe('Asia/Tokyo');
    expect(iso(nextRuns('0 2 * * *', '', 1, from))).toEqual(
      iso(nextRuns('0 2 * * *', processTimeZone(), 1, from)),
    );
  });
});
