// Writes the generated reference docs: docs/openapi.json and docs/errors.md (`npm run docs`).
// http.integration.test.ts fails when either is stale.
import { writeFileSync } from 'node:fs';
import { allRoutes, errorCatalog } from '@backupx/contract';
import { buildOpenApiDocument } from '../apps/server/src/http/openapi.ts';
import { VERSION } from '../apps/server/src/version.ts';

export const renderErrorsMarkdown = (): string => {
  const rows = Object.entries(errorCatalog).map(
    ([code, entry]) => `| \`${code}\` | ${entry.status} | ${entry.description} |`,
  );
  return [
    '# Error codes',
    '',
    'Every error response is `{"code": "<CODE>", "message": "<text>", "details"?: [{"path", "message"}]}` with the HTTP status below.',
    'Clients branch on the status and `code`, never on `message`. Codes are never renamed or reused.',
    'Generated from `packages/contract/src/errors.ts` by `npm run docs`.',
    '',
    '| code | HTTP | meaning |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
};

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  writeFileSync(
    new URL('../docs/openapi.json', import.meta.url),
    JSON.stringify(buildOpenApiDocument(allRoutes, VERSION), null, 2) + '\n',
  );
  writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsMarkdown());
  process.stdout.write('wrote docs/openapi.json and docs/errors.md\n');
}
