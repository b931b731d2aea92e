import { z } from 'zod';
import { defineRoute } from './route.ts';
import { deletedSchema, idParams, idSchema, timestampSchema } from './common.ts';
import { eventTypeSchema, type EventType } from './events.ts';

/** Channel kinds (SPEC §13.3). */
export const notificationTypes = ['email', 'webhook', 'telegram'] as const;
export const notificationTypeSchema = z.enum(notificationTypes);
export type NotificationType = z.infer<typeof notificationTypeSchema>;

/** Title and body of the message every test send delivers (SPEC §13.4). */
export const NOTIFICATION_TEST_TITLE = 'BackupX 通知测试';
export const NOTIFICATION_TEST_BODY = '这是一条来自 BackupX 的测试通知。';

/** Field metadata for forms: `secret` fields are write-only (masked as `********` on read). */
export interface NotificationFieldMeta {
  secret?: boolean;
}

const secret = <T extends z.ZodType>(schema: T) => schema.meta({ secret: true });
const httpUrl = z.url({ protocol: /^https?$/, hostname: z.regexes.hostname }).max(2048);
/** No CR or LF: header values are also stripped of them on send (header injection, SPEC §17.3). */
const singleLine = /^[^\r\n]*$/;
const port = z
  .union([
    z.number(),
    z
      .string()
      .trim()
      .regex(/^\d{1,5}$/, 'must be a port number')
      .transform(Number),
  ])
  .pipe(z.number().int().min(1).max(65_535));

/**
 * SMTP: port 465 is implicit TLS, any other port plain SMTP that upgrades with STARTTLS when the
 * server offers it. `secure` forces implicit TLS on or off; `ignoreTLS` never attempts STARTTLS
 * (only for servers on a trusted network, such as a loopback relay).
 */
export const emailChannelConfigSchema = z.strictObject({
  host: z.string().trim().min(1).max(255),
  port,
  username: z.string().trim().max(256).default(''),
  password: secret(z.string().max(512).default('')),
  from: z.string().trim().min(1).max(320).regex(singleLine, 'must be one line'),
  /** Comma-separated recipients. */
  to: z
    .string()
    .max(4000)
    .regex(singleLine, 'must be one line')
    .refine((value) => value.split(',').some((entry) => entry.trim() !== ''), 'needs at least one address'),
  secure: z.boolean().optional(),
  ignoreTLS: z.boolean().default(false),
});

/**
 * POSTs `{title, body, fields}` as JSON. With a `secret`, each request carries
 * `X-BackupX-Signature: sha256=<hex HMAC-SHA256(secret, exact body bytes)>`; the secret itself is
 * never sent (see docs/operations.md, "Notification webhooks").
 */
export const webhookChannelConfigSchema = z.strictObject({
  url: httpUrl,
  secret: secret(z.string().max(512).default('')),
});

/** Telegram Bot API `sendMessage`; `apiBaseUrl` points at a self-hosted Bot API server or a proxy. */
export const telegramChannelConfigSchema = z.strictObject({
  botToken: secret(
    z
      .string()
      .trim()
      .min(1)
      .max(256)
      .regex(/^[A-Za-z0-9:_-]+$/, 'must look like 123456:ABC-DEF (letters, digits, : _ -)'),
  ),
  chatId: z
    .union([z.string(), z.number().int()])
    .transform((value) => String(value).trim())
    .pipe(z.string().min(1).max(128)),
  apiBaseUrl: httpUrl.default('https://api.telegram.org'),
});

export const notificationConfigSchemas = {
  email: emailChannelConfigSchema,
  webhook: webhookChannelConfigSchema,
  telegram: telegramChannelConfigSchema,
} as const;
export type EmailChannelConfig = z.infer<typeof emailChannelConfigSchema>;
export type WebhookChannelConfig = z.infer<typeof webhookChannelConfigSchema>;
export type TelegramChannelConfig = z.infer<typeof telegramChannelConfigSchema>;

/** A validated channel configuration, discriminated by channel type. */
export type NotificationChannelConfig =
  | { type: 'email'; config: EmailChannelConfig }
  | { type: 'webhook'; config: WebhookChannelConfig }
  | { type: 'telegram'; config: TelegramChannelConfig };

/** Names of the secret (write-only) config fields of a channel type. */
export const notificationSecretFields = (type: NotificationType): string[] => {
  const shape = notificationConfigSchemas[type].shape as Record<string, z.ZodType>;
  return Object.entries(shape)
    .filter(([, field]) => (field.meta() as NotificationFieldMeta | undefined)?.secret === true)
    .map(([name]) => name);
};

/** Event types to subscribe to: trimmed, blanks dropped, duplicates removed, each a known type. */
export const notificationEventTypesSchema = z
  .array(z.string().max(64))
  .max(50)
  .transform((values) => [...new Set(values.map((value) => value.trim()).filter((value) => value !== ''))])
  .pipe(z.array(eventTypeSchema));

