import { describe, expect, it } from 'vitest';
import type { SystemEvent } from '@backupx/contract';
import { ApiError } from '../api/client.ts';
import { appendEvent, eventFieldEntries } from './eventMeta.ts';
import { eventFieldLink } from './eventText.ts';
import { parseSystemEvent, startEventStream } from './eventStream.ts';
import type { EventStreamStatus } from './eventStream.ts';

const sample: SystemEvent = {
  type: 'backup_failed',
  title: 'BackupX 备份失败通知',
  body: '任务：nightly',
  fields: { taskName: 'nightly', recordId: 12, error: 'disk full', durationSeconds: 0, fileName: '' },
  timestamp: '2025-01-01T00:00:00.000Z',
};

const streamOf = (chunks: string[]) =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        const encoder = new TextEncoder();
        for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
        controller.close();
      },
    }),
  );

describe('parseSystemEvent', () => {
  it('accepts an event of the contract and refuses anything else', () => {
    expect(parseSystemEvent(JSON.stringify(sample))).toEqual(sample);
    expect(parseSystemEvent('{"type":"unknown_type"}')).toBeNull();
    expect(parseSystemEvent('not json')).toBeNull();
  });
});

describe('startEventStream', () => {
  it('delivers events, reconnects after the stream ends and stops on 401', async () => {
    const received: SystemEvent[] = [];
    const statuses: EventStreamStatus[] = [];
    let opened = 0;
    await new Promise<void>((resolve) => {
      startEventStream({
        hasSession: () => true,
        minDelayMs: 1,
        maxDelayMs: 2,
        onEvent: (event) => received.push(event),
        onStatus: (status) => {
          statuses.push(status);
          if (status === 'stopped') resolve();
        },
        open: () => {
          opened += 1;
          if (opened === 1)
            return Promise.resolve(
              streamOf([': connected 1\n\nevent: backup_failed\ndata: ', `${JSON.stringify(sample)}\n\n`]),
            );
          if (opened === 2) return Promise.resolve(streamOf(['event: x\ndata: {broken\n\n']));
          if (opened === 3) return Promise.reject(new Error('network down'));
          return Promise.reject(
            new ApiError({ status: 401, code: 'AUTH_INVALID_TOKEN', message: 'expired' }),
          );
        },
      });
    });
    expect(received).toEqual([sample]);
    expect(opened).toBe(4);
    expect(statuses[0]).toBe('connecting');
    expect(statuses).toContain('open');
    expect(statuses).toContain('reconnecting');
    expect(statuses.at(-1)).toBe('stopped');
  });

  it('stops without connecting when there is no session', async () => {
    let opened = 0;
    const statuses: EventStreamStatus[] = [];
    await new Promise<void>((resolve) => {
      startEventStream({
        hasSession: () => false,
        onEvent: () => undefined,
        onStatus: (status) => {
          statuses.push(status);
          if (status === 'stopped') resolve();
        },
        open: () => {
          opened += 1;
          return Promise.resolve(streamOf([]));
        },
      });
    });
    expect(opened).toBe(0);
    expect(statuses).toEqual(['stopped']);
  });

  it('stop() ends a connection that is waiting for data', async () => {
    let aborted = false;
    const handle = startEventStream({
      hasSession: () => true,
      onEvent: () => undefined,
      open: (signal) =>
        new Promise<Response>((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(new DOMException('aborted', 'AbortError'));
          });
        }),
    });
    await Promise.resolve();
    handle.stop();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(aborted).toBe(true);
  });
});

describe('event list helpers', () => {
  it('shows the non-empty display fields in order', () => {
    expect(eventFieldEntries(sample)).toEqual([
      ['taskName', 'nightly'],
      ['recordId', '12'],
      ['error', 'disk full'],
    ]);
  });

  it('keeps the newest events first, at most the limit', () => {
    let list = appendEvent([], { id: 1, receivedAt: 1, event: sample });
    for (let id = 2; id <= 60; id += 1) list = appendEvent(list, { id, receivedAt: id, event: sample });
    expect(list).toHaveLength(50);
    expect(list[0]?.id).toBe(60);
    expect(list.at(-1)?.id).toBe(11);
  });

  it('links record and restore ids to their pages', () => {
    expect(eventFieldLink('recordId', '12')).toBe('/backup/records?recordId=12');
    expect(eventFieldLink('restoreId', '3')).toBe('/restore/records?restoreId=3');
    expect(eventFieldLink('taskName', '12')).toBeUndefined();
    expect(eventFieldLink('recordId', 'x')).toBeUndefined();
  });
});
