/**
 * A file task in repository mode on an agent (SPEC §3.14, extended to agents): the sources are
 * chunked into the deduplicating repository of every direct target at once, under a write lease
 * per target held on the master — the master serialises every writer of a repository (its own
 * runs and every agent's), so two writers never interleave packs, indexes and prunes.
 *
 * Order of work: open the targets, take each lease (waiting while another writer has it), write
 * the snapshot, prune the repository of each target that got it (still under its lease), and give
 * every lease back, whatever happened. Agents hold no repository key: their repositories are
 * unencrypted (the master refuses encrypted repository tasks on remote nodes).
 */
import type { AgentRecordUpdate, AgentStorageTarget, AgentTaskSpec, UploadResult } from '@backupx/contract';
import {
  backupToRepository,
  createStorageBackend,
  encodeManifest,
  estimateSourceBytes,
  pruneRepository,
  type RunLogger,
  type StorageBackend,
} from '@backupx/engine';
import { messageOf } from '../logger.ts';
import { MasterError, isRetryableMasterError } from '../master-client.ts';
import type { AgentProgress } from '../protocol-types.ts';
import { compressionOf, parseList, sourcePathsOf } from './task-source.ts';
import type { CommandContext } from './types.ts';

export const RELAY_REPOSITORY_MESSAGE =
  'repository mode cannot write through the master relay; use a direct target';

/** How long a run waits for another writer's lease before its target fails. */
export const LEASE_WAIT_MS = 10 * 60_000;
export const LEASE_RETRY_MS = 2_000;
/** A third of the master's lease time (60 s): two renewals may fail to a network blip. */
export const LEASE_RENEW_MS = 20_000;
/** The protocol's limit of `manifest` (agentRecordUpdateSchema). */
export const MAX_MANIFEST_CHARS = 64 * 1024 * 1024;

/** How leases are waited for and renewed (tests shorten them). */
export interface LeaseTiming {
  waitMs: number;
  retryMs: number;
  renewMs: number;
}

