// Writes docs/openapi.json from the contract (`npm run openapi`); a test fails when it is stale.
import { writeFileSync } from 'node:fs';
import { allRoutes } from '@backupx/contract';
import { buildOpenApiDocument } from '../apps/server/src/http/openapi.ts';
import { VERSION } from '../apps/server/src/version.ts';

const target = new URL('../docs/openapi.json', import.meta.url);
writeFileSync(target, JSON.stringify(buildOpenApiDocument(allRoutes, VERSION), null, 2) + '\n');
process.stdout.write(`wrote ${target.pathname}\n`);
