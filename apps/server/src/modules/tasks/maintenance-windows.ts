/**
 * Maintenance windows (SPEC §5.3): when a task may run.
 *
 * Grammar: windows separated by `;`; inside a window, `,`-separated `key=value` fields:
 * `days=<d1|d2|…>` (optional; names `sun`…`sat`, `sunday`…`saturday` or numbers 0–6, any case;
 * missing or empty = every day) and `time=HH:MM-HH:MM` (required; start inclusive, end exclusive).
 * Start after end crosses midnight; start equal to end is an empty window and is ignored.
 *
 * Decisions (SPEC quirk 9 and §5.3):
 * - One clock: windows are evaluated in the one configured time zone (`backup.timezone`, else the
 *   process zone) for scheduled AND manual runs.
 * - The early-morning part of a cross-midnight window belongs to the day the window STARTED:
 *   `days=fri,time=22:00-06:00` covers Friday 22:00 to Saturday 06:00, so Saturday 03:00 is
 *   inside and Friday 03:00 is not (BackupX checked the current day instead, which splits one
 *   night into two unrelated halves).
 * - An empty list (no text, or only ignored windows) means no restriction.
 */

export interface MaintenanceWindow {
  /** Weekdays (0 = Sunday … 6 = Saturday) on which the window starts; empty = every day. */
  days: readonly number[];
  /** Minutes after local midnight, start inclusive. */
  startMinute: number;
  /** Minutes after local midnight, end exclusive; smaller than start = crosses midnight. */
  endMinute: number;
}

export const WINDOW_FORMAT_HINT =
  'expected days=mon|tue,time=HH:MM-HH:MM (days optional: sun…sat or 0–6), windows separated by ";", e.g. days=sat|sun,time=00:00-23:59;time=22:00-06:00';

const dayTokens: Record<string, number> = {
  sun: 0,
  sunday: 0,
  '0': 0,
  mon: 1,
  monday: 1,
  '1': 1,
  tue: 2,
  tuesday: 2,
  '2': 2,
  wed: 3,
  wednesday: 3,
  '3': 3,
  thu: 4,
  thursday: 4,
  '4': 4,
  fri: 5,
  friday: 5,
  '5': 5,
  sat: 6,
  saturday: 6,
  '6': 6,
};

const TIME_RANGE = /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/;

class SegmentError extends Error {}

/** Thrown by `parseWindows`; the message names the bad window and the expected format. */
export class MaintenanceWindowSyntaxError extends Error {
  override readonly name = 'MaintenanceWindowSyntaxError';
}

const parseTime = (value: string): { start: number; end: number } => {
  const match = TIME_RANGE.exec(value);
  if (!match) throw new SegmentError(`time "${value}" is not HH:MM-HH:MM`);
  const [startHour, startMinute, endHour, endMinute] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
  ];
  for (const hour of [startHour, endHour]) {
    if (hour > 23) throw new SegmentError(`hour ${hour} in "${value}" is not 0–23`);
  }
  for (const minute of [startMinute, endMinute]) {
    if (minute > 59) throw new SegmentError(`minute ${minute} in "${value}" is not 0–59`);
  }
  return { start: startHour * 60 + startMinute, end: endHour * 60 + endMinute };
};

const parseDays = (value: string): number[] => {
  const days = new Set<number>();
  for (const raw of value.split('|')) {
    const token = raw.trim().toLowerCase();
    if (token === '') continue;
    const day = dayTokens[token];
    if (day === undefined) throw new SegmentError(`unknown day "${raw.trim()}"`);
    days.add(day);
  }
  return [...days].sort((a, b) => a - b);
};

