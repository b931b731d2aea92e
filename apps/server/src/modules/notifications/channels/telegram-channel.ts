import type { TelegramChannelConfig } from '@backupx/contract';
import {
  CHANNEL_TIMEOUT_MS,
  NotificationDeliveryError,
  describeFetchError,
  responseSnippet,
  scrub,
  type ChannelDeps,
  type NotificationMessage,
} from './message.ts';

/** The Bot API `sendMessage` URL (the token format is checked on save); it carries the token, so it is never logged or shown. */
export const telegramSendMessageUrl = (config: TelegramChannelConfig): string =>
  `${config.apiBaseUrl.replace(/\/+$/, '')}/bot${config.botToken}/sendMessage`;

const telegramDescription = (text: string): string => {
  try {
    const parsed = JSON.parse(text) as { description?: unknown };
    if (typeof parsed.description === 'string') return parsed.description;
  } catch {
    // not JSON: show the text itself
  }
  return text;
};

/** POSTs `{chat_id, text: title + "\n\n" + body}` to the Bot API; HTTP ≥ 400 or `ok:false` is a failure. */
export const sendTelegram = async (
  config: TelegramChannelConfig,
  message: NotificationMessage,
  deps: ChannelDeps,
): Promise<void> => {
  const secrets = [config.botToken];
  let response: Response;
  try {
    response = await deps.fetch(telegramSendMessageUrl(config), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'BackupX-Notification/1.0' },
      body: JSON.stringify({ chat_id: config.chatId, text: `${message.title}\n\n${message.body}` }),
      redirect: 'manual',
      signal: AbortSignal.timeout(CHANNEL_TIMEOUT_MS),
    });
  } catch (error) {
    throw new NotificationDeliveryError(
      `Telegram request failed: ${scrub(describeFetchError(error), secrets)}`,
      { cause: error },
    );
  }
  const text = await responseSnippet(response, 500);
  if (response.status >= 300) {
    const description = telegramDescription(text);
    throw new NotificationDeliveryError(
      scrub(
        `Telegram answered HTTP ${response.status}${description === '' ? '' : `: ${description}`}`,
        secrets,
      ),
    );
  }
  try {
    const parsed = JSON.parse(text) as { ok?: unknown };
    if (parsed.ok === false) {
      throw new NotificationDeliveryError(
        scrub(`Telegram refused the message: ${telegramDescription(text)}`, secrets),
      );
    }
  } catch (error) {
    if (error instanceof NotificationDeliveryError) throw error;
    // A 2xx answer that is not JSON (a proxy, a stand-in) still counts as delivered.
  }
};
