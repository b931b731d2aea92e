import { describe, expect, it } from 'vitest';
import { isTransientRcloneFailure, renderRcloneConfig } from './rclone.ts';

describe('rclone config file', () => {
  it('renders one [remote] section', () => {
    expect(renderRcloneConfig('sftp', { host: 'example.org', port: '2222' })).toBe(
      '[remote]\ntype = sftp\nhost = example.org\nport = 2222\n',
    );
  });

  it('refuses values or names that would inject config lines', () => {
    expect(() => renderRcloneConfig('sftp', { host: 'a\n[other]' })).toThrow(/one line/);
    expect(() => renderRcloneConfig('sftp', { 'bad name': 'x' })).toThrow(/invalid/);
  });
});

describe('rclone failures', () => {
  it('retries connection faults and exit code 5, not answers of the server', () => {
    expect(isTransientRcloneFailure(1, 'dial tcp 127.0.0.1:22: connect: connection refused')).toBe(true);
    expect(isTransientRcloneFailure(5, '')).toBe(true);
    expect(isTransientRcloneFailure(null, '')).toBe(true);
    expect(isTransientRcloneFailure(1, 'permission denied')).toBe(false);
    expect(isTransientRcloneFailure(4, 'object not found')).toBe(false);
  });
});
