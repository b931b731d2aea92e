import { statfs } from 'node:fs/promises';
import type { SystemInfo } from '@backupx/contract';
import type { Clock } from '../../lib/clock.ts';
import { toIso } from '../../lib/clock.ts';

export interface SystemServiceDeps {
  version: string;
  mode: 'debug' | 'release';
  startedAt: Date;
  databaseDialect: 'sqlite' | 'postgres';
  databaseLocation: string;
  /** Directory whose disk usage is reported (the data directory). */
  dataDir: string;
  ping: () => Promise<void>;
  clock: Clock;
}

export type SystemService = ReturnType<typeof createSystemService>;

export const createSystemService = (deps: SystemServiceDeps) => {
  const uptimeSeconds = () =>
    Math.max(0, Math.floor((deps.clock.now().getTime() - deps.startedAt.getTime()) / 1000));

  return {
    version: deps.version,

    async info(): Promise<SystemInfo> {
      let diskTotal = 0;
      let diskFree = 0;
      try {
        const stats = await statfs(deps.dataDir);
        diskTotal = stats.blocks * stats.bsize;
        diskFree = stats.bavail * stats.bsize;
      } catch {
        // The data directory may be missing on a PostgreSQL-only master; report zeros.
      }
      return {
        version: deps.version,
        mode: deps.mode,
        startedAt: toIso(deps.startedAt),
        uptimeSeconds: uptimeSeconds(),
        databaseDialect: deps.databaseDialect,
        databasePath: deps.databaseLocation,
        diskTotal,
        diskFree,
        diskUsed: Math.max(0, diskTotal - diskFree),
        nodeVersion: process.version,
      };
    },

    health() {
      return {
        status: 'live' as const,
        version: deps.version,
        uptime: uptimeSeconds(),
        timestamp: toIso(deps.clock.now()),
      };
    },

    async readiness(): Promise<{
      ready: boolean;
      body: { status: 'ready' | 'not_ready'; version: string; checks: { database: string } };
    }> {
      try {
        await deps.ping();
        return { ready: true, body: { status: 'ready', version: deps.version, checks: { database: 'ok' } } };
      } catch (error) {
        return {
          ready: false,
          body: {
            status: 'not_ready',
            version: deps.version,
            checks: { database: `ping failed: ${(error as Error).message}` },
          },
        };
      }
    },
  };
};
