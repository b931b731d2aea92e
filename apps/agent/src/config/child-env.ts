/**
 * The environment given to tools the agent starts (mysqldump, pg_dump, rclone, …): the process's
 * own, minus the agent's configuration — `BACKUPX_AGENT_TOKEN` must never reach a child process
 * (a dump tool's crash report or `ps e` would show it). Passwords for a tool are added per call by
 * the engine, never here.
 */
export const childProcessEnv = (
  env: Record<string, string | undefined> = process.env,
): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('BACKUPX_')));
