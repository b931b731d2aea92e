import {
  NOTIFICATION_TEST_BODY,
  NOTIFICATION_TEST_TITLE,
  eventTypeSchema,
  type EventType,
  type NotificationChannelConfig,
  type NotificationDetail,
  type NotificationInput,
  type NotificationSummary,
  type NotificationTestInput,
  type NotificationType,
} from '@backupx/contract';
import type { NotificationRow } from '../../db/tables.ts';
import { AppError } from '../../lib/errors.ts';
import { toIso, type Clock } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/crypto.ts';
import type { Actor } from '../auth/principal.ts';
import type { AuditService } from '../audit/audit.service.ts';
import {
  maskChannelConfig,
  mergeSecrets,
  openChannelConfig,
  parseChannelConfig,
  sealChannelConfig,
} from './channel-config.ts';
import { NotificationDeliveryError, type ChannelDeps } from './channels/message.ts';
import { sendNotification } from './channels/send-notification.ts';
import { isUniqueViolation, type NotificationsRepository } from './notifications.repository.ts';

export interface NotificationsServiceDeps {
  notificationsRepository: NotificationsRepository;
  audit: Pick<AuditService, 'record'>;
  secretBox: SecretBox;
  clock: Clock;
  fetch?: typeof fetch;
}

export type NotificationsService = ReturnType<typeof createNotificationsService>;

/** Stored CSV → known event types (anything unknown is ignored). */
export const parseEventTypes = (csv: string): EventType[] =>
  csv
    .split(',')
    .map((value) => value.trim())
    .filter((value): value is EventType => eventTypeSchema.safeParse(value).success);

export const toNotificationSummary = (row: NotificationRow): NotificationSummary => ({
  id: row.id,
  name: row.name,
  type: row.type as NotificationType,
  enabled: row.enabled === 1,
  onSuccess: row.onSuccess === 1,
  onFailure: row.onFailure === 1,
  eventTypes: parseEventTypes(row.eventTypes),
  updatedAt: row.updatedAt,
});

