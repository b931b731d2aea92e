// `npm test`: prepares the real services the suites need, then runs unit, integration and e2e tests.
// `npm test -- --project unit` (or any vitest arguments) narrows the run.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  aptInstall,
  ensureChromium,
  ensureMariadb,
  ensurePostgres,
  integrationPackages,
  ServiceSetupError,
} from './services.ts';
import { ensureWebBuild } from './web-build.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const projectIndex = args.indexOf('--project');
const projects = projectIndex >= 0 ? [args[projectIndex + 1]] : ['unit', 'integration', 'e2e'];

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `Tests need Node.js 24 (this is ${process.version}); run them through npm after "npm install".\n`,
  );
  process.exit(2);
}

try {
  if (projects.some((project) => project === 'integration' || project === 'e2e')) {
    aptInstall(integrationPackages);
    await ensurePostgres();
    await ensureMariadb();
  }
  if (projects.includes('e2e')) {
    ensureChromium();
    ensureWebBuild();
  }
} catch (error) {
  if (error instanceof ServiceSetupError) {
    process.stderr.write(`\nCannot prepare the test services: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

const result = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...args], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
