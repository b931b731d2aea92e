import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import layeringPlugin from './layering.js';

const lint = (filename: string, code: string) => {
  const linter = new Linter({ configType: 'flat' });
  return linter
    .verify(
      code,
      [
        {
          files: ['**/*.ts', '**/*.tsx'],
          plugins: { backupx: layeringPlugin },
          rules: { 'backupx/layering': 'error' },
          languageOptions: { parser: tseslint.parser, sourceType: 'module', ecmaVersion: 'latest' },
        },
      ],
      { filename: `${process.cwd()}/${filename}` },
    )
    .map((message) => message.message);
};

describe('layering lint rule', () => {
  it.each([
    ['packages/contract/src/x.ts', "import fs from 'node:fs';", /contract imports only zod/],
    ['packages/contract/src/x.ts', "import { z } from 'react';", /contract imports only zod/],
    ['packages/engine/src/x.ts', "import Fastify from 'fastify';", /engine imports contract/],
    ['packages/engine/src/x.ts', "import { x } from '@backupx/server';", /engine imports contract/],
    ['apps/web/src/x.ts', "import { readFile } from 'node:fs/promises';", /web imports only/],
    ['apps/web/src/x.ts', "import { x } from '@backupx/engine';", /web imports only/],
    ['apps/agent/src/x.ts', "import { x } from '@backupx/server';", /never imports the server/],
    [
      'apps/server/src/modules/users/users.routes.ts',
      "import { x } from './users.repository.ts';",
      /routes talk to services/,
    ],
    [
      'apps/server/src/modules/users/users.routes.ts',
      "import { sql } from 'kysely';",
      /routes talk to services/,
    ],
    [
      'apps/server/src/modules/users/users.service.ts',
      "import type { FastifyReply } from 'fastify';",
      /services know nothing of HTTP/,
    ],
    [
      'apps/server/src/modules/users/users.repository.ts',
      "import { x } from './users.service.ts';",
      /repositories never call services/,
    ],
    ['e2e/x.e2e.ts', "import { x } from '@backupx/server';", /only over HTTP/],
    ['packages/engine/src/x.ts', "export { x } from 'kysely';", /engine imports contract/],
    ['packages/engine/src/x.ts', "const m = await import('pg');", /engine imports contract/],
  ])('%s: %s is refused', (file, code, reason) => {
    expect(lint(file, code).join('\n')).toMatch(reason);
  });

  it.each([
    ['packages/contract/src/x.ts', "import { z } from 'zod'; import { y } from './y.ts';"],
    ['packages/engine/src/x.ts', "import fs from 'node:fs'; import { z } from '@backupx/contract';"],
    ['apps/web/src/x.ts', "import { apiRoutes } from '@backupx/contract'; import React from 'react';"],
    ['apps/server/src/modules/users/users.routes.ts', "import { x } from './users.service.ts';"],
    ['apps/server/src/modules/users/users.service.ts', "import { x } from './users.repository.ts';"],
  ])('%s: %s is allowed', (file, code) => {
    expect(lint(file, code)).toEqual([]);
  });
});
