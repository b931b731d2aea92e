// Builds the console when its output is missing or older than its sources.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const webDir = path.join(root, 'apps', 'web');
const builtIndex = path.join(webDir, 'dist', 'index.html');
const sources = [
  path.join(webDir, 'src'),
  path.join(webDir, 'index.html'),
  path.join(webDir, 'vite.config.ts'),
  path.join(webDir, 'public'),
  path.join(root, 'packages', 'contract', 'src'),
];

const newestMtime = (entry: string): number => {
  if (!existsSync(entry)) return 0;
  const stats = statSync(entry);
  if (!stats.isDirectory()) return stats.mtimeMs;
  return readdirSync(entry).reduce(
    (newest, child) => Math.max(newest, newestMtime(path.join(entry, child))),
    stats.mtimeMs,
  );
};

/** True when dist/index.html is missing or older than any console source. */
export const webBuildIsStale = (): boolean =>
  !existsSync(builtIndex) || sources.some((source) => newestMtime(source) > statSync(builtIndex).mtimeMs);

export const ensureWebBuild = (): void => {
  if (!webBuildIsStale()) return;
  process.stdout.write('Building the web console (apps/web) …\n');
  const result = spawnSync('npm', ['run', 'build', '--workspace', '@backupx/web'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error('Building the web console failed (see the output above).');
};

if (import.meta.url === `file://${process.argv[1] ?? ''}`) ensureWebBuild();
