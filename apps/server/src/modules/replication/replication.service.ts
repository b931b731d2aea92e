import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { Logger } from 'pino';
import type { ReplicationRecord, StorageTargetSummary } from '@backupx/contract';
import type { ReplicationRecordRow } from '../../db/tables.ts';
import { AppError } from '../../lib/errors.ts';
import { toIso, type Clock } from '../../lib/clock.ts';
import type { Actor } from '../auth/principal.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { EventBus } from '../events/event-bus.ts';
import {
  copiesOf,
  openFirstReadableCopy,
  partitionCopies,
  withBackend,
  type TargetAccess,
  type TaskReader,
} from '../runs/artifacts.ts';
import type { RecordRow, RunsRepository } from '../runs/runs.repository.ts';
import { Semaphore } from '../runs/semaphore.ts';
import { parseIdList } from '../tasks/task-read-models.ts';
import type { ReplicationFilter, ReplicationRepository } from './replication.repository.ts';

export interface ReplicationServiceDeps {
  repository: ReplicationRepository;
  records: Pick<RunsRepository, 'findRecord' | 'addUploadResult'>;
  tasks: Pick<TaskReader, 'findById'>;
  targets: Omit<TargetAccess, 'getSummaries'> & {
    getSummaries(ids: readonly number[]): Promise<StorageTargetSummary[]>;
  };
  events: EventBus;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  logger: Logger;
  /** Copies running at once on this master (`backup.max_concurrent`). */
  maxConcurrent: number;
  onFinished?: (status: 'success' | 'failed') => void;
}

export type ReplicationService = ReturnType<typeof createReplicationService>;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
/** SHA-256 of what passes through. */
const hashingTap = () => {
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  return { tap, digest: () => hash.digest('hex') };
};

/**
 * 3-2-1 copies (SPEC §9): a successful backup is streamed from a copy this master can read to
 * another target under the same key, checked against the backup's SHA-256 before it counts, and
 * added to the record's copies so retention and deletion remove it too (quirk 7). Automatic after
 * every successful run of a task with replication targets — local or on an agent (quirk 1) — and
 * on demand.
 */
