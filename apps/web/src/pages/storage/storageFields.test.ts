import { describe, expect, it } from 'vitest';
import { storageConfigSchemas, storageSecretFields, storageTypes } from '@backupx/contract';
import {
  buildConfigPayload,
  configFormValues,
  defaultConfigValues,
  describeRcloneFields,
  describeStorageFields,
  parseTypeValue,
  quotaBytesToGb,
  quotaGbToBytes,
  rcloneGroup,
} from './storageFields.ts';

const byName = (type: Parameters<typeof describeStorageFields>[0]) =>
  new Map(describeStorageFields(type).map((field) => [field.name, field]));

describe('describeStorageFields', () => {
  it('reads kinds, defaults and requirements from the S3 schema', () => {
    const s3 = byName('s3');
    expect(s3.get('bucket')).toMatchObject({ kind: 'text', required: true, secret: false });
    expect(s3.get('secretAccessKey')).toMatchObject({ kind: 'password', required: true, secret: true });
    expect(s3.get('region')).toMatchObject({ kind: 'text', required: false, defaultValue: 'us-east-1' });
    expect(s3.get('forcePathStyle')).toMatchObject({ kind: 'boolean', defaultValue: true, advanced: true });
  });

  it('finds the number bounds and the URL format', () => {
    expect(byName('ftp').get('port')).toMatchObject({
      kind: 'number',
      defaultValue: 21,
      min: 1,
      max: 65_535,
    });
    expect(byName('webdav').get('endpoint')).toMatchObject({ required: true, isUrl: true });
  });

  it('uses a text area for PEM keys and marks secrets exactly as the contract does', () => {
    expect(byName('sftp').get('key_pem')).toMatchObject({ kind: 'multiline', secret: true, required: false });
    for (const type of storageTypes) {
      if (type === 'rclone') continue;
      const secrets = describeStorageFields(type)
        .filter((field) => field.secret)
        .map((field) => field.name);
      expect(secrets, type).toEqual(storageSecretFields(type));
    }
  });

  it('leaves the Drive refresh token to the OAuth flow', () => {
    expect(byName('google_drive').get('refreshToken')).toMatchObject({ required: false, advanced: true });
  });

  it('produces defaults that the schema accepts once the required fields are filled', () => {
    const values = defaultConfigValues(describeStorageFields('local_disk'));
    expect(values).toEqual({ basePath: '', masterRelay: false });
    const config = buildConfigPayload(describeStorageFields('local_disk'), { ...values, basePath: '/srv/b' });
    expect(storageConfigSchemas.local_disk.parse(config)).toEqual({ basePath: '/srv/b', masterRelay: false });
  });
});

describe('form values and payload', () => {
  const fields = describeStorageFields('sftp');

  it('never puts a masked secret into an input', () => {
    const values = configFormValues(fields, {
      host: 'h',
      port: 2222,
      user: 'u',
      pass: '********',
      root: '/r',
    });
    expect(values).toMatchObject({ host: 'h', port: 2222, user: 'u', pass: '', root: '/r' });
  });

  it('sends empty secrets as "" (keep) and leaves out empty numbers', () => {
    const payload = buildConfigPayload(fields, { host: 'h', port: undefined, user: 'u', pass: '********' });
    expect(payload).toMatchObject({ host: 'h', user: 'u', pass: '', key_pem: '' });
    expect('port' in payload).toBe(false);
  });

  it('sends only set rclone options, and "" to clear an option the target had', () => {
    const rcloneFields = describeRcloneFields({
      name: 'b2',
      description: 'Backblaze B2',
      options: [
        { key: 'account', label: 'Account ID', required: true, isPassword: false, advanced: false },
        { key: 'key', label: 'Application key', required: true, isPassword: true, advanced: false },
        { key: 'endpoint', label: 'Endpoint', required: false, isPassword: false, advanced: true },
        { key: 'hard_delete', label: 'Hard delete', required: false, isPassword: false, advanced: false },
      ],
    });
    expect(rcloneFields.map((field) => field.name)).toEqual([
      'root',
      'account',
      'key',
      'endpoint',
      'hard_delete',
    ]);
    expect(rcloneFields.find((field) => field.name === 'endpoint')?.advanced).toBe(true);
    const payload = buildConfigPayload(
      rcloneFields,
      { root: 'bucket/x', account: 'acc', key: '', endpoint: '', hard_delete: '' },
      { rcloneBackend: 'b2', storedConfig: { backend: 'b2', endpoint: 'https://e' } },
    );
    expect(payload).toEqual({ backend: 'b2', root: 'bucket/x', account: 'acc', endpoint: '' });
  });
});

describe('helpers', () => {
  it('converts quotas between GB and bytes', () => {
    expect(quotaGbToBytes(0)).toBe(0);
    expect(quotaGbToBytes(null)).toBe(0);
    expect(quotaGbToBytes(1.5)).toBe(1_610_612_736);
    expect(quotaBytesToGb(1_610_612_736)).toBe(1.5);
    expect(quotaBytesToGb(0)).toBe(0);
  });

  it('parses select values of built-in types and rclone backends', () => {
    expect(parseTypeValue('s3')).toEqual({ type: 's3' });
    expect(parseTypeValue('rclone:b2')).toEqual({ type: 'rclone', rcloneBackend: 'b2' });
    expect(parseTypeValue('rclone:')).toBeNull();
    expect(parseTypeValue('nope')).toBeNull();
  });

  it('groups rclone backends', () => {
    expect(rcloneGroup('sftp')).toBe('fileTransfer');
    expect(rcloneGroup('dropbox')).toBe('drive');
    expect(rcloneGroup('something-new')).toBe('other');
  });
});
