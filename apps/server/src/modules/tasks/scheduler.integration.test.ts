import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, TaskDetail } from '@backupx/contract';
import { openDatabase, type OpenedDatabase } from '../../db/database.ts';
import { SecretBox } from '../../lib/crypto.ts';
import { createAuditRepository } from '../audit/audit.repository.ts';
import { createAuditService } from '../audit/audit.service.ts';
import { createSystemConfigsRepository } from '../settings/system-configs.repository.ts';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';
import { createScheduleClaimsRepository } from './schedule-claims.repository.ts';
import { createTaskScheduler, type ScheduledRunner, type TaskScheduler } from './scheduler.ts';
import { createTasksRepository } from './tasks.repository.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

interface RunnerCall {
  kind: 'run' | 'skip';
  taskId: number;
  at: Date;
  reason?: string;
}

/** A stand-in for the runs module: it only writes down what the scheduler asked for. */
const recordingRunner = (calls: RunnerCall[], label = '') => {
  const runner: ScheduledRunner & { label: string } = {
    label,
    runScheduled: (taskId) => {
      calls.push({ kind: 'run', taskId, at: new Date() });
      return Promise.resolve();
    },
    recordSkipped: (taskId, reason) => {
      calls.push({ kind: 'skip', taskId, at: new Date(), reason });
      return Promise.resolve();
    },
  };
  return runner;
};

/** Polls until `probe` gives a value (no timing assertion: the deadline only bounds a hang). */
const waitFor = async <T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

