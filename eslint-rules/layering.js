// @ts-check
/**
 * Enforces the layering rules of docs/architecture.md §3 on every import.
 * A rule names the files it governs and the import specifiers those files may not use.
 */
import path from 'node:path';

/** @typedef {{ files: RegExp, deny: RegExp[], why: string, except?: RegExp }} LayerRule */

const workspacePackages = /^@backupx\/(server|agent|cli|web|engine|testkit|contract)(\/|$)/;

/** @type {LayerRule[]} */
const layerRules = [
  {
    files: /^packages\/contract\/src\//,
    deny: [/^(?!zod(\/|$))(?!\.{1,2}\/)/],
    why: 'contract imports only zod (it must stay browser-safe)',
  },
  {
    files: /^packages\/engine\/src\//,
    deny: [
      /^fastify/,
      /^@fastify\//,
      /^kysely/,
      /^pg$/,
      /^better-sqlite3/,
      /^@backupx\/(server|agent|cli|web)(\/|$)/,
    ],
    except: /\.test\.ts$/,
    why: 'engine imports contract and node:* only, never the server, agent, web or a database driver',
  },
  {
    files: /^apps\/web\/src\//,
    deny: [/^node:/, /^@backupx\/(?!contract(\/|$))/],
    why: 'web imports only @backupx/contract among workspace packages, and nothing from node:',
  },
  {
    files: /^apps\/agent\/src\//,
    deny: [/^@backupx\/(server|cli|web)(\/|$)/, /^fastify/, /^kysely/],
    why: 'the agent never imports the server',
  },
  {
    files: /^apps\/server\/src\/modules\/.*\.routes\.ts$/,
    deny: [/^kysely/, /\.repository(\.ts)?$/, /^better-sqlite3/, /^pg$/],
    why: 'routes talk to services, never to repositories or the database',
  },
  {
    files: /^apps\/server\/src\/.*\.service\.ts$/,
    deny: [/^fastify/, /^@fastify\//, /\.routes(\.ts)?$/],
    why: 'services know nothing of HTTP',
  },
  {
    files: /^apps\/server\/src\/.*\.repository\.ts$/,
    deny: [/\.service(\.ts)?$/, /^fastify/, /\.routes(\.ts)?$/],
    why: 'repositories never call services or HTTP',
  },
  {
    files: /^e2e\//,
    deny: [/^@backupx\/(server|engine|agent|cli|web)(\/|$)/],
    why: 'e2e talks to the product only over HTTP and the CLI',
  },
];

/** @type {import('eslint').Rule.RuleModule} */
const layering = {
  meta: {
    type: 'problem',
    docs: { description: 'Enforce the package and module layering of docs/architecture.md §3' },
    schema: [],
  },
  create(context) {
    const relativeFile = path.relative(context.cwd, context.filename).split(path.sep).join('/');
    const applicable = layerRules.filter(
      (rule) => rule.files.test(relativeFile) && !rule.except?.test(relativeFile),
    );
    if (applicable.length === 0) return {};
    /** @param {import('estree').Node} node @param {unknown} source */
    const check = (node, source) => {
      if (typeof source !== 'string') return;
      for (const rule of applicable) {
        if (rule.deny.some((pattern) => pattern.test(source))) {
          context.report({ node, message: `Import of '${source}' breaks layering: ${rule.why}.` });
        }
      }
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};

export { workspacePackages };
export default { rules: { layering } };
