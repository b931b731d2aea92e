/**
 * Small, pure formatting helpers shared by the console pages. They take every locale-dependent
 * input (unit labels, locale, time zone) as parameters so they stay deterministic and testable.
 */

const BYTE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB', 'EB'] as const;

/** Placeholder shown for a value that is missing or cannot be formatted. */
export const EMPTY_VALUE = '—';

/**
 * Formats a byte count with binary multiples (1 KB = 1024 B): `1536` → `1.5 KB`.
 * Whole bytes are shown without decimals; trailing zeros are dropped (`1.0 GB` → `1 GB`).
 */
export function formatBytes(bytes: number, fractionDigits = 1): string {
  if (!Number.isFinite(bytes) || bytes < 0) return EMPTY_VALUE;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const label = BYTE_UNITS[unit] ?? 'B';
  if (unit === 0) return `${Math.round(value)} ${label}`;
  const factor = 10 ** Math.max(0, fractionDigits);
  let rounded = Math.round(value * factor) / factor;
  // 1023.96 KB rounds to 1024 KB: carry it to the next unit instead.
  if (rounded >= 1024 && unit < BYTE_UNITS.length - 1) {
    rounded = Math.round((rounded / 1024) * factor) / factor;
    unit += 1;
  }
  return `${String(rounded)} ${BYTE_UNITS[unit] ?? label}`;
}

/** Unit labels for {@link formatDuration}; the console passes translated ones. */
export interface DurationUnits {
  day: string;
  hour: string;
  minute: string;
  second: string;
}

export const defaultDurationUnits: DurationUnits = { day: 'd', hour: 'h', minute: 'm', second: 's' };

/**
 * Formats a duration in seconds with its largest non-zero units: `93784` → `1d 2h 3m`.
 * At most `maxParts` units are shown; durations under a minute show seconds.
 */
export function formatDuration(
  totalSeconds: number,
  units: DurationUnits = defaultDurationUnits,
  maxParts = 3,
): string {
  if (!Number.isFinite(totalSeconds) || totalSeconds < 0) return EMPTY_VALUE;
  let rest = Math.floor(totalSeconds);
  const days = Math.floor(rest / 86_400);
  rest -= days * 86_400;
  const hours = Math.floor(rest / 3_600);
  rest -= hours * 3_600;
  const minutes = Math.floor(rest / 60);
  const seconds = rest - minutes * 60;
  const parts: string[] = [];
  const push = (value: number, unit: string) => {
    if (value > 0 && parts.length < maxParts) parts.push(`${value}${unit}`);
  };
  push(days, units.day);
  push(hours, units.hour);
  push(minutes, units.minute);
  if (days === 0 && hours === 0) push(seconds, units.second);
  if (parts.length === 0) return `0${units.second}`;
  return parts.join(' ');
}

/** Share of `part` in `total` as a percentage rounded to one decimal (0 when total is 0). */
export function percentOf(part: number, total: number): number {
  if (!Number.isFinite(part) || !Number.isFinite(total) || total <= 0) return 0;
  const ratio = Math.min(Math.max(part / total, 0), 1);
  return Math.round(ratio * 1000) / 10;
}

/** A ratio (0..1, as the API sends rates) as a percentage with one decimal, clamped to 0..100. */
export function ratioToPercent(ratio: number): number {
  if (!Number.isFinite(ratio)) return 0;
  return Math.round(Math.min(Math.max(ratio, 0), 1) * 1000) / 10;
}

/** A ratio as text: `0.6667` → `66.7%`, `1` → `100%`, `0` → `0%`. */
export const formatRatio = (ratio: number): string => `${String(ratioToPercent(ratio))}%`;

const pad = (value: number) => String(value).padStart(2, '0');

/**
 * Formats an RFC 3339 timestamp as `YYYY-MM-DD HH:mm:ss` in the given IANA time zone
 * (default: the runtime's). Returns {@link EMPTY_VALUE} for empty or invalid input.
 */
