import { describe, expect, it } from 'vitest';
import type { LogEvent } from '@backupx/contract';
import { applyLogEvent, applyLogEvents, emptyLiveLog, parseLogContent, parseLogEvent } from './logStream.ts';

const event = (sequence: number, extra: Partial<LogEvent> = {}): LogEvent => ({
  recordId: 7,
  sequence,
  level: 'info',
  message: `line ${String(sequence)}`,
  timestamp: '2026-04-21T02:00:00.000Z',
  completed: false,
  status: 'running',
  ...extra,
});

describe('parseLogEvent', () => {
  it('accepts a log event and refuses anything else', () => {
    expect(parseLogEvent(JSON.stringify(event(1)))?.sequence).toBe(1);
    expect(parseLogEvent('not json')).toBeNull();
    expect(parseLogEvent('{"sequence":1}')).toBeNull();
    expect(parseLogEvent(JSON.stringify({ ...event(1), level: 'debug' }))).toBeNull();
  });
});

describe('applyLogEvent', () => {
  it('de-duplicates replayed events by sequence', () => {
    let state = applyLogEvents(emptyLiveLog, [event(1), event(2)]);
    state = applyLogEvents(state, [event(1), event(2), event(3)]);
    expect(state.lines.map((line) => line.message)).toEqual(['line 1', 'line 2', 'line 3']);
    expect(state.lastSequence).toBe(3);
  });

  it('keeps the latest progress per target without adding log lines', () => {
    const progress = (sequence: number, targetName: string, percent: number) =>
      event(sequence, {
        level: 'progress',
        progress: { bytesSent: percent, totalBytes: 100, percent, speedBps: 10, targetName },
      });
    const state = applyLogEvents(emptyLiveLog, [
      progress(1, 'a', 10),
      progress(2, 'b', 5),
      progress(3, 'a', 50),
    ]);
    expect(state.lines).toEqual([]);
    expect(state.progress.a?.percent).toBe(50);
    expect(state.progress.b?.percent).toBe(5);
  });

  it('always takes the completed event, even when a database replay numbers it lower', () => {
    let state = applyLogEvents(emptyLiveLog, [event(1), event(2), event(3)]);
    state = applyLogEvent(
      state,
      event(2, { completed: true, status: 'success', message: 'stream completed' }),
    );
    expect(state.completedStatus).toBe('success');
    expect(state.lines).toHaveLength(3);
  });
});

describe('parseLogContent', () => {
  it('reads the time prefix and the level tag', () => {
    const lines = parseLogContent(
      '[02:00:01] starting\n\n[02:00:02] [WARN] slow target\n[02:00:03] [ERROR] failed\nraw',
    );
    expect(lines.map(({ level, time, message }) => [level, time, message])).toEqual([
      ['info', '02:00:01', 'starting'],
      ['warn', '02:00:02', 'slow target'],
      ['error', '02:00:03', 'failed'],
      ['info', '', 'raw'],
    ]);
    expect(parseLogContent('  ')).toEqual([]);
  });
});
