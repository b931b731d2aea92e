import type { Clock } from '../../../lib/clock.ts';

/** What every channel delivers: a title, a multi-line body and structured fields (SPEC §13.2). */
export interface NotificationMessage {
  title: string;
  body: string;
  fields: Record<string, unknown>;
}

/** Outbound I/O a channel may use: the container's fetch (tests point it at loopback) and the clock. */
export interface ChannelDeps {
  fetch: typeof fetch;
  clock: Clock;
}

/** Channel timeouts (SPEC §17.1): webhook and Telegram 10 s; SMTP 10 s per step. */
export const CHANNEL_TIMEOUT_MS = 10_000;

/** A delivery that did not go through; the message is safe to show and to log (no secrets). */
export class NotificationDeliveryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotificationDeliveryError';
  }
}

/** Removes secret values from a text (an error message may quote a URL that carries a token). */
export const scrub = (text: string, secrets: readonly string[]): string =>
  secrets.reduce((result, value) => result.split(value).join('***'), text);

/** Why a fetch failed, without the request URL (which may hold a token). */
export const describeFetchError = (error: unknown): string => {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${CHANNEL_TIMEOUT_MS / 1000} s`;
  }
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (cause && typeof cause.message === 'string') {
    return typeof cause.code === 'string' && !cause.message.includes(cause.code)
      ? `${cause.code}: ${cause.message}`
      : cause.message;
  }
  return error instanceof Error ? error.message : String(error);
};

/** The first bytes of a response body, for an error message. */
export const responseSnippet = async (response: Response, maxChars = 200): Promise<string> => {
  try {
    const text = (await response.text()).trim();
    return text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
  } catch {
    return '';
  }
};
