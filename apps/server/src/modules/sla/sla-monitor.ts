import type { Logger } from 'pino';
import type { SlaViolation } from '@backupx/contract';
import { toIso, type Clock } from '../../lib/clock.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { SlaRepository } from './sla.repository.ts';
import type { SlaService } from './sla.service.ts';

export interface SlaMonitorDeps {
  sla: Pick<SlaService, 'compliance'>;
  repository: Pick<SlaRepository, 'claimAlert' | 'forgetAlertsExcept'>;
  events: EventBus;
  clock: Clock;
  logger: Logger;
  /** How long an alerted breach stays quiet (SPEC §10.2: 6 h). */
  spacingMs?: number;
}

const DEFAULT_SPACING_MS = 6 * 3_600_000;

const bodyOf = (violation: SlaViolation): string =>
  [
    `任务：${violation.taskName}`,
    `RPO 目标：${String(violation.slaHoursRpo)} 小时`,
    violation.neverSucceeded
      ? '距上次成功：从未成功'
      : `距上次成功：${violation.hoursSinceLastSuccess.toFixed(2)} 小时`,
  ].join('\n');

/**
 * Raises `sla_violation` for tasks past their RPO (SPEC §10.2): once per spacing window per task,
 * claimed in the database so masters sharing it alert once and a restart does not repeat an alert;
 * a task that recovers is forgotten, so its next breach alerts at once.
 */
export const createSlaMonitor = (deps: SlaMonitorDeps) => {
  const spacingMs = deps.spacingMs ?? DEFAULT_SPACING_MS;
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<number> | undefined;

  /** One pass; resolves with the number of alerts raised. */
  const check = async (): Promise<number> => {
    const { violations } = await deps.sla.compliance();
    await deps.repository.forgetAlertsExcept(violations.map((violation) => violation.taskId));
    let raised = 0;
    for (const violation of violations) {
      const now = deps.clock.now();
      const claimed = await deps.repository.claimAlert(
        violation.taskId,
        toIso(now),
        toIso(new Date(now.getTime() - spacingMs)),
      );
      if (!claimed) continue;
      deps.events.publish('sla_violation', 'BackupX SLA 违约', bodyOf(violation), {
        taskId: violation.taskId,
        taskName: violation.taskName,
        nodeId: violation.nodeId,
        nodeName: violation.nodeName,
        slaHoursRpo: violation.slaHoursRpo,
        hoursSinceLastSuccess: violation.hoursSinceLastSuccess,
        neverSucceeded: violation.neverSucceeded,
      });
      raised += 1;
    }
    return raised;
  };

  return {
    /** Runs a pass now (one at a time); the monitor's timer calls the same. */
    checkNow(): Promise<number> {
      checking ??= check().finally(() => {
        checking = undefined;
      });
      return checking;
    },

    start(intervalMs: number): void {
      const tick = () =>
        void this.checkNow().catch((error: unknown) =>
          deps.logger.warn({ err: String(error) }, 'SLA monitor failed'),
        );
      tick();
      timer = setInterval(tick, intervalMs);
      timer.unref();
    },

    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      await checking?.catch(() => undefined);
    },
  };
};

export type SlaMonitor = ReturnType<typeof createSlaMonitor>;
