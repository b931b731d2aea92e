import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configSchema, type MasterConfig } from './schema.ts';

/** Raised when configuration is invalid; the message names the key and where it came from. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Source = 'default' | 'file' | 'env' | 'flag';
type RawConfig = Record<string, Record<string, unknown>>;

/** Config file search order when `--config` is absent (SPEC §14.10). */
export const defaultConfigPaths = ['./config.yaml', './server/config.yaml', '/etc/backupx/config.yaml'];

export const envNameFor = (section: string, key: string): string => `BACKUPX_${section}_${key}`.toUpperCase();

export interface LoadConfigInput {
  /** Explicit `--config` path (must exist). */
  configPath?: string;
  env: Record<string, string | undefined>;
  /** Values from CLI flags, keyed `section.key`. */
  flags?: Record<string, string | number | undefined>;
  cwd?: string;
}

export interface LoadedConfig {
  config: Readonly<MasterConfig>;
  /** The file that was read, if any. */
  configFile: string | null;
}

const sectionKeys = (): Record<string, string[]> =>
  Object.fromEntries(
    Object.entries(configSchema.shape).map(([section, schema]) => [section, Object.keys(schema.shape)]),
  );

/** Reads file (YAML) + env (`BACKUPX_*`) + flags once, validates with one schema, and freezes the result. */
export const loadConfig = (input: LoadConfigInput): LoadedConfig => {
  const cwd = input.cwd ?? process.cwd();
  const sources = new Map<string, Source>();
  const raw: RawConfig = {};
  const known = sectionKeys();

  const set = (section: string, key: string, value: unknown, source: Source) => {
    raw[section] ??= {};
    raw[section][key] = value;
    sources.set(`${section}.${key}`, source);
  };

  let configFile: string | null = null;
  if (input.configPath !== undefined) {
    configFile = path.resolve(cwd, input.configPath);
    if (!existsSync(configFile)) throw new ConfigError(`Config file not found: ${configFile}`);
  } else {
    configFile =
      defaultConfigPaths.map((candidate) => path.resolve(cwd, candidate)).find((p) => existsSync(p)) ?? null;
  }
  if (configFile !== null) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(configFile, 'utf8'));
    } catch (error) {
      throw new ConfigError(`Config file ${configFile} is not valid YAML: ${(error as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new ConfigError(`Config file ${configFile} must be a mapping of sections`);
      }
      for (const [section, values] of Object.entries(parsed as Record<string, unknown>)) {
        if (!(section in known))
          throw new ConfigError(`Unknown config section "${section}" in ${configFile}`);
        if (values === null || values === undefined) continue;
        if (typeof values !== 'object' || Array.isArray(values)) {
          throw new ConfigError(`Config section "${section}" in ${configFile} must be a mapping`);
        }
        for (const [key, value] of Object.entries(values as Record<string, unknown>)) {
          if (!known[section]?.includes(key))
            throw new ConfigError(`Unknown config key "${section}.${key}" in ${configFile}`);
          set(section, key, value, 'file');
        }
      }
    }
  }

  for (const [section, keys] of Object.entries(known)) {
    for (const key of keys) {
      const value = input.env[envNameFor(section, key)];
      if (value !== undefined) set(section, key, value, 'env');
    }
  }

  for (const [dotted, value] of Object.entries(input.flags ?? {})) {
    if (value === undefined) continue;
    const [section = '', key = ''] = dotted.split('.');
    set(section, key, value, 'flag');
  }

  for (const section of Object.keys(known)) raw[section] ??= {};

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const [section, key] = issue.path.map(String);
      const dotted = key === undefined ? String(section) : `${String(section)}.${key}`;
      const source = sources.get(dotted);
      const origin =
        source === 'env'
          ? ` (from ${envNameFor(String(section), String(key))})`
          : source === 'file'
            ? ` (from ${configFile ?? 'config file'})`
            : source === 'flag'
              ? ' (from a command-line flag)'
              : '';
      return `${dotted}${origin}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return { config: deepFreeze(result.data), configFile };
};

const deepFreeze = <T>(value: T): Readonly<T> => {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
};
