import { SMTPServer, type SMTPServerAuthentication, type SMTPServerSession } from 'smtp-server';
import { freePort } from './common.ts';

/** One message the sink accepted. */
export interface ReceivedMail {
  /** SMTP envelope: MAIL FROM and RCPT TO addresses. */
  envelope: { from: string; to: string[] };
  /** The username the client authenticated with, or null without AUTH. */
  authUser: string | null;
  /** The message exactly as received (CRLF line ends). */
  raw: string;
  /** Header lines as received, unfolded, in order (`name` lower-cased, `value` still encoded). */
  headerLines: { name: string; value: string }[];
  /** First value of a header (lower-case name), RFC 2047 encoded words decoded. */
  header(name: string): string | undefined;
  subject: string;
  /** The body, transfer-decoded (quoted-printable/base64) as UTF-8. */
  text: string;
}

export interface SmtpSinkOptions {
  /** When set, AUTH must use exactly these credentials (others get 535); AUTH stays optional. */
  credentials?: { username: string; password: string };
}

export interface SmtpSink {
  host: string;
  port: number;
  messages: ReceivedMail[];
  /** Resolves with the first message (already received or arriving) that matches. */
  waitForMessage(predicate?: (mail: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  stop(): Promise<void>;
}

/** RFC 2047 encoded words (`=?UTF-8?B?…?=`, `=?UTF-8?Q?…?=`), whitespace between them dropped. */
export const decodeEncodedWords = (value: string): string =>
  value
    .replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(
      /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g,
      (_match, _charset: string, encoding: string, text: string) => {
        if (encoding.toUpperCase() === 'B') return Buffer.from(text, 'base64').toString('utf8');
        const bytes = text
          .replace(/_/g, ' ')
          .replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
        return Buffer.from(bytes, 'latin1').toString('utf8');
      },
    );

const decodeQuotedPrintable = (body: string): string => {
  const bytes = body
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
};

/** Splits a raw RFC 5322 message into unfolded header lines and a decoded text body. */
export const parseMail = (raw: string): Pick<ReceivedMail, 'headerLines' | 'header' | 'subject' | 'text'> => {
  const separator = raw.indexOf('\r\n\r\n');
  const head = separator === -1 ? raw : raw.slice(0, separator);
  const rawBody = separator === -1 ? '' : raw.slice(separator + 4);
  const headerLines: { name: string; value: string }[] = [];
  for (const line of head.split('\r\n')) {
    const last = headerLines.at(-1);
    if (/^[ \t]/.test(line) && last !== undefined) {
      last.value += line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headerLines.push({
      name: line.slice(0, colon).trim().toLowerCase(),
      value: line.slice(colon + 1).trim(),
    });
  }
  const header = (name: string) => {
    const found = headerLines.find((line) => line.name === name.toLowerCase());
    return found === undefined ? undefined : decodeEncodedWords(found.value);
  };
  const encoding = (header('content-transfer-encoding') ?? '7bit').toLowerCase();
  let text = rawBody;
  if (encoding === 'base64') text = Buffer.from(rawBody.replace(/\s+/g, ''), 'base64').toString('utf8');
  else if (encoding === 'quoted-printable') text = decodeQuotedPrintable(rawBody);
  return { headerLines, header, subject: header('subject') ?? '', text: text.replace(/\r\n$/, '') };
};

/**
 * An SMTP server on 127.0.0.1:<free port> that accepts every message (plain SMTP, no STARTTLS,
 * AUTH optional and allowed without TLS) and keeps them in memory.
 */
export const startSmtpSink = async (options: SmtpSinkOptions = {}): Promise<SmtpSink> => {
  const messages: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    banner: 'BackupX test SMTP sink',
    size: 10 * 1024 * 1024,
    onAuth(auth: SMTPServerAuthentication, _session: SMTPServerSession, callback) {
      const expected = options.credentials;
      if (expected && (auth.username !== expected.username || auth.password !== expected.password)) {
        callback(new Error('Invalid username or password'));
        return;
      }
      callback(null, { user: auth.username ?? '' });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const mailFrom = session.envelope.mailFrom;
        messages.push({
          envelope: {
            from: mailFrom === false ? '' : mailFrom.address,
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          },
          authUser: typeof session.user === 'string' ? session.user : null,
          raw,
          ...parseMail(raw),
        });
        for (const wake of waiters) wake();
        callback();
      });
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A client that drops the connection makes the server emit 'error'; that is not a test failure.
  server.on('error', () => undefined);

  return {
    host: '127.0.0.1',
    port,
    messages,
    waitForMessage(predicate = () => true, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = messages.find(predicate);
          if (found === undefined) return false;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(found);
          return true;
        };
        const wake = () => void check();
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`no matching mail within ${timeoutMs} ms (${messages.length} received)`));
        }, timeoutMs);
        waiters.add(wake);
        check();
      });
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};