const insertTarget = async (master: TestMaster, name: string): Promise<number> => {
  const now = new Date().toISOString();
  const row = await master.container.database.db
    .insertInto('storageTargets')
    .values({
      name,
      type: 'local_disk',
      description: '',
      enabled: 1,
      starred: 0,
      configCiphertext: 'not-a-real-config',
      configVersion: 1,
      lastTestedAt: null,
      lastTestStatus: 'unknown',
      lastTestMessage: '',
      quotaBytes: 0,
      createdAt: now,
      updatedAt: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
};

describe.each(dialects)('task scheduler on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let target: number;
  const calls: RunnerCall[] = [];

  beforeAll(async () => {
    master = await startTestMaster(dialect, { config: { backup: { timezone: 'UTC' } } });
    admin = await master.setupAdmin();
    target = await insertTarget(master, 'scheduler-target');
    master.container.services.taskScheduler.setRunner(recordingRunner(calls));
  });
  afterAll(async () => {
    await master.destroy();
  });

  const createTask = async (name: string, fields: Record<string, unknown>) => {
    const response = await master.api.post<Envelope<TaskDetail>>(
      '/api/backup/tasks',
      { name, type: 'file', sourcePaths: ['/srv'], storageTargetIds: [target], ...fields },
      { token: admin },
    );
    expect(response.status, response.text).toBe(200);
    return response.body.data;
  };
  const disable = async (id: number) => {
    const response = await master.api.put(
      `/api/backup/tasks/${id}/toggle`,
      { enabled: false },
      { token: admin },
    );
    expect(response.status).toBe(200);
  };
  const claimsOf = (taskId: number) =>
    master.container.database.db
      .selectFrom('scheduleClaims')
      .selectAll()
      .where('taskId', '=', taskId)
      .orderBy('fireAt')
      .execute();
  const auditOf = async (taskId: number, action: string): Promise<AuditEntry[]> => {
    const response = await master.api.get<Envelope<{ items: AuditEntry[] }>>(
      `/api/audit-logs?category=backup_task&action=${action}&targetId=${taskId}`,
      { token: admin },
    );
    return response.body.data.items;
  };

  it('fires a six-field schedule at its second through the registered runner, once', async () => {
    // A fire time three seconds ahead, written as "second minute hour * * *" in UTC.
    const slot = new Date(Math.floor(master.clock.now().getTime() / 1000) * 1000 + 3000);
    const cronExpr = `${slot.getUTCSeconds()} ${slot.getUTCMinutes()} ${slot.getUTCHours()} * * *`;
    const task = await createTask('next-second', { cronExpr });
    expect(master.container.services.taskScheduler.nextRunOf(task.id)?.toISOString()).toBe(
      slot.toISOString(),
    );

    const call = await waitFor(
      () => calls.find((entry) => entry.taskId === task.id),
      slot.getTime() - Date.now() + 5000,
      'the scheduled run',
    );
    expect(call.kind).toBe('run');
    // The run starts at (not before) its cron time.
    expect(call.at.getTime()).toBeGreaterThanOrEqual(slot.getTime());
    const claims = await claimsOf(task.id);
    expect(claims).toEqual([
      {
        taskId: task.id,
        kind: 'backup',
        fireAt: slot.toISOString(),
        runnerId: master.container.services.taskScheduler.runnerId,
        createdAt: expect.any(String) as string,
      },
    ]);
    const runs = await auditOf(task.id, 'scheduled_run');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ username: 'system', targetName: 'next-second' });
    expect(runs[0]?.detail).toContain(slot.toISOString());
    // The next fire is a day later.
    expect(master.container.services.taskScheduler.nextRunOf(task.id)?.getTime()).toBe(
      slot.getTime() + 86_400_000,
    );
    expect(calls.filter((entry) => entry.taskId === task.id)).toHaveLength(1);
    await disable(task.id);
  });

  it('skips fires outside the maintenance window: audit entry and a skipped record from the runner', async () => {
    // A one-minute window twelve hours away from now.
    const hour = String((master.clock.now().getUTCHours() + 12) % 24).padStart(2, '0');
    const task = await createTask('outside-window', {
      cronExpr: '* * * * * *',
      maintenanceWindows: `time=${hour}:00-${hour}:01`,
    });
    const skip = await waitFor(
      () => calls.find((entry) => entry.taskId === task.id),
      5000,
      'the skipped fire',
    );
    await disable(task.id);
    expect(skip).toMatchObject({ kind: 'skip', reason: 'outside maintenance window' });
    expect(calls.filter((entry) => entry.taskId === task.id && entry.kind === 'run')).toEqual([]);
    const skips = await waitFor(
      async () => {
        const found = await auditOf(task.id, 'scheduled_skip');
        return found.length > 0 ? found : undefined;
      },
      5000,
      'the skip audit entry',
    );
    expect(skips[0]).toMatchObject({ username: 'system' });
    expect(skips[0]?.detail).toContain('outside maintenance window');
    expect(await auditOf(task.id, 'scheduled_run')).toEqual([]);
  });

  it('runs fires inside the maintenance window', async () => {
    const task = await createTask('inside-window', {
      cronExpr: '* * * * * *',
      maintenanceWindows: 'time=00:00-23:59;time=23:59-00:00',
    });
    const call = await waitFor(() => calls.find((entry) => entry.taskId === task.id), 5000, 'the run');
    await disable(task.id);
    expect(call.kind).toBe('run');
  });

  it('does not start a second run while the previous one is still running', async () => {
    const task = await createTask('still-running', { cronExpr: '* * * * * *', enabled: false });
    const now = master.clock.now().toISOString();
    await master.container.database.db
      .insertInto('backupRecords')
      .values({
        taskId: task.id,
        storageTargetId: target,
        nodeId: 0,
        status: 'running',
        fileName: '',
        fileSize: 0,
        checksum: '',
        storagePath: '',
        storageTransferMode: '',
        storageUploadResults: '[]',
        durationSeconds: 0,
        locked: 0,
        backupKind: 'full',
        baseRecordId: 0,
        manifest: '',
        errorMessage: '',
        logContent: '',
        runnerId: 'another-master',
        heartbeatAt: now,
        startedAt: now,
        completedAt: null,
        createdAt: now,
        updatedAt: now,
      })
      .execute();
    await master.api.put(`/api/backup/tasks/${task.id}/toggle`, { enabled: true }, { token: admin });
    const skips = await waitFor(
      async () => {
        const found = await auditOf(task.id, 'scheduled_skip');
        return found.length > 0 ? found : undefined;
      },
      5000,
      'the skip audit entry',
    );
    await disable(task.id);
    expect(skips[0]?.detail).toContain('still in progress');
    expect(calls.filter((entry) => entry.taskId === task.id)).toEqual([]);
    await master.container.database.db.deleteFrom('backupRecords').where('taskId', '=', task.id).execute();
  });
});

