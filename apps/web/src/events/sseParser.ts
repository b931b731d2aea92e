/**
 * Incremental parser of a `text/event-stream` body (the WHATWG Server-Sent Events format):
 * feed it decoded text chunks as they arrive, in any split, and it reports each complete event
 * and each comment line. Only what the console needs is kept: `event`, `data` and `id`.
 */

/** One dispatched event: `event` defaults to `message`; several `data:` lines are joined with `\n`. */
export interface SseMessage {
  event: string;
  data: string;
  id: string;
}

export type SseFrame = { kind: 'event'; message: SseMessage } | { kind: 'comment'; text: string };

export interface SseParser {
  /** Parses a chunk and returns the frames it completed (possibly none). */
  push(chunk: string): SseFrame[];
  /** Drops any half-received line or event (after a reconnect). */
  reset(): void;
}

export function createSseParser(): SseParser {
  let buffer = '';
  // A chunk ending in `\r` may be the first half of `\r\n`: the `\n` of the next chunk is skipped.
  let skipLeadingLf = false;
  let eventType = '';
  let dataLines: string[] = [];
  let lastId = '';

  const resetEvent = () => {
    eventType = '';
    dataLines = [];
  };

  const processLine = (line: string, frames: SseFrame[]) => {
    if (line === '') {
      // A blank line dispatches; an event without data is not dispatched (as browsers do).
      if (dataLines.length > 0) {
        frames.push({
          kind: 'event',
          message: {
            event: eventType === '' ? 'message' : eventType,
            data: dataLines.join('\n'),
            id: lastId,
          },
        });
      }
      resetEvent();
      return;
    }
    if (line.startsWith(':')) {
      frames.push({ kind: 'comment', text: line.slice(1).replace(/^ /, '') });
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        eventType = value;
        break;
      case 'data':
        dataLines.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) lastId = value;
        break;
      default:
        // `retry` and unknown fields are ignored: the client has its own reconnect policy.
        break;
    }
  };

  return {
    push(chunk) {
      const frames: SseFrame[] = [];
      let text = chunk;
      if (skipLeadingLf && text.startsWith('\n')) text = text.slice(1);
      skipLeadingLf = false;
      buffer += text;
      let start = 0;
      for (let index = 0; index < buffer.length; index += 1) {
        const char = buffer[index];
        if (char !== '\n' && char !== '\r') continue;
        processLine(buffer.slice(start, index), frames);
        if (char === '\r') {
          if (index + 1 < buffer.length) {
            if (buffer[index + 1] === '\n') index += 1;
          } else {
            skipLeadingLf = true;
          }
        }
        start = index + 1;
      }
      buffer = buffer.slice(start);
      return frames;
    },
    reset() {
      buffer = '';
      skipLeadingLf = false;
      resetEvent();
    },
  };
}

/** Delay before reconnect attempt `attempt` (0-based): 1 s, 2 s, 4 s … capped at 30 s. */
export function reconnectDelayMs(attempt: number, minMs = 1_000, maxMs = 30_000): number {
  if (!Number.isFinite(attempt) || attempt <= 0) return minMs;
  // Past 2^30 the product overflows nothing useful; the cap applies long before.
  return Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
}
