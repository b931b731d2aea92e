import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageTargetDetail, SystemEvent } from '@backupx/contract';
import type { StorageUsage } from '@backupx/engine';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';
import { createStorageHealthMonitor } from './storage-health-monitor.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

describe.each(dialects)('storage health and capacity monitor on %s', (dialect) => {
  let master: TestMaster;
  let operator: string;
  let scratch: string;
  const events: SystemEvent[] = [];
  let unsubscribe: () => void;

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    const admin = await master.setupAdmin();
    operator = (await master.createUser(admin, 'ops', 'operator')).token;
    scratch = await mkdtemp(path.join(os.tmpdir(), `bx-storage-health-${dialect}-`));
    unsubscribe = master.container.services.events.subscribe((event) => events.push(event));
  });
  afterAll(async () => {
    unsubscribe();
    await master.destroy();
    await rm(scratch, { recursive: true, force: true });
  });

  const create = async (body: Record<string, unknown>): Promise<StorageTargetDetail> => {
    const response = await master.api.post<Envelope<StorageTargetDetail>>('/api/storage-targets', body, {
      token: operator,
    });
    expect(response.status, response.text).toBe(200);
    return response.body.data;
  };
  const row = (id: number) =>
    master.container.database.db
      .selectFrom('storageTargets')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
  const eventsFor = (type: string, id: number) =>
    events.filter((event) => event.type === type && event.fields.storageTargetId === id);

  it('emits storage_unhealthy once per outage (edge) and again after a recovery', async () => {
    // A regular file where the target's directory should be: mkdir fails until it is removed.
    const blocker = path.join(scratch, 'blocker');
    await writeFile(blocker, 'not a directory');
    const broken = await create({
      name: 'Flaky disk',
      type: 'local_disk',
      config: { basePath: path.join(blocker, 'backups') },
    });
    const healthy = await create({
      name: 'Good disk',
      type: 'local_disk',
      config: { basePath: path.join(scratch, 'good') },
    });
    const disabled = await create({
      name: 'Parked disk',
      type: 'local_disk',
      enabled: false,
      config: { basePath: path.join(blocker, 'parked') },
    });
    const monitor = master.container.services.storageHealth;

    const first = await monitor.runHealthCheckNow();
    expect(first.find((result) => result.targetId === broken.id)).toMatchObject({ healthy: false });
    expect(first.find((result) => result.targetId === healthy.id)).toMatchObject({ healthy: true });
    expect(first.some((result) => result.targetId === disabled.id)).toBe(false);
    await monitor.runHealthCheckNow();

    const outage = eventsFor('storage_unhealthy', broken.id);
    expect(outage).toHaveLength(1);
    expect(outage[0]).toMatchObject({
      title: 'BackupX 存储目标连接失败',
      fields: {
        storageTargetId: broken.id,
        storageTargetName: 'Flaky disk',
        storageType: 'local_disk',
        eventType: 'storage_unhealthy',
      },
    });
    expect(String(outage[0]?.fields.error)).not.toBe('');
    expect(outage[0]?.body).toContain('Flaky disk');
    expect(eventsFor('storage_unhealthy', healthy.id)).toHaveLength(0);
    expect(await row(broken.id)).toMatchObject({ lastTestStatus: 'failed' });
    expect(await row(healthy.id)).toMatchObject({
      lastTestStatus: 'success',
      lastTestMessage: 'Connection succeeded',
    });
    expect((await row(disabled.id)).lastTestedAt).toBeNull();

    // Recovery clears the outage; the next failure is a new one.
    await rm(blocker);
    await monitor.runHealthCheckNow();
    expect(await row(broken.id)).toMatchObject({ lastTestStatus: 'success' });
    expect(eventsFor('storage_unhealthy', broken.id)).toHaveLength(1);
    await rm(blocker, { recursive: true });
    await writeFile(blocker, 'broken again');
    await monitor.runHealthCheckNow();
    await monitor.runHealthCheckNow();
    expect(eventsFor('storage_unhealthy', broken.id)).toHaveLength(2);
  });

  it('warns once at ≥85 % used and re-arms below (a usage override stands in for a nearly full disk)', async () => {
    const target = await create({
      name: 'Almost full',
      type: 'local_disk',
      config: { basePath: path.join(scratch, 'full') },
    });
    // The real disk of this machine cannot be filled for a test: the override reports the figures
    // for this target and the real backend's answer for every other.
    let reported: StorageUsage = { totalBytes: 1000, usedBytes: 900, freeBytes: 100 };
    const monitor = createStorageHealthMonitor({
      storageTargets: master.container.services.storageTargets,
      events: master.container.services.events,
      logger: pino({ level: 'silent' }),
      readUsage: (backend, current, signal) =>
        current.id === target.id ? Promise.resolve(reported) : backend.usage(signal),
    });

    const results = await monitor.runHealthCheckNow();
    expect(results.find((result) => result.targetId === target.id)).toMatchObject({
      healthy: true,
      usageRatio: 0.9,
    });
    await monitor.runHealthCheckNow();
    const warnings = eventsFor('storage_capacity_warning', target.id);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      title: 'BackupX 存储容量预警',
      fields: {
        storageTargetId: target.id,
        storageTargetName: 'Almost full',
        storageType: 'local_disk',
        usageRate: 90,
        usedBytes: 900,
        totalBytes: 1000,
      },
    });

    reported = { totalBytes: 1000, usedBytes: 500 };
    await monitor.runHealthCheckNow();
    expect(eventsFor('storage_capacity_warning', target.id)).toHaveLength(1);
    reported = { totalBytes: 1000, usedBytes: 850 };
    await monitor.runHealthCheckNow();
    expect(eventsFor('storage_capacity_warning', target.id)).toHaveLength(2);
    // Unknown capacity neither warns nor re-arms.
    reported = {};
    await monitor.runHealthCheckNow();
    reported = { totalBytes: 1000, usedBytes: 990 };
    await monitor.runHealthCheckNow();
    expect(eventsFor('storage_capacity_warning', target.id)).toHaveLength(2);
    await monitor.stop();
  });

  it('runs on its interval once started and stops cleanly', async () => {
    const target = await create({
      name: 'Ticking',
      type: 'local_disk',
      config: { basePath: path.join(scratch, 'tick') },
    });
    const monitor = createStorageHealthMonitor({
      storageTargets: master.container.services.storageTargets,
      events: master.container.services.events,
      logger: pino({ level: 'silent' }),
      intervalMs: 20,
    });
    monitor.start();
    try {
      await expect
        .poll(async () => (await row(target.id)).lastTestStatus, { timeout: 10_000, interval: 50 })
        .toBe('success');
    } finally {
      await monitor.stop();
    }
  });
});
