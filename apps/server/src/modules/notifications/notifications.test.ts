import { describe, expect, it } from 'vitest';
import { notificationWantsEvent, type EmailChannelConfig } from '@backupx/contract';
import { maskChannelConfig, mergeSecrets, parseChannelConfig } from './channel-config.ts';
import { composeEmail, stripLineBreaks } from './channels/email-channel.ts';
import { scrub } from './channels/message.ts';
import { backupResultBody, formatBytes } from './event-messages.ts';

const email: EmailChannelConfig = {
  host: 'smtp.example.com',
  port: 587,
  username: '',
  password: '',
  from: 'BackupX <backupx@example.com>',
  to: 'ops@example.com',
  ignoreTLS: false,
};

describe('email header injection', () => {
  it('strips CR and LF from every header value', () => {
    expect(stripLineBreaks('a\r\nBcc: evil@example.com\nX: 1\r')).toBe('aBcc: evil@example.comX: 1');
    const mail = composeEmail(
      {
        ...email,
        from: 'BackupX <backupx@example.com>\r\nBcc: evil@example.com',
        to: 'ops@example.com\r\nCc: evil@example.com, dev@example.com',
      },
      { title: 'Backup failed\r\nBcc: evil@example.com', body: 'line one\nline two', fields: {} },
    );
    expect(mail.subject).toBe('Backup failedBcc: evil@example.com');
    expect(mail.from).not.toMatch(/[\r\n]/);
    for (const recipient of mail.to) expect(recipient).not.toMatch(/[\r\n]/);
    expect(mail.to).toHaveLength(2);
    // The body keeps its lines: only headers are flattened.
    expect(mail.text).toBe('line one\nline two');
  });
});

describe('subscription rule', () => {
  const channel = { enabled: true, onSuccess: false, onFailure: true, eventTypes: [] as const };
  it('uses onSuccess/onFailure for backup results only when eventTypes is empty', () => {
    expect(notificationWantsEvent(channel, 'backup_failed')).toBe(true);
    expect(notificationWantsEvent(channel, 'backup_success')).toBe(false);
    expect(notificationWantsEvent({ ...channel, onSuccess: true }, 'backup_success')).toBe(true);
    expect(notificationWantsEvent({ ...channel, onFailure: false }, 'backup_failed')).toBe(false);
    expect(notificationWantsEvent(channel, 'restore_failed')).toBe(false);
  });
  it('follows eventTypes when set, ignoring the flags, and never delivers to a disabled channel', () => {
    const explicit = { ...channel, onFailure: true, eventTypes: ['sla_violation'] as const };
    expect(notificationWantsEvent(explicit, 'sla_violation')).toBe(true);
    expect(notificationWantsEvent(explicit, 'backup_failed')).toBe(false);
    expect(notificationWantsEvent({ ...explicit, enabled: false }, 'sla_violation')).toBe(false);
  });
});

describe('channel config secrets', () => {
  const stored = { type: 'webhook', config: { url: 'https://a.example/hook', secret: 'old-secret' } };
  it('keeps the stored secret for masked, empty or absent values of the same type, clears it for null', () => {
    for (const secret of ['********', '', undefined]) {
      expect(mergeSecrets('webhook', { url: 'https://b.example', secret }, stored).secret).toBe('old-secret');
    }
    expect(mergeSecrets('webhook', { url: 'https://b.example', secret: null }, stored).secret).toBe('');
    expect(mergeSecrets('webhook', { url: 'https://b.example', secret: 'new' }, stored).secret).toBe('new');
    expect(mergeSecrets('telegram', { botToken: '********', chatId: '1' }, stored).botToken).toBe('');
    expect(mergeSecrets('webhook', { url: 'https://b.example', secret: '********' }, null).secret).toBe('');
  });
  it('masks secrets that hold a value and lists them', () => {
    const channel = parseChannelConfig('email', { ...email, password: 'p' });
    expect(maskChannelConfig(channel)).toEqual({
      config: { ...email, password: '********' },
      maskedFields: ['password'],
    });
    expect(maskChannelConfig(parseChannelConfig('email', email)).maskedFields).toEqual([]);
  });
  it('scrubs secret values from messages', () => {
    expect(scrub('POST https://x/bot123:abc/sendMessage failed', ['123:abc'])).toBe(
      'POST https://x/bot***/sendMessage failed',
    );
  });
});

describe('backup result body', () => {
  it('is the Chinese multi-line text of SPEC §13.1', () => {
    expect(
      backupResultBody({
        taskName: 'nightly',
        success: true,
        startedAt: '2026-01-02T03:04:05.000Z',
        durationSeconds: 12.4,
        fileName: 'nightly.tar.gz',
        fileSize: 1536,
      }),
    ).toBe(
      '任务：nightly\n状态：成功\n开始时间：2026-01-02T03:04:05.000Z\n耗时：12 秒\n文件：nightly.tar.gz\n大小：1.5 KB',
    );
    expect(
      backupResultBody({
        taskName: 'db',
        success: false,
        startedAt: '2026-01-02T03:04:05.000Z',
        durationSeconds: 3,
        error: 'mysqldump exited with 2',
      }),
    ).toBe(
      '任务：db\n状态：失败\n开始时间：2026-01-02T03:04:05.000Z\n耗时：3 秒\n错误：mysqldump exited with 2',
    );
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.0 GB');
  });
});
