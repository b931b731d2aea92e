import { Cron } from 'croner';
import type { Logger } from 'pino';
import { toIso, addMs, type Clock } from '../../lib/clock.ts';
import { randomHex } from '../../lib/crypto.ts';
import { systemActor } from '../auth/principal.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { cronError, resolveTimeZone } from './cron.ts';
import { isWithinWindows, parseWindowsLenient } from './maintenance-windows.ts';
import type { ScheduleClaimsRepository, ScheduleKind } from './schedule-claims.repository.ts';
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

/** What the verify cron starts (the verification service). */
export interface ScheduledVerifier {
  /** Starts a drill of the task's newest successful backup with the task's mode. */
  verifyScheduled(taskId: number): Promise<void>;
}

export interface TaskSchedulerDeps {
  tasksRepository: Pick<
    TasksRepository,
    'findById' | 'listSchedulable' | 'listVerifySchedulable' | 'hasRunningRecord'
  >;
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
  kind: ScheduleKind;
  taskId: number;
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
 * - Verification drills have their own cron per task (`verifyCronExpr`, SPEC §5.2): a separate
 *   entry, claimed as kind `verify`, started through the registered verifier.
 */
export const createTaskScheduler = (deps: TaskSchedulerDeps) => {
  const { tasksRepository, claimsRepository, audit, clock, logger } = deps;
  const timeZone = resolveTimeZone(deps.timeZone);
  const runnerId = deps.runnerId ?? `master-${randomHex(8)}`;
  const entries = new Map<string, Entry>();
  const keyOf = (kind: ScheduleKind, taskId: number): string => `${kind}:${String(taskId)}`;
  const inflight = new Set<Promise<void>>();
  const intervals: NodeJS.Timeout[] = [];
  let runner: ScheduledRunner | undefined;
  let verifier: ScheduledVerifier | undefined;
  let started = false;
  let stopped = false;

  const track = (work: Promise<void>): void => {
    const tracked = work.finally(() => inflight.delete(tracked));
    inflight.add(tracked);
  };

  const clearEntry = (kind: ScheduleKind, taskId: number): void => {
    const key = keyOf(kind, taskId);
    const entry = entries.get(key);
    if (entry?.timer !== undefined) clearTimeout(entry.timer);
    entries.delete(key);
  };

  /** Arms the timer for the next fire strictly after `after`. */
  const arm = (entry: Entry, after: Date): void => {
    if (stopped) return;
    const next = entry.cron.nextRun(after);
    if (next === null) {
      entry.timer = undefined;
      return;
    }
    waitFor(entry, next);
  };

  const waitFor = (entry: Entry, slot: Date): void => {
    const delayMs = Math.max(0, Math.min(slot.getTime() - clock.now().getTime(), MAX_TIMER_MS));
    entry.timer = setTimeout(() => onTimer(entry, slot), delayMs);
    entry.timer.unref();
  };

  const onTimer = (entry: Entry, slot: Date): void => {
    if (stopped || entries.get(keyOf(entry.kind, entry.taskId)) !== entry) return;
    const now = clock.now();
    // Timers may wake a little early, or in steps for far fires: wait for the slot itself.
    if (now.getTime() < slot.getTime()) {
      waitFor(entry, slot);
      return;
    }
    // Arm the next fire before handling this one; a late wake-up skips missed slots (no catch-up).
    arm(entry, now.getTime() > slot.getTime() ? now : slot);
    track(
      entry.kind === 'backup'
        ? fire(entry.taskId, entry.cronExpr, slot)
        : fireVerify(entry.taskId, entry.cronExpr, slot),
    );
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

  /** A verify-cron fire: claimed like a backup fire, audited, then a drill of the newest success. */
  const fireVerify = async (taskId: number, cronExpr: string, slot: Date): Promise<void> => {
    try {
      const task = await tasksRepository.findById(taskId);
      if (!task || task.enabled !== 1 || task.verifyEnabled !== 1 || task.verifyCronExpr !== cronExpr) {
        await sync(taskId);
        return;
      }
      const current = verifier;
      if (current === undefined) return;
      const won = await claimsRepository.claim({
        taskId,
        kind: 'verify',
        fireAt: toIso(slot),
        runnerId,
        createdAt: toIso(clock.now()),
      });
      if (!won) return;
      await audit.record(systemActor, {
        category: 'backup_verify',
        action: 'scheduled_run',
        targetType: 'backup_task',
        targetId: taskId,
        targetName: task.name,
        detail: `Scheduled ${task.verifyMode === 'deep' ? 'deep' : 'quick'} drill at ${toIso(slot)} (${cronExpr}, ${timeZone})`,
      });
      await current.verifyScheduled(taskId);
    } catch (error) {
      logger.error(
        { taskId, err: error instanceof Error ? error.message : String(error) },
        'scheduled verification failed to start',
      );
    }
  };

  /** Creates or replaces an entry; keeps a running timer when nothing changed. */
  const ensure = (kind: ScheduleKind, taskId: number, cronExpr: string): void => {
    const existing = entries.get(keyOf(kind, taskId));
    if (existing && existing.cronExpr === cronExpr) return;
    const problem = cronError(cronExpr);
    if (problem !== null) throw new Error(`task ${taskId}: invalid ${kind} cron expression: ${problem}`);
    clearEntry(kind, taskId);
    const entry: Entry = {
      kind,
      taskId,
      cronExpr,
      cron: new Cron(cronExpr, { paused: true, mode: '5-or-6-parts', timezone: timeZone }),
      timer: undefined,
    };
    entries.set(keyOf(kind, taskId), entry);
    if (started) arm(entry, clock.now());
  };

  /** Re-reads one task and (re)arms or removes its entries. Throws when a schedule cannot be set. */
  const sync = async (taskId: number): Promise<void> => {
    const task = await tasksRepository.findById(taskId);
    if (!task || task.enabled !== 1 || task.cronExpr.trim() === '') clearEntry('backup', taskId);
    else ensure('backup', taskId, task.cronExpr);
    if (!task || task.enabled !== 1 || task.verifyEnabled !== 1 || task.verifyCronExpr.trim() === '')
      clearEntry('verify', taskId);
    else ensure('verify', taskId, task.verifyCronExpr);
  };

  /** Re-reads every schedulable task; a broken one is logged and left out. */
  const syncAll = async (): Promise<void> => {
    const wanted = new Set<string>();
    const lists: [ScheduleKind, { id: number; cronExpr: string }[]][] = [
      ['backup', await tasksRepository.listSchedulable()],
      [
        'verify',
        (await tasksRepository.listVerifySchedulable()).map((row) => ({
          id: row.id,
          cronExpr: row.verifyCronExpr,
        })),
      ],
    ];
    for (const [kind, rows] of lists)
      for (const row of rows) {
        wanted.add(keyOf(kind, row.id));
        try {
          ensure(kind, row.id, row.cronExpr);
        } catch (error) {
          clearEntry(kind, row.id);
          logger.warn({ taskId: row.id, kind, err: (error as Error).message }, 'task not scheduled');
        }
      }
    for (const [key, entry] of [...entries]) if (!wanted.has(key)) clearEntry(entry.kind, entry.taskId);
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

    setVerifier(next: ScheduledVerifier): void {
      verifier = next;
    },

    /** Loads every schedulable task and starts the timers (idempotent). */
    async start(): Promise<void> {
      if (started || stopped) return;
      started = true;
      await syncAll();
      for (const entry of entries.values()) if (entry.timer === undefined) arm(entry, clock.now());
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

    /** Removes the schedules of a task (deleted). */
    remove(taskId: number): void {
      clearEntry('backup', taskId);
      clearEntry('verify', taskId);
    },

    /** Ids of the tasks that currently have a backup (or, with `kind`, another) schedule entry. */
    scheduledTaskIds(kind: ScheduleKind = 'backup'): number[] {
      return [...entries.values()]
        .filter((entry) => entry.kind === kind)
        .map((entry) => entry.taskId)
        .sort((a, b) => a - b);
    },

    /** The next fire time of a task's backup (or verify) schedule, or null. */
    nextRunOf(taskId: number, kind: ScheduleKind = 'backup'): Date | null {
      return entries.get(keyOf(kind, taskId))?.cron.nextRun(clock.now()) ?? null;
    },

    /** Stops every timer and waits for fires being handled (not for the runs they started). */
    async stop(): Promise<void> {
      stopped = true;
      for (const interval of intervals) clearInterval(interval);
      for (const entry of [...entries.values()]) clearEntry(entry.kind, entry.taskId);
      await Promise.allSettled([...inflight]);
    },
  };
};
