import { readFileSync } from 'node:fs';

/**
 * The agent's version: the product version from the root package.json, read the same way as the
 * master's (apps/server/src/version.ts) without importing the server. The master compares it with
 * its own by major.minor to flag outdated agents (SPEC §11.3).
 */
export const AGENT_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
