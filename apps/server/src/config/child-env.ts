/**
 * The environment given to tools the master starts (pg_dump, mysqldump, rclone, …): the process's
 * own, minus the master's configuration (`BACKUPX_*` may hold the JWT secret and encryption key).
 * Passwords for a tool are added per call by the engine, never here.
 */
export const childProcessEnv = (): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('BACKUPX_')));
