/** Pure mapping between the notification channel form and the API bodies (SPEC §13.3–13.4). */
import { MASKED_SECRET, notificationSecretFields } from '@backupx/contract';
import type { EventType, NotificationDetail, NotificationInput, NotificationType } from '@backupx/contract';

export interface NotificationFormValues {
  name: string;
  type: NotificationType;
  enabled: boolean;
  onSuccess: boolean;
  onFailure: boolean;
  eventTypes: EventType[];
  email: {
    host: string;
    port: number | null;
    username: string;
    password: string;
    from: string;
    to: string[];
  };
  webhook: { url: string; secret: string };
  telegram: { botToken: string; chatId: string; apiBaseUrl: string };
}

export const DEFAULT_TELEGRAM_API = 'https://api.telegram.org';

/** The form of a new channel: email on port 587, failures only (as BackupX). */
export function emptyNotificationForm(): NotificationFormValues {
  return {
    name: '',
    type: 'email',
    enabled: true,
    onSuccess: false,
    onFailure: true,
    eventTypes: [],
    email: { host: '', port: 587, username: '', password: '', from: '', to: [] },
    webhook: { url: '', secret: '' },
    telegram: { botToken: '', chatId: '', apiBaseUrl: DEFAULT_TELEGRAM_API },
  };
}

const text = (value: unknown): string =>
  typeof value === 'string'
    ? value === MASKED_SECRET
      ? ''
      : value
    : typeof value === 'number'
      ? String(value)
      : '';

/** Splits a recipient list typed with commas, semicolons, spaces or new lines. */
export function splitRecipients(value: string | readonly string[]): string[] {
  const parts = (typeof value === 'string' ? [value] : value).flatMap((entry) => entry.split(/[,;\s]+/));
  return [...new Set(parts.map((part) => part.trim()).filter((part) => part !== ''))];
}

/** The form values of a saved channel; secrets start empty (a stored one is kept unless retyped). */
export function notificationFormValues(detail: NotificationDetail): NotificationFormValues {
  const values = emptyNotificationForm();
  const config = detail.config;
  values.name = detail.name;
  values.type = detail.type;
  values.enabled = detail.enabled;
  values.onSuccess = detail.onSuccess;
  values.onFailure = detail.onFailure;
  values.eventTypes = [...detail.eventTypes];
  switch (detail.type) {
    case 'email': {
      const port = Number(config.port);
      values.email = {
        host: text(config.host),
        port: Number.isInteger(port) && port > 0 ? port : 587,
        username: text(config.username),
        password: '',
        from: text(config.from),
        to: splitRecipients(text(config.to)),
      };
      break;
    }
    case 'webhook':
      values.webhook = { url: text(config.url), secret: '' };
      break;
    case 'telegram':
      values.telegram = {
        botToken: '',
        chatId: text(config.chatId),
        apiBaseUrl: text(config.apiBaseUrl) || DEFAULT_TELEGRAM_API,
      };
      break;
  }
  return values;
}

/**
 * The `config` of the chosen type. Fields the form does not show (e.g. `ignoreTLS` set through the
 * API) are carried over from the stored config so an edit does not drop them; an empty secret is
 * sent as `""`, which the server reads as "keep the stored value".
 */
export function notificationConfig(
  values: NotificationFormValues,
  stored?: { type: NotificationType; config: Record<string, unknown> },
): Record<string, unknown> {
  const carried: Record<string, unknown> = {};
  if (stored && stored.type === values.type) {
    const secrets = new Set(notificationSecretFields(values.type));
    for (const [key, value] of Object.entries(stored.config)) {
      if (!secrets.has(key)) carried[key] = value;
    }
  }
  switch (values.type) {
    case 'email':
      return {
        ...carried,
        host: values.email.host.trim(),
        port: values.email.port ?? 587,
        username: values.email.username.trim(),
        password: values.email.password,
        from: values.email.from.trim(),
        to: splitRecipients(values.email.to).join(','),
      };
    case 'webhook':
      return { ...carried, url: values.webhook.url.trim(), secret: values.webhook.secret };
    case 'telegram':
      return {
        ...carried,
        botToken: values.telegram.botToken.trim(),
        chatId: values.telegram.chatId.trim(),
        apiBaseUrl: values.telegram.apiBaseUrl.trim() || DEFAULT_TELEGRAM_API,
      };
  }
}

/** Create/update body of the form. */
export function notificationInput(
  values: NotificationFormValues,
  stored?: { type: NotificationType; config: Record<string, unknown> },
): NotificationInput {
  return {
    name: values.name.trim(),
    type: values.type,
    enabled: values.enabled,
    onSuccess: values.onSuccess,
    onFailure: values.onFailure,
    eventTypes: [...values.eventTypes],
    config: notificationConfig(values, stored),
  };
}

/** Whether a channel with these settings receives any event at all (to warn about a silent one). */
export function receivesAnything(
  values: Pick<NotificationFormValues, 'onSuccess' | 'onFailure' | 'eventTypes'>,
): boolean {
  return values.eventTypes.length > 0 || values.onSuccess || values.onFailure;
}
