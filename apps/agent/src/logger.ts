/**
 * The agent's own log: one JSON object per line on stdout (`{"time","level","msg",…}`, the shape
 * pino writes on the master), so journald and `docker logs` output can be parsed the same way.
 *
 * Secrets never reach it: fields whose name looks secret (token, password, config, …) are
 * replaced, and every configured secret value (the node token) is scrubbed from messages and
 * string fields, in case one slips into an error message of a library.
 */
export type AgentLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface AgentLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const levelRank: Record<AgentLogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names whose values are never logged. */
const secretField =
  /token|password|passwd|secret|authorization|credential|^config$|targetconfig|datakey|privatekey|cookie/i;
export const REDACTED = '[redacted]';

const scrub = (text: string, secrets: readonly string[]): string => {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  return out;
};

/** Copies `value`, replacing secret-looking fields and scrubbing secret strings (depth-limited). */
export const redact = (value: unknown, secrets: readonly string[], depth = 0): unknown => {
  if (typeof value === 'string') return scrub(value, secrets);
  if (value instanceof Error) return scrub(value.message, secrets);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 4) return '[…]';
  if (Array.isArray(value)) return value.map((item) => redact(item, secrets, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, item]) => [
      key,
      secretField.test(key) ? REDACTED : redact(item, secrets, depth + 1),
    ]),
  );
};

export interface LoggerOptions {
  level?: AgentLogLevel;
  /** Values scrubbed from every line (the node token). */
  secrets?: readonly string[];
  write?: (line: string) => void;
  now?: () => Date;
}

export const createLogger = (options: LoggerOptions = {}): AgentLogger => {
  const threshold = levelRank[options.level ?? 'info'];
  const secrets = options.secrets ?? [];
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const now = options.now ?? (() => new Date());
  const emit = (level: AgentLogLevel, message: string, fields?: Record<string, unknown>) => {
    if (levelRank[level] < threshold) return;
    const extra = fields === undefined ? {} : (redact(fields, secrets) as Record<string, unknown>);
    write(
      `${JSON.stringify({ time: now().toISOString(), level, msg: scrub(message, secrets), ...extra })}\n`,
    );
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  };
};

/** A logger that drops everything (tests, embedding). */
export const silentLogger: AgentLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Wraps a logger so the given secrets are scrubbed even when the caller supplied the logger. */
export const withSecretsScrubbed = (logger: AgentLogger, secrets: readonly string[]): AgentLogger => {
  const wrap =
    (method: (message: string, fields?: Record<string, unknown>) => void) =>
    (message: string, fields?: Record<string, unknown>) =>
      method(
        scrub(message, secrets),
        fields === undefined ? undefined : (redact(fields, secrets) as Record<string, unknown>),
      );
  return {
    debug: wrap(logger.debug.bind(logger)),
    info: wrap(logger.info.bind(logger)),
    warn: wrap(logger.warn.bind(logger)),
    error: wrap(logger.error.bind(logger)),
  };
};

export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
