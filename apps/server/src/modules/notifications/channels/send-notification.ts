import type { NotificationChannelConfig } from '@backupx/contract';
import { sendEmail } from './email-channel.ts';
import { sendTelegram } from './telegram-channel.ts';
import { sendWebhook } from './webhook-channel.ts';
import type { ChannelDeps, NotificationMessage } from './message.ts';

/** Delivers one message through one channel; throws NotificationDeliveryError on failure. */
export const sendNotification = async (
  channel: NotificationChannelConfig,
  message: NotificationMessage,
  deps: ChannelDeps,
): Promise<void> => {
  switch (channel.type) {
    case 'email':
      return sendEmail(channel.config, message);
    case 'webhook':
      return sendWebhook(channel.config, message, deps);
    case 'telegram':
      return sendTelegram(channel.config, message, deps);
  }
};
