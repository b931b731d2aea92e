import { createTransport } from 'nodemailer';
import type { EmailChannelConfig } from '@backupx/contract';
import { CHANNEL_TIMEOUT_MS, NotificationDeliveryError, scrub, type NotificationMessage } from './message.ts';

/**
 * Header values lose every CR and LF, so no value (an event title, a configured address) can end
 * a header and start another one (header injection, SPEC §17.3).
 */
export const stripLineBreaks = (value: string): string => value.replace(/[\r\n]+/g, '');

/** Recipients of the comma-separated `to` list, each stripped of line breaks. */
export const recipientsOf = (to: string): string[] =>
  to
    .split(',')
    .map((entry) => stripLineBreaks(entry).trim())
    .filter((entry) => entry !== '');

/** The mail as handed to the SMTP client: every header value already stripped of line breaks. */
export const composeEmail = (config: EmailChannelConfig, message: NotificationMessage) => ({
  from: stripLineBreaks(config.from).trim(),
  to: recipientsOf(config.to),
  subject: stripLineBreaks(message.title),
  text: message.body,
});

/**
 * Sends a plain-text UTF-8 mail. Port 465 (or `secure: true`) opens an implicit TLS connection;
 * any other port speaks plain SMTP and upgrades with STARTTLS when the server offers it (unless
 * `ignoreTLS`). AUTH is used when a username is set.
 */
export const sendEmail = async (config: EmailChannelConfig, message: NotificationMessage): Promise<void> => {
  const transport = createTransport({
    host: config.host,
    port: config.port,
    secure: config.secure ?? config.port === 465,
    ignoreTLS: config.ignoreTLS,
    ...(config.username === '' ? {} : { auth: { user: config.username, pass: config.password } }),
    connectionTimeout: CHANNEL_TIMEOUT_MS,
    greetingTimeout: CHANNEL_TIMEOUT_MS,
    socketTimeout: 3 * CHANNEL_TIMEOUT_MS,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  try {
    const mail = composeEmail(config, message);
    if (mail.to.length === 0) throw new NotificationDeliveryError('The email channel has no recipient');
    await transport.sendMail(mail);
  } catch (error) {
    if (error instanceof NotificationDeliveryError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new NotificationDeliveryError(
      `SMTP ${config.host}:${config.port}: ${scrub(reason, config.password === '' ? [] : [config.password])}`,
      { cause: error },
    );
  } finally {
    transport.close();
  }
};
