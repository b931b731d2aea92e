import { Cron } from 'croner';
import type { Logger } from 'pino';
import { toIso, addMs, type Clock } from '../../lib/clock.ts';
import { randomHex } from '../../lib/crypto.ts';
import { systemActor } from '../auth/principal.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { cronError, resolveTimeZone } from './cron.ts';
import { isWithinWindows, parseWindowsLenient } from './maintenance-windows.ts';
import type { ScheduleClaimsRepository } from './schedule-claims.repository.ts';
import type { TasksRepository } from './tasks.repository.ts';

export { nextRuns, cronError, resolveTimeZone } from './cron.ts';

/** What the scheduler starts. The runs module implements it and registers it with `setRunner`. */
export interface ScheduledRunner {
  /** Starts a scheduled run of the task; errors are only logged. */
  runScheduled(taskId: number): Promise<void>;
  /** Leaves a visible trace (a `skipped` record) of a fire that did not run, e.g. outside a window. */
  recordSkipped?(taskId: number, reason: string): Promise<void>;
  /** Why the task cannot run now although it is due (its node is offline), or null. */
  scheduledSkipReason?(taskId: number): Promise<string | null>;
}

export interface TaskSchedulerDeps {
  tasksRepository: Pick<TasksRepository, 'findById' | 'listSchedulable' | 'hasRunningRecord'>;
  claimsRepository: ScheduleClaimsRepository;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  logger: Logger;
  /** `backup.timezone`; '' = the process's zone. */
  timeZone: string;
  /** Identity of this master in schedule claims (random when absent). */
  runnerId?: string;
  /** How often the whole schedule is re-read, to pick up changes made through other masters. */
  reloadIntervalMs?: number;
}

export type TaskScheduler = ReturnType<typeof createTaskScheduler>;

export const OUTSIDE_WINDOW_REASON = 'outside maintenance window';
const RUNNING_REASON = 'the previous run is still in progress';
const DAY_MS = 86_400_000;
const CLAIM_RETENTION_MS = 7 * DAY_MS;
/** setTimeout cannot wait longer than 2^31-1 ms; longer waits re-arm in steps. */
const MAX_TIMER_MS = 6 * 3_600_000;

