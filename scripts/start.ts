// `npm start`: builds the console if needed, then runs the master (`backupx server`) in this process.
import { ensureWebBuild } from './web-build.ts';
import { main } from '../apps/cli/src/main.ts';

ensureWebBuild();
process.exitCode = await main(['server', ...process.argv.slice(2)], process.env);
