import type { StorageTargetSummary } from '@backupx/contract';
import type { StorageBackend, StorageUsage } from '@backupx/engine';
import type { Logger } from 'pino';
import type { EventBus } from '../events/event-bus.ts';
import type { StorageTargetsService } from './storage-targets.service.ts';
import { messageOf, withTimeout } from './with-timeout.ts';

/** SPEC §0.2: every 5 minutes, first run after 5 minutes. */
export const STORAGE_HEALTH_INTERVAL_MS = 5 * 60_000;
/** SPEC §4.5: warn at 85 % used. */
export const CAPACITY_WARNING_RATIO = 0.85;

export interface StorageHealthMonitorDeps {
  storageTargets: Pick<StorageTargetsService, 'listEnabled' | 'probeHealth'>;
  events: Pick<EventBus, 'publish'>;
  logger: Pick<Logger, 'warn'>;
  intervalMs?: number;
  /** Per target, for the connection test and again for the capacity query; one dead server must not hold the rest. */
  probeTimeoutMs?: number;
  /** Targets probed at once. */
  concurrency?: number;
  /** Reads a backend's capacity (default `backend.usage()`); a test substitutes it to simulate a full disk. */
  readUsage?: (
    backend: StorageBackend,
    target: StorageTargetSummary,
    signal: AbortSignal,
  ) => Promise<StorageUsage | null>;
}

export interface TargetHealth {
  targetId: number;
  healthy: boolean;
  message: string;
  /** used/total when the backend reported both. */
  usageRatio?: number;
}

export type StorageHealthMonitor = ReturnType<typeof createStorageHealthMonitor>;

const formatBytes = (bytes: number): string => {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 2)} ${units[unit]}`;
};

/**
 * Storage health + capacity monitor (SPEC §4.5). Each run tests every enabled target and stores
 * the outcome. `storage_unhealthy` fires on the transition to failed: the repository's conditional
 * update decides it, so it fires once per outage even with several masters or after a restart.
 * `storage_capacity_warning` fires when used/total reaches 85 % and re-arms once it drops below;
 * that memory is per process, as in BackupX (a restart may warn once more).
 */
export const createStorageHealthMonitor = (deps: StorageHealthMonitorDeps) => {
  const { storageTargets, events, logger } = deps;
  const intervalMs = deps.intervalMs ?? STORAGE_HEALTH_INTERVAL_MS;
  const probeTimeoutMs = deps.probeTimeoutMs ?? 20_000;
  const concurrency = Math.max(1, deps.concurrency ?? 4);
  const readUsage =
    deps.readUsage ??
    ((backend: StorageBackend, _target: StorageTargetSummary, signal: AbortSignal) => backend.usage(signal));
  const capacityWarned = new Set<number>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<TargetHealth[]> | null = null;

  const checkCapacity = (target: StorageTargetSummary, usage: StorageUsage | null): number | undefined => {
    const total = usage?.totalBytes;
    const used = usage?.usedBytes;
    if (total === undefined || used === undefined || total <= 0) return undefined;
    const ratio = used / total;
    if (ratio < CAPACITY_WARNING_RATIO) {
      capacityWarned.delete(target.id);
      return ratio;
    }
    if (capacityWarned.has(target.id)) return ratio;
    capacityWarned.add(target.id);
    const percent = Math.round(ratio * 10_000) / 100;
    events.publish(
      'storage_capacity_warning',
      'BackupX 存储容量预警',
      `存储目标：${target.name}\n类型：${target.type}\n使用率：${percent}%\n已用：${formatBytes(used)}\n总量：${formatBytes(total)}`,
      {
        storageTargetId: target.id,
        storageTargetName: target.name,
        storageType: target.type,
        usageRate: percent,
        usedBytes: used,
        totalBytes: total,
      },
    );
    return ratio;
  };

  const checkTarget = async (target: StorageTargetSummary): Promise<TargetHealth> => {
    let usageRatio: number | undefined;
    const outcome = await storageTargets.probeHealth(target.id, probeTimeoutMs, async (backend, current) => {
      try {
        const usage = await withTimeout('capacity query', probeTimeoutMs, (signal) =>
          readUsage(backend, current, signal),
        );
        usageRatio = checkCapacity(current, usage);
      } catch (error) {
        logger.warn({ storageTargetId: current.id, err: messageOf(error) }, 'storage capacity query failed');
      }
    });
    if (outcome.failure !== null && outcome.becameFailed) {
      events.publish(
        'storage_unhealthy',
        'BackupX 存储目标连接失败',
        `存储目标：${outcome.target.name}\n类型：${outcome.target.type}\n错误：${outcome.failure}`,
        {
          storageTargetId: outcome.target.id,
          storageTargetName: outcome.target.name,
          storageType: outcome.target.type,
          error: outcome.failure,
        },
      );
    }
    return {
      targetId: target.id,
      healthy: outcome.failure === null,
      message: outcome.failure ?? 'ok',
      ...(usageRatio === undefined ? {} : { usageRatio }),
    };
  };

  const runOnce = async (): Promise<TargetHealth[]> => {
    const targets = await storageTargets.listEnabled();
    const results: TargetHealth[] = [];
    let next = 0;
    const worker = async () => {
      while (next < targets.length) {
        const target = targets[next];
        next += 1;
        if (target === undefined) continue;
        try {
          results.push(await checkTarget(target));
        } catch (error) {
          // The target may have been deleted meanwhile; the others still get checked.
          logger.warn({ storageTargetId: target.id, err: messageOf(error) }, 'storage health check failed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, targets.length) }, worker));
    return results.sort((a, b) => a.targetId - b.targetId);
  };

  /** Runs one check of every enabled target now (a run already in progress is shared). */
  const runHealthCheckNow = (): Promise<TargetHealth[]> => {
    running ??= runOnce().finally(() => {
      running = null;
    });
    return running;
  };

  return {
    runHealthCheckNow,
    start(): void {
      if (timer) return;
      timer = setInterval(() => {
        runHealthCheckNow().catch((error: unknown) =>
          logger.warn({ err: messageOf(error) }, 'storage health monitor run failed'),
        );
      }, intervalMs);
      timer.unref();
    },
    /** Stops the timer and waits for a run in progress. */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = null;
      await running?.catch(() => undefined);
    },
  };
};
