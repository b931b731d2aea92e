import { notificationWantsEvent, type SystemEvent } from '@backupx/contract';
import type { Logger } from 'pino';
import type { SecretBox } from '../../lib/crypto.ts';
import type { Metrics } from '../system/metrics.ts';
import type { EventBus } from '../events/event-bus.ts';
import { openChannelConfig } from './channel-config.ts';
import { NotificationDeliveryError, type ChannelDeps } from './channels/message.ts';
import { sendNotification } from './channels/send-notification.ts';
import type { NotificationsRepository } from './notifications.repository.ts';
import { toNotificationSummary } from './notifications.service.ts';

export interface NotificationDispatcherDeps extends ChannelDeps {
  events: Pick<EventBus, 'subscribe'>;
  notificationsRepository: Pick<NotificationsRepository, 'listEnabled'>;
  secretBox: SecretBox;
  metrics: Pick<Metrics, 'observeNotificationDelivery'>;
  logger: Pick<Logger, 'warn'>;
  /** Events waiting for delivery beyond this are dropped (logged): a slow channel must not grow memory. */
  maxQueuedEvents?: number;
}

export type NotificationDispatcher = ReturnType<typeof createNotificationDispatcher>;

const DEFAULT_MAX_QUEUED_EVENTS = 1000;

/**
 * Delivers every published event to the enabled channels that want it (SPEC §13.2). Delivery runs
 * in the background, one event after another and one channel after another, so the publisher never
 * waits and a burst of events does not open a burst of connections. Failures are logged and counted.
 */
export const createNotificationDispatcher = (deps: NotificationDispatcherDeps) => {
  const maxQueued = deps.maxQueuedEvents ?? DEFAULT_MAX_QUEUED_EVENTS;
  let queued = 0;
  let tail: Promise<void> = Promise.resolve();

  const deliver = async (event: SystemEvent): Promise<void> => {
    const rows = await deps.notificationsRepository.listEnabled();
    const message = { title: event.title, body: event.body, fields: event.fields };
    for (const row of rows) {
      if (!notificationWantsEvent(toNotificationSummary(row), event.type)) continue;
      try {
        const channel = openChannelConfig(deps.secretBox, row.type, row.configCiphertext);
        await sendNotification(channel, message, deps);
        deps.metrics.observeNotificationDelivery(row.type, 'success');
      } catch (error) {
        deps.metrics.observeNotificationDelivery(row.type, 'failed');
        deps.logger.warn(
          {
            channelId: row.id,
            channel: row.name,
            channelType: row.type,
            eventType: event.type,
            // Delivery errors are scrubbed of secrets; anything else is reduced to its kind.
            err: error instanceof NotificationDeliveryError ? error.message : (error as Error).name,
          },
          'notification delivery failed',
        );
      }
    }
  };

  const enqueue = (event: SystemEvent): void => {
    if (queued >= maxQueued) {
      deps.logger.warn({ eventType: event.type, queued }, 'notification queue full; event not delivered');
      return;
    }
    queued += 1;
    tail = tail
      .then(() => deliver(event))
      .catch((error: unknown) => {
        deps.logger.warn(
          { eventType: event.type, err: (error as Error).message },
          'notification channels could not be read',
        );
      })
      .finally(() => {
        queued -= 1;
      });
  };

  /** Waits until every event published so far has been delivered (or has failed). */
  const flush = async (): Promise<void> => {
    let current: Promise<void>;
    do {
      current = tail;
      await current;
    } while (current !== tail);
  };

  const unsubscribe = deps.events.subscribe(enqueue);
  let stopped = false;

  return {
    flush,
    /** Stops listening and waits for deliveries in flight (shutdown). */
    async stop(): Promise<void> {
      if (!stopped) {
        stopped = true;
        unsubscribe();
      }
      await flush();
    },
  };
};
