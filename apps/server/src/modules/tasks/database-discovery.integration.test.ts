import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, type TemporaryPostgresDatabase } from '@backupx/testkit';
import type { TaskDetail } from '@backupx/contract';
import { dialects, startTestMaster, type TestMaster } from '../../test-support/harness.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

/** Real servers of this machine: PostgreSQL with trust authentication, MariaDB with a password-less root. */
const postgres = { type: 'postgresql', host: '127.0.0.1', port: 5432, user: 'postgres' };
const mariadb = { type: 'mysql', host: '127.0.0.1', port: 3306, user: 'root' };

describe.each(dialects)('database discovery on %s', (dialect) => {
  let master: TestMaster;
  let admin: string;
  let viewer: string;
  let extra: TemporaryPostgresDatabase;

  beforeAll(async () => {
    master = await startTestMaster(dialect);
    admin = await master.setupAdmin();
    viewer = (await master.createUser(admin, 'reader', 'viewer')).token;
    extra = await createPostgresDatabase('bx_discover');
  });
  afterAll(async () => {
    await extra.drop();
    await master.destroy();
  });

  const discover = (body: Record<string, unknown>, token = viewer) =>
    master.api.post<Envelope<{ databases: string[] }>>('/api/database/discover', body, { token });

  it('lists PostgreSQL databases without system ones, for any signed-in role', async () => {
    const response = await discover({ ...postgres, password: '' });
    expect(response.status, response.text).toBe(200);
    const { databases } = response.body.data;
    expect(databases).toContain(extra.name);
    expect(databases).not.toContain('postgres');
    expect(databases.some((name) => name.startsWith('template'))).toBe(false);
    // BackupX's alias works here too.
    const alias = await discover({ ...postgres, type: 'pgsql' });
    expect(alias.body.data.databases).toContain(extra.name);
  });

  it('lists MariaDB databases without system ones', async () => {
    const response = await discover({ ...mariadb, password: '' });
    expect(response.status, response.text).toBe(200);
    for (const system of ['mysql', 'information_schema', 'performance_schema', 'sys']) {
      expect(response.body.data.databases).not.toContain(system);
    }
  });

  it("reports the tool's failure without the password", async () => {
    const secret = 'hunter2-not-shown';
    const wrongPassword = await discover({ ...mariadb, password: secret });
    expect(wrongPassword.status, wrongPassword.text).toBe(400);
    expect(wrongPassword.body.code).toBe('DATABASE_DISCOVERY_FAILED');
    expect(wrongPassword.body.message).toMatch(/denied|password/i);
    expect(wrongPassword.text).not.toContain(secret);

    const closedPort = await discover({ ...postgres, port: 1, password: secret });
    expect(closedPort.status).toBe(400);
    expect(closedPort.body.code).toBe('DATABASE_DISCOVERY_FAILED');
    expect(closedPort.body.message.length).toBeGreaterThan(0);
    expect(closedPort.body.message.length).toBeLessThanOrEqual(255);
    expect(closedPort.text).not.toContain(secret);
  });

  it("uses a task's stored password only for that task's own server", async () => {
    const now = new Date().toISOString();
    const targetId = (
      await master.container.database.db
        .insertInto('storageTargets')
        .values({
          name: 'discovery-target',
          type: 'local_disk',
          description: '',
          enabled: 1,
          starred: 0,
          configCiphertext: 'unused',
          configVersion: 1,
          lastTestedAt: null,
          lastTestStatus: 'unknown',
          lastTestMessage: '',
          quotaBytes: 0,
          createdAt: now,
          updatedAt: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
    const created = await master.api.post<Envelope<TaskDetail>>(
      '/api/backup/tasks',
      {
        name: 'pg-with-password',
        type: 'postgresql',
        dbHost: postgres.host,
        dbPort: postgres.port,
        dbUser: postgres.user,
        dbName: extra.name,
        dbPassword: 'stored-password',
        storageTargetIds: [targetId],
      },
      { token: admin },
    );
    expect(created.status, created.text).toBe(200);
    const taskId = created.body.data.id;

    const own = await discover({ ...postgres, password: '', taskId });
    expect(own.status, own.text).toBe(200);
    expect(own.body.data.databases).toContain(extra.name);
    const masked = await discover({ ...postgres, password: '********', taskId });
    expect(masked.status).toBe(200);

    for (const elsewhere of [{ host: 'localhost' }, { port: 5433 }, { user: 'someone' }, { type: 'mysql' }]) {
      const refused = await discover({ ...postgres, ...elsewhere, password: '', taskId });
      expect(refused.status, JSON.stringify(elsewhere)).toBe(400);
      expect(refused.body.code).toBe('DATABASE_DISCOVERY_FAILED');
      expect(refused.body.message).toContain('only used with its own');
    }
    const unknown = await discover({ ...postgres, password: '', taskId: 3_999_999_999 });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('BACKUP_TASK_NOT_FOUND');
  });

  it('refuses bad bodies, remote nodes and anonymous callers', async () => {
    for (const body of [
      { ...postgres, type: 'oracle' },
      { ...postgres, port: 0 },
      { ...postgres, host: '' },
      { ...postgres, user: 5 },
      { ...postgres, extra: true },
      { host: '127.0.0.1' },
    ]) {
      const response = await discover(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.code).toBe('INVALID_INPUT');
    }
    const remote = await discover({ ...postgres, nodeId: 3 });
    expect(remote.status).toBe(400);
    expect(remote.body.code).toBe('DATABASE_DISCOVERY_FAILED');
    expect(remote.body.message).toContain('node 3 does not exist');
    const anonymous = await master.api.post('/api/database/discover', postgres);
    expect(anonymous.status).toBe(401);
  });
});
