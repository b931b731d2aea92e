import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSftpBackend, hostKeyMatches, parseHostKeyFingerprint } from './sftp.ts';

describe('sftp host key fingerprints', () => {
  const blob = Buffer.from('ssh-ed25519 pretend key blob');
  const digest = createHash('sha256').update(blob).digest();
  const printed = `SHA256:${digest.toString('base64').replace(/=+$/, '')}`;

  it('parses ssh-keygen -lf output and compares key blobs', () => {
    const parsed = parseHostKeyFingerprint(printed);
    expect(parsed?.equals(digest)).toBe(true);
    expect(hostKeyMatches(blob, parsed!)).toBe(true);
    expect(hostKeyMatches(Buffer.from('another key'), parsed!)).toBe(false);
    expect(parseHostKeyFingerprint(digest.toString('base64'))?.equals(digest)).toBe(true);
  });

  it('rejects malformed fingerprints', () => {
    expect(parseHostKeyFingerprint('SHA256:short')).toBeNull();
    expect(parseHostKeyFingerprint('MD5:aa:bb')).toBeNull();
    expect(() => createSftpBackend({ host: 'h', user: 'u', pass: 'p', host_key_sha256: 'nonsense' })).toThrow(
      /host_key_sha256/,
    );
  });

  it('needs a password or a key', () => {
    expect(() => createSftpBackend({ host: 'h', user: 'u' })).toThrow(/password or a private key/);
  });
});
