/** Reading command payloads: they are JSON from the master, so every field is checked. */

export class PayloadError extends Error {
  constructor(message: string) {
    super(`invalid command payload: ${message}`);
    this.name = 'PayloadError';
  }
}

/** A positive integer field; BackupX sends ids as JSON numbers (some tools as numeric strings). */
export const positiveInt = (payload: Record<string, unknown>, name: string): number => {
  const raw = payload[name];
  const value = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
    throw new PayloadError(`${name} must be a positive integer`);
  return value;
};

/** A string field; absent or null reads as ''. */
export const text = (payload: Record<string, unknown>, name: string): string => {
  const raw = payload[name];
  if (raw === undefined || raw === null) return '';
  if (typeof raw !== 'string') throw new PayloadError(`${name} must be a string`);
  return raw;
};

/** A port-like integer field (0 when absent). */
export const port = (payload: Record<string, unknown>, name: string): number => {
  const raw = payload[name];
  if (raw === undefined || raw === null || raw === '') return 0;
  const value = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65_535)
    throw new PayloadError(`${name} must be a port number`);
  return value;
};

/** An object field (a storage config); absent reads as {}. */
export const record = (payload: Record<string, unknown>, name: string): Record<string, unknown> => {
  const raw = payload[name];
  if (raw === undefined || raw === null) return {};
  if (typeof raw === 'string') {
    // Older masters may send the decrypted config as a JSON string.
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
        return parsed as Record<string, unknown>;
    } catch {
      // fall through to the error
    }
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new PayloadError(`${name} must be an object`);
  return raw as Record<string, unknown>;
};
