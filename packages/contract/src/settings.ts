import { z } from 'zod';
import { defineRoute } from './route.ts';

/** The value shown instead of a stored secret. Sending it back keeps the stored value. */
export const MASKED_SECRET = '********';

const booleanString = z.enum(['true', 'false']);
const nonNegativeIntString = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,4})$/, 'a whole number of days from 0 to 99999');
const httpUrlOrEmpty = z.union([
  z.literal(''),
  z.url({ protocol: /^https?$/, hostname: z.regexes.hostname }).max(2048),
]);
/** rclone-style bandwidth: empty/0 = unlimited, `10M`, `512k`, or `up:down` such as `1M:500k`. */
const bandwidthLimit = z
  .string()
  .regex(
    /^$|^(0|\d+(\.\d+)?[BKMGTP]?)(:(0|\d+(\.\d+)?[BKMGTP]?))?$/i,
    'rclone bandwidth syntax, e.g. 10M or 1M:500k',
  );

/**
 * A database server for deep drills, `scheme://user:password@host:port` (password percent-encoded),
 * or empty to drill on the task's own server.
 */
const sandboxUrl = (schemes: readonly string[]) =>
  z
    .string()
    .max(1024)
    .refine(
      (value) => {
        if (value === '' || value === MASKED_SECRET) return true;
        try {
          const url = new URL(value);
          return schemes.includes(url.protocol.slice(0, -1)) && url.hostname !== '' && url.username !== '';
        } catch {
          return false;
        }
      },
      `empty, or ${schemes[0] ?? ''}://user:password@host:port`,
    );

/** Allow-listed settings (SPEC §14.7). Values travel as strings, as in BackupX. */
export const settingsShape = {
  site_name: z.string().max(128),
  language: z.enum(['zh-CN', 'en-US']),
  timezone: z.string().max(64),
  backup_notification_enabled: booleanString,
  bandwidth_limit: bandwidthLimit,
  audit_webhook_url: httpUrlOrEmpty,
  audit_webhook_secret: z.string().max(256),
  audit_retention_days: nonNegativeIntString,
  /** Deep drills of MySQL/MariaDB backups restore into this server instead of the task's own. */
  verify_sandbox_mysql: sandboxUrl(['mysql', 'mariadb']),
  /** Deep drills of PostgreSQL backups restore into this server instead of the task's own. */
  verify_sandbox_postgresql: sandboxUrl(['postgresql', 'postgres']),
} as const;
export type SettingKey = keyof typeof settingsShape;
export const settingKeys = Object.keys(settingsShape) as SettingKey[];
/** Settings whose value is secret: masked on read. */
export const secretSettingKeys: readonly SettingKey[] = [
  'audit_webhook_secret',
  'verify_sandbox_mysql',
  'verify_sandbox_postgresql',
];

export const settingsSchema = z.object(settingsShape);
export type Settings = z.infer<typeof settingsSchema>;
export const settingsUpdateSchema = z.strictObject(settingsShape).partial();

export const settingsRoutes = {
  get: defineRoute({
    method: 'GET',
    path: '/api/settings',
    access: 'viewer',
    tag: 'settings',
    summary: 'Allow-listed settings (secrets masked)',
    response: settingsSchema,
  }),
  update: defineRoute({
    method: 'PUT',
    path: '/api/settings',
    access: 'admin',
    tag: 'settings',
    summary: 'Update settings; unknown keys are refused',
    body: settingsUpdateSchema,
    invalidInputCode: 'SETTINGS_INVALID',
    response: settingsSchema,
  }),
} as const;
