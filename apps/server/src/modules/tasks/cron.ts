import { Cron } from 'croner';

/**
 * Cron expressions of tasks (SPEC §5.1): 5 fields (minute hour day-of-month month day-of-week)
 * or 6 with a leading seconds field. Descriptors such as `@daily` are refused on save, as BackupX
 * refuses them (its check needs at least five whitespace-separated fields).
 */

const FIVE_FIELDS = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;
const SIX_FIELDS = ['second', ...FIVE_FIELDS] as const;
const FIELD_RANGES: Record<string, string> = {
  second: '0-59',
  minute: '0-59',
  hour: '0-23',
  'day-of-month': '1-31',
  month: '1-12 or jan-dec',
  'day-of-week': '0-7 or sun-sat',
};

const build = (expr: string, timeZone: string): Cron =>
  new Cron(expr, { paused: true, mode: '5-or-6-parts', ...(timeZone === '' ? {} : { timezone: timeZone }) });

/** The time zone the process runs in (`TZ`), used when `backup.timezone` is empty. */
export const processTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** The configured zone, or the process zone when the setting is empty. */
export const resolveTimeZone = (configured: string): string =>
  configured.trim() === '' ? processTimeZone() : configured.trim();

/**
 * Checks an expression. Returns null when it is valid, else a message naming the bad field.
 * An expression that can never fire (`0 0 30 2 *`) is refused too.
 */
export const cronError = (expr: string): string | null => {
  const fields = expr
    .trim()
    .split(/\s+/)
    .filter((field) => field !== '');
  if (fields.length !== 5 && fields.length !== 6) {
    return `"${expr.trim()}" has ${fields.length} field${fields.length === 1 ? '' : 's'}; expected 5 (minute hour day-of-month month day-of-week) or 6 with leading seconds`;
  }
  const names = fields.length === 6 ? SIX_FIELDS : FIVE_FIELDS;
  const pattern = fields.join(' ');
  try {
    build(pattern, 'UTC');
  } catch {
    // Find the culprit by checking each field with every other one set to `*`.
    for (const [index, field] of fields.entries()) {
      const probe = fields.map((value, i) => (i === index ? value : '*')).join(' ');
      try {
        build(probe, 'UTC');
      } catch {
        const name = names[index] ?? 'field';
        return `${name} field "${field}" is invalid (allowed: ${FIELD_RANGES[name] ?? ''}, with , - / and *)`;
      }
    }
    return `"${pattern}" is not a valid cron expression`;
  }
  if (build(pattern, 'UTC').nextRun() === null) return `"${pattern}" never matches a date`;
  return null;
};

/**
 * The next `count` fire times of `cronExpr` in `timeZone` (IANA name; empty = process zone),
 * after `from` (default now). Throws on an invalid expression; check it with `cronError` first.
 */
export const nextRuns = (cronExpr: string, timeZone: string, count: number, from?: Date): Date[] =>
  build(cronExpr.trim().split(/\s+/).join(' '), timeZone).nextRuns(count, from ?? new Date());
