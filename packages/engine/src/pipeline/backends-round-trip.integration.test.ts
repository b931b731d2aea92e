import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeTree, patternStream } from '@backupx/testkit';
import { startAzurite } from '@backupx/testkit/services/azurite';
import { startNginxWebdav } from '@backupx/testkit/services/nginx-webdav';
import { startS3rver } from '@backupx/testkit/services/s3rver';
import { startSshd } from '@backupx/testkit/services/sshd';
import { startVsftpd } from '@backupx/testkit/services/vsftpd';
import { masterObjectKey } from '../naming.ts';
import { backupFiles } from '../sources/files/file-source.ts';
import { restoreFiles } from '../sources/files/file-restore.ts';
import { createStorageBackend } from '../storage/registry.ts';
import { runBackupPipeline } from './backup-pipeline.ts';
import { openArtifact } from './restore-pipeline.ts';

/**
 * A file backup of a generated tree (unicode names, empty files and dirs, symlinks, modes,
 * mtimes, 10 000 small files and a big file) through every backend on its real server, restored
 * and compared entry by entry. The big file is BACKUPX_TEST_BACKEND_BIG_FILE_BYTES (default
 * 512 MiB; the local-disk round trip in files.integration.test.ts uses 2 GiB).
 */
const bigFileBytes = Number(process.env.BACKUPX_TEST_BACKEND_BIG_FILE_BYTES ?? 512 * 1024 * 1024);
const key = randomBytes(32);
const root = mkdtempSync(path.join(tmpdir(), 'bx-backends-rt-'));
const source = path.join(root, 'tree');
const stops: (() => Promise<void>)[] = [];
const ctx = {
  signal: new AbortController().signal,
  log: () => undefined,
  workDir: root,
  now: new Date(Date.UTC(2026, 10, 21, 3, 0, 0)),
  spawn,
  env: { PATH: process.env.PATH },
};

beforeAll(async () => {
  mkdirSync(path.join(source, 'données', 'vide'), { recursive: true });
  mkdirSync(path.join(source, 'privé'), { mode: 0o700 });
  chmodSync(path.join(source, 'privé'), 0o700);
  writeFileSync(path.join(source, 'données', '日本語 ✓.txt'), 'unicode\n');
  writeFileSync(path.join(source, 'empty'), '');
  writeFileSync(path.join(source, 'privé', 'key'), 'k', { mode: 0o600 });
  chmodSync(path.join(source, 'privé', 'key'), 0o600);
  writeFileSync(path.join(source, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  chmodSync(path.join(source, 'run.sh'), 0o755);
  symlinkSync('données/日本語 ✓.txt', path.join(source, 'relative-link'));
  symlinkSync('/does/not/exist', path.join(source, 'dangling-link'));
  utimesSync(
    path.join(source, 'empty'),
    new Date('2021-01-01T00:00:00.250Z'),
    new Date('2021-01-01T00:00:00.250Z'),
  );
  for (let d = 0; d < 50; d += 1) {
    const dir = path.join(source, 'small', `d${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 200; f += 1) writeFileSync(path.join(dir, `f${f}.txt`), `${d}/${f}\n`.repeat(f % 7));
  }
  await pipeline(patternStream(bigFileBytes, { seed: 11 }), createWriteStream(path.join(source, 'big.bin')));
}, 300_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
}, 120_000);

const roundTrip = async (type: string, config: Record<string, unknown>) => {
  const backend = await createStorageBackend(type, config);
  try {
    await backend.testConnection();
    const artifact = await backupFiles(ctx, {
      taskName: `tree ${type}`,
      sourcePaths: [source],
      excludePatterns: [],
    });
    const result = await runBackupPipeline({
      artifact,
      compression: 'zstd',
      encryptionKey: key,
      targets: [{ name: type, backend }],
      objectKeyFor: (fileName) => masterObjectKey('file', ctx.now, fileName),
      signal: ctx.signal,
      log: ctx.log,
    });
    expect(result.targets[0]?.status).toBe('success');
    const target = mkdtempSync(path.join(root, `restore-${type}-`));
    const { stream } = await openArtifact(
      { backend, objectKey: result.objectKey, fileName: result.fileName, sha256: result.sha256 },
      { decryptionKey: key },
    );
    await restoreFiles(ctx, [stream], { sourcePaths: [source], targetPath: target });
    expect(describeTree(path.join(target, 'tree'))).toEqual(describeTree(source));
    rmSync(target, { recursive: true, force: true });
  } finally {
    await backend.close();
  }
};

describe('file backups round-trip through every backend on its real server', () => {
  it('S3 (s3rver)', async () => {
    const s3 = await startS3rver({ bucket: 'roundtrip' });
    stops.push(() => s3.stop());
    await roundTrip('s3', {
      endpoint: s3.url,
      region: s3.region,
      bucket: s3.bucket,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      forcePathStyle: true,
    });
  }, 600_000);

  it('Azure Blob (Azurite)', async () => {
    const azurite = await startAzurite();
    stops.push(() => azurite.stop());
    await roundTrip('azureblob', {
      account: azurite.account,
      key: azurite.accountKey,
      endpoint: azurite.url,
      root: 'roundtrip/backups',
    });
  }, 600_000);

  it('WebDAV (nginx)', async () => {
    const dav = await startNginxWebdav();
    stops.push(() => dav.stop());
    await roundTrip('webdav', {
      endpoint: dav.url,
      username: dav.username,
      password: dav.password,
      basePath: 'roundtrip',
    });
  }, 600_000);

  it('SFTP (OpenSSH)', async () => {
    const sshd = await startSshd();
    stops.push(() => sshd.stop());
    await roundTrip('sftp', {
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      key_pem: sshd.privateKeyPem,
      host_key_sha256: sshd.hostKeySha256,
      root: path.join(sshd.dataDir, 'roundtrip'),
    });
  }, 600_000);

  it('FTPS (vsftpd)', async () => {
    const ftp = await startVsftpd({ tls: true });
    stops.push(() => ftp.stop());
    mkdirSync(path.join(ftp.dataDir, 'roundtrip'), { recursive: true, mode: 0o777 });
    await roundTrip('ftp', {
      host: ftp.host,
      port: ftp.port,
      username: ftp.username,
      password: ftp.password,
      basePath: 'roundtrip',
      useTLS: true,
      insecureSkipVerify: true,
    });
  }, 600_000);

  it('rclone (local remote through the rclone binary)', async () => {
    const remoteRoot = mkdtempSync(path.join(root, 'rclone-'));
    await roundTrip('rclone', { backend: 'local', root: remoteRoot });
  }, 600_000);
});
