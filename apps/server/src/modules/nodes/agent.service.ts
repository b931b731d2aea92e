import { createHash } from 'node:crypto';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import type {
  AgentCommand,
  AgentRecordUpdate,
  AgentRestoreSpec,
  AgentStorageTarget,
  AgentTaskSpec,
  UploadResult,
} from '@backupx/contract';
import type { KeyObject } from 'node:crypto';
import type { BackupTaskRow, NodeRow } from '../../db/tables.ts';
import { isSnapshotKey, storageTypeLabel } from '@backupx/engine';
import { AppError } from '../../lib/errors.ts';
import { toIso, type Clock } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/crypto.ts';
import type { DecryptedStorageTarget } from '../storage-targets/storage-targets.service.ts';
import { targetIdsOf, type TargetAccess, type TaskReader } from '../runs/artifacts.ts';
import { sourcePathsOf, type BackupRunner } from '../runs/backup-runner.ts';
import type { LogHub, LogLevel } from '../runs/log-hub.ts';
import type { RecordRow, RunsRepository } from '../runs/runs.repository.ts';
import type { RepositoryLeases } from '../runs/repository-leases.ts';
import { previousSnapshotRecord } from '../runs/repository-records.ts';
import type { RestoreRunner } from '../runs/restore-runner.ts';
import type { RunsService } from '../runs/runs.service.ts';
import type { CommandQueue } from './command-queue.ts';
import type { NodesService } from './nodes.service.ts';

export interface AgentServiceDeps {
  nodes: NodesService;
  commands: CommandQueue;
  repository: RunsRepository;
  /** Write leases of repositories, taken through the master by agents in repository mode. */
  repositoryLeases: Pick<RepositoryLeases, 'acquire' | 'renew' | 'release'>;
  tasks: TaskReader;
  targets: TargetAccess & { readDecrypted(id: number): Promise<DecryptedStorageTarget> };
  backups: BackupRunner;
  restores: RestoreRunner;
  runs: RunsService;
  backupHub: LogHub;
  restoreHub: LogHub;
  secretBox: SecretBox;
  /** The master's X25519 key pair agents seal encrypted backups to (BXENC2). */
  sealing: { publicKey: Buffer; privateKey: KeyObject; openDataKey(envelope: Buffer): Buffer };
  clock: Clock;
  logger: Logger;
  version: string;
  /** `backup.bandwidth_limit`, used when the node has none of its own. */
  defaultBandwidthLimit: string;
}

const TERMINAL = new Set(['success', 'failed']);
const forbidden = (
  code: 'BACKUP_RECORD_FORBIDDEN' | 'RESTORE_RECORD_FORBIDDEN' | 'BACKUP_TASK_FORBIDDEN',
  what: string,
) => new AppError(code, `${what} does not belong to this node`);

/** A clean relative slash path: no leading `/`, no `.`/`..`/empty segments, no backslash or NUL. */
const isCleanRelativePath = (key: string): boolean =>
  key !== '' &&
  !key.startsWith('/') &&
  !key.includes('\\') &&
  !key.includes('\0') &&
  key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');

/** `BackupX/<type>/<YYMMDD>/records/<recordId>/<file>` (SPEC §4.6 record namespace). */
const inRecordNamespace = (key: string, type: string, recordId: number): boolean => {
  const parts = key.split('/');
  return (
    parts.length === 6 &&
    parts[0] === 'BackupX' &&
    parts[1] === type &&
    /^\d{6}$/.test(parts[2] ?? '') &&
    parts[3] === 'records' &&
    parts[4] === String(recordId)
  );
};

/** `.backupx/repository/v1/snapshots/<taskId>/<time>-<recordId>.bxrs`: the snapshot of this run. */
const isSnapshotOf = (key: string, taskId: number, recordId: number): boolean =>
  isSnapshotKey(key) &&
  key.split('/').length === 6 &&
  key.split('/')[4] === String(taskId) &&
  key.endsWith(`-${String(recordId)}.bxrs`);

/** Who holds a repository lease taken through the agent protocol (one per running record). */
const leaseHolderOf = (nodeId: number, recordId: number): string =>
  `node:${String(nodeId)}:record:${String(recordId)}`;

const isRelayTarget = (target: DecryptedStorageTarget): boolean =>
  target.type === 'local_disk' && (target.config as { masterRelay?: unknown }).masterRelay === true;

