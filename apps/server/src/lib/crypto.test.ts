import { describe, expect, it } from 'vitest';
import { SecretBox, constantTimeEqual, deriveEncryptionKey } from './crypto.ts';

describe('SecretBox', () => {
  const box = new SecretBox(deriveEncryptionKey('test-secret'));

  it('round-trips text and uses a fresh nonce each time', () => {
    const a = box.seal('hunter2 — 秘密');
    const b = box.seal('hunter2 — 秘密');
    expect(a).not.toEqual(b);
    expect(box.open(a)).toBe('hunter2 — 秘密');
  });

  it('refuses a tampered ciphertext', () => {
    const sealed = Buffer.from(box.seal('payload'), 'base64url');
    sealed[14] = (sealed[14] ?? 0) ^ 1;
    expect(() => box.open(sealed.toString('base64url'))).toThrow();
  });

  it('refuses another key', () => {
    const other = new SecretBox(deriveEncryptionKey('other'));
    expect(() => other.open(box.seal('x'))).toThrow();
  });
});

describe('constantTimeEqual', () => {
  it('compares equal and unequal strings of any length', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
  });
});
