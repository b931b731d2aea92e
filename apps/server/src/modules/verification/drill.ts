import { spawn } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TableRowCount, VerificationCheck, VerifyMode } from '@backupx/contract';
import {
  compareTreeWithManifest,
  decodeManifest,
  drillMysqlDump,
  drillPostgresDump,
  EngineError,
  openArtifact,
  readHead,
  restoreFiles,
  restoreFromRepository,
  spoolArtifact,
  sqliteTableCounts,
  verifyDatabaseArtifact,
  verifySaphanaTar,
  verifySqliteArtifact,
  verifyRepository,
  verifyTar,
  type DatabaseConnection,
  type SourceContext,
  type StorageBackend,
} from '@backupx/engine';
import type { BackupTaskRow } from '../../db/tables.ts';
import type { SecretBox } from '../../lib/crypto.ts';
import {
  copiesOf,
  openFirstReadableCopy,
  partitionCopies,
  type ArtifactCopy,
  type TargetAccess,
} from '../runs/artifacts.ts';
import { connectionOf, sourcePathsOf } from '../runs/backup-runner.ts';
import type { LogLevel } from '../runs/log-hub.ts';
import { isRepositoryRecord, repositoryStatsOf, snapshotChecksumOf } from '../runs/repository-records.ts';
import type { RecordRow, RunsRepository } from '../runs/runs.repository.ts';

export interface DrillDeps {
  targets: TargetAccess;
  records: Pick<RunsRepository, 'findRecord' | 'manifestOf'>;
  secretBox: SecretBox;
  encryptionKey: Buffer;
  /** Opens BXENC2 artifacts sealed by agents. */
  sealedPrivateKey?: KeyObject;
  childEnv: Record<string, string | undefined>;
  /** `verify_sandbox_mysql` / `verify_sandbox_postgresql`: a server for deep drills, or ''. */
  sandboxUrl(kind: 'mysql' | 'postgresql'): Promise<string>;
  /** Whether the node runs on another machine than this master. */
  isRemoteNode(nodeId: number): Promise<boolean>;
}

export interface DrillRequest {
  verificationId: number;
  mode: VerifyMode;
  record: RecordRow;
  task: BackupTaskRow;
  /** The copy to read. */
  copy: ArtifactCopy;
  signal: AbortSignal;
  log: (level: LogLevel, message: string) => void;
  /** A private directory, removed by the caller. */
  workDir: string;
}

export interface DrillOutcome {
  ok: boolean;
  summary: string;
  checks: VerificationCheck[];
  tableCounts: TableRowCount[];
  /** Measured restore time of a deep drill, ms. */
  rtoMs: number | null;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const isChecksumError = (error: unknown): boolean =>
  error instanceof EngineError && error.code === 'BACKUP_CHECKSUM_MISMATCH';
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]', '']);
const bytesText = (bytes: number): string =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${String(bytes)} bytes`;

/** A drill that stopped at a failed check: the reason is the check's detail. */
class DrillFailure extends Error {}

/** `scheme://user:password@host:port` → a connection (the databases come from the dump). */
export const sandboxConnection = (url: string, defaultPort: number): DatabaseConnection => {
  const parsed = new URL(url);
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? defaultPort : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    databases: [],
  };
};

/**
 * One verification drill on this master (SPEC §8.3, deepened). Every drill reads one copy to its
 * end so the record's SHA-256 is checked; `quick` then checks structure, `deep` really restores —
 * files into a scratch directory compared with the manifest, SQLite opened and integrity-checked,
 * dumps imported into throw-away databases that are counted and dropped — and measures how long
 * that restore took. Checks are collected in order; the first failing one ends the drill.
 */
