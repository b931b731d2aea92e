import { describe, expect, it } from 'vitest';
import { createSseParser, reconnectDelayMs } from './sseParser.ts';
import type { SseFrame } from './sseParser.ts';

const feed = (chunks: string[]): SseFrame[] => {
  const parser = createSseParser();
  return chunks.flatMap((chunk) => parser.push(chunk));
};

describe('createSseParser', () => {
  it('reads the connected comment, an event and a heartbeat as the master sends them', () => {
    const data = JSON.stringify({
      type: 'backup_success',
      title: 't',
      body: 'b',
      fields: {},
      timestamp: 'x',
    });
    const frames = feed([
      `: connected 1700000000\n\nevent: backup_success\ndata: ${data}\n\n: heartbeat 1700000025\n\n`,
    ]);
    expect(frames).toEqual([
      { kind: 'comment', text: 'connected 1700000000' },
      { kind: 'event', message: { event: 'backup_success', data, id: '' } },
      { kind: 'comment', text: 'heartbeat 1700000025' },
    ]);
  });

  it('joins frames split at any position, including inside CRLF', () => {
    const stream = 'event: a\r\ndata: {"x":1}\r\n\r\nevent: b\rdata: 2\r\r';
    for (let cut = 0; cut <= stream.length; cut += 1) {
      const frames = feed([stream.slice(0, cut), stream.slice(cut)]);
      expect(frames, `cut at ${String(cut)}`).toEqual([
        { kind: 'event', message: { event: 'a', data: '{"x":1}', id: '' } },
        { kind: 'event', message: { event: 'b', data: '2', id: '' } },
      ]);
    }
  });

  it('handles one character at a time', () => {
    const text = 'event: tick\ndata: 1\n\n';
    const frames = feed(Array.from({ length: text.length }, (_, index) => text.slice(index, index + 1)));
    expect(frames).toEqual([{ kind: 'event', message: { event: 'tick', data: '1', id: '' } }]);
  });

  it('joins several data lines, defaults the type to message and keeps the last id', () => {
    expect(feed(['id: 7\ndata: first\ndata:second\ndata\n\n'])).toEqual([
      { kind: 'event', message: { event: 'message', data: 'first\nsecond\n', id: '7' } },
    ]);
  });

  it('does not dispatch an event without data, and forgets its type', () => {
    expect(feed(['event: ping\n\ndata: x\n\n'])).toEqual([
      { kind: 'event', message: { event: 'message', data: 'x', id: '' } },
    ]);
  });

  it('keeps an unterminated event until its blank line arrives', () => {
    const parser = createSseParser();
    expect(parser.push('event: a\ndata: 1\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ kind: 'event', message: { event: 'a', data: '1', id: '' } }]);
  });

  it('ignores retry and unknown fields, and reset drops a half event', () => {
    const parser = createSseParser();
    expect(parser.push('retry: 10\nfoo: bar\nevent: a\ndata: half')).toEqual([]);
    parser.reset();
    expect(parser.push('data: whole\n\n')).toEqual([
      { kind: 'event', message: { event: 'message', data: 'whole', id: '' } },
    ]);
  });

  it('keeps only the first space after the colon', () => {
    expect(feed(['data:  two spaces\n\n'])).toEqual([
      { kind: 'event', message: { event: 'message', data: ' two spaces', id: '' } },
    ]);
  });
});

describe('reconnectDelayMs', () => {
  it('doubles from 1 s and stops at 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map((attempt) => reconnectDelayMs(attempt))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it('treats odd input as the first attempt', () => {
    expect(reconnectDelayMs(-1)).toBe(1_000);
    expect(reconnectDelayMs(Number.NaN)).toBe(1_000);
  });
});

/** Just the events of some frames, as `{event, data}`. */
const eventsOf = (frames: ReturnType<ReturnType<typeof createSseParser>['push']>) =>
  frames.flatMap((frame) =>
    frame.kind === 'event' ? [{ event: frame.message.event, data: frame.message.data }] : [],
  );

describe('createSseParser as the live log reads it', () => {
  it('parses frames split across chunks, skips comments and joins data lines', () => {
    const parser = createSseParser();
    expect(eventsOf(parser.push(': connected\n\nevent: lo'))).toEqual([]);
    expect(eventsOf(parser.push('g\ndata: {"a":1}\n'))).toEqual([]);
    expect(eventsOf(parser.push('\nevent: log\ndata: x\ndata: y\n\n'))).toEqual([
      { event: 'log', data: '{"a":1}' },
      { event: 'log', data: 'x\ny' },
    ]);
  });

  it('accepts CRLF line ends, even when CR and LF arrive in different chunks', () => {
    const parser = createSseParser();
    expect(eventsOf(parser.push('data: one\r'))).toEqual([]);
    expect(eventsOf(parser.push('\n\r\n'))).toEqual([{ event: 'message', data: 'one' }]);
  });

  it('ignores frames without data and unknown fields', () => {
    const parser = createSseParser();
    expect(eventsOf(parser.push('event: log\nid: 3\n\nretry: 10\ndata:z\n\n'))).toEqual([
      { event: 'message', data: 'z' },
    ]);
  });
});

describe('reconnectDelayMs for a live log', () => {
  it('backs off exponentially up to 15 s', () => {
    expect([0, 1, 2, 3, 4, 10].map((attempt) => reconnectDelayMs(attempt, 1_000, 15_000))).toEqual([
      1000, 2000, 4000, 8000, 15_000, 15_000,
    ]);
  });
});
