import { execFile } from 'node:child_process';
import type { RcloneBackendInfo } from '@backupx/contract';

/** Backends that wrap other remotes (SPEC §4.2) and `local` (that is `local_disk`): not storage of their own. */
const EXCLUDED_BACKENDS = new Set(['union', 'crypt', 'chunker', 'compress', 'hasher', 'combine', 'local']);
const CATALOGUE_TIMEOUT_MS = 20_000;

interface RcloneProviderOption {
  Name?: unknown;
  Help?: unknown;
  Required?: unknown;
  IsPassword?: unknown;
  Advanced?: unknown;
  Hide?: unknown;
}
interface RcloneProvider {
  Name?: unknown;
  Prefix?: unknown;
  Description?: unknown;
  Hide?: unknown;
  Options?: unknown;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** Turns `rclone config providers` JSON into the catalogue (hidden options and `description` left out). */
export const parseRcloneProviders = (json: string): RcloneBackendInfo[] => {
  const providers = JSON.parse(json) as unknown;
  if (!Array.isArray(providers)) return [];
  const catalogue: RcloneBackendInfo[] = [];
  for (const provider of providers as RcloneProvider[]) {
    // The prefix (`s3`, `gcs`, `acd`) is what rclone accepts as `type` and fits our backend name rule.
    const name = text(provider.Prefix) || text(provider.Name);
    if (!/^[a-z0-9]+$/.test(name) || EXCLUDED_BACKENDS.has(name) || provider.Hide === true) continue;
    const options = (Array.isArray(provider.Options) ? (provider.Options as RcloneProviderOption[]) : [])
      .filter((option) => (option.Hide === 0 || option.Hide === undefined) && text(option.Name) !== '')
      .filter((option) => text(option.Name) !== 'description')
      .map((option) => ({
        key: text(option.Name),
        label: text(option.Help).split('\n')[0] ?? '',
        required: option.Required === true,
        isPassword: option.IsPassword === true,
        advanced: option.Advanced === true,
      }));
    catalogue.push({ name, description: text(provider.Description), options });
  }
  return catalogue.sort((a, b) => a.name.localeCompare(b.name));
};

const runProviders = (binary: string): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(
      binary,
      ['config', 'providers'],
      { timeout: CATALOGUE_TIMEOUT_MS, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout) => {
        if (error) reject(new Error(`rclone config providers failed: ${error.message}`, { cause: error }));
        else resolve(stdout);
      },
    );
  });

export interface RcloneCatalogue {
  /** The backends of the installed rclone; empty when rclone is missing or fails (logged). */
  list(): Promise<RcloneBackendInfo[]>;
}

/** Asks rclone once per process (its backends do not change while we run); a failure is retried next call. */
export const createRcloneCatalogue = (deps: {
  rcloneBinary?: string;
  onError?: (error: unknown) => void;
}): RcloneCatalogue => {
  let cached: Promise<RcloneBackendInfo[]> | null = null;
  return {
    async list() {
      cached ??= runProviders(deps.rcloneBinary ?? 'rclone').then(parseRcloneProviders);
      try {
        return await cached;
      } catch (error) {
        cached = null;
        deps.onError?.(error);
        return [];
      }
    },
  };
};