interface OpenedTarget {
  target: AgentStorageTarget;
  backend: StorageBackend;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Whether a task spec asks for a repository run this agent performs. */
export const isRepositoryRun = (spec: Pick<AgentTaskSpec, 'backupMode' | 'type'>, label: string): boolean =>
  spec.backupMode === 'repository' && label === 'file';

/**
 * The leases of one run: taken one target at a time, renewed together in the background. A
 * renewal the master refuses (the lease lapsed and someone else took it, or the run ended) — or no
 * renewal for so long that the lease must have lapsed — aborts `lost`, which stops the run.
 */
const createLeaseKeeper = (ctx: CommandContext, recordId: number, log: RunLogger, timing: LeaseTiming) => {
  const held = new Map<number, { name: string; renewedAt: number; ttlMs: number }>();
  const lost = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let renewing = false;

  const loseLease = (name: string, reason: string) => {
    if (lost.signal.aborted) return;
    lost.abort(new Error(`the repository lease of ${name} was lost: ${reason}`));
  };

  const renewAll = async () => {
    for (const [storageTargetId, lease] of held) {
      if (lost.signal.aborted) return;
      try {
        const granted = await ctx.client.repositoryLeaseRenew({ recordId, storageTargetId }, ctx.signal);
        lease.renewedAt = Date.now();
        lease.ttlMs = granted.ttlSeconds * 1000;
      } catch (error) {
        if (ctx.signal.aborted) return;
        // A network blip is survivable while the lease is still ours for sure; a refusal is not.
        if (!isRetryableMasterError(error) || Date.now() - lease.renewedAt >= lease.ttlMs - 5_000)
          loseLease(lease.name, messageOf(error));
        else
          log('warn', `${lease.name}: could not renew the repository lease, retrying: ${messageOf(error)}`);
      }
    }
  };

  return {
    lost: lost.signal,
    /** Why the run must stop after a lease was lost. */
    lostError: (): Error =>
      lost.signal.reason instanceof Error ? lost.signal.reason : new Error(String(lost.signal.reason)),
    /** Takes the lease of a target, waiting while another writer holds it; throws when it cannot. */
    async take(target: AgentStorageTarget): Promise<void> {
      const deadline = Date.now() + timing.waitMs;
      let waiting = false;
      for (;;) {
        ctx.signal.throwIfAborted();
        try {
          const granted = await ctx.client.repositoryLeaseAcquire(
            { recordId, storageTargetId: target.id },
            ctx.signal,
          );
          held.set(target.id, { name: target.name, renewedAt: Date.now(), ttlMs: granted.ttlSeconds * 1000 });
          if (waiting) log('info', `${target.name}: got the repository lease`);
          break;
        } catch (error) {
          const busy = error instanceof MasterError && error.code === 'REPOSITORY_BUSY';
          if (ctx.signal.aborted || (!busy && !isRetryableMasterError(error))) throw error;
          if (Date.now() + timing.retryMs > deadline)
            throw new Error(
              `the repository is still being written by another run after ${String(Math.round(timing.waitMs / 1000))} s`,
              { cause: error },
            );
          if (!waiting) log('info', `waiting for the repository lease of ${target.name}`);
          waiting = true;
          await sleep(timing.retryMs, ctx.signal);
        }
      }
      if (timer === undefined) {
        timer = setInterval(() => {
          if (renewing) return;
          renewing = true;
          void renewAll().finally(() => {
            renewing = false;
          });
        }, timing.renewMs);
        timer.unref();
      }
    },
    /** Gives every lease back (also after a failure or while stopping); never throws. */
    async releaseAll(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      for (const [storageTargetId, lease] of held) {
        try {
          await ctx.client.repositoryLeaseRelease({ recordId, storageTargetId }, ctx.deliverySignal);
        } catch (error) {
          // The master lets it lapse on its own (lease time); only the next writer waits longer.
          log('warn', `${lease.name}: could not give the repository lease back: ${messageOf(error)}`);
        }
      }
      held.clear();
    },
  };
};

export interface RepositoryRunInput {
  spec: AgentTaskSpec;
  taskId: number;
  recordId: number;
  startedAt: Date;
  /** The run's own directory (temporary files of the storage backends). */
  workDir: string;
  log: RunLogger;
  progress: (progress: AgentProgress) => void;
  /** The per-target results so far, for the failure report when the run throws. */
  onResults: (results: UploadResult[]) => void;
  leaseTiming?: Partial<LeaseTiming>;
}

/** Runs the backup into the repositories and returns the success report; throws when no target got it. */
export const runRepositoryBackup = async (
  ctx: CommandContext,
  input: RepositoryRunInput,
): Promise<AgentRecordUpdate> => {
  const { spec, recordId, log } = input;
  const failed: UploadResult[] = [];
  const failTarget = (target: AgentStorageTarget, error: string) => {
    failed.push({
      storageTargetId: target.id,
      storageTargetName: target.name,
      status: 'failed',
      transferMode: target.transferMode,
      error,
    });
    log('error', `${target.name}: ${error}`);
    input.onResults([...failed]);
  };
  const opened: OpenedTarget[] = [];
  const leases = createLeaseKeeper(ctx, recordId, log, {
    waitMs: input.leaseTiming?.waitMs ?? LEASE_WAIT_MS,
    retryMs: input.leaseTiming?.retryMs ?? LEASE_RETRY_MS,
    renewMs: input.leaseTiming?.renewMs ?? LEASE_RENEW_MS,
  });
  const estimateAbort = new AbortController();
  try {
    for (const target of spec.storageTargets) {
      if (target.transferMode === 'master_relay') {
        failTarget(target, RELAY_REPOSITORY_MESSAGE);
        continue;
      }
      try {
        const backend = await createStorageBackend(target.type, target.config, {
          tempDir: input.workDir,
          log: (level, message) => log(level, `${target.name}: ${message}`),
        });
        opened.push({ target, backend });
      } catch (error) {
        failTarget(target, messageOf(error));
      }
    }

    // Leases in ascending target id order, as the master takes them: two runs sharing two
    // repositories never each hold one while waiting for the other.
    const writers: OpenedTarget[] = [];
    for (const entry of [...opened].sort((a, b) => a.target.id - b.target.id)) {
      try {
        await leases.take(entry.target);
        writers.push(entry);
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        failTarget(entry.target, `no repository lease: ${messageOf(error)}`);
      }
    }
    const order = spec.storageTargets.map((target) => target.id);
    writers.sort((a, b) => order.indexOf(a.target.id) - order.indexOf(b.target.id));
    if (writers.length === 0)
      throw new Error(
        failed.map((r) => `${r.storageTargetName}: ${r.error ?? 'failed'}`).join('; ') ||
          'the task has no enabled storage target',
      );

    const signal = AbortSignal.any([ctx.signal, leases.lost]);
    const sourcePaths = sourcePathsOf(spec);
    let sourceBytes = 0;
    void estimateSourceBytes(sourcePaths, estimateAbort.signal).then((bytes) => {
      if (bytes !== null) sourceBytes = bytes;
    });
    const progressStarted = Date.now();
    const targetName = writers
      .map(({ target }) => target.name)
      .join(', ')
      .slice(0, 128);
    const previousKey = spec.previousSnapshotKey ?? '';
    if (previousKey !== '')
      log('info', `unchanged files are taken from the previous snapshot ${previousKey}`);

    let result;
    try {
      result = await backupToRepository({
        taskId: input.taskId,
        recordId,
        createdAt: input.startedAt,
        sourcePaths,
        excludePatterns: parseList(spec.excludePatterns),
        compression: compressionOf(spec.compression),
        targets: writers.map(({ target, backend }) => ({ name: target.name, backend })),
        ...(previousKey === '' ? {} : { previousSnapshot: { key: previousKey } }),
        signal,
        log,
        onProgress: ({ bytesRead }) => {
          const seconds = (Date.now() - progressStarted) / 1000;
          input.progress({
            bytesSent: bytesRead,
            totalBytes: Math.max(sourceBytes, bytesRead),
            percent: sourceBytes > 0 ? Math.min(99, Math.round((bytesRead / sourceBytes) * 1000) / 10) : 0,
            speedBps: seconds > 0 ? Math.round(bytesRead / seconds) : 0,
            targetName,
          });
        },
      });
    } catch (error) {
      // The lease lost is the cause, not the cancellation it led to.
      if (leases.lost.aborted && !ctx.signal.aborted) throw leases.lostError();
      throw error;
    }
    if (leases.lost.aborted) throw leases.lostError();

    const results: UploadResult[] = [
      ...result.targets.map((outcome, index): UploadResult => {
        const target = writers[index]?.target;
        return {
          storageTargetId: target?.id ?? 0,
          storageTargetName: target?.name ?? outcome.name,
          status: outcome.status,
          transferMode: 'direct',
          ...(outcome.status === 'success'
            ? { storagePath: result.snapshotKey, fileSize: outcome.uploadedBytes ?? 0 }
            : { error: outcome.error ?? 'failed' }),
        };
      }),
      ...failed,
    ];
    results.sort((a, b) => order.indexOf(a.storageTargetId) - order.indexOf(b.storageTargetId));
    input.onResults(results);
    const primary = results.find((item) => item.status === 'success');
    const primaryOutcome =
      result.targets[writers.findIndex(({ target }) => target.id === primary?.storageTargetId)];
    if (primary === undefined || primaryOutcome === undefined)
      throw new Error(
        results.map((item) => `${item.storageTargetName}: ${item.error ?? 'failed'}`).join('; '),
      );
    for (const item of results)
      if (item.status === 'failed')
        log('warn', `${item.storageTargetName} did not get the snapshot: ${item.error ?? ''}`);

    // Garbage of deleted snapshots goes while this run still holds the lease (no writer races it).
    for (const [index, { target, backend }] of writers.entries()) {
      if (result.targets[index]?.status !== 'success') continue;
      try {
        const pruned = await pruneRepository({ backend, signal });
        if (pruned.deletedPacks > 0 || pruned.deletedIndexes > 0)
          log(
            'info',
            `${target.name}: repository pruned: ${String(pruned.deletedPacks)} packs, ${String(pruned.deletedIndexes)} indexes, ${String(pruned.reclaimedBytes)} bytes reclaimed`,
          );
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        log(
          'warn',
          `${target.name}: repository prune failed (retried after the next run): ${messageOf(error)}`,
        );
      }
    }

    let manifest: string | undefined = encodeManifest(result.manifest);
    if (manifest.length > MAX_MANIFEST_CHARS) {
      log(
        'warn',
        `the file list is too large to send (${String(manifest.length)} characters); sent without it`,
      );
      manifest = undefined;
    }
    log(
      'info',
      `backup finished: ${String(result.logicalBytes)} bytes in snapshot ${result.fileName}, ${String(primaryOutcome.uploadedBytes ?? 0)} bytes uploaded to ${primary.storageTargetName}, ${String(result.unchangedFiles)} files unchanged`,
    );
    return {
      status: 'success',
      fileName: result.fileName,
      fileSize: result.logicalBytes,
      checksum: primaryOutcome.snapshotSha256 ?? '',
      storagePath: result.snapshotKey,
      storageTargetId: primary.storageTargetId,
      storageTransferMode: 'direct',
      storageUploadResults: results,
      backupKind: 'repository',
      ...(manifest === undefined ? {} : { manifest }),
      repositoryStats: {
        logicalBytes: result.logicalBytes,
        uploadedBytes: primaryOutcome.uploadedBytes ?? 0,
        reusedBytes: primaryOutcome.reusedBytes ?? 0,
        uniqueChunks: result.uniqueChunks,
        newChunks: primaryOutcome.newChunks ?? 0,
        unchangedFiles: result.unchangedFiles,
      },
      progress: {
        bytesSent: result.logicalBytes,
        totalBytes: result.logicalBytes,
        percent: 100,
        speedBps: 0,
        targetName: primary.storageTargetName.slice(0, 128),
      },
    };
  } finally {
    estimateAbort.abort();
    await leases.releaseAll();
    for (const { backend } of opened) await backend.close().catch(() => undefined);
  }
};
