/**
 * @backupx/engine — the backup/restore/verify pipeline shared by the master and every agent.
 * Imports only @backupx/contract and node:* (plus protocol client libraries); side effects such as
 * spawning processes, the clock and secrets come in as parameters.
 */
export * from './errors.ts';
export * from './storage/types.ts';
export * from './storage/keys.ts';
export * from './storage/retry.ts';
export * from './storage/resilient.ts';
export * from './naming.ts';
export * from './sources/types.ts';
export * from './pipeline/compression.ts';
export * from './pipeline/bxenc.ts';
export * from './pipeline/sealed-key.ts';
export * from './pipeline/throttle.ts';
export * from './pipeline/digest.ts';
export * from './pipeline/fanout.ts';
export * from './pipeline/progress.ts';
export * from './pipeline/backup-pipeline.ts';
export * from './pipeline/restore-pipeline.ts';
export * from './sources/process.ts';
export * from './sources/mysql.ts';
export * from './sources/postgresql.ts';
export * from './sources/sqlite.ts';
export * from './sources/mongodb.ts';
export * from './sources/saphana.ts';
export * from './sources/database-discovery.ts';
export * from './verify/database-verifiers.ts';
export * from './verify/database-drill.ts';
export * from './backint/agent.ts';
export * from './sources/files/file-source.ts';
export * from './sources/files/file-restore.ts';
export * from './sources/files/manifest.ts';
export * from './sources/files/glob.ts';
export * from './sources/files/source-size.ts';
export * from './verify/tar-verifier.ts';
export * from './verify/file-drill.ts';
// Backends are loaded lazily through the registry; import one directly as
// `@backupx/engine/storage/<name>` when its extra helpers are needed.
export * from './storage/registry.ts';
export * from './repository/api.ts';
export * from './repository/chunker.ts';
export * from './repository/format.ts';
export * from './repository/repository-read.ts';
export * from './repository/repository-backup.ts';
export * from './repository/repository-prune.ts';
