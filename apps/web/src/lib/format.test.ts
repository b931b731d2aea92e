import { describe, it, expect } from 'vitest';
import {
  EMPTY_VALUE,
  fileNameFromContentDisposition,
  formatApiKeyPrefix,
  formatBytes,
  formatDate,
  formatDateTime,
  formatDuration,
  formatRelativeTime,
  formatRatio,
  percentOf,
  ratioToPercent,
  usageLevel,
} from './format.ts';

describe('formatBytes', () => {
  it('formats bytes below one kilobyte without decimals', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1)).toBe('1 B');
    expect(formatBytes(1023)).toBe('1023 B');
  });

  it('uses binary multiples and drops trailing zeros', () => {
    expect(formatBytes(1024)).toBe('1 KB');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(5 * 1024 ** 2)).toBe('5 MB');
    expect(formatBytes(1.25 * 1024 ** 3, 2)).toBe('1.25 GB');
    expect(formatBytes(3 * 1024 ** 4)).toBe('3 TB');
  });

  it('carries a value that rounds up to 1024 into the next unit', () => {
    expect(formatBytes(1024 * 1024 - 1)).toBe('1 MB');
  });

  it('returns a placeholder for invalid input', () => {
    expect(formatBytes(-1)).toBe(EMPTY_VALUE);
    expect(formatBytes(Number.NaN)).toBe(EMPTY_VALUE);
    expect(formatBytes(Number.POSITIVE_INFINITY)).toBe(EMPTY_VALUE);
  });
});

describe('formatDuration', () => {
  it('shows seconds for short durations', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(42)).toBe('42s');
    expect(formatDuration(61)).toBe('1m 1s');
  });

  it('shows the largest units and skips zero ones', () => {
    expect(formatDuration(3_600)).toBe('1h');
    expect(formatDuration(3_661)).toBe('1h 1m');
    expect(formatDuration(93_784)).toBe('1d 2h 3m');
    expect(formatDuration(86_400 * 3 + 5)).toBe('3d');
  });

  it('respects maxParts and custom unit labels', () => {
    expect(formatDuration(93_784, undefined, 1)).toBe('1d');
    expect(formatDuration(93_784, { day: '天', hour: '小时', minute: '分钟', second: '秒' })).toBe(
      '1天 2小时 3分钟',
    );
  });

  it('floors fractions and rejects invalid input', () => {
    expect(formatDuration(59.9)).toBe('59s');
    expect(formatDuration(-5)).toBe(EMPTY_VALUE);
    expect(formatDuration(Number.NaN)).toBe(EMPTY_VALUE);
  });
});

describe('percentOf', () => {
  it('rounds to one decimal and clamps to 0..100', () => {
    expect(percentOf(1, 3)).toBe(33.3);
    expect(percentOf(50, 100)).toBe(50);
    expect(percentOf(150, 100)).toBe(100);
    expect(percentOf(-1, 100)).toBe(0);
  });

  it('returns 0 for an empty total', () => {
    expect(percentOf(5, 0)).toBe(0);
    expect(percentOf(5, Number.NaN)).toBe(0);
  });
});

describe('formatDateTime', () => {
  it('formats RFC 3339 timestamps in the given time zone', () => {
    expect(formatDateTime('2025-01-02T03:04:05Z', 'UTC')).toBe('2025-01-02 03:04:05');
    expect(formatDateTime('2025-01-02T23:30:00Z', 'Asia/Shanghai')).toBe('2025-01-03 07:30:00');
    expect(formatDateTime('2025-06-30T00:00:00+02:00', 'UTC')).toBe('2025-06-29 22:00:00');
  });

  it('uses a 24-hour clock', () => {
    expect(formatDateTime('2025-01-02T00:00:00Z', 'UTC')).toBe('2025-01-02 00:00:00');
    expect(formatDateTime('2025-01-02T15:00:00Z', 'UTC')).toBe('2025-01-02 15:00:00');
  });

  it('returns a placeholder for empty or invalid input', () => {
    expect(formatDateTime(null)).toBe(EMPTY_VALUE);
    expect(formatDateTime('')).toBe(EMPTY_VALUE);
    expect(formatDateTime('not a date')).toBe(EMPTY_VALUE);
  });
});

