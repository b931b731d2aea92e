import { z } from 'zod';
import { loadConfig, type LoadConfigInput } from './config/load.ts';
import { createLogger } from './bootstrap/logger.ts';
import { systemClock } from './lib/clock.ts';
import { AppError } from './lib/errors.ts';
import { createContainer } from './container.ts';
import { VERSION } from './version.ts';

/** `backupx reset-password`: works offline against the database the config points at (SPEC §0.1). */
export const resetPassword = async (
  input: LoadConfigInput & { cwd: string; username: string; password: string },
): Promise<void> => {
  const password = z.string().min(8).max(128).safeParse(input.password);
  if (!password.success) throw new AppError('INVALID_INPUT', 'The new password must be 8 to 128 characters');
  const { config } = loadConfig(input);
  const logger = createLogger({ level: 'warn', file: '', stdout: false });
  const container = await createContainer({
    config,
    logger,
    clock: systemClock,
    version: VERSION,
    cwd: input.cwd,
  });
  try {
    await container.services.auth.resetPasswordOffline(input.username, password.data);
  } finally {
    await container.close();
  }
};
