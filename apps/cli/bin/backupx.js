#!/usr/bin/env node
// The `backupx` executable. The product runs TypeScript directly on Node 24 (type stripping);
// when started by an older system Node, re-run with the Node 24 that `npm install` put in
// node_modules, so `npx backupx` works the same as the npm scripts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  let bundledNode = null;
  try {
    const require = createRequire(import.meta.url);
    const candidate = path.join(path.dirname(require.resolve('node/package.json')), 'bin', 'node');
    if (existsSync(candidate)) bundledNode = candidate;
  } catch {
    bundledNode = null;
  }
  if (bundledNode === null) {
    process.stderr.write(
      `backupx needs Node.js 24 (this is ${process.version}). Run "npm install" in the project, or install Node.js 24.\n`,
    );
    process.exit(2);
  }
  const result = spawnSync(bundledNode, [process.argv[1] ?? '', ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(result.status ?? 1);
}

const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2), process.env, process.argv[1] ?? '');
