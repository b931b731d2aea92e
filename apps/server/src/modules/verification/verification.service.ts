import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  verifyModes,
  type TableRowCount,
  type VerificationCheck,
  type VerificationDetail,
  type VerificationSummary,
  type VerifyMode,
} from '@backupx/contract';
import type { BackupTaskRow } from '../../db/tables.ts';
import { AppError } from '../../lib/errors.ts';
import { addMs, toIso, type Clock } from '../../lib/clock.ts';
import type { Actor } from '../auth/principal.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { EventBus } from '../events/event-bus.ts';
import { copiesOf, partitionCopies, type ArtifactCopy, type TaskReader } from '../runs/artifacts.ts';
import type { LogHub } from '../runs/log-hub.ts';
import type { RecordRow } from '../runs/runs.repository.ts';
import { Semaphore } from '../runs/semaphore.ts';
import { runDrill, type DrillDeps } from './drill.ts';
import type {
  VerificationFilter,
  VerificationRepository,
  VerificationRow,
} from './verification.repository.ts';

export interface VerificationServiceDeps extends DrillDeps {
  repository: VerificationRepository;
  tasks: Pick<TaskReader, 'findById'>;
  /** Names of storage targets (deleted ones are missing). */
  targetNames(ids: readonly number[]): Promise<Map<number, string>>;
  hub: LogHub;
  events: EventBus;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  logger: Logger;
  tempDir: string;
  runnerId: string;
  /** Drills running at once on this master (`backup.max_concurrent`). */
  maxConcurrent: number;
  onFinished?: (status: 'success' | 'failed') => void;
}

export type VerificationService = ReturnType<typeof createVerificationService>;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const HEARTBEAT_MS = 10_000;
/** A running drill whose master has not beaten for this long is an orphan. */
const ORPHAN_AFTER_MS = 120_000;

const parseJsonArray = <T>(text: string): T[] => {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? (parsed as T[]) : [];
  } catch {
    return [];
  }
};

/** `''`/absent → quick; quick/deep; anything else is refused. */
export const parseVerifyMode = (mode: string | undefined): VerifyMode => {
  const value = (mode ?? '').trim();
  if (value === '') return 'quick';
  if ((verifyModes as readonly string[]).includes(value)) return value as VerifyMode;
  throw new AppError('VERIFY_MODE_INVALID', `Unknown drill mode "${value}": use quick or deep`);
};

/**
 * Verification drills (SPEC §8): checked and recorded synchronously, run in the background on this
 * master under their own concurrency limit, streamed live through their own log hub, and ended
 * with a `verify_failed` event when they fail. Runs of a master that died are failed by the next
 * sweep (heartbeat), like backups and restores.
 */