export const runDrill = async (deps: DrillDeps, request: DrillRequest): Promise<DrillOutcome> => {
  const { record, task, copy, signal, log, workDir, mode } = request;
  const checks: VerificationCheck[] = [];
  const tableCounts: TableRowCount[] = [];
  let rtoMs: number | null = null;
  const pass = (name: string, detail: string) => {
    checks.push({ name, ok: true, detail });
    log('info', `✓ ${name}: ${detail}`);
  };
  const failCheck = (name: string, detail: string): never => {
    checks.push({ name, ok: false, detail });
    log('error', `✗ ${name}: ${detail}`);
    throw new DrillFailure(detail);
  };
  const keys = {
    decryptionKey: deps.encryptionKey,
    ...(deps.sealedPrivateKey ? { sealedPrivateKey: deps.sealedPrivateKey } : {}),
  };
  const decryptionOf = (row: RecordRow) => (row.fileName.endsWith('.enc') ? keys : {});
  const checksumText = (row: RecordRow) =>
    row.checksum === ''
      ? 'no SHA-256 recorded for this backup (legacy): not compared'
      : `SHA-256 of the stored object matches the record (${row.checksum.slice(0, 12)}…)`;
  const ctx: SourceContext = { signal, log, workDir, now: new Date(), spawn, env: deps.childEnv };
  const type = task.type === 'pgsql' ? 'postgresql' : task.type;

  /** Opens the chosen copy (this record) or the first readable one (a differential's baseline). */
  const open = async (row: RecordRow, which: ArtifactCopy | null) => {
    const reachable =
      which !== null ? [which] : (await partitionCopies(deps.targets, copiesOf(row))).reachable;
    let captured: unknown = null;
    const opened = await openFirstReadableCopy(deps.targets, reachable, async (backend, from) => {
      const { stream } = await openArtifact(artifactOf(row, backend, from), { ...decryptionOf(row), signal });
      stream.on('error', (error) => {
        captured ??= error;
      });
      return stream;
    });
    return { ...opened, error: () => captured };
  };
  const artifactOf = (row: RecordRow, backend: StorageBackend, from: ArtifactCopy) => ({
    backend,
    objectKey: from.storagePath,
    fileName: row.fileName,
    sha256: row.checksum,
  });
  /** Downloads and verifies the chosen copy into the work directory. */
  const spool = async (): Promise<string> => {
    const opened = await deps.targets.openBackend(copy.storageTargetId, { allowDisabled: true });
    try {
      return await spoolArtifact(artifactOf(record, opened.backend, copy), workDir, {
        ...decryptionOf(record),
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw error;
      return failCheck(isChecksumError(error) ? 'checksum' : 'download', messageOf(error));
    } finally {
      await opened.backend.close().catch(() => undefined);
    }
  };

  const fileDrill = async (): Promise<string> => {
    if (mode === 'quick') {
      const opened = await open(record, copy);
      try {
        const result = await verifyTar(opened.stream, signal);
        if (isChecksumError(opened.error())) failCheck('checksum', messageOf(opened.error()));
        pass('checksum', checksumText(record));
        if (!result.ok) failCheck('structure', result.summary);
        pass('structure', result.summary);
        return result.summary;
      } finally {
        opened.stream.destroy();
        await opened.close();
      }
    }
    const chain = [record];
    if (record.backupKind === 'differential') {
      const base = await deps.records.findRecord(record.baseRecordId);
      if (base?.status !== 'success')
        failCheck(
          'restore',
          `the full baseline #${String(record.baseRecordId)} of this differential backup is missing`,
        );
      if (base !== undefined) chain.unshift(base);
    }
    const scratch = path.join(workDir, 'restore');
    await mkdir(scratch, { recursive: true, mode: 0o700 });
    const opened: Awaited<ReturnType<typeof open>>[] = [];
    const started = performance.now();
    try {
      for (const element of chain) opened.push(await open(element, element === record ? copy : null));
      const restored = await restoreFiles(
        ctx,
        opened.map((item) => item.stream),
        { sourcePaths: sourcePathsOf(task), targetPath: scratch },
      );
      rtoMs = performance.now() - started;
      pass('checksum', chain.map(checksumText).join('; '));
      pass('structure', `${String(chain.length)} archive(s) read to their end-of-archive marker`);
      pass(
        'restore',
        `${String(restored.entries)} entries (${String(restored.files)} files, ${bytesText(restored.bytes)}) of ${String(chain.length)} archive(s) restored into a scratch directory in ${(rtoMs / 1000).toFixed(1)} s`,
      );
    } catch (error) {
      if (signal.aborted) throw error;
      const cause = opened.map((item) => item.error()).find((item) => item !== null) ?? error;
      if (isChecksumError(cause)) failCheck('checksum', messageOf(cause));
      failCheck('restore', messageOf(error));
    } finally {
      for (const item of opened) {
        item.stream.destroy();
        await item.close();
      }
    }
    const manifest = decodeManifest(await deps.records.manifestOf(record.id));
    if (manifest.entries.length === 0) {
      pass('manifest', 'no manifest was recorded with this backup: the restored tree could not be compared');
      return 'restored; no manifest to compare';
    }
    const comparison = await compareTreeWithManifest(scratch, manifest, { signal });
    if (comparison.mismatches.length > 0)
      failCheck('manifest', `${comparison.summary}: ${comparison.mismatches.join('; ')}`.slice(0, 2000));
    pass('manifest', comparison.summary);
    return comparison.summary;
  };

  /**
   * Repository snapshots (SPEC §8.3 step 3): quick reads the snapshot and every chunk it
   * references once (ids recomputed); deep restores the snapshot into a scratch directory and
   * compares it with the record's manifest.
   */
  const repositoryDrill = async (): Promise<string> => {
    const encrypted = repositoryStatsOf(record)?.encrypted === true;
    const checksum = snapshotChecksumOf(record, copy.storageTargetId);
    const key = encrypted ? { encryptionKey: deps.encryptionKey } : {};
    const opened = await deps.targets.openBackend(copy.storageTargetId, { allowDisabled: true });
    try {
      if (mode === 'quick') {
        let verified;
        try {
          verified = await verifyRepository({
            backend: opened.backend,
            snapshotKey: copy.storagePath,
            checksum,
            ...key,
            signal,
          });
        } catch (error) {
          if (signal.aborted) throw error;
          if (error instanceof EngineError && error.code === 'REPOSITORY_CHECKSUM_MISMATCH')
            failCheck('checksum', messageOf(error));
          return failCheck('structure', messageOf(error));
        }
        pass('checksum', `snapshot sha256 ${checksum || 'not recorded'}`);
        const summary = `repository intact: ${String(verified.entries)} entries, ${String(verified.chunks)} unique chunks, ${bytesText(verified.bytes)} read and checked`;
        pass('structure', summary);
        return summary;
      }
      const scratch = path.join(workDir, 'restore');
      await mkdir(scratch, { recursive: true, mode: 0o700 });
      const started = performance.now();
      try {
        const restored = await restoreFromRepository({
          backend: opened.backend,
          snapshotKey: copy.storagePath,
          checksum,
          ...key,
          signal,
          log,
          sourcePaths: sourcePathsOf(task),
          targetPath: scratch,
        });
        rtoMs = performance.now() - started;
        pass('checksum', `snapshot sha256 ${checksum || 'not recorded'}; every chunk's id recomputed`);
        pass(
          'restore',
          `${String(restored.entries)} entries (${String(restored.files)} files, ${bytesText(restored.bytes)}) restored from the repository into a scratch directory in ${(rtoMs / 1000).toFixed(1)} s`,
        );
      } catch (error) {
        if (signal.aborted) throw error;
        if (error instanceof EngineError && error.code === 'REPOSITORY_CHECKSUM_MISMATCH')
          failCheck('checksum', messageOf(error));
        failCheck('restore', messageOf(error));
      }
      const manifest = decodeManifest(await deps.records.manifestOf(record.id));
      const comparison = await compareTreeWithManifest(scratch, manifest, { signal });
      if (comparison.mismatches.length > 0)
        failCheck('manifest', `${comparison.summary}: ${comparison.mismatches.join('; ')}`.slice(0, 2000));
      pass('manifest', comparison.summary);
      return comparison.summary;
    } finally {
      await opened.backend.close().catch(() => undefined);
    }
  };

  const sqliteDrill = async (): Promise<string> => {
    const started = performance.now();
    const spooled = await spool();
    pass('checksum', checksumText(record));
    let file = spooled;
    if (mode === 'deep') {
      file = path.join(workDir, 'restore', 'restored.db');
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await copyFile(spooled, file);
      rtoMs = performance.now() - started;
      pass('restore', `database file restored into a scratch directory in ${(rtoMs / 1000).toFixed(1)} s`);
    }
    const integrity = await verifySqliteArtifact(file, { tempDir: workDir });
    if (!integrity.ok) failCheck('integrity', integrity.summary);
    pass('integrity', integrity.summary);
    if (mode === 'quick') return integrity.summary;
    try {
      tableCounts.push(...sqliteTableCounts(file));
    } catch (error) {
      failCheck('row_counts', messageOf(error));
    }
    const rows = tableCounts.reduce((sum, table) => sum + table.rows, 0);
    const counted = `${String(tableCounts.length)} tables, ${String(rows)} rows`;
    pass('row_counts', counted);
    return `SQLite restored and integrity-checked: ${counted}`;
  };

  /** The server a deep dump drill imports into: the sandbox, else the task's own server. */
  const drillServer = async (kind: 'mysql' | 'postgresql'): Promise<DatabaseConnection> => {
    const sandbox = await deps.sandboxUrl(kind);
    if (sandbox !== '') {
      const server = sandboxConnection(sandbox, kind === 'mysql' ? 3306 : 5432);
      log('info', `importing into the sandbox server ${server.host}:${String(server.port)}`);
      return server;
    }
    const own = connectionOf(task, deps.secretBox);
    if (LOOPBACK_HOSTS.has(own.host.trim().toLowerCase()) && (await deps.isRemoteNode(record.nodeId)))
      failCheck(
        'restore',
        `the task's database server ${own.host} is local to its node, which this master cannot reach; set verify_sandbox_${kind} in the settings to drill it`,
      );
    log('info', `importing into throw-away databases on the task's server ${own.host}:${String(own.port)}`);
    return own;
  };

  const dumpDrill = async (kind: 'mysql' | 'postgresql'): Promise<string> => {
    const started = performance.now();
    if (mode === 'quick') {
      // Read the whole object (its SHA-256 is only known at the end), keep the head for the markers.
      const opened = await open(record, copy);
      let head: Buffer = Buffer.alloc(0);
      try {
        head = await readWholeKeepingHead(opened.stream);
      } catch (error) {
        if (signal.aborted) throw error;
        failCheck(isChecksumError(opened.error() ?? error) ? 'checksum' : 'download', messageOf(error));
      } finally {
        await opened.close();
      }
      pass('checksum', checksumText(record));
      const structure = await verifyDatabaseArtifact(kind, Readable.from([head]));
      if (!structure.ok) failCheck('structure', structure.summary);
      pass('structure', structure.summary);
      return structure.summary;
    }
    const spooled = await spool();
    pass('checksum', checksumText(record));
    const structure = await verifyDatabaseArtifact(kind, Readable.from([await readHead(spooled)]));
    if (!structure.ok) failCheck('structure', structure.summary);
    pass('structure', structure.summary);
    const server = await drillServer(kind);
    const scratchPrefix = `bx_drill_${String(request.verificationId)}`;
    const importStarted = performance.now();
    try {
      const result =
        kind === 'mysql'
          ? await drillMysqlDump(ctx, server, createReadStream(spooled), { scratchPrefix })
          : await drillPostgresDump(ctx, server, createReadStream(spooled), { scratchPrefix });
      // The RTO is download + verification + import; counting rows is the drill's own work.
      const measured = importStarted - started + result.importMs;
      rtoMs = measured;
      pass(
        'restore',
        `${String(result.databases.length)} database(s) imported into throw-away copies (${result.databases
          .map((database) => database.scratch)
          .join(', ')}) in ${(measured / 1000).toFixed(1)} s`,
      );
      tableCounts.push(...result.tables);
      pass('row_counts', result.summary);
      pass('cleanup', 'the throw-away databases were dropped');
      return result.summary;
    } catch (error) {
      if (signal.aborted || error instanceof DrillFailure) throw error;
      return failCheck('restore', messageOf(error));
    }
  };

  const saphanaDrill = async (): Promise<string> => {
    const opened = await open(record, copy);
    try {
      const result = await verifySaphanaTar(opened.stream);
      if (isChecksumError(opened.error())) failCheck('checksum', messageOf(opened.error()));
      pass('checksum', checksumText(record));
      if (!result.ok) failCheck('structure', result.summary);
      pass('structure', result.summary);
      if (mode === 'deep')
        failCheck(
          'restore',
          'a deep drill of SAP HANA backups needs a HANA system; only the quick checks ran',
        );
      return result.summary;
    } finally {
      opened.stream.destroy();
      await opened.close();
    }
  };

  try {
    log(
      'info',
      `${mode} drill of backup #${String(record.id)} (${record.fileName}, ${bytesText(record.fileSize)}) from storage target #${String(copy.storageTargetId)}`,
    );
    let summary: string;
    switch (type) {
      case 'file':
        summary = isRepositoryRecord(record) ? await repositoryDrill() : await fileDrill();
        break;
      case 'sqlite':
        summary = await sqliteDrill();
        break;
      case 'mysql':
      case 'postgresql':
        summary = await dumpDrill(type);
        break;
      case 'saphana':
        summary = await saphanaDrill();
        break;
      default:
        summary = failCheck('structure', `unsupported task type: ${task.type}`);
    }
    return { ok: true, summary, checks, tableCounts, rtoMs };
  } catch (error) {
    if (!(error instanceof DrillFailure)) throw error;
    return { ok: false, summary: error.message, checks, tableCounts, rtoMs };
  }
};

const HEAD_BYTES = 4096;

/** Reads a stream to its end, keeping only its first bytes. */
const readWholeKeepingHead = async (stream: Readable): Promise<Buffer> => {
  // Typed loosely on purpose: chunks of a stream are Buffers over any ArrayBuffer.
  const head: Buffer[] = [];
  let kept = 0;
  await pipeline(
    stream,
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        if (kept < HEAD_BYTES) {
          head.push(chunk.subarray(0, HEAD_BYTES - kept));
          kept += Math.min(chunk.length, HEAD_BYTES - kept);
        }
        done();
      },
    }),
  );
  return Buffer.concat(head);
};