export function formatDateTime(value: string | null | undefined, timeZone?: string): string {
  if (!value) return EMPTY_VALUE;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return EMPTY_VALUE;
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    hourCycle: 'h23',
  }).formatToParts(date);
  const get = (type: Intl.DateTimeFormatPartTypes) =>
    Number(parts.find((part) => part.type === type)?.value ?? 0);
  return `${String(get('year'))}-${pad(get('month'))}-${pad(get('day'))} ${pad(get('hour'))}:${pad(get('minute'))}:${pad(get('second'))}`;
}

/** The date part (`YYYY-MM-DD`) of {@link formatDateTime}. */
export function formatDate(value: string | null | undefined, timeZone?: string): string {
  const full = formatDateTime(value, timeZone);
  return full === EMPTY_VALUE ? full : full.slice(0, 10);
}

const RELATIVE_STEPS: readonly [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86_400],
  ['month', 30 * 86_400],
  ['week', 7 * 86_400],
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
  ['second', 1],
];

/**
 * Formats a timestamp relative to `nowMs` in `locale`: `3 hours ago`, `in 2 days`, `3小时前`.
 * Returns {@link EMPTY_VALUE} for empty or invalid input.
 */
export function formatRelativeTime(value: string | null | undefined, nowMs: number, locale: string): string {
  if (!value) return EMPTY_VALUE;
  const time = new Date(value).getTime();
  if (Number.isNaN(time)) return EMPTY_VALUE;
  const diffSeconds = Math.round((time - nowMs) / 1000);
  const formatter = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  for (const [unit, size] of RELATIVE_STEPS) {
    if (Math.abs(diffSeconds) >= size || unit === 'second') {
      return formatter.format(Math.trunc(diffSeconds / size), unit);
    }
  }
  return formatter.format(0, 'second');
}

/** The public part of an API key as the console shows it: `bax_1a2b3c4d…`. */
export function formatApiKeyPrefix(prefix: string): string {
  const trimmed = prefix.trim();
  if (trimmed === '') return EMPTY_VALUE;
  const withScheme = trimmed.startsWith('bax_') ? trimmed : `bax_${trimmed}`;
  return `${withScheme}…`;
}

/**
 * File name announced by a `Content-Disposition` header, preferring the RFC 5987 `filename*`
 * form; falls back to `fallback` when the header is missing or names no usable file.
 */
export function fileNameFromContentDisposition(header: string | null | undefined, fallback: string): string {
  if (!header) return fallback;
  const extended = /filename\*\s*=\s*([^;]+)/i.exec(header);
  if (extended?.[1]) {
    const raw = extended[1].trim().replace(/^"(.*)"$/, '$1');
    const encoded = raw.includes("''") ? raw.slice(raw.indexOf("''") + 2) : raw;
    try {
      const decoded = sanitizeFileName(decodeURIComponent(encoded));
      if (decoded) return decoded;
    } catch {
      // Malformed percent-encoding: fall through to the plain form.
    }
  }
  const plain = /filename\s*=\s*("((?:[^"\\]|\\.)*)"|[^;]+)/i.exec(header);
  const value = plain?.[2] ?? plain?.[1];
  if (value) {
    const cleaned = sanitizeFileName(value.replace(/\\(.)/g, '$1').trim());
    if (cleaned) return cleaned;
  }
  return fallback;
}

/** Drops path separators and control characters so a header cannot pick a directory. */
function sanitizeFileName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? '';
  let cleaned = '';
  for (const char of base) {
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0x20 && code !== 0x7f) cleaned += char;
  }
  return cleaned.trim();
}

/** Severity of a usage percentage: `ok` below 75 %, `warning` from 75 %, `critical` from 90 %. */
export function usageLevel(percent: number): 'ok' | 'warning' | 'critical' {
  if (percent >= 90) return 'critical';
  if (percent >= 75) return 'warning';
  return 'ok';
}
