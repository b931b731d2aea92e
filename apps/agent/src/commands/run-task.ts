/**
 * `run_task {taskId, recordId}` (SPEC §11.8, with this codebase's extensions): fetch the task
 * spec, run the same engine pipeline as the master (source → compress → encrypt → SHA-256 → all
 * targets at once), then report the outcome. The master owns the record and finalises it; the
 * agent only reports (architecture §4).
 *
 * Differences from BackupX's agent, on purpose: targets are written concurrently by the shared
 * pipeline (not one after another), encrypted tasks are supported (BXENC2, sealed to the master's
 * public key — the agent never holds the master's key), and the node's bandwidth limit applies.
 * File tasks in repository mode write to the deduplicating repository instead (repository-run.ts).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { AgentRecordUpdate, AgentStorageTarget, UploadResult } from '@backupx/contract';
import {
  agentObjectKey,
  createStorageBackend,
  encodeManifest,
  estimateSourceBytes,
  finalFileName,
  runBackupPipeline,
  uploadIdOf,
  type SourceContext,
  type StorageBackend,
  storageTypeLabel,
} from '@backupx/engine';
import { messageOf } from '../logger.ts';
import { positiveInt } from './payload.ts';
import { createProgressEstimator } from './progress.ts';
import { createRelayTarget } from './relay-target.ts';
import { isRepositoryRun, MAX_MANIFEST_CHARS, runRepositoryBackup } from './repository-run.ts';
import { failureMessage, recordChannel, runLoggerFor, truncate } from './run-log.ts';
import { compressionOf, openTaskSource, sourcePathsOf } from './task-source.ts';
import type { CommandExecutor } from './types.ts';

interface OpenedTarget {
  target: AgentStorageTarget;
  backend: StorageBackend;
}

export const runTask: CommandExecutor = async (ctx, payload) => {
  const taskId = positiveInt(payload, 'taskId');
  const recordId = positiveInt(payload, 'recordId');
  const channel = recordChannel(ctx, recordId);
  const log = runLoggerFor(channel);
  const startedAt = ctx.now();
  const opened: OpenedTarget[] = [];
  let uploadResults: UploadResult[] = [];
  let workDir: string | undefined;
  let final: AgentRecordUpdate;
  let failed: string | undefined;
  const estimateAbort = new AbortController();

  try {
    ctx.signal.throwIfAborted();
    const spec = await ctx.client.taskSpec(taskId, ctx.signal);
    log('info', `backup of task "${spec.name}" (${spec.type}) started on this agent`);
    let sealTo: Buffer | undefined;
    if (spec.encrypt) {
      if (spec.masterPublicKey === undefined || spec.masterPublicKey === '')
        throw new Error('the master did not send a public key for encrypted backups');
      sealTo = Buffer.from(spec.masterPublicKey, 'base64');
    }
    await mkdir(ctx.tempDir, { recursive: true, mode: 0o700 });
    workDir = await mkdtemp(path.join(ctx.tempDir, 'backupx-run-'));
    const spoolDir = workDir;

    if (isRepositoryRun(spec, storageTypeLabel(spec.type))) {
      final = await runRepositoryBackup(ctx, {
        spec,
        taskId,
        recordId,
        startedAt,
        workDir,
        log,
        progress: (progress) => channel.progress(progress),
        onResults: (results) => {
          uploadResults = results;
        },
      });
    } else {
      // A target that cannot be opened (bad config, missing SDK) fails alone, as on the master.
      for (const target of spec.storageTargets) {
        try {
          const backend =
            target.transferMode === 'master_relay'
              ? createRelayTarget({
                  client: ctx.client,
                  recordId,
                  targetId: target.id,
                  spoolDir,
                  log: (level, message) => log(level, `${target.name}: ${message}`),
                })
              : await createStorageBackend(target.type, target.config, {
                  tempDir: spoolDir,
                  log: (level, message) => log(level, `${target.name}: ${message}`),
                });
          opened.push({ target, backend });
        } catch (error) {
          uploadResults.push({
            storageTargetId: target.id,
            storageTargetName: target.name,
            status: 'failed',
            transferMode: target.transferMode,
            error: messageOf(error),
          });
          log('error', `${target.name}: ${messageOf(error)}`);
        }
      }
      if (opened.length === 0)
        throw new Error(
          uploadResults.map((r) => `${r.storageTargetName}: ${r.error ?? 'failed'}`).join('; ') ||
            'the task has no enabled storage target',
        );

      const sourceCtx: SourceContext = {
        signal: ctx.signal,
        log,
        workDir,
        now: startedAt,
        spawn,
        env: ctx.env,
      };
      const artifact = await openTaskSource(spec, sourceCtx);
      const compression = compressionOf(spec.compression);
      const label = storageTypeLabel(spec.type);
      const bandwidthLimit = spec.bandwidthLimit ?? ctx.nodeBandwidthLimit();
      // Like the master, the object key is on the record before the first byte is uploaded: if
      // this agent dies mid-upload, the master knows exactly what to clean up.
      const fileName = finalFileName(artifact.fileName, compression, sealTo !== undefined);
      const firstTarget = opened[0]?.target;
      if (firstTarget !== undefined)
        await ctx.client.recordUpdate(
          recordId,
          {
            fileName,
            storagePath: agentObjectKey(label, startedAt, recordId, fileName),
            storageTargetId: firstTarget.id,
          },
          ctx.signal,
        );
      const estimator = createProgressEstimator();
      if (label === 'file') {
        void estimateSourceBytes(sourcePathsOf(spec), estimateAbort.signal).then((bytes) => {
          if (bytes !== null) estimator.setSourceBytes(bytes);
        });
        // Attached right before the pipeline starts reading (same tick), so no chunk is missed.
        artifact.stream.on('data', (chunk: Buffer) => estimator.addRawBytes(chunk.length));
      }
      const result = await runBackupPipeline({
        artifact,
        compression,
        ...(sealTo === undefined ? {} : { sealTo }),
        ...(bandwidthLimit === '' ? {} : { bandwidthLimit }),
        targets: opened.map(({ target, backend }) => ({ name: target.name, backend })),
        objectKeyFor: (fileName) => agentObjectKey(label, startedAt, recordId, fileName),
        signal: ctx.signal,
        log,
        metadata: { taskId: String(taskId), recordId: String(recordId) },
        uploadId: uploadIdOf(recordId),
        onProgress: (progress) => channel.progress(estimator.convert(progress)),
      });

      uploadResults = [
        ...result.targets.map((outcome, index): UploadResult => {
          const target = opened[index]?.target;
          return {
            storageTargetId: target?.id ?? 0,
            storageTargetName: outcome.name,
            status: outcome.status,
            transferMode: target?.transferMode ?? 'direct',
            ...(outcome.status === 'success'
              ? { storagePath: result.objectKey, fileSize: result.sizeBytes }
              : { error: outcome.error ?? 'failed' }),
          };
        }),
        ...uploadResults,
      ];
      // The configured order decides which copy is the record's primary one.
      const order = spec.storageTargets.map((target) => target.id);
      uploadResults.sort((a, b) => order.indexOf(a.storageTargetId) - order.indexOf(b.storageTargetId));
      const primary = uploadResults.find((item) => item.status === 'success');
      if (primary === undefined)
        throw new Error(
          uploadResults.map((item) => `${item.storageTargetName}: ${item.error ?? 'failed'}`).join('; '),
        );
      for (const item of uploadResults)
        if (item.status === 'failed')
          log('warn', `${item.storageTargetName} did not get a copy: ${item.error ?? ''}`);
      if (result.summary !== undefined) log('info', result.summary);
      let manifest = result.manifest === undefined ? undefined : encodeManifest(result.manifest);
      if (manifest !== undefined && manifest.length > MAX_MANIFEST_CHARS) {
        // The protocol caps it; without it the backup is still whole, only file browsing and
        // differential runs against it are lost — better than a report the master refuses.
        log(
          'warn',
          `the file list is too large to send (${String(manifest.length)} characters); sent without it`,
        );
        manifest = undefined;
      }
      log('info', `backup finished: ${String(result.sizeBytes)} bytes stored as ${result.fileName}`);
      final = {
        status: 'success',
        fileName: result.fileName,
        fileSize: result.sizeBytes,
        checksum: result.sha256,
        storagePath: result.objectKey,
        storageTargetId: primary.storageTargetId,
        storageTransferMode: primary.transferMode ?? 'direct',
        storageUploadResults: uploadResults,
        backupKind: result.backupKind,
        ...(manifest === undefined ? {} : { manifest }),
        ...(result.keyEnvelope === undefined ? {} : { keyEnvelope: result.keyEnvelope }),
        progress: {
          bytesSent: result.sizeBytes,
          totalBytes: result.sizeBytes,
          percent: 100,
          speedBps: 0,
          targetName: primary.storageTargetName.slice(0, 128),
        },
      };
    }
  } catch (error) {
    failed = failureMessage(error, ctx.signal);
    log('error', `backup failed: ${failed}`);
    final = {
      status: 'failed',
      errorMessage: truncate(failed, 60_000),
      ...(uploadResults.length === 0 ? {} : { storageUploadResults: uploadResults }),
    };
  } finally {
    estimateAbort.abort();
    for (const { backend } of opened) await backend.close().catch(() => undefined);
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }

  const delivered = await channel.finish(final);
  if (failed !== undefined) throw new Error(failed);
  // The backup is stored but the master never heard of it: the command must not look successful.
  if (!delivered) throw new Error('the backup finished but its report did not reach the master');
  return { taskId, recordId };
};
