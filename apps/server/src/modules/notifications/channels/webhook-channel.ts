import type { WebhookChannelConfig } from '@backupx/contract';
import { hmacSha256Hex } from '../../../lib/crypto.ts';
import {
  CHANNEL_TIMEOUT_MS,
  NotificationDeliveryError,
  describeFetchError,
  responseSnippet,
  scrub,
  type ChannelDeps,
  type NotificationMessage,
} from './message.ts';

/** Signature header: `sha256=<hex HMAC-SHA256(secret, exact body bytes)>`. */
export const webhookSignature = (secret: string, body: string): string =>
  `sha256=${hmacSha256Hex(secret, body)}`;

/**
 * POSTs `{title, body, fields}` as JSON. With a secret, `X-BackupX-Signature` signs the exact body
 * bytes; `X-BackupX-Timestamp` is the send time in Unix seconds (the signed body carries the event
 * time as `fields.timestamp`, which is what a receiver should check for freshness). Redirects are
 * not followed; any status from 300 up is a failure.
 */
export const sendWebhook = async (
  config: WebhookChannelConfig,
  message: NotificationMessage,
  deps: ChannelDeps,
): Promise<void> => {
  const body = JSON.stringify({ title: message.title, body: message.body, fields: message.fields });
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': 'BackupX-Notification/1.0',
    'X-BackupX-Timestamp': String(Math.floor(deps.clock.now().getTime() / 1000)),
  };
  if (config.secret !== '') headers['X-BackupX-Signature'] = webhookSignature(config.secret, body);
  const secrets = config.secret === '' ? [] : [config.secret];
  let response: Response;
  try {
    response = await deps.fetch(config.url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(CHANNEL_TIMEOUT_MS),
    });
  } catch (error) {
    throw new NotificationDeliveryError(
      `Webhook request failed: ${scrub(describeFetchError(error), secrets)}`,
      {
        cause: error,
      },
    );
  }
  if (response.status >= 300) {
    const location = response.headers.get('location');
    const snippet = await responseSnippet(response);
    const detail =
      response.status < 400
        ? ` (redirect${location === null ? '' : ` to ${location}`}; configure the final URL)`
        : snippet === ''
          ? ''
          : `: ${snippet}`;
    throw new NotificationDeliveryError(scrub(`Webhook answered HTTP ${response.status}${detail}`, secrets));
  }
  await response.body?.cancel();
};
