/**
 * Whether `value` is an absolute http(s) URL. The browser's URL parser is used instead of a
 * pattern, so loopback addresses, ports and IPv6 hosts (common for self-hosted services) pass.
 */
export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value.trim());
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** An antd form rule validator built on {@link isHttpUrl}; empty values are left to `required`. */
export const httpUrlValidator =
  (message: string) =>
  (_rule: unknown, value: unknown): Promise<void> =>
    typeof value !== 'string' || value.trim() === '' || isHttpUrl(value)
      ? Promise.resolve()
      : Promise.reject(new Error(message));
