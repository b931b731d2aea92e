// A deterministic mixed corpus: large compressible text-like files, large random files and many
// small files, totalling `totalBytes`. Same bytes every time for the same size.
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { patternStream } from '@backupx/testkit';

const MiB = 1024 * 1024;

const words =
  'backup restore archive snapshot storage target schedule retention verify replicate node agent master record task'.split(
    ' ',
  );

/** Compressible "log-like" text (about 4–5× with zstd -3). */
const textChunk = (seed: number, bytes: number): Buffer => {
  let state = seed >>> 0 || 1;
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const line = `2026-11-21T08:${String((state >>> 3) % 60).padStart(2, '0')}:00Z level=info ${words[(state >>> 5) % words.length] ?? ''} id=${state >>> 0} ${words[(state >>> 9) % words.length] ?? ''} bytes=${(state >>> 11) % 100000}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
};

export const buildCorpus = async (
  root: string,
  totalBytes: number,
): Promise<{ files: number; bytes: number }> => {
  const marker = path.join(root, '.corpus-complete');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === String(totalBytes)) {
    return JSON.parse(readFileSync(path.join(root, '.corpus-stats'), 'utf8')) as {
      files: number;
      bytes: number;
    };
  }
  mkdirSync(root, { recursive: true });
  let files = 0;
  let bytes = 0;
  // ~45 % compressible large files, ~45 % random large files, ~10 % small files (~20k per GiB).
  const largeShare = Math.floor((totalBytes * 0.45) / (64 * MiB));
  for (let i = 0; i < Math.max(1, largeShare); i += 1) {
    const dir = path.join(root, 'logs');
    mkdirSync(dir, { recursive: true });
    const out = createWriteStream(path.join(dir, `app-${i}.log`));
    for (let written = 0; written < 64 * MiB; written += 4 * MiB)
      out.write(textChunk(i * 1000 + written, 4 * MiB));
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    files += 1;
    bytes += 64 * MiB;
  }
  for (let i = 0; i < Math.max(1, largeShare); i += 1) {
    const dir = path.join(root, 'media');
    mkdirSync(dir, { recursive: true });
    await pipeline(
      patternStream(64 * MiB, { seed: 7000 + i }),
      createWriteStream(path.join(dir, `video-${i}.bin`)),
    );
    files += 1;
    bytes += 64 * MiB;
  }
  const smallCount = Math.round((20_000 * totalBytes) / (1024 * MiB));
  const smallBytes = Math.max(512, Math.floor((totalBytes * 0.1) / Math.max(1, smallCount)));
  for (let i = 0; i < smallCount; i += 1) {
    const dir = path.join(root, 'src', `pkg-${Math.floor(i / 200)}`);
    if (i % 200 === 0) mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `file-${i}.txt`), textChunk(i + 1, smallBytes));
    files += 1;
    bytes += smallBytes;
  }
  writeFileSync(path.join(root, '.corpus-stats'), JSON.stringify({ files, bytes }));
  writeFileSync(marker, String(totalBytes));
  return { files, bytes };
};
