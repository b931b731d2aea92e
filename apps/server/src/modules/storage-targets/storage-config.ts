import {
  MASKED_SECRET,
  storageConfigSchemas,
  storageSecretFields,
  storageTypes,
  type StorageType,
} from '@backupx/contract';
import { AppError } from '../../lib/errors.ts';

/** A storage configuration as stored (decrypted): the parsed output of the type's schema. */
export type StorageConfigObject = Record<string, unknown>;

export const isSupportedStorageType = (type: string): type is StorageType =>
  (storageTypes as readonly string[]).includes(type);

export const requireStorageType = (type: string): StorageType => {
  if (!isSupportedStorageType(type)) {
    throw new AppError(
      'STORAGE_PROVIDER_UNSUPPORTED',
      `Storage type "${type}" is not supported (supported: ${storageTypes.join(', ')})`,
    );
  }
  return type;
};

/** Parses a config with its type's schema (defaults applied, text trimmed); zod's words on failure. */
export const validateStorageConfig = (type: StorageType, raw: unknown): StorageConfigObject => {
  const result = storageConfigSchemas[type].safeParse(raw);
  if (!result.success) {
    const message = result.error.issues
      .map((issue) => `${issue.path.map(String).join('.') || 'config'}: ${issue.message}`)
      .join('; ');
    throw new AppError('STORAGE_TARGET_INVALID_CONFIG', `Invalid ${type} configuration: ${message}`, {
      details: result.error.issues.map((issue) => ({
        path: ['config', ...issue.path.map(String)].join('.'),
        message: issue.message,
      })),
    });
  }
  return result.data;
};

const hasValue = (value: unknown): boolean => value !== undefined && value !== null && value !== '';

/** The config as read APIs return it: every secret field that holds a value reads `********`. */
export const maskStorageConfig = (type: StorageType, config: StorageConfigObject): StorageConfigObject => {
  const masked: StorageConfigObject = { ...config };
  for (const field of storageSecretFields(type)) {
    if (hasValue(masked[field])) masked[field] = MASKED_SECRET;
  }
  return masked;
};

/**
 * Update semantics of SPEC §4.3: incoming keys overwrite stored ones, absent keys keep theirs, and
 * a secret sent as `""` or `********` (what the edit form shows) keeps the stored secret.
 */
export const mergeStorageConfig = (
  type: StorageType,
  stored: StorageConfigObject,
  incoming: StorageConfigObject,
): StorageConfigObject => {
  const secrets = new Set(storageSecretFields(type));
  const merged = new Map(Object.entries(stored));
  for (const [key, value] of Object.entries(incoming)) {
    if (secrets.has(key) && (value === '' || value === MASKED_SECRET)) {
      // A masked placeholder for a secret that was never set must not become the secret itself.
      if (value === MASKED_SECRET && !hasValue(stored[key])) merged.delete(key);
      continue;
    }
    merged.set(key, value);
  }
  return Object.fromEntries(merged);
};

/** Secret values of a config, longest first (so a secret containing another is replaced whole). */
const secretValues = (type: StorageType, config: StorageConfigObject): string[] =>
  storageSecretFields(type)
    .map((field) => config[field])
    .filter((value): value is string => typeof value === 'string' && value.length >= 3)
    .sort((a, b) => b.length - a.length);

/** Removes any secret of the config from a message that is about to be shown, stored or logged. */
export const scrubSecrets = (message: string, type: StorageType, config: StorageConfigObject): string => {
  let scrubbed = message;
  for (const secret of secretValues(type, config)) scrubbed = scrubbed.split(secret).join(MASKED_SECRET);
  return scrubbed;
};

/** Names of the config keys whose values differ (for the audit detail; never the values). */
export const changedConfigKeys = (before: StorageConfigObject, after: StorageConfigObject): string[] => {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key])).sort();
};
