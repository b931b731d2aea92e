import { MASKED_SECRET } from '@backupx/contract';

/**
 * Whether a deep-drill sandbox server setting is acceptable: empty (drill on the task's own
 * server), the masked stored value (kept), or `scheme://user[:password]@host[:port]` with one of
 * `schemes`. The server checks it again; this only spares a round trip.
 */
export function isSandboxUrl(value: string, schemes: readonly string[]): boolean {
  const trimmed = value.trim();
  if (trimmed === '' || trimmed === MASKED_SECRET) return true;
  try {
    const url = new URL(trimmed);
    return schemes.includes(url.protocol.slice(0, -1)) && url.hostname !== '' && url.username !== '';
  } catch {
    return false;
  }
}
