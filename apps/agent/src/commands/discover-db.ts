/**
 * `discover_db {type, host, port, user, password}` (SPEC §3.20 run on the node): the console's
 * "discover databases" button for a task bound to this node, through the engine's discovery
 * (client tool, 5 s timeout, system databases left out).
 */
import { spawn } from 'node:child_process';
import { discoverDatabases, type DiscoverableType } from '@backupx/engine';
import { port, text } from './payload.ts';
import type { CommandExecutor } from './types.ts';

const discoverable = (type: string): DiscoverableType => {
  const normalised = type.trim().toLowerCase();
  if (normalised === 'mysql' || normalised === 'mariadb') return 'mysql';
  if (normalised === 'postgresql' || normalised === 'pgsql' || normalised === 'postgres') return 'postgresql';
  throw new Error(`database discovery supports mysql and postgresql, not "${type}"`);
};

export const discoverDb: CommandExecutor = async (ctx, payload) => {
  const type = discoverable(text(payload, 'type'));
  const databases = await discoverDatabases(
    { signal: ctx.signal, log: () => undefined, workDir: ctx.tempDir, now: ctx.now(), spawn, env: ctx.env },
    type,
    {
      host: text(payload, 'host'),
      port: port(payload, 'port') || (type === 'mysql' ? 3306 : 5432),
      user: text(payload, 'user'),
      password: text(payload, 'password'),
    },
  );
  return { databases };
};
