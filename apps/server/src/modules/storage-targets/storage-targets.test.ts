import { describe, expect, it } from 'vitest';
import { isAppError } from '../../lib/errors.ts';
import {
  changedConfigKeys,
  maskStorageConfig,
  mergeStorageConfig,
  requireStorageType,
  scrubSecrets,
  validateStorageConfig,
} from './storage-config.ts';
import { copiesOfRecord, usageByTarget } from './storage-usage.ts';
import { parseRcloneProviders } from './rclone-catalogue.ts';
import { messageOf, OperationTimeoutError, withTimeout } from './with-timeout.ts';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return isAppError(error) ? error.code : String(error);
  }
};

describe('storage config rules', () => {
  it('refuses unknown types and invalid configs with their codes', () => {
    expect(codeOf(() => requireStorageType('floppy'))).toBe('STORAGE_PROVIDER_UNSUPPORTED');
    expect(codeOf(() => validateStorageConfig('local_disk', { basePath: 'relative' }))).toBe(
      'STORAGE_TARGET_INVALID_CONFIG',
    );
    expect(validateStorageConfig('local_disk', { basePath: ' /data ' })).toEqual({
      basePath: '/data',
      masterRelay: false,
    });
  });

  it('masks set secrets only and merges masks and blanks as "keep"', () => {
    const stored = { host: 'h', user: 'u', pass: 'old-pass', key_pem: '', root: '/r' };
    expect(maskStorageConfig('sftp', stored)).toEqual({ ...stored, pass: '********' });
    expect(
      mergeStorageConfig('sftp', stored, { pass: '********', key_pem: '********', root: '/new' }),
    ).toEqual({ host: 'h', user: 'u', pass: 'old-pass', root: '/new' }); // key_pem had no value: the schema default returns
    expect(mergeStorageConfig('sftp', stored, { pass: '' }).pass).toBe('old-pass');
    expect(mergeStorageConfig('sftp', stored, { pass: 'new-pass' }).pass).toBe('new-pass');
    // A mask for a secret that never had a value is dropped, not stored as the secret.
    expect(mergeStorageConfig('sftp', { host: 'h' }, { pass: '********' })).toEqual({ host: 'h' });
  });

  it('scrubs secrets out of messages and names changed keys without values', () => {
    const config = { accessKeyId: 'AKIA123', secretAccessKey: 'abc/def+ghi', bucket: 'b' };
    expect(scrubSecrets('denied for AKIA123 with abc/def+ghi', 's3', config)).toBe(
      'denied for ******** with ********',
    );
    expect(changedConfigKeys(config, { ...config, bucket: 'c', region: 'x' })).toEqual(['bucket', 'region']);
  });
});

describe('storage usage from records', () => {
  it('counts every successful copy once per target and falls back to the primary target', () => {
    const results = JSON.stringify([
      { storageTargetId: 1, status: 'success', fileSize: 10 },
      { storageTargetId: 2, status: 'success' },
      { storageTargetId: 3, status: 'failed', fileSize: 10 },
      { storageTargetId: 'x', status: 'success' },
    ]);
    expect([...copiesOfRecord({ storageTargetId: 1, fileSize: 12, storageUploadResults: results })]).toEqual([
      [1, 10],
      [2, 12],
    ]);
    expect([
      ...copiesOfRecord({ storageTargetId: 4, fileSize: 5, storageUploadResults: 'not json' }),
    ]).toEqual([[4, 5]]);
    expect([...copiesOfRecord({ storageTargetId: 0, fileSize: 5, storageUploadResults: '{}' })]).toEqual([]);
    const totals = usageByTarget([
      { storageTargetId: 1, fileSize: 12, storageUploadResults: results },
      { storageTargetId: 2, fileSize: 3, storageUploadResults: '[]' },
    ]);
    expect(totals.get(1)).toEqual({ recordCount: 1, totalBytes: 10 });
    expect(totals.get(2)).toEqual({ recordCount: 2, totalBytes: 15 });
  });
});

describe('rclone catalogue parsing', () => {
  it('uses the prefix as name, drops wrappers, hidden options and description', () => {
    const json = JSON.stringify([
      {
        Name: 'google cloud storage',
        Prefix: 'gcs',
        Description: 'Google Cloud Storage',
        Options: [
          { Name: 'client_secret', Help: 'OAuth Client Secret.\n\nLeave blank.', IsPassword: true, Hide: 0 },
          { Name: 'token', Help: 'hidden', Hide: 3 },
          { Name: 'description', Help: 'Description of the remote', Hide: 0 },
          { Name: 'bucket_acl', Help: 'ACL', Required: false, Advanced: true, Hide: 0 },
        ],
      },
      { Name: 'union', Prefix: 'union', Description: 'Union', Options: [] },
    ]);
    expect(parseRcloneProviders(json)).toEqual([
      {
        name: 'gcs',
        description: 'Google Cloud Storage',
        options: [
          {
            key: 'client_secret',
            label: 'OAuth Client Secret.',
            required: false,
            isPassword: true,
            advanced: false,
          },
          { key: 'bucket_acl', label: 'ACL', required: false, isPassword: false, advanced: true },
        ],
      },
    ]);
  });
});

describe('withTimeout', () => {
  it('gives up on work that ignores its signal and aborts the signal', async () => {
    let seen: AbortSignal | undefined;
    const outcome = withTimeout('probe', 5, (signal) => {
      seen = signal;
      return new Promise<never>(() => undefined);
    });
    await expect(outcome).rejects.toBeInstanceOf(OperationTimeoutError);
    expect(seen?.aborted).toBe(true);
    await expect(withTimeout('probe', 60_000, () => Promise.resolve(7))).resolves.toBe(7);
  });

  it('describes errors without a message', () => {
    const refused = Object.assign(new Error(''), { code: 'ECONNREFUSED' });
    expect(messageOf(refused)).toBe('ECONNREFUSED');
    expect(messageOf(new AggregateError([new Error('a'), new Error('b')], ''))).toBe('a; b');
  });
});