describe.each(dialects)('two schedulers sharing one %s database', (dialect) => {
  let master: TestMaster;
  let second: OpenedDatabase;
  const schedulers: TaskScheduler[] = [];

  beforeAll(async () => {
    master = await startTestMaster(dialect, { config: { backup: { timezone: 'UTC' } } });
    // Only the two schedulers below fire in this test.
    await master.container.services.taskScheduler.stop();
    // The second master's own connection (pool) to the same database.
    second = openDatabase(
      dialect === 'postgres'
        ? { dialect: 'postgres', location: master.postgres?.url ?? '' }
        : { dialect: 'sqlite', location: path.join(master.dataDir, 'backupx.db') },
    );
  });
  afterAll(async () => {
    for (const scheduler of schedulers) await scheduler.stop();
    await second.close();
    await master.destroy();
  });

  it('fires each slot once', async () => {
    const admin = await master.setupAdmin();
    const target = await insertTarget(master, 'shared-target');
    const response = await master.api.post<Envelope<TaskDetail>>(
      '/api/backup/tasks',
      {
        name: 'every-second',
        type: 'file',
        sourcePaths: ['/srv'],
        storageTargetIds: [target],
        cronExpr: '* * * * * *',
      },
      { token: admin },
    );
    expect(response.status, response.text).toBe(200);
    const taskId = response.body.data.id;

    const attempts: { scheduler: string; fireAt: string; won: boolean }[] = [];
    const calls: RunnerCall[] = [];
    const logger = pino({ level: 'silent' });
    for (const [label, db] of [
      ['first', master.container.database.db],
      ['second', second.db],
    ] as const) {
      const claims = createScheduleClaimsRepository(db);
      const scheduler = createTaskScheduler({
        tasksRepository: createTasksRepository(db),
        claimsRepository: {
          async claim(claim) {
            const won = await claims.claim(claim);
            attempts.push({ scheduler: label, fireAt: claim.fireAt, won });
            return won;
          },
          deleteCreatedBefore: (iso) => claims.deleteCreatedBefore(iso),
        },
        audit: createAuditService({
          auditRepository: createAuditRepository(db),
          systemConfigsRepository: createSystemConfigsRepository(db),
          secretBox: new SecretBox(randomBytes(32)),
          clock: master.clock,
          logger,
        }),
        clock: master.clock,
        logger,
        timeZone: 'UTC',
        runnerId: `runner-${label}`,
      });
      scheduler.setRunner(recordingRunner(calls, label));
      schedulers.push(scheduler);
    }
    await Promise.all(schedulers.map((scheduler) => scheduler.start()));
    for (const scheduler of schedulers) expect(scheduler.scheduledTaskIds()).toEqual([taskId]);

    // Wait until both have competed for at least three slots.
    await waitFor(
      () => {
        const first = new Set(attempts.filter((a) => a.scheduler === 'first').map((a) => a.fireAt));
        const both = attempts.filter((a) => a.scheduler === 'second' && first.has(a.fireAt));
        return both.length >= 3 ? both : undefined;
      },
      10_000,
      'three contested slots',
    );
    for (const scheduler of schedulers) await scheduler.stop();

    const bySlot = Map.groupBy(attempts, (attempt) => attempt.fireAt);
    for (const [fireAt, contenders] of bySlot) {
      expect(
        contenders.filter((contender) => contender.won),
        `slot ${fireAt}: ${JSON.stringify(contenders)}`,
      ).toHaveLength(1);
    }
    const claims = await master.container.database.db
      .selectFrom('scheduleClaims')
      .select(['fireAt', 'runnerId'])
      .where('taskId', '=', taskId)
      .execute();
    expect(claims.map((claim) => claim.fireAt).sort()).toEqual([...bySlot.keys()].sort());
    expect(calls.filter((call) => call.kind === 'run')).toHaveLength(bySlot.size);
    const audit = await master.container.database.db
      .selectFrom('auditLogs')
      .select('id')
      .where('action', '=', 'scheduled_run')
      .where('targetId', '=', String(taskId))
      .execute();
    expect(audit).toHaveLength(bySlot.size);
  });
});
