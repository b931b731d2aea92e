import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';

export interface LoggerOptions {
  level: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  file: string;
  stdout: boolean;
}

/** JSON-lines logger to stdout and/or a file. Secrets never reach it: requests are logged by path only. */
export const createLogger = (options: LoggerOptions): Logger => {
  const streams: pino.StreamEntry[] = [];
  if (options.stdout)
    streams.push({ level: options.level === 'silent' ? 'error' : options.level, stream: process.stdout });
  if (options.file !== '') {
    mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true });
    streams.push({
      level: options.level === 'silent' ? 'error' : options.level,
      stream: pino.destination({ dest: options.file, mkdir: true, sync: false }),
    });
  }
  return pino(
    {
      level: options.level,
      base: { service: 'backupx' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'password',
          '*.password',
          'token',
          '*.token',
          'headers.authorization',
          'headers["x-api-key"]',
        ],
        censor: '[redacted]',
      },
    },
    pino.multistream(streams),
  );
};
