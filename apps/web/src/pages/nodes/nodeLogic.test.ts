import { describe, expect, it } from 'vitest';
import {
  defaultDeployOptions,
  formatCountdown,
  installCommands,
  installTokenBody,
  isProxyUrl,
  isSafeAbsolutePath,
  neverConnected,
  parseBatchNames,
  platformOf,
  poolLabels,
  poolMembers,
  previewQuery,
  remainingSeconds,
  shellQuote,
} from './nodeLogic.ts';

describe('parseBatchNames', () => {
  it('keeps one trimmed name per non-blank line', () => {
    expect(parseBatchNames('  web-1 \n\n\r\nweb-2\r\n  \n db-1').names).toEqual(['web-1', 'web-2', 'db-1']);
  });

  it('reports duplicates, names that are too long and batches that are too big', () => {
    const result = parseBatchNames(`a\nb\na\n${'x'.repeat(129)}`);
    expect(result.duplicates).toEqual(['a']);
    expect(result.tooLong).toHaveLength(1);
    expect(result.tooMany).toBe(false);
    const many = parseBatchNames(Array.from({ length: 51 }, (_, index) => `n${String(index)}`).join('\n'));
    expect(many.tooMany).toBe(true);
    expect(parseBatchNames(Array.from({ length: 50 }, (_, i) => `n${String(i)}`).join('\n')).tooMany).toBe(
      false,
    );
  });
});

describe('install options', () => {
  it('sends the proxy fields only on the proxy network path', () => {
    const options = {
      ...defaultDeployOptions('1.4.0'),
      agentMasterUrl: ' https://bastion.example:8443 ',
      proxyUrl: 'http://proxy:3128',
      caCertFile: '/etc/ssl/ca.pem',
    };
    expect(installTokenBody(options)).toEqual({
      mode: 'systemd',
      arch: 'auto',
      agentVersion: '1.4.0',
      ttlSeconds: 900,
      downloadSrc: 'master',
      agentMasterUrl: '',
      proxyUrl: '',
      caCertFile: '',
    });
    expect(installTokenBody({ ...options, network: 'proxy' })).toMatchObject({
      agentMasterUrl: 'https://bastion.example:8443',
      proxyUrl: 'http://proxy:3128',
      caCertFile: '/etc/ssl/ca.pem',
    });
    expect(previewQuery(options)).not.toHaveProperty('ttlSeconds');
  });
});

describe('installCommands', () => {
  it('builds the URL, fallback and embedded commands with shell quoting', () => {
    const commands = installCommands({
      url: 'https://m.example/api/install/abc',
      fallbackUrl: 'https://m.example/install/abc',
      scriptBase64: 'IyEvYmluL3No',
    });
    expect(commands.url).toBe("curl -fsSL 'https://m.example/api/install/abc' | sudo bash");
    expect(commands.fallback).toBe("curl -fsSL 'https://m.example/install/abc' | sudo bash");
    expect(commands.embedded).toBe("printf '%s' 'IyEvYmluL3No' | base64 -d | sudo bash");
    expect(commands.compose).toBeUndefined();
  });

  it('adds the compose command of a docker token', () => {
    const commands = installCommands({
      url: 'u',
      fallbackUrl: 'f',
      scriptBase64: 's',
      composeUrl: 'https://m/api/install/abc/compose.yml',
    });
    expect(commands.compose).toContain("'https://m/api/install/abc/compose.yml'");
  });

  it('quotes single quotes', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});

describe('countdown', () => {
  it('counts whole seconds down to zero', () => {
    const now = Date.parse('2025-01-01T00:00:00.000Z');
    expect(remainingSeconds('2025-01-01T00:15:00.000Z', now)).toBe(900);
    expect(remainingSeconds('2025-01-01T00:00:00.500Z', now)).toBe(1);
    expect(remainingSeconds('2024-12-31T23:00:00.000Z', now)).toBe(0);
    expect(remainingSeconds('not a date', now)).toBe(0);
  });

  it('formats minutes and hours', () => {
    expect(formatCountdown(0)).toBe('00:00');
    expect(formatCountdown(845)).toBe('14:05');
    expect(formatCountdown(3723)).toBe('1:02:03');
  });
});

describe('labels and pools', () => {
  const nodes = [
    { labels: 'db, eu', status: 'online' as const },
    { labels: 'web,eu', status: 'offline' as const },
    { labels: '', status: 'online' as const },
  ];

  it('lists every label once, sorted', () => {
    expect(poolLabels(nodes)).toEqual(['db', 'eu', 'web']);
  });

  it('finds the members of a pool by exact label', () => {
    expect(poolMembers(nodes, ' eu ')).toHaveLength(2);
    expect(poolMembers(nodes, 'e')).toHaveLength(0);
  });

  it('joins os and arch', () => {
    expect(platformOf({ os: 'linux', arch: 'amd64' })).toBe('linux/amd64');
    expect(platformOf({ os: 'linux', arch: '' })).toBe('linux');
  });
});

describe('proxy options', () => {
  it('accepts http, https and socks proxies without credentials or path', () => {
    expect(isProxyUrl('http://proxy.lan:3128')).toBe(true);
    expect(isProxyUrl('socks5h://10.0.0.1:1080')).toBe(true);
    expect(isProxyUrl('ftp://proxy:21')).toBe(false);
    expect(isProxyUrl('http://user:pw@proxy:3128')).toBe(false);
    expect(isProxyUrl('http://proxy:3128/path')).toBe(false);
    expect(isProxyUrl('proxy:3128')).toBe(false);
  });

  it('accepts clean absolute CA paths only', () => {
    expect(isSafeAbsolutePath('/etc/ssl/certs/corp-ca.pem')).toBe(true);
    expect(isSafeAbsolutePath('etc/ca.pem')).toBe(false);
    expect(isSafeAbsolutePath('/etc/../ca.pem')).toBe(false);
    expect(isSafeAbsolutePath('/etc/ca.pem; rm -rf /')).toBe(false);
  });
});

describe('neverConnected', () => {
  it('is true for a remote node that never sent a heartbeat', () => {
    const fresh = { isLocal: false, status: 'offline' as const, agentVersion: '', hostname: '' };
    expect(neverConnected(fresh)).toBe(true);
    expect(neverConnected({ ...fresh, agentVersion: '1.0.0', hostname: 'web' })).toBe(false);
    expect(neverConnected({ ...fresh, isLocal: true })).toBe(false);
  });
});
