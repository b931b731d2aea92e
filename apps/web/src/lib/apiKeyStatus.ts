/** Display status of an API key. */
export type ApiKeyStatus = 'enabled' | 'disabled' | 'expired';

/**
 * Status of a key at `nowMs`: `expired` once `expiresAt` is past (whatever the switch says,
 * since it can no longer be used), else `disabled` or `enabled` from the switch.
 */
export function apiKeyStatus(
  key: { disabled: boolean; expiresAt: string | null },
  nowMs: number,
): ApiKeyStatus {
  if (key.expiresAt !== null) {
    const expires = Date.parse(key.expiresAt);
    if (!Number.isNaN(expires) && expires <= nowMs) return 'expired';
  }
  return key.disabled ? 'disabled' : 'enabled';
}