export const createNotificationsService = (deps: NotificationsServiceDeps) => {
  const { notificationsRepository, audit, secretBox, clock } = deps;
  const channelDeps: ChannelDeps = { fetch: deps.fetch ?? fetch, clock };
  const nowIso = () => toIso(clock.now());

  const requireRow = async (id: number): Promise<NotificationRow> => {
    const row = await notificationsRepository.findById(id);
    if (!row) throw new AppError('NOTIFICATION_NOT_FOUND', `Notification channel ${id} does not exist`);
    return row;
  };

  const storedChannel = (row: NotificationRow): NotificationChannelConfig =>
    openChannelConfig(secretBox, row.type, row.configCiphertext);

  const toDetail = (row: NotificationRow, channel: NotificationChannelConfig): NotificationDetail => ({
    ...toNotificationSummary(row),
    ...maskChannelConfig(channel),
    createdAt: row.createdAt,
  });

  const ensureNameFree = async (name: string, exceptId?: number): Promise<void> => {
    const existing = await notificationsRepository.findByName(name);
    if (existing && existing.id !== exceptId) throw nameTaken(name);
  };

  const nameTaken = (name: string) =>
    new AppError('NOTIFICATION_NAME_EXISTS', `A notification channel named "${name}" already exists`);

  /** The configuration to store or test: the client's, with kept secrets, validated for its type. */
  const resolveChannel = (
    type: NotificationType,
    config: Record<string, unknown>,
    stored: NotificationRow | undefined,
  ): NotificationChannelConfig => {
    const previous =
      stored === undefined ? null : { type: stored.type, config: storedChannel(stored).config };
    return parseChannelConfig(type, mergeSecrets(type, config, previous));
  };

  const rowValues = (input: NotificationInput, channel: NotificationChannelConfig) => ({
    name: input.name,
    type: input.type,
    configCiphertext: sealChannelConfig(secretBox, channel),
    // The client's values win, false included (SPEC §17.4 quirk 6).
    enabled: input.enabled ? 1 : 0,
    onSuccess: input.onSuccess ? 1 : 0,
    onFailure: input.onFailure ? 1 : 0,
    eventTypes: input.eventTypes.join(','),
  });

  const sendTest = async (channel: NotificationChannelConfig): Promise<{ success: true }> => {
    try {
      await sendNotification(
        channel,
        {
          title: NOTIFICATION_TEST_TITLE,
          body: NOTIFICATION_TEST_BODY,
          fields: { type: channel.type, timestamp: nowIso() },
        },
        channelDeps,
      );
    } catch (error) {
      const reason = error instanceof NotificationDeliveryError ? error.message : 'unexpected error';
      throw new AppError('NOTIFICATION_TEST_FAILED', `The test notification was not delivered: ${reason}`, {
        cause: error,
      });
    }
    return { success: true };
  };

  const summaryOf = (input: { type: string; enabled: boolean; eventTypes: readonly string[] }) =>
    `${input.type} channel, ${input.enabled ? 'enabled' : 'disabled'}${
      input.eventTypes.length > 0 ? `, events: ${input.eventTypes.join(', ')}` : ''
    }`;

  return {
    async list(): Promise<NotificationSummary[]> {
      return (await notificationsRepository.list()).map(toNotificationSummary);
    },

    async get(id: number): Promise<NotificationDetail> {
      const row = await requireRow(id);
      return toDetail(row, storedChannel(row));
    },

    async create(actor: Actor, input: NotificationInput): Promise<NotificationDetail> {
      const channel = resolveChannel(input.type, input.config, undefined);
      await ensureNameFree(input.name);
      const now = nowIso();
      let row: NotificationRow;
      try {
        row = await notificationsRepository.insert({
          ...rowValues(input, channel),
          createdAt: now,
          updatedAt: now,
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw nameTaken(input.name);
        throw error;
      }
      await audit.record(actor, {
        category: 'notification',
        action: 'create',
        targetType: 'notification',
        targetId: row.id,
        targetName: row.name,
        detail: `Created ${summaryOf(input)}`,
      });
      return toDetail(row, channel);
    },

    async update(actor: Actor, id: number, input: NotificationInput): Promise<NotificationDetail> {
      const existing = await requireRow(id);
      const channel = resolveChannel(input.type, input.config, existing);
      await ensureNameFree(input.name, id);
      let row: NotificationRow | undefined;
      try {
        row = await notificationsRepository.update(id, { ...rowValues(input, channel), updatedAt: nowIso() });
      } catch (error) {
        if (isUniqueViolation(error)) throw nameTaken(input.name);
        throw error;
      }
      if (!row) throw new AppError('NOTIFICATION_NOT_FOUND', `Notification channel ${id} does not exist`);
      await audit.record(actor, {
        category: 'notification',
        action: 'update',
        targetType: 'notification',
        targetId: row.id,
        targetName: row.name,
        detail: `Updated ${summaryOf(input)}${existing.name === row.name ? '' : ` (renamed from ${existing.name})`}`,
      });
      return toDetail(row, channel);
    },

    async remove(actor: Actor, id: number): Promise<void> {
      const row = await requireRow(id);
      if (!(await notificationsRepository.delete(id))) {
        throw new AppError('NOTIFICATION_NOT_FOUND', `Notification channel ${id} does not exist`);
      }
      await audit.record(actor, {
        category: 'notification',
        action: 'delete',
        targetType: 'notification',
        targetId: row.id,
        targetName: row.name,
        detail: `Deleted ${row.type} channel`,
      });
    },

    /** Tests a channel that is not saved; with `id`, masked secrets come from that saved channel. */
    async testUnsaved(input: NotificationTestInput): Promise<{ success: true }> {
      const stored = input.id === undefined ? undefined : await requireRow(input.id);
      return sendTest(resolveChannel(input.type, input.config, stored));
    },

    async testSaved(id: number): Promise<{ success: true }> {
      return sendTest(storedChannel(await requireRow(id)));
    },
  };
};