export const createVerificationService = (deps: VerificationServiceDeps) => {
  const { repository, hub, clock } = deps;
  const slots = new Semaphore(deps.maxConcurrent);
  const active = new Map<number, { controller: AbortController; done: Promise<void> }>();

  /** The copy a drill reads, or the SPEC's refusal. */
  const chooseCopy = async (
    record: RecordRow,
    storageTargetId: number | undefined,
  ): Promise<ArtifactCopy> => {
    const copies = copiesOf(record);
    const wanted =
      storageTargetId === undefined ? copies : copies.filter((c) => c.storageTargetId === storageTargetId);
    if (storageTargetId !== undefined && wanted.length === 0)
      throw new AppError(
        'VERIFY_COPY_NOT_FOUND',
        `Backup ${String(record.id)} has no successful copy on storage target ${String(storageTargetId)}`,
      );
    const { reachable } = await partitionCopies(deps.targets, wanted);
    const [first] = reachable;
    if (first === undefined) {
      if (wanted.length === 0)
        throw new AppError('VERIFY_SOURCE_INVALID', `Backup ${String(record.id)} has no stored copy`);
      throw new AppError(
        'VERIFY_CROSS_NODE_LOCAL_DISK',
        `Backup ${String(record.id)} is on the local disk of node #${String(record.nodeId)}, which this master cannot read`,
      );
    }
    return first;
  };

  const checkRequest = async (record: RecordRow | undefined, storageTargetId?: number) => {
    if (record?.status !== 'success')
      throw new AppError('VERIFY_SOURCE_INVALID', 'Only a successful backup can be drilled');
    const task = await deps.tasks.findById(record.taskId);
    if (task === undefined)
      throw new AppError('VERIFY_SOURCE_INVALID', `The task of backup ${String(record.id)} no longer exists`);
    return { record, task, copy: await chooseCopy(record, storageTargetId) };
  };

  const toSummaries = async (rows: VerificationRow[]): Promise<VerificationSummary[]> => {
    const names = await deps.targetNames(rows.map((row) => row.storageTargetId));
    return rows.map((row) => ({
      id: row.id,
      backupRecordId: row.backupRecordId,
      taskId: row.taskId,
      taskName: row.taskName ?? '',
      nodeId: row.nodeId,
      mode: row.mode === 'deep' ? 'deep' : 'quick',
      status: row.status as VerificationSummary['status'],
      summary: row.summary,
      errorMessage: row.errorMessage,
      durationSeconds: row.durationSeconds,
      startedAt: row.startedAt,
      completedAt: row.completedAt,
      triggeredBy: row.triggeredBy,
      backupFileName: row.backupFileName ?? '',
      storageTargetId: row.storageTargetId,
      storageTargetName: names.get(row.storageTargetId) ?? '',
      rtoSeconds: row.rtoMs === null ? null : Math.round(row.rtoMs / 100) / 10,
      checks: parseJsonArray<VerificationCheck>(row.checksJson),
      tableCounts: parseJsonArray<TableRowCount>(row.tableCountsJson),
    }));
  };

  const get = async (id: number): Promise<VerificationDetail> => {
    const row = await repository.find(id);
    if (row === undefined)
      throw new AppError('VERIFY_RECORD_NOT_FOUND', `Verification record ${String(id)} not found`);
    const [summary] = await toSummaries([row]);
    if (summary === undefined) throw new AppError('VERIFY_RECORD_NOT_FOUND', `Verification ${String(id)}`);
    const live = row.status === 'running' ? hub.snapshot(id) : [];
    return { ...summary, logContent: row.logContent, logEvents: live };
  };

  const finish = async (
    id: number,
    context: { record: RecordRow; task: Pick<BackupTaskRow, 'id' | 'name'>; startedAt: string },
    outcome: {
      ok: boolean;
      summary: string;
      error: string;
      checks: VerificationCheck[];
      tableCounts: TableRowCount[];
      rtoMs: number | null;
    },
  ): Promise<void> => {
    const status = outcome.ok ? 'success' : 'failed';
    const completedAt = clock.now();
    const durationSeconds = Math.max(
      0,
      Math.round((completedAt.getTime() - Date.parse(context.startedAt)) / 1000),
    );
    hub.log(
      id,
      outcome.ok ? 'info' : 'error',
      `drill ${outcome.ok ? 'passed' : 'failed'} in ${String(durationSeconds)} s`,
    );
    const committed = await repository.finishRunning(id, {
      status,
      summary: outcome.summary.slice(0, 500),
      errorMessage: outcome.error.slice(0, 2000),
      checksJson: JSON.stringify(outcome.checks),
      tableCountsJson: JSON.stringify(outcome.tableCounts),
      rtoMs: outcome.rtoMs === null ? null : Math.round(outcome.rtoMs),
      logContent: hub.text(id),
      durationSeconds,
      completedAt: toIso(completedAt),
    });
    hub.complete(id, status);
    if (!committed) return;
    deps.onFinished?.(status);
    if (!outcome.ok)
      deps.events.publish(
        'verify_failed',
        'BackupX 备份验证失败',
        `任务：${context.task.name}\n备份：${context.record.fileName}\n错误：${outcome.error}`,
        {
          taskId: context.task.id,
          taskName: context.task.name,
          verifyId: id,
          backupRecordId: context.record.id,
          error: outcome.error,
        },
      );
  };

  const execute = async (
    id: number,
    checked: Awaited<ReturnType<typeof checkRequest>>,
    mode: VerifyMode,
    startedAt: string,
    signal: AbortSignal,
  ): Promise<void> => {
    const { record, task, copy } = checked;
    const log = (level: 'info' | 'warn' | 'error', message: string) => hub.log(id, level, message);
    let release: (() => void) | undefined;
    let workDir: string | undefined;
    let outcome: Parameters<typeof finish>[2];
    try {
      release = await slots.acquire(signal);
      await mkdir(deps.tempDir, { recursive: true, mode: 0o700 });
      workDir = await mkdtemp(path.join(deps.tempDir, 'verify-'));
      const result = await runDrill(deps, {
        verificationId: id,
        mode,
        record,
        task,
        copy,
        signal,
        log,
        workDir,
      });
      outcome = { ...result, error: result.ok ? '' : result.summary };
    } catch (error) {
      const message = signal.aborted ? `cancelled: ${messageOf(signal.reason)}` : messageOf(error);
      log('error', `drill failed: ${message}`);
      outcome = { ok: false, summary: message, error: message, checks: [], tableCounts: [], rtoMs: null };
    } finally {
      if (workDir !== undefined) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
      release?.();
    }
    await finish(id, { record, task, startedAt }, outcome);
  };

  const begin = async (
    checked: Awaited<ReturnType<typeof checkRequest>>,
    mode: VerifyMode,
    triggeredBy: string,
  ): Promise<number> => {
    const startedAt = toIso(clock.now());
    const id = await repository.insert({
      backupRecordId: checked.record.id,
      taskId: checked.record.taskId,
      nodeId: checked.record.nodeId,
      storageTargetId: checked.copy.storageTargetId,
      mode,
      triggeredBy,
      runnerId: deps.runnerId,
      startedAt,
    });
    hub.log(id, 'info', `drill #${String(id)} queued (${mode}, triggered by ${triggeredBy})`);
    const controller = new AbortController();
    const done = execute(id, checked, mode, startedAt, controller.signal)
      .catch((error: unknown) => {
        deps.logger.error({ err: messageOf(error), verifyId: id }, 'verification drill crashed');
        hub.complete(id, 'failed');
      })
      .finally(() => active.delete(id));
    active.set(id, { controller, done });
    return id;
  };

  const newestSuccess = async (taskId: number): Promise<RecordRow> => {
    const recordId = await repository.newestSuccessfulRecordId(taskId);
    const record = recordId === undefined ? undefined : await deps.records.findRecord(recordId);
    if (record === undefined)
      throw new AppError('VERIFY_NO_SOURCE', `Task ${String(taskId)} has no successful backup to drill`);
    return record;
  };

  const heartbeat = setInterval(() => {
    void repository
      .heartbeat([...active.keys()], toIso(clock.now()))
      .catch((error: unknown) =>
        deps.logger.warn({ err: messageOf(error) }, 'verification heartbeat failed'),
      );
  }, HEARTBEAT_MS);
  heartbeat.unref();

  /** Fails drills left running by this master's previous life or by a master that stopped beating. */
  const recoverOrphans = async (): Promise<void> => {
    const staleBefore = toIso(addMs(clock.now(), -ORPHAN_AFTER_MS));
    for (const row of await repository.listOrphans(deps.runnerId, staleBefore)) {
      if (active.has(row.id)) continue;
      const completedAt = clock.now();
      const message = 'the master running this drill stopped before it ended';
      await repository.finishRunning(row.id, {
        status: 'failed',
        summary: message,
        errorMessage: message,
        completedAt: toIso(completedAt),
        durationSeconds: Math.max(0, Math.round((completedAt.getTime() - Date.parse(row.startedAt)) / 1000)),
      });
    }
  };
  const sweep = setInterval(() => {
    recoverOrphans().catch((error: unknown) =>
      deps.logger.warn({ err: messageOf(error) }, 'verification orphan sweep failed'),
    );
  }, 30_000);
  sweep.unref();

  const actorName = (actor: Actor) => (actor.username === '' ? 'manual' : actor.username);

  return {
    async verifyRecord(
      actor: Actor,
      recordId: number,
      body: { mode?: string | undefined; storageTargetId?: number | undefined },
    ): Promise<VerificationDetail> {
      const mode = parseVerifyMode(body.mode);
      const checked = await checkRequest(await deps.records.findRecord(recordId), body.storageTargetId);
      const id = await begin(checked, mode, actorName(actor));
      await deps.audit.record(actor, {
        category: 'backup_verify',
        action: 'manual_run',
        targetType: 'backup_record',
        targetId: recordId,
        targetName: checked.record.fileName,
        detail: `${mode} drill of backup #${String(recordId)} from storage target #${String(checked.copy.storageTargetId)} (verification #${String(id)})`,
      });
      return get(id);
    },

    async verifyTask(actor: Actor, taskId: number, body: { mode?: string | undefined }) {
      const mode = parseVerifyMode(body.mode);
      const task = await deps.tasks.findById(taskId);
      if (task === undefined)
        throw new AppError('BACKUP_TASK_NOT_FOUND', `Backup task ${String(taskId)} not found`);
      const checked = await checkRequest(await newestSuccess(taskId));
      const id = await begin(checked, mode, actorName(actor));
      await deps.audit.record(actor, {
        category: 'backup_verify',
        action: 'manual_run',
        targetType: 'backup_task',
        targetId: taskId,
        targetName: task.name,
        detail: `${mode} drill of backup #${String(checked.record.id)} (verification #${String(id)})`,
      });
      return get(id);
    },

    /** A scheduled drill (verify cron): the task's newest success with the task's mode. */
    async verifyScheduled(taskId: number): Promise<void> {
      const task = await deps.tasks.findById(taskId);
      if (task === undefined) return;
      const mode = task.verifyMode === 'deep' ? 'deep' : 'quick';
      await begin(await checkRequest(await newestSuccess(taskId)), mode, 'system');
    },

    get,

    async list(filter: VerificationFilter): Promise<VerificationSummary[]> {
      return toSummaries(await repository.list(filter));
    },

    recoverOrphans,

    /** Cancels the drills in flight and waits for them to be recorded as failed. */
    async stop(): Promise<void> {
      clearInterval(heartbeat);
      clearInterval(sweep);
      const runs = [...active.values()];
      for (const run of runs) run.controller.abort(new Error('the master is shutting down'));
      await Promise.allSettled(runs.map((run) => run.done));
    },

    /** Settles the drills in flight (tests). */
    async idle(): Promise<void> {
      while (active.size > 0) await Promise.allSettled([...active.values()].map((run) => run.done));
    },
  };
};
