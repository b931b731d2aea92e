import { describe, expect, it } from 'vitest';
import { httpUrlValidator, isHttpUrl } from './validators.ts';

describe('isHttpUrl', () => {
  it('accepts http(s) URLs with loopback hosts, ports and IPv6', () => {
    expect(isHttpUrl('http://127.0.0.1:1/remote.php/dav')).toBe(true);
    expect(isHttpUrl(' https://[::1]:8443/x ')).toBe(true);
    expect(isHttpUrl('https://hooks.example.com')).toBe(true);
  });

  it('refuses other schemes and non-URLs', () => {
    expect(isHttpUrl('ftp://example.com')).toBe(false);
    expect(isHttpUrl('example.com/dav')).toBe(false);
    expect(isHttpUrl('')).toBe(false);
  });

  it('leaves empty values to the required rule', async () => {
    const validate = httpUrlValidator('bad');
    await expect(validate(null, '')).resolves.toBeUndefined();
    await expect(validate(null, 'nope')).rejects.toThrow('bad');
  });
});