describe('formatDate', () => {
  it('keeps the date part in the given time zone', () => {
    expect(formatDate('2025-01-02T23:30:00Z', 'UTC')).toBe('2025-01-02');
    expect(formatDate('2025-01-02T23:30:00Z', 'Asia/Shanghai')).toBe('2025-01-03');
    expect(formatDate(null)).toBe(EMPTY_VALUE);
  });
});

describe('formatRelativeTime', () => {
  const now = Date.parse('2025-01-02T12:00:00Z');

  it('picks the largest fitting unit', () => {
    expect(formatRelativeTime('2025-01-02T09:00:00Z', now, 'en-US')).toBe('3 hours ago');
    expect(formatRelativeTime('2025-01-04T12:00:00Z', now, 'en-US')).toBe('in 2 days');
    expect(formatRelativeTime('2025-01-02T11:59:30Z', now, 'en-US')).toBe('30 seconds ago');
  });

  it('localises the text', () => {
    expect(formatRelativeTime('2025-01-02T09:00:00Z', now, 'zh-CN')).toBe('3小时前');
  });

  it('returns a placeholder for empty or invalid input', () => {
    expect(formatRelativeTime(null, now, 'en-US')).toBe(EMPTY_VALUE);
    expect(formatRelativeTime('garbage', now, 'en-US')).toBe(EMPTY_VALUE);
  });
});

describe('formatApiKeyPrefix', () => {
  it('adds the bax_ scheme and an ellipsis', () => {
    expect(formatApiKeyPrefix('1a2b3c4d')).toBe('bax_1a2b3c4d…');
    expect(formatApiKeyPrefix('bax_1a2b3c4d')).toBe('bax_1a2b3c4d…');
    expect(formatApiKeyPrefix('')).toBe(EMPTY_VALUE);
  });
});

describe('fileNameFromContentDisposition', () => {
  const fallback = 'backupx-audit.csv';

  it('reads quoted and unquoted file names', () => {
    expect(fileNameFromContentDisposition('attachment; filename="audit-2025.csv"', fallback)).toBe(
      'audit-2025.csv',
    );
    expect(fileNameFromContentDisposition('attachment; filename=audit.csv', fallback)).toBe('audit.csv');
  });

  it('prefers the RFC 5987 extended form', () => {
    expect(
      fileNameFromContentDisposition(
        `attachment; filename="a.csv"; filename*=UTF-8''%E5%AE%A1%E8%AE%A1.csv`,
        fallback,
      ),
    ).toBe('审计.csv');
  });

  it('strips directories and falls back when nothing usable is named', () => {
    expect(fileNameFromContentDisposition('attachment; filename="../../etc/passwd"', fallback)).toBe(
      'passwd',
    );
    expect(fileNameFromContentDisposition('attachment', fallback)).toBe(fallback);
    expect(fileNameFromContentDisposition(null, fallback)).toBe(fallback);
    expect(fileNameFromContentDisposition('attachment; filename=""', fallback)).toBe(fallback);
  });
});

describe('usageLevel', () => {
  it('grades usage percentages', () => {
    expect(usageLevel(0)).toBe('ok');
    expect(usageLevel(74.9)).toBe('ok');
    expect(usageLevel(75)).toBe('warning');
    expect(usageLevel(89.9)).toBe('warning');
    expect(usageLevel(90)).toBe('critical');
    expect(usageLevel(100)).toBe('critical');
  });
});

describe('ratioToPercent / formatRatio', () => {
  it('turns an API ratio into a percentage with one decimal', () => {
    expect(ratioToPercent(0.6667)).toBe(66.7);
    expect(ratioToPercent(1)).toBe(100);
    expect(ratioToPercent(0)).toBe(0);
    expect(ratioToPercent(0.9995)).toBe(100);
  });

  it('clamps out-of-range and non-finite ratios', () => {
    expect(ratioToPercent(1.5)).toBe(100);
    expect(ratioToPercent(-0.2)).toBe(0);
    expect(ratioToPercent(Number.NaN)).toBe(0);
  });

  it('formats without a trailing .0', () => {
    expect(formatRatio(0.6667)).toBe('66.7%');
    expect(formatRatio(1)).toBe('100%');
    expect(formatRatio(0)).toBe('0%');
    expect(formatRatio(0.5)).toBe('50%');
  });
});
