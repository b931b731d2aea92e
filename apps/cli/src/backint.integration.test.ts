import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/backupx.js', import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), 'bx-backint-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = (executable: string, args: string[]) =>
  spawnSync(process.execPath, [executable, ...args], {
    cwd: work,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
    timeout: 60_000,
  });

describe('backupx backint (SAP HANA Backint) from the command line, on a local-disk target', () => {
  const storage = path.join(work, 'storage');
  const params = path.join(work, 'backint.par');
  writeFileSync(
    params,
    `STORAGE_TYPE = local_disk\nSTORAGE_CONFIG = {"basePath": "${storage}"}\nCOMPRESS = yes\nCATALOG_DB = ${path.join(work, 'catalog.db')}\n`,
  );
  const source = path.join(work, 'databackup_0_1');
  const data = randomBytes(300_000);
  writeFileSync(source, data);

  it('backs up, inquires and restores a file; hdbbackint dispatches the same way', () => {
    writeFileSync(path.join(work, 'in-backup'), `"${source}"\n`);
    const backup = run(bin, [
      'backint',
      '-f',
      'backup',
      '-i',
      'in-backup',
      '-o',
      'out-backup',
      '-p',
      params,
      '-u',
      'SYSTEMDB',
    ]);
    expect(backup.stderr).toBe('');
    expect(backup.status).toBe(0);
    const saved = readFileSync(path.join(work, 'out-backup'), 'utf8');
    const ebid = /^#SAVED (backupx-\d+-[0-9a-f]{16}) "/.exec(saved)?.[1];
    expect(ebid, saved).toBeDefined();

    const hdbbackint = path.join(work, 'hdbbackint');
    symlinkSync(bin, hdbbackint);
    writeFileSync(path.join(work, 'in-inquire'), '#NULL\n');
    const inquire = run(hdbbackint, ['-f', 'inquire', '-i', 'in-inquire', '-o', 'out-inquire', '-p', params]);
    expect(inquire.status).toBe(0);
    expect(readFileSync(path.join(work, 'out-inquire'), 'utf8')).toBe(`#BACKUP "${ebid ?? ''}"\n`);

    const restored = path.join(work, 'restored.bin');
    writeFileSync(path.join(work, 'in-restore'), `#EBID ${ebid ?? ''} "${restored}"\n`);
    const restore = run(bin, [
      'backint',
      '-f',
      'restore',
      '-i',
      'in-restore',
      '-o',
      'out-restore',
      '-p',
      params,
    ]);
    expect(restore.status).toBe(0);
    expect(readFileSync(path.join(work, 'out-restore'), 'utf8')).toBe(
      `#RESTORED "${ebid ?? ''}" "${restored}"\n`,
    );
    expect(readFileSync(restored).equals(data)).toBe(true);
  });

  it('exits 2 with usage when required flags are missing', () => {
    const missing = run(bin, ['backint', '-f', 'backup']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('-f, -i, -o and -p are required');
  });
});
