import { describe, expect, it } from 'vitest';
import {
  MaintenanceWindowSyntaxError,
  isWithinWindows,
  localTimeOf,
  parseWindows,
  parseWindowsLenient,
  windowsError,
} from './maintenance-windows.ts';

/** 2026-04-17 is a Friday. */
const utc = (iso: string) => new Date(`${iso}Z`);
const within = (text: string, iso: string, zone = 'UTC') =>
  isWithinWindows(parseWindows(text), utc(iso), zone);

describe('maintenance window grammar', () => {
  it('parses the SPEC examples', () => {
    expect(parseWindows('time=01:00-05:00')).toEqual([{ days: [], startMinute: 60, endMinute: 300 }]);
    expect(parseWindows('time=22:00-06:00')).toEqual([{ days: [], startMinute: 1320, endMinute: 360 }]);
    expect(parseWindows('days=sat|sun,time=00:00-23:59')).toEqual([
      { days: [0, 6], startMinute: 0, endMinute: 1439 },
    ]);
    expect(parseWindows('days=mon|tue|wed|thu|fri,time=22:00-06:00;days=sat|sun,time=00:00-23:59')).toEqual([
      { days: [1, 2, 3, 4, 5], startMinute: 1320, endMinute: 360 },
      { days: [0, 6], startMinute: 0, endMinute: 1439 },
    ]);
  });

  it('accepts day names, long names and numbers in any case, and loose spacing', () => {
    expect(parseWindows(' DAYS = Sunday|MON|2 , time = 1:05 - 2:00 ;')).toEqual([
      { days: [0, 1, 2], startMinute: 65, endMinute: 120 },
    ]);
    expect(parseWindows('days=saturday|6|sat,time=00:00-01:00')[0]?.days).toEqual([6]);
    expect(parseWindows('time=00:00-01:00,days=')[0]?.days).toEqual([]);
  });

  it('treats empty text as no windows and ignores empty windows (start == end)', () => {
    expect(parseWindows('')).toEqual([]);
    expect(parseWindows('  ;  ')).toEqual([]);
    expect(parseWindows('time=03:00-03:00')).toEqual([]);
    expect(parseWindows('time=03:00-03:00;time=04:00-05:00')).toHaveLength(1);
  });

  it('refuses invalid segments, naming the segment and the expected format', () => {
    const cases: [string, RegExp][] = [
      ['days=mon', /time=HH:MM-HH:MM is missing/],
      ['time=24:00-01:00', /hour 24/],
      ['time=01:60-02:00', /minute 60/],
      ['time=0100-0200', /not HH:MM-HH:MM/],
      ['days=xyz,time=01:00-02:00', /unknown day "xyz"/],
      ['days=7,time=01:00-02:00', /unknown day "7"/],
      ['when=01:00-02:00', /unknown field "when"/],
      ['time=01:00-02:00,time=03:00-04:00', /time is given twice/],
      ['days=mon,days=tue,time=01:00-02:00', /days is given twice/],
      ['time', /is not key=value/],
    ];
    for (const [text, reason] of cases) {
      const message = windowsError(`time=01:00-02:00;${text}`);
      expect(message, text).toMatch(reason);
      expect(message, text).toContain(`window "${text}"`);
      expect(message, text).toContain('expected days=mon|tue,time=HH:MM-HH:MM');
      expect(() => parseWindows(text)).toThrow(MaintenanceWindowSyntaxError);
    }
    expect(windowsError('time=01:00-02:00')).toBeNull();
  });

  it('skips invalid segments when evaluating stored text leniently', () => {
    expect(parseWindowsLenient('days=xyz,time=01:00-02:00;time=03:00-04:00;garbage')).toEqual([
      { days: [], startMinute: 180, endMinute: 240 },
    ]);
  });
});

