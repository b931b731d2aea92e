import { describe, expect, it } from 'vitest';
import { createLogger, REDACTED, withSecretsScrubbed } from './logger.ts';
import { goArchOf, goOsOf, primaryIpv4 } from './system-info.ts';

const TOKEN = 'deadbeef'.repeat(8);

describe('agent log', () => {
  it('writes one JSON line per entry and skips levels below the threshold', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', write: (line) => lines.push(line), now: () => new Date(0) });
    log.debug('hidden');
    log.warn('careful', { attempt: 2 });
    expect(lines).toEqual([
      '{"time":"1970-01-01T00:00:00.000Z","level":"warn","msg":"careful","attempt":2}\n',
    ]);
  });

  it('never writes the token, passwords or storage configs', () => {
    const lines: string[] = [];
    const log = createLogger({ secrets: [TOKEN], write: (line) => lines.push(line) });
    log.info(`GET failed for token ${TOKEN}`, {
      password: 'hunter2',
      dbPassword: 'hunter3',
      config: { accessKeySecret: 'AKIA…' },
      targetConfig: { basePath: '/x' },
      nested: { authorization: `Bearer ${TOKEN}`, note: `with ${TOKEN} inside` },
      error: new Error(`connect failed ${TOKEN}`),
    });
    const text = lines.join('');
    for (const secret of [TOKEN, 'hunter2', 'hunter3', 'AKIA', '/x']) expect(text).not.toContain(secret);
    expect(JSON.parse(text)).toMatchObject({
      password: REDACTED,
      config: REDACTED,
      nested: { authorization: REDACTED },
    });
  });

  it('scrubs the token from a logger the embedder supplied', () => {
    const seen: string[] = [];
    const outer = createLogger({ write: (line) => seen.push(line) });
    withSecretsScrubbed(outer, [TOKEN]).error(`bad ${TOKEN}`, { detail: TOKEN });
    expect(seen.join('')).not.toContain(TOKEN);
  });
});

describe('system info for the heartbeat', () => {
  it('uses Go names for the architecture and OS', () => {
    expect(goArchOf('x64')).toBe('amd64');
    expect(goArchOf('arm64')).toBe('arm64');
    expect(goOsOf('linux')).toBe('linux');
    expect(goOsOf('win32')).toBe('windows');
  });

  it('takes the first non-loopback IPv4 address', () => {
    const info = (address: string, family: 'IPv4' | 'IPv6', internal: boolean) => ({
      address,
      family,
      internal,
      netmask: '',
      mac: '',
      cidr: null,
      ...(family === 'IPv6' ? { scopeid: 0 } : {}),
    });
    expect(
      primaryIpv4({
        lo: [info('127.0.0.1', 'IPv4', true)],
        eth0: [info('fe80::1', 'IPv6', false), info('192.168.1.20', 'IPv4', false)],
        eth1: [info('10.0.0.5', 'IPv4', false)],
      } as never),
    ).toBe('192.168.1.20');
    expect(primaryIpv4({ lo: [info('127.0.0.1', 'IPv4', true)] } as never)).toBe('');
  });
});
