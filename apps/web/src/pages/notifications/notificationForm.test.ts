import { describe, expect, it } from 'vitest';
import { notificationConfigSchemas, notificationInputSchema } from '@backupx/contract';
import type { NotificationDetail } from '@backupx/contract';
import {
  emptyNotificationForm,
  notificationFormValues,
  notificationInput,
  receivesAnything,
  splitRecipients,
} from './notificationForm.ts';

const saved: NotificationDetail = {
  id: 3,
  name: 'ops mail',
  type: 'email',
  enabled: true,
  onSuccess: true,
  onFailure: true,
  eventTypes: ['backup_failed', 'storage_unhealthy'],
  updatedAt: '2025-01-01T00:00:00.000Z',
  createdAt: '2025-01-01T00:00:00.000Z',
  config: {
    host: 'smtp.example.com',
    port: 465,
    username: 'bot',
    password: '********',
    from: 'backupx@example.com',
    to: 'a@example.com, b@example.com',
    ignoreTLS: true,
  },
  maskedFields: ['password'],
};

describe('notification form mapping', () => {
  it('loads a saved email channel without its masked password', () => {
    const values = notificationFormValues(saved);
    expect(values.email).toEqual({
      host: 'smtp.example.com',
      port: 465,
      username: 'bot',
      password: '',
      from: 'backupx@example.com',
      to: ['a@example.com', 'b@example.com'],
    });
    expect(values.eventTypes).toEqual(['backup_failed', 'storage_unhealthy']);
  });

  it('builds an update that keeps the password and fields the form does not show', () => {
    const values = notificationFormValues(saved);
    values.email.to = ['a@example.com', 'c@example.com;d@example.com'];
    const input = notificationInput(values, saved);
    expect(input.config).toEqual({
      host: 'smtp.example.com',
      port: 465,
      username: 'bot',
      password: '',
      from: 'backupx@example.com',
      to: 'a@example.com,c@example.com,d@example.com',
      ignoreTLS: true,
    });
    expect(notificationInputSchema.safeParse(input).success).toBe(true);
  });

  it('builds configs the contract accepts for each type', () => {
    const webhook = { ...emptyNotificationForm(), name: 'hook', type: 'webhook' as const };
    webhook.webhook = { url: ' https://hooks.example.com/x ', secret: 's3cret' };
    expect(notificationConfigSchemas.webhook.parse(notificationInput(webhook).config)).toEqual({
      url: 'https://hooks.example.com/x',
      secret: 's3cret',
    });
    const telegram = { ...emptyNotificationForm(), name: 'tg', type: 'telegram' as const };
    telegram.telegram = { botToken: '123:ABC', chatId: '-100', apiBaseUrl: '' };
    expect(notificationConfigSchemas.telegram.parse(notificationInput(telegram).config)).toEqual({
      botToken: '123:ABC',
      chatId: '-100',
      apiBaseUrl: 'https://api.telegram.org',
    });
  });

  it('does not carry fields of another type after a type change', () => {
    const values = { ...notificationFormValues(saved), type: 'webhook' as const };
    values.webhook = { url: 'https://h.example.com', secret: '' };
    expect(notificationInput(values, saved).config).toEqual({ url: 'https://h.example.com', secret: '' });
  });

  it('splits recipient lists and drops duplicates', () => {
    expect(splitRecipients('a@x.io, b@x.io;a@x.io\nc@x.io ')).toEqual(['a@x.io', 'b@x.io', 'c@x.io']);
  });

  it('knows when a channel would never be notified', () => {
    expect(receivesAnything({ onSuccess: false, onFailure: false, eventTypes: [] })).toBe(false);
    expect(receivesAnything({ onSuccess: false, onFailure: false, eventTypes: ['agent_outdated'] })).toBe(
      true,
    );
  });
});
