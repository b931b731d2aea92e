import { describe, it, expect } from 'vitest';
import { apiKeyStatus } from './apiKeyStatus.ts';

describe('apiKeyStatus', () => {
  const now = Date.parse('2025-01-02T12:00:00Z');

  it('is enabled or disabled from the switch when the key does not expire', () => {
    expect(apiKeyStatus({ disabled: false, expiresAt: null }, now)).toBe('enabled');
    expect(apiKeyStatus({ disabled: true, expiresAt: null }, now)).toBe('disabled');
  });

  it('is expired once the expiry is reached, even when disabled', () => {
    expect(apiKeyStatus({ disabled: false, expiresAt: '2025-01-02T11:59:59Z' }, now)).toBe('expired');
    expect(apiKeyStatus({ disabled: false, expiresAt: '2025-01-02T12:00:00Z' }, now)).toBe('expired');
    expect(apiKeyStatus({ disabled: true, expiresAt: '2024-12-31T00:00:00Z' }, now)).toBe('expired');
  });

  it('ignores a future or unreadable expiry', () => {
    expect(apiKeyStatus({ disabled: false, expiresAt: '2025-01-03T00:00:00Z' }, now)).toBe('enabled');
    expect(apiKeyStatus({ disabled: false, expiresAt: 'garbage' }, now)).toBe('enabled');
  });
});
