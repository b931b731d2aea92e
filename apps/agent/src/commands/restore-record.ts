/**
 * `restore_record {restoreRecordId}` (SPEC §7.5, with this codebase's extensions): fetch the
 * restore spec, read the artifact (from the storage directly, or relayed by the master), check
 * its SHA-256 while streaming, decrypt and decompress, and restore it like the master's restore
 * runner does: file archives are staged and moved into place (honouring `targetPath` and
 * `selectedPaths`), database dumps are spooled and verified before the import starts.
 *
 * Encrypted artifacts: BXENC2 artifacts (written by an agent) come with their own data key in the
 * spec; BXENC1 artifacts are under the master's key, which never leaves the master.
 *
 * Repository snapshots (backupKind `repository`) are read chunk by chunk from the target's
 * repository and restored through the same hardened file restore.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { AgentRestoreSpec } from '@backupx/contract';
import {
  createStorageBackend,
  layersFromFileName,
  openArtifact,
  restoreFiles,
  restoreFromRepository,
  restoreMongodb,
  restoreMysql,
  restorePostgresql,
  restoreSaphana,
  restoreSqlite,
  spoolArtifact,
  type OpenArtifactOptions,
  type RunLogger,
  type SourceContext,
  type StorageBackend,
  type StoredArtifact,
  storageTypeLabel,
} from '@backupx/engine';
import type { AgentRestoreUpdate } from '../master-client.ts';
import { positiveInt } from './payload.ts';
import { createRelaySource } from './relay-target.ts';
import { failureMessage, restoreChannel, runLoggerFor, truncate } from './run-log.ts';
import { connectionOf, parseExtraConfig, sourcePathsOf } from './task-source.ts';
import type { CommandContext, CommandExecutor } from './types.ts';

export const MASTER_KEY_RESTORE_MESSAGE =
  "this backup was encrypted with the master's key; restore it on the master";

/** Keys and limits for reading the artifact; refuses an encrypted artifact without its data key. */
export const readOptionsOf = (
  spec: Pick<AgentRestoreSpec, 'fileName' | 'dataKey'>,
  signal: AbortSignal,
  bandwidthLimit: string,
): OpenArtifactOptions => {
  const encrypted = layersFromFileName(spec.fileName).encrypted;
  if (encrypted && (spec.dataKey === undefined || spec.dataKey === ''))
    throw new Error(MASTER_KEY_RESTORE_MESSAGE);
  return {
    signal,
    ...(encrypted && spec.dataKey !== undefined ? { dataKey: Buffer.from(spec.dataKey, 'base64') } : {}),
    ...(bandwidthLimit === '' ? {} : { bandwidthLimit }),
  };
};

const openBackend = async (ctx: CommandContext, spec: AgentRestoreSpec, workDir: string, log: RunLogger) =>
  spec.storage.transferMode === 'master_relay'
    ? createRelaySource(ctx.client, spec.restoreRecordId)
    : createStorageBackend(spec.storage.type, spec.storage.config, {
        tempDir: workDir,
        log: (level, message) => log(level, `${spec.storage.name}: ${message}`),
      });

const restoreDatabase = async (
  spec: AgentRestoreSpec,
  artifact: StoredArtifact,
  options: OpenArtifactOptions,
  sourceCtx: SourceContext,
): Promise<void> => {
  // Spooled and verified first: a database import must not start on an artifact that turns out bad.
  const spooled = await spoolArtifact(artifact, sourceCtx.workDir, options);
  sourceCtx.log('info', `artifact verified (sha256 ${spec.checksum || 'not recorded'})`);
  const input: Readable = createReadStream(spooled);
  try {
    switch (storageTypeLabel(spec.type)) {
      case 'mysql':
        await restoreMysql(sourceCtx, connectionOf(spec), input);
        break;
      case 'postgresql':
        await restorePostgresql(sourceCtx, connectionOf(spec), input);
        break;
      case 'mongodb':
        await restoreMongodb(sourceCtx, connectionOf(spec), input);
        break;
      case 'saphana':
        await restoreSaphana(sourceCtx, connectionOf(spec), input, parseExtraConfig(spec.extraConfig));
        break;
      case 'sqlite':
        await restoreSqlite(sourceCtx, spec.dbPath, input);
        break;
      default:
        throw new Error(`restore of ${spec.type} tasks is not supported`);
    }
  } finally {
    input.destroy();
  }
};