/**
 * Create/update body. `config` is checked against the schema of `type` on the server, after
 * masked (`********`) or empty secret values have been replaced by the stored ones (update only);
 * `null` clears an optional secret.
 */
export const notificationInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  type: notificationTypeSchema,
  enabled: z.boolean().default(true),
  onSuccess: z.boolean().default(false),
  onFailure: z.boolean().default(true),
  /** Empty = the legacy rule: `backup_success` iff onSuccess, `backup_failed` iff onFailure. */
  eventTypes: notificationEventTypesSchema.default([]),
  config: z.record(z.string(), z.unknown()),
});
export type NotificationInput = z.infer<typeof notificationInputSchema>;

/**
 * Test body: a channel that is not saved (yet). With `id`, masked secrets come from that saved
 * channel, so an edit form can test its changes without retyping passwords.
 */
export const notificationTestInputSchema = z.strictObject({
  id: idSchema.optional(),
  name: z.string().trim().max(100).optional(),
  type: notificationTypeSchema,
  enabled: z.boolean().optional(),
  onSuccess: z.boolean().optional(),
  onFailure: z.boolean().optional(),
  eventTypes: notificationEventTypesSchema.optional(),
  config: z.record(z.string(), z.unknown()),
});
export type NotificationTestInput = z.infer<typeof notificationTestInputSchema>;

export const notificationSummarySchema = z.object({
  id: z.number().int(),
  name: z.string(),
  type: notificationTypeSchema,
  enabled: z.boolean(),
  onSuccess: z.boolean(),
  onFailure: z.boolean(),
  eventTypes: z.array(eventTypeSchema),
  updatedAt: timestampSchema,
});
export type NotificationSummary = z.infer<typeof notificationSummarySchema>;

export const notificationDetailSchema = notificationSummarySchema.extend({
  /** The channel configuration with secret fields shown as `********` (empty when unset). */
  config: z.record(z.string(), z.unknown()),
  /** Secret fields that hold a value (shown masked). */
  maskedFields: z.array(z.string()),
  createdAt: timestampSchema,
});
export type NotificationDetail = z.infer<typeof notificationDetailSchema>;

/** Whether a channel receives an event (SPEC §13.2). */
export const notificationWantsEvent = (
  channel: { enabled: boolean; onSuccess: boolean; onFailure: boolean; eventTypes: readonly EventType[] },
  type: EventType,
): boolean => {
  if (!channel.enabled) return false;
  if (channel.eventTypes.length > 0) return channel.eventTypes.includes(type);
  if (type === 'backup_success') return channel.onSuccess;
  if (type === 'backup_failed') return channel.onFailure;
  return false;
};

export const notificationRoutes = {
  list: defineRoute({
    method: 'GET',
    path: '/api/notifications',
    access: 'viewer',
    tag: 'notifications',
    summary: 'Notification channels, most recently updated first',
    response: z.array(notificationSummarySchema),
  }),
  get: defineRoute({
    method: 'GET',
    path: '/api/notifications/:id',
    access: 'viewer',
    tag: 'notifications',
    summary: 'One channel with its configuration (secrets masked)',
    params: idParams,
    response: notificationDetailSchema,
  }),
  create: defineRoute({
    method: 'POST',
    path: '/api/notifications',
    access: 'operator',
    tag: 'notifications',
    summary: 'Create a channel (email, webhook or telegram)',
    body: notificationInputSchema,
    invalidInputCode: 'NOTIFICATION_INVALID',
    response: notificationDetailSchema,
  }),
  update: defineRoute({
    method: 'PUT',
    path: '/api/notifications/:id',
    access: 'operator',
    tag: 'notifications',
    summary: 'Replace a channel; masked or empty secrets keep their stored values',
    params: idParams,
    body: notificationInputSchema,
    invalidInputCode: 'NOTIFICATION_INVALID',
    response: notificationDetailSchema,
  }),
  remove: defineRoute({
    method: 'DELETE',
    path: '/api/notifications/:id',
    access: 'operator',
    tag: 'notifications',
    summary: 'Delete a channel',
    params: idParams,
    response: deletedSchema,
  }),
  testUnsaved: defineRoute({
    method: 'POST',
    path: '/api/notifications/test',
    access: 'operator',
    tag: 'notifications',
    summary: 'Send a test message through a channel that is not saved',
    body: notificationTestInputSchema,
    invalidInputCode: 'NOTIFICATION_INVALID',
    response: z.object({ success: z.literal(true) }),
  }),
  testSaved: defineRoute({
    method: 'POST',
    path: '/api/notifications/:id/test',
    access: 'operator',
    tag: 'notifications',
    summary: 'Send a test message through a saved channel',
    params: idParams,
    response: z.object({ success: z.literal(true) }),
  }),
} as const;