describe('maintenance window evaluation', () => {
  it('means no restriction without windows', () => {
    expect(isWithinWindows([], utc('2026-04-17T12:00:00'), 'UTC')).toBe(true);
  });

  it('includes the start and excludes the end', () => {
    expect(within('time=01:00-05:00', '2026-04-17T00:59:59')).toBe(false);
    expect(within('time=01:00-05:00', '2026-04-17T01:00:00')).toBe(true);
    expect(within('time=01:00-05:00', '2026-04-17T04:59:59')).toBe(true);
    expect(within('time=01:00-05:00', '2026-04-17T05:00:00')).toBe(false);
    // The SPEC's "all day" example leaves the last minute out.
    expect(within('days=sat|sun,time=00:00-23:59', '2026-04-18T23:58:00')).toBe(true);
    expect(within('days=sat|sun,time=00:00-23:59', '2026-04-18T23:59:00')).toBe(false);
  });

  it('filters by the weekday', () => {
    expect(within('days=sat|sun,time=00:00-23:59', '2026-04-17T12:00:00')).toBe(false); // Friday
    expect(within('days=sat|sun,time=00:00-23:59', '2026-04-18T12:00:00')).toBe(true); // Saturday
    expect(within('days=0,time=00:00-23:59', '2026-04-19T12:00:00')).toBe(true); // Sunday
  });

  it('crosses midnight, the early-morning part counting for the day the window started', () => {
    const text = 'days=fri,time=22:00-06:00';
    expect(within(text, '2026-04-17T21:59:00')).toBe(false); // Friday before the start
    expect(within(text, '2026-04-17T22:00:00')).toBe(true); // Friday evening
    expect(within(text, '2026-04-18T03:00:00')).toBe(true); // Saturday morning: Friday's window
    expect(within(text, '2026-04-18T06:00:00')).toBe(false); // the end is exclusive
    expect(within(text, '2026-04-17T03:00:00')).toBe(false); // Friday morning: Thursday's window
    expect(within(text, '2026-04-18T22:30:00')).toBe(false); // Saturday evening
    expect(within('time=22:00-06:00', '2026-04-17T12:00:00')).toBe(false);
    expect(within('time=22:00-06:00', '2026-04-17T05:59:00')).toBe(true);
  });

  it('matches if any window matches', () => {
    const text = 'days=mon|tue|wed|thu|fri,time=22:00-06:00;days=sat|sun,time=00:00-23:59';
    expect(within(text, '2026-04-17T12:00:00')).toBe(false); // Friday noon
    expect(within(text, '2026-04-17T23:00:00')).toBe(true); // Friday night
    expect(within(text, '2026-04-18T12:00:00')).toBe(true); // Saturday
    expect(within(text, '2026-04-20T03:00:00')).toBe(false); // Monday 03:00 belongs to Sunday 22:00 (no weekday window)
    expect(within(text, '2026-04-20T00:30:00')).toBe(false);
    expect(within(text, '2026-04-21T03:00:00')).toBe(true); // Tuesday 03:00: Monday's night window
  });

  it('evaluates on the wall clock of the configured time zone', () => {
    // 2026-04-17T16:30Z is Saturday 01:30 in Tokyo (UTC+9) and Friday 12:30 in New York (UTC-4).
    expect(localTimeOf(utc('2026-04-17T16:30:00'), 'Asia/Tokyo')).toEqual({ weekday: 6, minute: 90 });
    expect(localTimeOf(utc('2026-04-17T16:30:00'), 'America/New_York')).toEqual({ weekday: 5, minute: 750 });
    const text = 'days=sat,time=01:00-02:00';
    expect(within(text, '2026-04-17T16:30:00', 'Asia/Tokyo')).toBe(true);
    expect(within(text, '2026-04-17T16:30:00', 'UTC')).toBe(false);
    expect(within(text, '2026-04-17T16:30:00', 'America/New_York')).toBe(false);
    // Midnight is 0, never 24.
    expect(localTimeOf(utc('2026-04-17T00:00:00'), 'UTC')).toEqual({ weekday: 5, minute: 0 });
  });
});