export const restoreRecord: CommandExecutor = async (ctx, payload) => {
  const restoreId = positiveInt(payload, 'restoreRecordId');
  const channel = restoreChannel(ctx, restoreId);
  const log = runLoggerFor(channel);
  let workDir: string | undefined;
  let backend: StorageBackend | undefined;
  let failed: string | undefined;
  let final: AgentRestoreUpdate;
  try {
    ctx.signal.throwIfAborted();
    const spec = await ctx.client.restoreSpec(restoreId, ctx.signal);
    log(
      'info',
      `restoring ${spec.fileName} (backup #${String(spec.backupRecordId)}) of task "${spec.taskName}" on this agent`,
    );
    const options = readOptionsOf(spec, ctx.signal, ctx.nodeBandwidthLimit());
    await mkdir(ctx.tempDir, { recursive: true, mode: 0o700 });
    workDir = await mkdtemp(path.join(ctx.tempDir, 'restore-'));
    const sourceCtx: SourceContext = {
      signal: ctx.signal,
      log,
      workDir,
      now: ctx.now(),
      spawn,
      env: ctx.env,
    };
    if (spec.backupKind === 'repository') {
      if (spec.storage.transferMode === 'master_relay')
        throw new Error(
          'this backup is a repository snapshot on a master-relay target, which the master does not relay; restore it on the master',
        );
      backend = await openBackend(ctx, spec, workDir, log);
      const targetPath = spec.targetPath?.trim() ?? '';
      const selectedPaths = spec.selectedPaths ?? [];
      const result = await restoreFromRepository({
        backend,
        snapshotKey: spec.storagePath,
        checksum: spec.checksum,
        signal: ctx.signal,
        log,
        sourcePaths: sourcePathsOf(spec),
        ...(targetPath === '' ? {} : { targetPath }),
        ...(selectedPaths.length === 0 ? {} : { selectedPaths }),
      });
      log('info', `restored into ${result.destination}: ${result.summary}`);
    } else {
      backend = await openBackend(ctx, spec, workDir, log);
      const artifact: StoredArtifact = {
        backend,
        objectKey: spec.storagePath,
        fileName: spec.fileName,
        sha256: spec.checksum,
      };
      if (storageTypeLabel(spec.type) === 'file') {
        const { stream } = await openArtifact(artifact, options);
        try {
          const targetPath = spec.targetPath?.trim() ?? '';
          const selectedPaths = spec.selectedPaths ?? [];
          const result = await restoreFiles(sourceCtx, [stream], {
            sourcePaths: sourcePathsOf(spec),
            ...(targetPath === '' ? {} : { targetPath }),
            ...(selectedPaths.length === 0 ? {} : { selectedPaths }),
          });
          log('info', `restored into ${result.destination}: ${result.summary}`);
        } finally {
          stream.destroy();
        }
      } else {
        await restoreDatabase(spec, artifact, options, sourceCtx);
      }
    }
    log('info', 'restore finished');
    final = { status: 'success' };
  } catch (error) {
    failed = failureMessage(error, ctx.signal);
    log('error', `restore failed: ${failed}`);
    final = { status: 'failed', errorMessage: truncate(failed, 60_000) };
  } finally {
    await backend?.close().catch(() => undefined);
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
  const delivered = await channel.finish(final);
  if (failed !== undefined) throw new Error(failed);
  if (!delivered) throw new Error('the restore finished but its report did not reach the master');
  return { restoreRecordId: restoreId };
};
