import type { z } from 'zod';
import {
  MASKED_SECRET,
  notificationConfigSchemas,
  notificationSecretFields,
  type NotificationChannelConfig,
  type NotificationType,
} from '@backupx/contract';
import { AppError } from '../../lib/errors.ts';
import type { SecretBox } from '../../lib/crypto.ts';

type RawConfig = Record<string, unknown>;

/** Validates a channel configuration for its type; NOTIFICATION_INVALID names the bad fields (never values). */
export const parseChannelConfig = (type: NotificationType, raw: RawConfig): NotificationChannelConfig => {
  const result = (notificationConfigSchemas[type] as z.ZodType).safeParse(raw);
  if (!result.success) {
    const details = result.error.issues.map((issue) => ({
      path: ['config', ...issue.path.map(String)].join('.'),
      message: issue.message,
    }));
    throw new AppError(
      'NOTIFICATION_INVALID',
      `Invalid ${type} configuration: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`,
      { details },
    );
  }
  return { type, config: result.data } as NotificationChannelConfig;
};

const keepsStored = (value: unknown): boolean =>
  value === undefined || value === '' || value === MASKED_SECRET;

/**
 * What the client sent, with each masked, empty or absent secret replaced by the stored value
 * (only when the type did not change) and `null` meaning "clear this secret".
 */
export const mergeSecrets = (
  type: NotificationType,
  incoming: RawConfig,
  stored: { type: string; config: RawConfig } | null,
): RawConfig => {
  const merged: RawConfig = { ...incoming };
  for (const field of notificationSecretFields(type)) {
    const value = incoming[field];
    if (value === null) {
      merged[field] = '';
    } else if (keepsStored(value)) {
      const previous = stored !== null && stored.type === type ? stored.config[field] : undefined;
      if (typeof previous === 'string' && previous !== '') merged[field] = previous;
      else if (value === MASKED_SECRET) merged[field] = '';
    }
  }
  return merged;
};

/** The configuration as the API shows it: secrets that hold a value become `********`. */
export const maskChannelConfig = (
  channel: NotificationChannelConfig,
): { config: RawConfig; maskedFields: string[] } => {
  const config: RawConfig = { ...channel.config };
  const maskedFields: string[] = [];
  for (const field of notificationSecretFields(channel.type)) {
    const value = config[field];
    if (typeof value === 'string' && value !== '') {
      config[field] = MASKED_SECRET;
      maskedFields.push(field);
    }
  }
  return { config, maskedFields };
};

/** Secret values of a configuration, to scrub them from error messages. */
export const secretValuesOf = (channel: NotificationChannelConfig): string[] =>
  notificationSecretFields(channel.type)
    .map((field) => (channel.config as RawConfig)[field])
    .filter((value): value is string => typeof value === 'string' && value.length >= 4);

/** Encrypts a validated configuration for the `config_ciphertext` column. */
export const sealChannelConfig = (secretBox: SecretBox, channel: NotificationChannelConfig): string =>
  secretBox.seal(JSON.stringify(channel.config));

/** Decrypts and re-validates a stored configuration. */
export const openChannelConfig = (
  secretBox: SecretBox,
  type: string,
  ciphertext: string,
): NotificationChannelConfig => {
  if (!(type in notificationConfigSchemas)) throw new Error(`unknown notification type ${type}`);
  const raw = JSON.parse(secretBox.open(ciphertext)) as RawConfig;
  return parseChannelConfig(type as NotificationType, raw);
};
