import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordDetail } from '@backupx/contract';
import { writeSampleTree } from '@backupx/testkit';
import { startTestMaster, type TestMaster } from '../../test-support/harness.ts';
import { startAgentProcess, type AgentProcess } from '../../test-support/agent-process.ts';

type Envelope<T = unknown> = { code: string; message: string; data: T };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const shared = {
  jwt_secret: 'cluster-test-jwt-secret-0123456789',
  encryption_key: 'cluster-test-encryption-key-0123',
};

/**
 * Several active masters on one PostgreSQL database: an agent long-polls one master while work is
 * queued through another (LISTEN/NOTIFY wakes the poll), and concurrent pollers on both masters
 * never claim one command twice.
 */
describe('cluster on PostgreSQL with two masters', () => {
  let first: TestMaster;
  let second: TestMaster;
  let admin: string;
  let agent: AgentProcess;
  let nodeId: number;
  let nodeToken: string;
  let work: string;

  beforeAll(async () => {
    first = await startTestMaster('postgres', { config: { security: shared } });
    const postgres = first.postgres;
    if (postgres === undefined) throw new Error('no PostgreSQL database');
    second = await startTestMaster('postgres', {
      config: { security: shared },
      reuse: { dataDir: mkdtempSync(path.join(tmpdir(), 'bx-master-b-')), postgres },
    });
    admin = await first.setupAdmin();
    const node = await first.api.post<Envelope<{ id: number; token: string }>>(
      '/api/nodes',
      { name: 'pg-edge' },
      { token: admin },
    );
    nodeId = node.body.data.id;
    nodeToken = node.body.data.token;
    work = mkdtempSync(path.join(tmpdir(), 'bx-cluster-pg-'));
  }, 120_000);

  afterAll(async () => {
    await agent.stop().catch(() => undefined);
    await second.stop();
    rmSync(second.dataDir, { recursive: true, force: true });
    await first.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it('hands work queued through one master to an agent held by the other at once', async () => {
    agent = startAgentProcess({ masterUrl: first.url, token: nodeToken });
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const node = await second.api.get<Envelope<{ status: string }>>(`/api/nodes/${String(nodeId)}`, {
        token: admin,
      });
      if (node.body.data.status === 'online') break;
      await sleep(100);
    }
    const source = path.join(work, 'site');
    writeSampleTree(source, { files: 20 });
    const target = await second.api.post<Envelope<{ id: number }>>(
      '/api/storage-targets',
      {
        name: 'master relay disk',
        type: 'local_disk',
        config: { basePath: path.join(work, 'store'), masterRelay: true },
      },
      { token: admin },
    );
    expect(target.status, target.text).toBe(200);
    const task = await second.api.post<Envelope<{ id: number }>>(
      '/api/backup/tasks',
      {
        name: 'pg edge files',
        type: 'file',
        sourcePaths: [source],
        storageTargetIds: [target.body.data.id],
        nodeId,
      },
      { token: admin },
    );
    expect(task.status, task.text).toBe(200);
    // Give the agent time to park its long poll on the first master.
    await sleep(500);
    const run = await second.api.post<Envelope<RecordDetail>>(
      `/api/backup/tasks/${String(task.body.data.id)}/run`,
      undefined,
      { token: admin },
    );
    expect(run.status, run.text).toBe(200);
    let record: RecordDetail | undefined;
    for (let attempt = 0; attempt < 600; attempt += 1) {
      const response = await second.api.get<Envelope<RecordDetail>>(
        `/api/backup/records/${String(run.body.data.id)}`,
        { token: admin },
      );
      if (response.body.data.status !== 'running') {
        record = response.body.data;
        break;
      }
      await sleep(100);
    }
    expect(record?.status, `${record?.errorMessage ?? ''}\n${record?.logContent ?? ''}`).toBe('success');
    // A master-relay target: the agent streamed the artifact to a master, which wrote it.
    expect(record?.storageTransferMode).toBe('master_relay');
    // The agent reports the record first and its command result right after: wait for both.
    const readCommand = () =>
      first.container.database.db
        .selectFrom('agentCommands')
        .select(['createdAt', 'dispatchedAt', 'status'])
        .where('backupRecordId', '=', run.body.data.id)
        .executeTakeFirstOrThrow();
    let command = await readCommand();
    for (let attempt = 0; attempt < 100 && command.status === 'dispatched'; attempt += 1) {
      await sleep(100);
      command = await readCommand();
    }
    expect(command.status).toBe('succeeded');
    // Queued on one master, claimed through the other: well before a 5 s short-poll interval.
    expect(Date.parse(command.dispatchedAt ?? '') - Date.parse(command.createdAt)).toBeLessThan(5000);
  });

  it('never hands one command to two pollers, whichever master they ask', async () => {
    await agent.stop();
    const other = await first.api.post<Envelope<{ id: number; token: string }>>(
      '/api/nodes',
      { name: 'pg-race' },
      { token: admin },
    );
    const queue = first.container.services.commands;
    const ids: number[] = [];
    for (let index = 0; index < 40; index += 1)
      ids.push(await queue.enqueue(other.body.data.id, 'list_dir', { path: `/tmp/${String(index)}` }));
    const claimed: number[] = [];
    const poller = async (master: TestMaster) => {
      for (;;) {
        const response = await master.api.post<Envelope<{ command: { id: number } | null }>>(
          '/api/agent/commands/poll',
          undefined,
          { headers: { 'X-Agent-Token': other.body.data.token } },
        );
        expect(response.status, response.text).toBe(200);
        if (response.body.data.command === null) return;
        claimed.push(response.body.data.command.id);
      }
    };
    await Promise.all([
      poller(first),
      poller(second),
      poller(first),
      poller(second),
      poller(first),
      poller(second),
    ]);
    expect([...claimed].sort((a, b) => a - b)).toEqual(ids);
  });
});
