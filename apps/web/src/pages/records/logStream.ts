/**
 * Pure pieces of the live log: the reducer that merges replayed and live events, and the parser
 * of a finished run's stored log text. The stream itself is parsed by `events/sseParser.ts`.
 */
import type { LogEvent, TransferProgressEvent } from '@backupx/contract';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

const levels = new Set(['info', 'warn', 'error', 'progress']);

/** Parses the JSON of a `log` frame; null when it is not a log event. */
export function parseLogEvent(data: string): LogEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isRecord(value)) return null;
  if (typeof value.sequence !== 'number' || typeof value.message !== 'string') return null;
  if (typeof value.level !== 'string' || !levels.has(value.level)) return null;
  return value as unknown as LogEvent;
}

export type LogLevel = 'info' | 'warn' | 'error';

export interface LogLine {
  key: string;
  level: LogLevel;
  /** HH:MM:SS when known. */
  time: string;
  message: string;
}

export interface LiveLogState {
  lines: LogLine[];
  /** Latest progress per storage target (one bar each). */
  progress: Record<string, TransferProgressEvent>;
  lastSequence: number;
  /** Final status once the `completed` event arrived. */
  completedStatus: string | null;
}

export const emptyLiveLog: LiveLogState = { lines: [], progress: {}, lastSequence: 0, completedStatus: null };

const clockTime = (timestamp: string): string => {
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
};

/**
 * Merges one event. Every (re)connection replays the events so far, so events at or below the
 * last sequence are dropped; the `completed` event always counts (a replay from the database
 * numbers its lines afresh, and must still end the stream).
 */
export function applyLogEvent(state: LiveLogState, event: LogEvent): LiveLogState {
  if (event.completed) {
    return {
      ...state,
      lastSequence: Math.max(state.lastSequence, event.sequence),
      completedStatus: event.status,
    };
  }
  if (event.sequence <= state.lastSequence) return state;
  if (event.level === 'progress') {
    if (!event.progress) return { ...state, lastSequence: event.sequence };
    const target = event.progress.targetName;
    return {
      ...state,
      lastSequence: event.sequence,
      progress: { ...state.progress, [target]: event.progress },
    };
  }
  const line: LogLine = {
    key: `e${String(event.sequence)}`,
    level: event.level,
    time: clockTime(event.timestamp),
    message: event.message,
  };
  return { ...state, lastSequence: event.sequence, lines: [...state.lines, line] };
}

/** Merges a batch of events (the replay held by a record detail). */
export const applyLogEvents = (state: LiveLogState, events: readonly LogEvent[]): LiveLogState =>
  events.reduce(applyLogEvent, state);

/**
 * Splits a stored log (`[HH:MM:SS] [WARN] message` lines) into coloured lines. Lines without the
 * time prefix are kept as they are.
 */
export function parseLogContent(content: string): LogLine[] {
  if (content.trim() === '') return [];
  return content.split('\n').flatMap((raw, index) => {
    if (raw.trim() === '') return [];
    let rest = raw;
    let time = '';
    const stamp = /^\[(\d{2}:\d{2}:\d{2})\]\s?/.exec(rest);
    if (stamp?.[1]) {
      time = stamp[1];
      rest = rest.slice(stamp[0].length);
    }
    let level: LogLevel = 'info';
    const tag = /^\[(WARN|WARNING|ERROR)\]\s?/i.exec(rest);
    if (tag?.[1]) {
      level = tag[1].toUpperCase() === 'ERROR' ? 'error' : 'warn';
      rest = rest.slice(tag[0].length);
    }
    return [{ key: `c${String(index)}`, level, time, message: rest }];
  });
}