interface Entry {
  cronExpr: string;
  cron: Cron;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Fires backup tasks on their cron schedule (SPEC §5.1–5.2) in one time zone.
 *
 * - Each fire time is claimed in `schedule_claims` first, so masters sharing a database run it once.
 * - Fires missed while no master was running are not caught up: the next fire happens normally.
 * - A fire for a task whose agent node is offline is skipped the same way (SPEC §5.2 step 1).
 * - A fire outside the task's maintenance windows (evaluated at the fire time) is skipped with an
 *   audit entry and a trace from the runner (`recordSkipped`).
 * - A fire while the previous run is still going is skipped with an audit entry (one run per task).
 */
export const createTaskScheduler = (deps: TaskSchedulerDeps) => {
  const { tasksRepository, claimsRepository, audit, clock, logger } = deps;
  const timeZone = resolveTimeZone(deps.timeZone);
  const runnerId = deps.runnerId ?? `master-${randomHex(8)}`;
  const entries = new Map<number, Entry>();
  const inflight = new Set<Promise<void>>();
  const intervals: NodeJS.Timeout[] = [];
  let runner: ScheduledRunner | undefined;
  let started = false;
  let stopped = false;

  const track = (work: Promise<void>): void => {
    const tracked = work.finally(() => inflight.delete(tracked));
    inflight.add(tracked);
  };

  const clearEntry = (taskId: number): void => {
    const entry = entries.get(taskId);
    if (entry?.timer !== undefined) clearTimeout(entry.timer);
    entries.delete(taskId);
  };

  /** Arms the timer for the next fire strictly after `after`. */
  const arm = (taskId: number, entry: Entry, after: Date): void => {
    if (stopped) return;
    const next = entry.cron.nextRun(after);
    if (next === null) {
      entry.timer = undefined;
      return;
    }
    waitFor(taskId, entry, next);
  };

  const waitFor = (taskId: number, entry: Entry, slot: Date): void => {
    const delayMs = Math.max(0, Math.min(slot.getTime() - clock.now().getTime(), MAX_TIMER_MS));
    entry.timer = setTimeout(() => onTimer(taskId, entry, slot), delayMs);
    entry.timer.unref();
  };

  const onTimer = (taskId: number, entry: Entry, slot: Date): void => {
    if (stopped || entries.get(taskId) !== entry) return;
    const now = clock.now();
    // Timers may wake a little early, or in steps for far fires: wait for the slot itself.
    if (now.getTime() < slot.getTime()) {
      waitFor(taskId, entry, slot);
      return;
    }
    // Arm the next fire before handling this one; a late wake-up skips missed slots (no catch-up).
    arm(taskId, entry, now.getTime() > slot.getTime() ? now : slot);
    track(fire(taskId, entry.cronExpr, slot));
  };

  const auditSkip = async (taskId: number, taskName: string, reason: string, slot: Date) => {
    await audit.record(systemActor, {
      category: 'backup_task',
      action: 'scheduled_skip',
      targetType: 'backup_task',
      targetId: taskId,
      targetName: taskName,
      detail: `Scheduled run at ${toIso(slot)} skipped: ${reason}`,
    });
  };

  const fire = async (taskId: number, cronExpr: string, slot: Date): Promise<void> => {
    try {
      const task = await tasksRepository.findById(taskId);
      if (!task || task.enabled !== 1 || task.cronExpr !== cronExpr) {
        // Changed through another master since we armed: follow the database.
        await sync(taskId);
        return;
      }
      const current = runner;
      if (current === undefined) {
        // Leave the fire to a master that can run it.
        logger.warn({ taskId }, 'scheduled fire ignored: no runner is registered yet');
        return;
      }
      const won = await claimsRepository.claim({
        taskId,
        kind: 'backup',
        fireAt: toIso(slot),
        runnerId,
        createdAt: toIso(clock.now()),
      });
      if (!won) return;

      const offline = (await current.scheduledSkipReason?.(taskId)) ?? null;
      if (offline !== null) {
        await auditSkip(taskId, task.name, offline, slot);
        if (current.recordSkipped) await current.recordSkipped(taskId, offline);
        return;
      }
      const windowsText = task.maintenanceWindows.trim();
      if (windowsText !== '' && !isWithinWindows(parseWindowsLenient(windowsText), slot, timeZone)) {
        await auditSkip(taskId, task.name, OUTSIDE_WINDOW_REASON, slot);
        if (current.recordSkipped) await current.recordSkipped(taskId, OUTSIDE_WINDOW_REASON);
        return;
      }
      if (await tasksRepository.hasRunningRecord(taskId)) {
        await auditSkip(taskId, task.name, RUNNING_REASON, slot);
        return;
      }
      await audit.record(systemActor, {
        category: 'backup_task',
        action: 'scheduled_run',
        targetType: 'backup_task',
        targetId: taskId,
        targetName: task.name,
        detail: `Scheduled run at ${toIso(slot)} (${cronExpr}, ${timeZone})`,
      });
      // The run itself may last hours: it is not awaited here.
      current.runScheduled(taskId).catch((error: unknown) => {
        logger.error(
          { taskId, err: error instanceof Error ? error.message : String(error) },
          'scheduled run failed to start',
        );
      });
    } catch (error) {
      logger.error(
        { taskId, err: error instanceof Error ? error.message : String(error) },
        'scheduled fire failed',
      );
    }
  };

  /** Creates or replaces the entry of a schedulable task; keeps a running timer when nothing changed. */
  const ensure = (taskId: number, cronExpr: string): void => {
    const existing = entries.get(taskId);
    if (existing && existing.cronExpr === cronExpr) return;
    const problem = cronError(cronExpr);
    if (problem !== null) throw new Error(`task ${taskId}: invalid cron expression: ${problem}`);
    clearEntry(taskId);
    const entry: Entry = {
      cronExpr,
      cron: new Cron(cronExpr, { paused: true, mode: '5-or-6-parts', timezone: timeZone }),
      timer: undefined,
    };
    entries.set(taskId, entry);
    if (started) arm(taskId, entry, clock.now());
  };

  /** Re-reads one task and (re)arms or removes its entry. Throws when the schedule cannot be set. */
  const sync = async (taskId: number): Promise<void> => {
    const task = await tasksRepository.findById(taskId);
    if (!task || task.enabled !== 1 || task.cronExpr.trim() === '') {
      clearEntry(taskId);
      return;
    }
    ensure(taskId, task.cronExpr);
  };

  /** Re-reads every schedulable task; a broken one is logged and left out. */
  const syncAll = async (): Promise<void> => {
    const rows = await tasksRepository.listSchedulable();
    const wanted = new Set<number>();
    for (const row of rows) {
      wanted.add(row.id);
      try {
        ensure(row.id, row.cronExpr);
      } catch (error) {
        clearEntry(row.id);
        logger.warn({ taskId: row.id, err: (error as Error).message }, 'task not scheduled');
      }
    }
    for (const taskId of [...entries.keys()]) if (!wanted.has(taskId)) clearEntry(taskId);
  };

  const purgeClaims = async (): Promise<void> => {
    try {
      await claimsRepository.deleteCreatedBefore(toIso(addMs(clock.now(), -CLAIM_RETENTION_MS)));
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'schedule claim cleanup failed');
    }
  };

  return {
    /** The IANA zone schedules and maintenance windows are evaluated in. */
    timeZone,
    runnerId,

    setRunner(next: ScheduledRunner): void {
      runner = next;
    },

    /** Loads every schedulable task and starts the timers (idempotent). */
    async start(): Promise<void> {
      if (started || stopped) return;
      started = true;
      await syncAll();
      for (const [taskId, entry] of entries) if (entry.timer === undefined) arm(taskId, entry, clock.now());
      await purgeClaims();
      const reload = setInterval(() => {
        syncAll().catch((error: unknown) =>
          logger.warn(
            { err: error instanceof Error ? error.message : String(error) },
            'schedule reload failed',
          ),
        );
      }, deps.reloadIntervalMs ?? 60_000);
      const purge = setInterval(() => void purgeClaims(), DAY_MS);
      reload.unref();
      purge.unref();
      intervals.push(reload, purge);
    },

    sync,

    /** Removes the schedule of a task (deleted). */
    remove(taskId: number): void {
      clearEntry(taskId);
    },

    /** Ids of the tasks that currently have a schedule entry. */
    scheduledTaskIds(): number[] {
      return [...entries.keys()].sort((a, b) => a - b);
    },

    /** The next fire time of a scheduled task, or null. */
    nextRunOf(taskId: number): Date | null {
      return entries.get(taskId)?.cron.nextRun(clock.now()) ?? null;
    },

    /** Stops every timer and waits for fires being handled (not for the runs they started). */
    async stop(): Promise<void> {
      stopped = true;
      for (const interval of intervals) clearInterval(interval);
      for (const taskId of [...entries.keys()]) clearEntry(taskId);
      await Promise.allSettled([...inflight]);
    },
  };
};