/** Parses one window; null when it is the empty window (start == end), which is ignored. */
const parseSegment = (segment: string): MaintenanceWindow | null => {
  let days: number[] | undefined;
  let time: { start: number; end: number } | undefined;
  for (const field of segment.split(',')) {
    const trimmed = field.trim();
    if (trimmed === '') continue;
    const equals = trimmed.indexOf('=');
    if (equals < 0) throw new SegmentError(`"${trimmed}" is not key=value`);
    const key = trimmed.slice(0, equals).trim().toLowerCase();
    const value = trimmed.slice(equals + 1).trim();
    if (key === 'days') {
      if (days !== undefined) throw new SegmentError('days is given twice');
      days = parseDays(value);
    } else if (key === 'time') {
      if (time !== undefined) throw new SegmentError('time is given twice');
      time = parseTime(value);
    } else {
      throw new SegmentError(`unknown field "${key}"`);
    }
  }
  if (time === undefined) throw new SegmentError('time=HH:MM-HH:MM is missing');
  if (time.start === time.end) return null;
  return { days: days ?? [], startMinute: time.start, endMinute: time.end };
};

const segmentsOf = (text: string): string[] =>
  text
    .split(';')
    .map((segment) => segment.trim())
    .filter((segment) => segment !== '');

/**
 * Strict parse, for saving a task: every window must be valid, else MaintenanceWindowSyntaxError
 * naming the bad window and the expected format. Empty text = no windows (no restriction).
 */
export const parseWindows = (text: string): MaintenanceWindow[] => {
  const windows: MaintenanceWindow[] = [];
  for (const segment of segmentsOf(text)) {
    try {
      const window = parseSegment(segment);
      if (window) windows.push(window);
    } catch (error) {
      if (!(error instanceof SegmentError)) throw error;
      throw new MaintenanceWindowSyntaxError(`window "${segment}": ${error.message}; ${WINDOW_FORMAT_HINT}`);
    }
  }
  return windows;
};

/** Null when `text` parses strictly, else the message of the first bad window. */
export const windowsError = (text: string): string | null => {
  try {
    parseWindows(text);
    return null;
  } catch (error) {
    if (error instanceof MaintenanceWindowSyntaxError) return error.message;
    throw error;
  }
};

/** Lenient parse, for evaluating stored text: invalid segments are skipped (SPEC §5.3). */
export const parseWindowsLenient = (text: string): MaintenanceWindow[] => {
  const windows: MaintenanceWindow[] = [];
  for (const segment of segmentsOf(text)) {
    try {
      const window = parseSegment(segment);
      if (window) windows.push(window);
    } catch (error) {
      if (!(error instanceof SegmentError)) throw error;
    }
  }
  return windows;
};

const weekdayIndex: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();

const formatterFor = (timeZone: string): Intl.DateTimeFormat => {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      // '' = the process's zone (TZ).
      ...(timeZone === '' ? {} : { timeZone }),
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
};

/** Weekday and minute of the day of `date` on the wall clock of `timeZone` ('' = process zone). */
export const localTimeOf = (date: Date, timeZone: string): { weekday: number; minute: number } => {
  let weekday = 0;
  let hour = 0;
  let minute = 0;
  for (const part of formatterFor(timeZone).formatToParts(date)) {
    if (part.type === 'weekday') weekday = weekdayIndex[part.value] ?? 0;
    else if (part.type === 'hour') hour = Number(part.value) % 24;
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return { weekday, minute: hour * 60 + minute };
};

const startsOn = (window: MaintenanceWindow, weekday: number): boolean =>
  window.days.length === 0 || window.days.includes(weekday);

/**
 * True when `date` lies in one of `windows` (an empty list means no restriction), on the wall
 * clock of `timeZone` (IANA name; '' = the process's zone).
 */
export const isWithinWindows = (
  windows: readonly MaintenanceWindow[],
  date: Date,
  timeZone: string,
): boolean => {
  if (windows.length === 0) return true;
  const { weekday, minute } = localTimeOf(date, timeZone);
  const previousDay = (weekday + 6) % 7;
  return windows.some((window) => {
    if (window.startMinute < window.endMinute) {
      return startsOn(window, weekday) && minute >= window.startMinute && minute < window.endMinute;
    }
    // Crosses midnight: the evening part starts today, the morning part started yesterday.
    if (minute >= window.startMinute) return startsOn(window, weekday);
    if (minute < window.endMinute) return startsOn(window, previousDay);
    return false;
  });
};