/** Splits an agent's log text into hub lines: `[LEVEL] message` keeps its level. */
const hubLinesOf = (text: string): { level: LogLevel; message: string }[] =>
  text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const match = /^\[(INFO|WARN|ERROR)\]\s?(.*)$/i.exec(line);
      const level = (match?.[1]?.toLowerCase() ?? 'info') as LogLevel;
      return { level, message: match?.[2] ?? line };
    });

/**
 * The master's side of the agent protocol (SPEC §11.8, §11.9, §7.5, §4.6): what an agent may read
 * (only its own tasks, records and restores), what it reports, and how a report ends a run — by
 * the same finalisation as a run on the master (quirk 3).
 */
export const createAgentService = (deps: AgentServiceDeps) => {
  const { repository, clock } = deps;

  const bandwidthOf = (node: NodeRow): string => node.bandwidthLimit || deps.defaultBandwidthLimit;

  const findTask = async (id: number): Promise<BackupTaskRow> => {
    const task = await deps.tasks.findById(id);
    if (task === undefined)
      throw new AppError('BACKUP_TASK_NOT_FOUND', `Backup task ${String(id)} not found`);
    return task;
  };

  /** A record belongs to the node that runs it (record.nodeId; for old rows the task's node). */
  const ownRecord = async (
    node: NodeRow,
    id: number,
  ): Promise<{ record: RecordRow; task: BackupTaskRow }> => {
    const record = await repository.findRecord(id);
    if (record === undefined)
      throw new AppError('BACKUP_RECORD_NOT_FOUND', `Backup record ${String(id)} not found`);
    const task = await findTask(record.taskId);
    const owner = record.nodeId > 0 ? record.nodeId : task.nodeId;
    if (owner !== node.id) throw forbidden('BACKUP_RECORD_FORBIDDEN', `Backup record ${String(id)}`);
    return { record, task };
  };

  const agentTargetOf = (target: DecryptedStorageTarget): AgentStorageTarget => {
    const relay = isRelayTarget(target);
    return {
      id: target.target.id,
      type: target.type,
      name: target.target.name,
      config: relay ? {} : target.config,
      transferMode: relay ? 'master_relay' : 'direct',
    };
  };

  const validateReport = async (
    task: BackupTaskRow,
    record: RecordRow,
    update: AgentRecordUpdate,
  ): Promise<{ targets: Map<number, DecryptedStorageTarget>; checksum: string | undefined }> => {
    if (
      update.status !== undefined &&
      update.status !== '' &&
      !['running', 'success', 'failed'].includes(update.status)
    )
      throw new AppError('BACKUP_RECORD_STATUS_INVALID', `Unknown record status "${update.status}"`);
    const referenced = new Set<number>();
    if (update.storageTargetId !== undefined && update.storageTargetId > 0)
      referenced.add(update.storageTargetId);
    for (const result of update.storageUploadResults ?? []) referenced.add(result.storageTargetId);
    // Most reports carry only log lines and progress: read the task's targets only when named.
    const taskTargets = new Set(referenced.size === 0 ? [] : await targetIdsOf(deps.tasks, task.id));
    for (const id of referenced)
      if (!taskTargets.has(id))
        throw new AppError(
          'BACKUP_STORAGE_TARGET_FORBIDDEN',
          `Storage target ${String(id)} is not one of the task`,
        );
    const targets = new Map<number, DecryptedStorageTarget>();
    for (const id of referenced) targets.set(id, await deps.targets.readDecrypted(id));
    const expectedMode = (id: number) => {
      const target = targets.get(id);
      return target !== undefined && isRelayTarget(target) ? 'master_relay' : 'direct';
    };
    const checkPath = (key: string, targetId: number) => {
      if (!isCleanRelativePath(key))
        throw new AppError('AGENT_ARTIFACT_INVALID_PATH', `"${key}" is not a clean relative path`);
      if (
        expectedMode(targetId) === 'master_relay' &&
        !inRecordNamespace(key, storageTypeLabel(task.type), record.id)
      )
        throw new AppError(
          'AGENT_ARTIFACT_INVALID_PATH',
          `"${key}" is outside BackupX/${storageTypeLabel(task.type)}/<YYMMDD>/records/${String(record.id)}/`,
        );
    };
    if (update.storageTransferMode !== undefined && update.storageTransferMode !== '') {
      if (update.storageTargetId === undefined || update.storageTargetId <= 0)
        throw new AppError(
          'AGENT_STORAGE_TRANSFER_MODE_INVALID',
          'storageTransferMode needs storageTargetId',
        );
      if (update.storageTransferMode !== expectedMode(update.storageTargetId))
        throw new AppError(
          'AGENT_STORAGE_TRANSFER_MODE_INVALID',
          `Target ${String(update.storageTargetId)} is written ${expectedMode(update.storageTargetId)}, not ${update.storageTransferMode}`,
        );
    }
    for (const result of update.storageUploadResults ?? []) {
      if (result.fileSize !== undefined && (!Number.isFinite(result.fileSize) || result.fileSize < 0))
        throw new AppError('AGENT_ARTIFACT_INVALID', 'An upload result has a negative size');
      if (
        result.transferMode !== undefined &&
        result.transferMode !== '' &&
        result.transferMode !== expectedMode(result.storageTargetId)
      )
        throw new AppError(
          'AGENT_STORAGE_TRANSFER_MODE_INVALID',
          `Target ${String(result.storageTargetId)} is written ${expectedMode(result.storageTargetId)}`,
        );
      if (result.storagePath !== undefined && result.storagePath !== '')
        checkPath(result.storagePath, result.storageTargetId);
    }
    if (update.backupKind === 'repository') {
      // A repository run names its snapshot, never an object elsewhere on the target: retention
      // and deletion of the record act on that key (and prune the repository after it).
      if (task.backupMode !== 'repository')
        throw new AppError('AGENT_ARTIFACT_INVALID', 'The task is not in repository mode');
      const keys = [
        update.storagePath ?? '',
        ...(update.storageUploadResults ?? []).map((result) => result.storagePath ?? ''),
      ].filter((key) => key !== '');
      for (const key of keys)
        if (!isSnapshotOf(key, task.id, record.id))
          throw new AppError(
            'AGENT_ARTIFACT_INVALID_PATH',
            `"${key}" is not a repository snapshot of task ${String(task.id)}, record ${String(record.id)}`,
          );
    }
    if (update.storagePath !== undefined && update.storagePath !== '') {
      if (update.storageTargetId === undefined || update.storageTargetId <= 0)
        throw new AppError('AGENT_ARTIFACT_INVALID', 'storagePath needs storageTargetId');
      checkPath(update.storagePath, update.storageTargetId);
    }
    if (update.fileName !== undefined && update.fileName !== '') {
      const bare =
        !update.fileName.includes('/') &&
        !update.fileName.includes('\\') &&
        update.fileName !== '.' &&
        update.fileName !== '..';
      const matches =
        update.storagePath === undefined ||
        update.storagePath === '' ||
        path.posix.basename(update.storagePath) === update.fileName;
      if (!bare || !matches)
        throw new AppError('AGENT_ARTIFACT_INVALID', 'fileName must be the base name of storagePath');
    }
    if (update.fileSize !== undefined && (!Number.isFinite(update.fileSize) || update.fileSize < 0))
      throw new AppError('AGENT_ARTIFACT_INVALID', 'fileSize must be ≥ 0');
    let checksum: string | undefined;
    if (update.checksum !== undefined && update.checksum !== '') {
      if (!/^[0-9a-fA-F]{64}$/.test(update.checksum))
        throw new AppError('AGENT_ARTIFACT_INVALID', 'checksum must be 64 hex characters (SHA-256)');
      checksum = update.checksum.toLowerCase();
    }
    if (update.keyEnvelope !== undefined && update.keyEnvelope !== '') {
      try {
        deps.sealing.openDataKey(Buffer.from(update.keyEnvelope, 'base64'));
      } catch {
        throw new AppError('AGENT_ARTIFACT_INVALID', 'keyEnvelope is not a key sealed to this master');
      }
    }
    return { targets, checksum };
  };

  /**
   * A lease request is about a record of this node and one of its task's targets; while taking or
   * renewing, the record must still be running (a run that ended has nothing left to write).
   */
  const leaseScope = async (
    node: NodeRow,
    input: { recordId: number; storageTargetId: number },
    needsRunning: boolean,
  ): Promise<string> => {
    const { record, task } = await ownRecord(node, input.recordId);
    if (!(await targetIdsOf(deps.tasks, task.id)).includes(input.storageTargetId))
      throw new AppError(
        'BACKUP_STORAGE_TARGET_FORBIDDEN',
        `Storage target ${String(input.storageTargetId)} is not one of the task`,
      );
    if (needsRunning && record.status !== 'running')
      throw new AppError('AGENT_ARTIFACT_INVALID', `Backup record ${String(record.id)} has already ended`);
    return leaseHolderOf(node.id, record.id);
  };

  const relayLogLines = (hub: LogHub, id: number, text: string) => {
    for (const line of hubLinesOf(text)) hub.log(id, line.level, line.message);
  };

  return {
    async heartbeat(
      node: NodeRow,
      input: { hostname: string; ipAddress: string; agentVersion: string; os: string; arch: string },
      clientIp: string,
    ) {
      await deps.nodes.heartbeat(node, input, clientIp);
      return {
        status: 'ok' as const,
        nodeId: node.id,
        name: node.name,
        masterVersion: deps.version,
        bandwidthLimit: bandwidthOf(node),
      };
    },

    async poll(node: NodeRow, waitSeconds: number, signal: AbortSignal): Promise<AgentCommand | null> {
      return deps.commands.poll(node, waitSeconds * 1000, signal);
    },

    async result(
      node: NodeRow,
      commandId: number,
      input: { success: boolean; errorMessage?: string | undefined; result?: unknown },
    ) {
      const command = await deps.commands.complete(node.id, commandId, input);
      // The agent gave up on a run without reporting its record: end the record too.
      if (!input.success) {
        const reason = input.errorMessage ?? 'the agent reported a failure';
        if (command.backupRecordId > 0) await deps.runs.failRemoteRun(command.backupRecordId, reason);
        if (command.restoreRecordId > 0) await deps.runs.failRemoteRestore(command.restoreRecordId, reason);
      }
    },

    /** Takes the write lease of a target's repository for a running record (REPOSITORY_BUSY: retry). */
    async repositoryLeaseAcquire(
      node: NodeRow,
      input: { recordId: number; storageTargetId: number },
    ): Promise<{ expiresAt: string; ttlSeconds: number }> {
      const holder = await leaseScope(node, input, true);
      try {
        return await deps.repositoryLeases.acquire(input.storageTargetId, holder);
      } finally {
        // Waiting for a lease (retrying while busy) and writing under it are both work of the run:
        // its command stays leased, so a long wait does not time the run out.
        await deps.commands.renewLeaseOfRecord('backupRecordId', input.recordId);
      }
    },

    async repositoryLeaseRenew(
      node: NodeRow,
      input: { recordId: number; storageTargetId: number },
    ): Promise<{ expiresAt: string; ttlSeconds: number }> {
      const holder = await leaseScope(node, input, true);
      const lease = await deps.repositoryLeases.renew(input.storageTargetId, holder);
      await deps.commands.renewLeaseOfRecord('backupRecordId', input.recordId);
      return lease;
    },

    /** Gives a lease back; allowed after the record ended too, so a late release never lingers. */
    async repositoryLeaseRelease(
      node: NodeRow,
      input: { recordId: number; storageTargetId: number },
    ): Promise<void> {
      const holder = await leaseScope(node, input, false);
      await deps.repositoryLeases.release(input.storageTargetId, holder);
    },

    async taskSpec(node: NodeRow, taskId: number): Promise<AgentTaskSpec> {
      const task = await findTask(taskId);
      if (task.nodeId !== node.id) {
        // Pool runs: the task is not bound to the node, but its running record is.
        const running = await repository.runningRecordOfTaskOnNode(task.id, node.id);
        if (!running) throw forbidden('BACKUP_TASK_FORBIDDEN', `Backup task ${String(taskId)}`);
      }
      const targets = await Promise.all(
        (await targetIdsOf(deps.tasks, task.id)).map((id) => deps.targets.readDecrypted(id)),
      );
      const previousSnapshotKey =
        task.backupMode === 'repository'
          ? ((await previousSnapshotRecord(repository, task.id))?.storagePath ?? '')
          : '';
      return {
        taskId: task.id,
        name: task.name,
        type: task.type,
        sourcePath: task.sourcePath,
        sourcePaths: task.sourcePaths,
        excludePatterns: task.excludePatterns,
        dbHost: task.dbHost,
        dbPort: task.dbPort,
        dbUser: task.dbUser,
        dbPassword: task.dbPasswordCiphertext === '' ? '' : deps.secretBox.open(task.dbPasswordCiphertext),
        dbName: task.dbName,
        dbPath: task.dbPath,
        extraConfig: task.extraConfig,
        compression: task.compression,
        encrypt: task.encrypt === 1,
        storageTargets: targets.filter((target) => target.target.enabled).map(agentTargetOf),
        ...(task.encrypt === 1 ? { masterPublicKey: deps.sealing.publicKey.toString('base64') } : {}),
        bandwidthLimit: bandwidthOf(node),
        backupMode: task.backupMode,
        ...(previousSnapshotKey === '' ? {} : { previousSnapshotKey }),
      };
    },

    async recordUpdate(node: NodeRow, recordId: number, update: AgentRecordUpdate): Promise<void> {
      const { record, task } = await ownRecord(node, recordId);
      // Reports of a run that already ended (late, repeated after a lost response) change nothing.
      if (TERMINAL.has(record.status)) return;
      const { checksum } = await validateReport(task, record, update);
      const now = toIso(clock.now());
      if (update.logAppend !== undefined && update.logAppend !== '') {
        await repository.appendLog('backupRecords', recordId, update.logAppend.replace(/\n+$/, ''), now);
        relayLogLines(deps.backupHub, recordId, update.logAppend);
      }
      if (update.progress !== undefined) deps.backupHub.progress(recordId, update.progress);
      await deps.commands.renewLeaseOfRecord('backupRecordId', recordId);
      const patch = {
        ...(update.fileName ? { fileName: update.fileName } : {}),
        ...(update.fileSize !== undefined && update.fileSize > 0 ? { fileSize: update.fileSize } : {}),
        ...(checksum === undefined ? {} : { checksum }),
        ...(update.storagePath ? { storagePath: update.storagePath } : {}),
        ...(update.storageTargetId ? { storageTargetId: update.storageTargetId } : {}),
        ...(update.storageTransferMode ? { storageTransferMode: update.storageTransferMode } : {}),
        ...(update.keyEnvelope ? { keyEnvelope: update.keyEnvelope } : {}),
      };
      const status = update.status ?? '';
      if (status !== 'success' && status !== 'failed') {
        if (Object.keys(patch).length > 0)
          await repository.updateRunningRecord(recordId, { ...patch, updatedAt: now });
        return;
      }
      const uploadResults: UploadResult[] = update.storageUploadResults ?? [];
      if (status === 'failed') {
        if (Object.keys(patch).length > 0)
          await repository.updateRunningRecord(recordId, { ...patch, updatedAt: now });
        // Copies the agent may have written (relayed or partial) are removed with the record's run.
        await deps.runs.failRemoteRun(
          recordId,
          update.errorMessage || 'the agent reported a failure',
          uploadResults,
        );
        return;
      }
      if (patch.storagePath === undefined || checksum === undefined)
        throw new AppError(
          'AGENT_ARTIFACT_INVALID',
          'A successful run must report storagePath, storageTargetId and checksum',
        );
      await deps.backups.finaliseRemote(recordId, {
        status,
        errorMessage: '',
        patch: {
          ...patch,
          backupKind: update.backupKind ?? 'full',
          manifest: update.manifest ?? '',
          ...(update.backupKind === 'repository' && update.repositoryStats !== undefined
            ? { repositoryStats: JSON.stringify(update.repositoryStats) }
            : {}),
        },
        uploadResults,
        storedBytes: update.fileSize ?? 0,
      });
    },

    /** A master-relay upload (SPEC §4.6): checked, streamed to the target, verified by size and hash. */
    async artifactUpload(
      node: NodeRow,
      recordId: number,
      targetId: number,
      input: { body: Readable; contentLength: number | null; objectKey: string; sha256: string },
    ): Promise<void> {
      const { record, task } = await ownRecord(node, recordId);
      if (TERMINAL.has(record.status))
        throw new AppError('AGENT_ARTIFACT_INVALID', `Backup record ${String(recordId)} has already ended`);
      if (input.contentLength === null) throw new AppError('CONTENT_LENGTH_REQUIRED', 'Send Content-Length');
      const taskTargets = await targetIdsOf(deps.tasks, task.id);
      if (!taskTargets.includes(targetId))
        throw new AppError(
          'BACKUP_STORAGE_TARGET_FORBIDDEN',
          `Storage target ${String(targetId)} is not one of the task`,
        );
      const target = await deps.targets.readDecrypted(targetId);
      if (!isRelayTarget(target))
        throw new AppError(
          'AGENT_STORAGE_TRANSFER_MODE_INVALID',
          `Target "${target.target.name}" is not a master-relay local disk`,
        );
      let key = input.objectKey;
      // BackupX agents before the record namespace send BackupX/<type>/<YYMMDD>/<file>.
      const legacy = key.split('/');
      if (legacy.length === 4 && legacy[0] === 'BackupX' && /^\d{6}$/.test(legacy[2] ?? ''))
        key = [legacy[0], legacy[1], legacy[2], 'records', String(recordId), legacy[3]].join('/');
      if (!isCleanRelativePath(key) || !inRecordNamespace(key, storageTypeLabel(task.type), recordId))
        throw new AppError(
          'AGENT_ARTIFACT_INVALID_PATH',
          `"${input.objectKey}" is outside the record's namespace`,
        );
      if (!/^[0-9a-fA-F]{64}$/.test(input.sha256))
        throw new AppError('AGENT_ARTIFACT_INVALID', 'X-BackupX-SHA256 must be 64 hex characters');
      const opened = await deps.targets.openBackend(targetId);
      try {
        const used = (await deps.targets.usedBytesByTarget()).get(targetId) ?? 0;
        if (opened.target.quotaBytes > 0 && used + input.contentLength > opened.target.quotaBytes)
          throw new AppError(
            'BACKUP_STORAGE_QUOTA_EXCEEDED',
            `The artifact does not fit the quota of "${opened.target.name}"`,
          );
        const hash = createHash('sha256');
        let bytes = 0;
        const counter = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            bytes += chunk.length;
            callback(null, chunk);
          },
        });
        const counted = input.body.pipe(counter);
        input.body.on('error', (error) => counter.destroy(error));
        await opened.backend.put(key, counted, {
          sizeBytes: input.contentLength,
          metadata: { recordId: String(recordId) },
        });
        const digest = hash.digest('hex');
        if (bytes !== input.contentLength || digest !== input.sha256.toLowerCase()) {
          await opened.backend.delete(key).catch(() => undefined);
          throw new AppError(
            'AGENT_ARTIFACT_INVALID',
            `The upload does not match its headers (${String(bytes)} of ${String(input.contentLength)} bytes, sha256 ${digest})`,
          );
        }
        await deps.commands.renewLeaseOfRecord('backupRecordId', recordId);
      } finally {
        await opened.backend.close().catch(() => undefined);
      }
    },

    async restoreSpec(node: NodeRow, restoreId: number): Promise<AgentRestoreSpec> {
      const restore = await repository.findRestore(restoreId);
      if (restore === undefined)
        throw new AppError('RESTORE_RECORD_NOT_FOUND', `Restore ${String(restoreId)} not found`);
      if (restore.nodeId !== node.id)
        throw forbidden('RESTORE_RECORD_FORBIDDEN', `Restore ${String(restoreId)}`);
      const record = await repository.findRecord(restore.backupRecordId);
      if (record === undefined)
        throw new AppError('BACKUP_RECORD_NOT_FOUND', 'The backup of this restore no longer exists');
      const task = await findTask(restore.taskId);
      const target = await deps.targets.readDecrypted(record.storageTargetId);
      const envelope = record.keyEnvelope;
      return {
        restoreRecordId: restore.id,
        backupRecordId: record.id,
        taskId: task.id,
        taskName: task.name,
        type: task.type,
        sourcePath: task.sourcePath,
        sourcePaths: sourcePathsOf(task),
        dbHost: task.dbHost,
        dbPort: task.dbPort,
        dbUser: task.dbUser,
        dbPassword: task.dbPasswordCiphertext === '' ? '' : deps.secretBox.open(task.dbPasswordCiphertext),
        dbName: task.dbName,
        dbPath: task.dbPath,
        extraConfig: task.extraConfig,
        compression: task.compression,
        encrypt: record.fileName.endsWith('.enc'),
        storage: {
          ...agentTargetOf(target),
          transferMode: record.storageTransferMode === 'master_relay' ? 'master_relay' : 'direct',
        },
        storagePath: record.storagePath,
        fileName: record.fileName,
        checksum: record.checksum,
        targetPath: restore.targetPath,
        selectedPaths: JSON.parse(restore.selectedPaths || '[]') as string[],
        backupKind: record.backupKind,
        // Only this artifact's key, and only for BXENC2 artifacts: the master key never leaves.
        ...(envelope === ''
          ? {}
          : { dataKey: deps.sealing.openDataKey(Buffer.from(envelope, 'base64')).toString('base64') }),
      };
    },

    async restoreArtifact(
      node: NodeRow,
      restoreId: number,
    ): Promise<{ stream: Readable; size: number; close: () => Promise<void> }> {
      const restore = await repository.findRestore(restoreId);
      if (restore === undefined)
        throw new AppError('RESTORE_RECORD_NOT_FOUND', `Restore ${String(restoreId)} not found`);
      if (restore.nodeId !== node.id)
        throw forbidden('RESTORE_RECORD_FORBIDDEN', `Restore ${String(restoreId)}`);
      if (TERMINAL.has(restore.status))
        throw new AppError('RESTORE_SOURCE_INVALID', 'This restore has already ended');
      const record = await repository.findRecord(restore.backupRecordId);
      if (record?.storageTransferMode !== 'master_relay')
        throw new AppError('RESTORE_SOURCE_INVALID', 'Only master-relay backups are served by the master');
      const opened = await deps.targets.openBackend(record.storageTargetId, { allowDisabled: true });
      try {
        const stream = await opened.backend.get(record.storagePath);
        return { stream, size: record.fileSize, close: () => opened.backend.close() };
      } catch (error) {
        await opened.backend.close().catch(() => undefined);
        throw error;
      }
    },

    async restoreUpdate(
      node: NodeRow,
      restoreId: number,
      update: {
        status?: string | undefined;
        errorMessage?: string | undefined;
        logAppend?: string | undefined;
      },
    ): Promise<void> {
      const restore = await repository.findRestore(restoreId);
      if (restore === undefined)
        throw new AppError('RESTORE_RECORD_NOT_FOUND', `Restore ${String(restoreId)} not found`);
      if (restore.nodeId !== node.id)
        throw forbidden('RESTORE_RECORD_FORBIDDEN', `Restore ${String(restoreId)}`);
      if (TERMINAL.has(restore.status)) return;
      const status = update.status ?? '';
      if (status !== '' && !['running', 'success', 'failed'].includes(status))
        throw new AppError('BACKUP_RECORD_STATUS_INVALID', `Unknown restore status "${status}"`);
      if (update.logAppend !== undefined && update.logAppend !== '') {
        await repository.appendLog(
          'restoreRecords',
          restoreId,
          update.logAppend.replace(/\n+$/, ''),
          toIso(clock.now()),
        );
        relayLogLines(deps.restoreHub, restoreId, update.logAppend);
      }
      await deps.commands.renewLeaseOfRecord('restoreRecordId', restoreId);
      if (status === 'success' || status === 'failed')
        await deps.restores.finishRemote(restoreId, {
          status,
          errorMessage: status === 'failed' ? update.errorMessage || 'the agent reported a failure' : '',
        });
    },

    async self(node: NodeRow) {
      const fresh = await deps.nodes.findNode(node.id);
      return {
        id: fresh.id,
        name: fresh.name,
        status: fresh.status === 'online' ? ('online' as const) : ('offline' as const),
        lastSeen: fresh.lastSeen,
      };
    },

    /** The timeout monitor's hook: a run or restore whose command timed out fails. */
    async onCommandTimedOut(command: {
      type: string;
      backupRecordId: number;
      restoreRecordId: number;
    }): Promise<void> {
      const message = 'Agent did not report status before timeout (node may be offline or crashed)';
      if (command.backupRecordId > 0) await deps.runs.failRemoteRun(command.backupRecordId, message);
      if (command.restoreRecordId > 0) await deps.runs.failRemoteRestore(command.restoreRecordId, message);
    },
  };
};

export type AgentService = ReturnType<typeof createAgentService>;