export const createReplicationService = (deps: ReplicationServiceDeps) => {
  const { repository, clock } = deps;
  const slots = new Semaphore(deps.maxConcurrent);
  const active = new Set<Promise<void>>();
  const controller = new AbortController();

  /** The copy to read from, or why there is none; throws the SPEC's codes. */
  const checkRequest = async (record: RecordRow | undefined, destTargetId: number) => {
    if (record?.status !== 'success')
      throw new AppError('REPLICATION_SOURCE_INVALID', 'Only a successful backup can be replicated');
    // A snapshot object alone restores nothing: its chunks live in packs shared with other runs.
    if (record.backupKind === 'repository')
      throw new AppError(
        'REPLICATION_SOURCE_INVALID',
        'A repository snapshot cannot be copied on its own: give the task several storage targets instead (each keeps its own repository)',
      );
    const { reachable, onAgentDisk } = await partitionCopies(deps.targets, copiesOf(record));
    if (reachable.length === 0 && onAgentDisk.length > 0)
      throw new AppError(
        'REPLICATION_CROSS_NODE_LOCAL_DISK',
        `Backup ${String(record.id)} is on the local disk of node #${String(record.nodeId)}`,
      );
    const holders = new Set([
      record.storageTargetId,
      ...copiesOf(record).map((copy) => copy.storageTargetId),
    ]);
    if (holders.has(destTargetId))
      throw new AppError(
        'REPLICATION_DEST_INVALID',
        `Storage target ${String(destTargetId)} already holds a copy of backup ${String(record.id)}`,
      );
    const [dest] = await deps.targets.getSummaries([destTargetId]);
    if (dest === undefined)
      throw new AppError('REPLICATION_DEST_INVALID', `Storage target ${String(destTargetId)} does not exist`);
    if (!dest.enabled)
      throw new AppError('REPLICATION_DEST_DISABLED', `Storage target "${dest.name}" is disabled`);
    if (reachable.length === 0)
      throw new AppError('REPLICATION_SOURCE_INVALID', 'The backup has no stored copy');
    return { record, reachable, dest };
  };

  const fail = async (
    row: { id: number; startedAt: string },
    record: RecordRow,
    destTargetId: number,
    message: string,
  ) => {
    const completedAt = clock.now();
    await repository.update(row.id, {
      status: 'failed',
      errorMessage: message.slice(0, 2000),
      completedAt: toIso(completedAt),
      durationSeconds: Math.max(0, Math.round((completedAt.getTime() - Date.parse(row.startedAt)) / 1000)),
    });
    deps.onFinished?.('failed');
    deps.events.publish(
      'replication_failed',
      'BackupX 备份复制失败',
      `备份记录：#${String(record.id)}\n目标存储：#${String(destTargetId)}\n错误：${message}`,
      {
        replicationId: row.id,
        backupRecordId: record.id,
        taskId: record.taskId,
        sourceTargetId: record.storageTargetId,
        destTargetId,
        error: message,
      },
    );
  };

  const copy = async (
    id: number,
    startedAt: string,
    checked: Awaited<ReturnType<typeof checkRequest>>,
  ): Promise<void> => {
    const { record, reachable, dest } = checked;
    const release = await slots.acquire(controller.signal);
    try {
      const { tap, digest } = hashingTap();
      const source = await openFirstReadableCopy(deps.targets, reachable, (backend, from) =>
        backend.get(from.storagePath, { signal: controller.signal }),
      );
      const key = source.copy.storagePath;
      let size = 0;
      try {
        await withBackend(deps.targets, dest.id, async ({ backend }) => {
          const put = await backend.put(key, source.stream.pipe(tap), {
            sizeBytes: record.fileSize,
            metadata: { replicationId: String(id), sourceRecord: String(record.id) },
            signal: controller.signal,
          });
          size = put.sizeBytes;
          const checksum = digest();
          const problem =
            record.checksum !== '' && checksum !== record.checksum.toLowerCase()
              ? `the copy's SHA-256 ${checksum} differs from the backup's ${record.checksum}`
              : !(await deps.records.addUploadResult(record.id, {
                    storageTargetId: dest.id,
                    storageTargetName: dest.name,
                    status: 'success',
                    storagePath: key,
                    fileSize: size,
                    transferMode: '',
                  }))
                ? 'the backup was deleted while it was being copied'
                : null;
          if (problem !== null) {
            // Nothing that does not count may stay behind on the destination.
            await backend.delete(key).catch(() => undefined);
            throw new Error(problem);
          }
          const completedAt = clock.now();
          await repository.update(id, {
            status: 'success',
            fileSize: size,
            checksum,
            completedAt: toIso(completedAt),
            durationSeconds: Math.max(0, Math.round((completedAt.getTime() - Date.parse(startedAt)) / 1000)),
          });
          deps.onFinished?.('success');
        });
      } finally {
        await source.close();
      }
    } finally {
      release();
    }
  };

  /** Records a running replication and copies in the background. */
  const begin = async (
    checked: Awaited<ReturnType<typeof checkRequest>>,
    triggeredBy: string,
  ): Promise<number> => {
    const startedAt = toIso(clock.now());
    const { record, reachable, dest } = checked;
    const id = await repository.insert({
      backupRecordId: record.id,
      taskId: record.taskId,
      sourceTargetId: reachable[0]?.storageTargetId ?? record.storageTargetId,
      destTargetId: dest.id,
      status: 'running',
      storagePath: reachable[0]?.storagePath ?? record.storagePath,
      triggeredBy,
      startedAt,
    });
    const work = copy(id, startedAt, checked)
      .catch(async (error: unknown) => {
        await fail({ id, startedAt }, record, dest.id, messageOf(error)).catch((failure: unknown) =>
          deps.logger.error(
            { err: messageOf(failure), replicationId: id },
            'could not record a failed replication',
          ),
        );
      })
      .finally(() => active.delete(work));
    active.add(work);
    return id;
  };

  const toView = async (rows: ReplicationRecordRow[]): Promise<ReplicationRecord[]> => {
    const ids = rows.flatMap((row) => [row.sourceTargetId, row.destTargetId]);
    const names = new Map((await deps.targets.getSummaries(ids)).map((target) => [target.id, target.name]));
    return rows.map((row) => ({
      id: row.id,
      backupRecordId: row.backupRecordId,
      taskId: row.taskId,
      sourceTargetId: row.sourceTargetId,
      sourceTargetName: names.get(row.sourceTargetId) ?? '',
      destTargetId: row.destTargetId,
      destTargetName: names.get(row.destTargetId) ?? '',
      status: row.status as ReplicationRecord['status'],
      storagePath: row.storagePath,
      fileSize: row.fileSize,
      checksum: row.checksum,
      errorMessage: row.errorMessage,
      durationSeconds: row.durationSeconds,
      triggeredBy: row.triggeredBy,
      startedAt: row.startedAt,
      completedAt: row.completedAt,
    }));
  };

  const get = async (id: number): Promise<ReplicationRecord> => {
    const row = await repository.find(id);
    if (row === undefined)
      throw new AppError('REPLICATION_RECORD_NOT_FOUND', `Replication record ${String(id)} not found`);
    const [view] = await toView([row]);
    if (view === undefined)
      throw new AppError('REPLICATION_RECORD_NOT_FOUND', `Replication record ${String(id)}`);
    return view;
  };

  /** After a successful run: one copy per replication target of the task (failures are recorded). */
  const replicateAfterSuccess = async (recordId: number): Promise<void> => {
    const record = await deps.records.findRecord(recordId);
    if (record === undefined) return;
    const task = await deps.tasks.findById(record.taskId);
    for (const destTargetId of parseIdList(task?.replicationTargetIds ?? '')) {
      if (destTargetId === record.storageTargetId) continue;
      try {
        await begin(await checkRequest(record, destTargetId), 'system');
      } catch (error) {
        const startedAt = toIso(clock.now());
        const id = await repository.insert({
          backupRecordId: record.id,
          taskId: record.taskId,
          sourceTargetId: record.storageTargetId,
          destTargetId,
          status: 'running',
          storagePath: record.storagePath,
          triggeredBy: 'system',
          startedAt,
        });
        await fail({ id, startedAt }, record, destTargetId, messageOf(error));
      }
    }
  };

  const unsubscribe = deps.events.subscribe((event) => {
    if (event.type !== 'backup_success') return;
    const recordId = Number(event.fields.recordId);
    if (!Number.isInteger(recordId) || recordId <= 0) return;
    // Tracked like the copies: stop() must not close the database under a starting replication.
    const starting: Promise<void> = replicateAfterSuccess(recordId)
      .catch((error: unknown) =>
        deps.logger.error({ err: messageOf(error), recordId }, 'automatic replication failed to start'),
      )
      .finally(() => active.delete(starting));
    active.add(starting);
  });

  return {
    async replicate(actor: Actor, recordId: number, destTargetId: number): Promise<ReplicationRecord> {
      const checked = await checkRequest(await deps.records.findRecord(recordId), destTargetId);
      const id = await begin(checked, actor.username === '' ? 'manual' : actor.username);
      await deps.audit.record(actor, {
        category: 'replication',
        action: 'manual_run',
        targetType: 'backup_record',
        targetId: recordId,
        targetName: checked.record.fileName,
        detail: `copy of backup #${String(recordId)} to "${checked.dest.name}" (replication #${String(id)})`,
      });
      return get(id);
    },

    get,

    async list(filter: ReplicationFilter): Promise<ReplicationRecord[]> {
      return toView(await repository.list(filter));
    },

    /** Waits for copies in flight (they are cancelled: a stopping master records them failed). */
    async stop(): Promise<void> {
      unsubscribe();
      controller.abort(new Error('the master is shutting down'));
      await Promise.allSettled([...active]);
    },

    /** Settles the copies in flight (tests). */
    async idle(): Promise<void> {
      while (active.size > 0) await Promise.allSettled([...active]);
    },
  };
};
