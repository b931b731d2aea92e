import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

/**
 * A directory tree as comparable text: per relative path its kind, mode, mtime (ms), size and
 * SHA-256 — two trees restore byte-exactly when their descriptions are equal.
 */
export const describeTree = (root: string): Record<string, string> => {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full);
      const stats = lstatSync(full);
      if (stats.isSymbolicLink()) out[rel] = `link ${readlinkSync(full)}`;
      else if (stats.isDirectory()) {
        out[rel] = `dir ${(stats.mode & 0o7777).toString(8)}`;
        walk(full);
      } else {
        const hash = createHash('sha256').update(readFileSync(full)).digest('hex');
        out[rel] =
          `file ${(stats.mode & 0o7777).toString(8)} ${Math.floor(stats.mtimeMs)} ${stats.size} ${hash}`;
      }
    }
  };
  walk(root);
  return out;
};

/**
 * Writes a small tree with what breaks naive archivers: unicode names, an empty file and an empty
 * directory, a symlink, unusual modes, fixed mtimes, and `files` numbered small files.
 */
export const writeSampleTree = (root: string, options: { files?: number; bigBytes?: number } = {}): void => {
  mkdirSync(path.join(root, 'données', 'empty-dir'), { recursive: true });
  mkdirSync(path.join(root, 'nested', 'deeper'), { recursive: true });
  writeFileSync(path.join(root, 'données', 'résumé ✓.txt'), 'ünïcödé content\n');
  writeFileSync(path.join(root, 'empty.bin'), '');
  writeFileSync(path.join(root, 'nested', 'deeper', 'script.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(path.join(root, 'nested', 'deeper', 'script.sh'), 0o750);
  writeFileSync(path.join(root, 'nested', 'private.key'), 'secret-ish');
  chmodSync(path.join(root, 'nested', 'private.key'), 0o600);
  symlinkSync('nested/deeper/script.sh', path.join(root, 'link-to-script'));
  const many = path.join(root, 'many');
  mkdirSync(many);
  for (let index = 0; index < (options.files ?? 50); index += 1)
    writeFileSync(
      path.join(many, `file-${String(index).padStart(5, '0')}.txt`),
      `file ${String(index)}\n`.repeat(index % 7),
    );
  if ((options.bigBytes ?? 0) > 0) {
    const big = Buffer.alloc(options.bigBytes ?? 0);
    for (let offset = 0; offset < big.length; offset += 4096)
      big.writeUInt32LE((offset * 2654435761) >>> 0, offset);
    writeFileSync(path.join(root, 'big.bin'), big);
  }
  const fixed = new Date('2025-06-01T12:00:00.000Z');
  for (const rel of ['données/résumé ✓.txt', 'empty.bin', 'nested/private.key'])
    utimesSync(path.join(root, rel), fixed, fixed);
};

/** Every file under `root` as sorted relative paths (hidden and partial uploads included). */
export const filesUnder = (root: string): string[] => {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(path.relative(root, full));
    }
  };
  walk(root);
  return out.sort();
};
