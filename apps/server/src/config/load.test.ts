import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.ts';
import { buildTrustedProxyMatcher } from './schema.ts';

const emptyDir = () => mkdtempSync(path.join(tmpdir(), 'bx-config-'));

describe('loadConfig', () => {
  it('has the reference defaults without a file', () => {
    const { config, configFile } = loadConfig({ env: {}, cwd: emptyDir() });
    expect(configFile).toBeNull();
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.server.port).toBe(8340);
    expect(config.database.path).toBe('./data/backupx.db');
    expect(config.server.trusted_proxies).toEqual(['127.0.0.1', '::1']);
    expect(config.security.jwt_expire).toBe('24h');
    expect(Object.isFrozen(config.server)).toBe(true);
  });

  it('lets env beat the file and flags beat env', () => {
    const dir = emptyDir();
    writeFileSync(path.join(dir, 'config.yaml'), 'server:\n  port: 9000\n  mode: debug\n');
    const fromFile = loadConfig({ env: {}, cwd: dir });
    expect(fromFile.config.server.port).toBe(9000);
    expect(fromFile.config.server.mode).toBe('debug');
    const fromEnv = loadConfig({ env: { BACKUPX_SERVER_PORT: '9100' }, cwd: dir });
    expect(fromEnv.config.server.port).toBe(9100);
    const fromFlag = loadConfig({
      env: { BACKUPX_SERVER_PORT: '9100' },
      flags: { 'server.port': 9200 },
      cwd: dir,
    });
    expect(fromFlag.config.server.port).toBe(9200);
  });

  it('reads the env overrides named in SPEC §17.3', () => {
    const { config } = loadConfig({
      cwd: emptyDir(),
      env: {
        BACKUPX_SERVER_EXTERNAL_URL: 'https://backup.example.com/',
        BACKUPX_SECURITY_JWT_SECRET: 'jwt',
        BACKUPX_SECURITY_ENCRYPTION_KEY: 'enc',
        BACKUPX_SERVER_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.1',
        BACKUPX_DATABASE_PATH: '/var/lib/backupx/x.db',
      },
    });
    expect(config.server.external_url).toBe('https://backup.example.com');
    expect(config.security.jwt_secret).toBe('jwt');
    expect(config.security.encryption_key).toBe('enc');
    expect(config.server.trusted_proxies).toEqual(['10.0.0.0/8', '192.168.1.1']);
    expect(config.database.path).toBe('/var/lib/backupx/x.db');
  });

  it('allows an empty trusted proxy list', () => {
    const dir = emptyDir();
    writeFileSync(path.join(dir, 'config.yaml'), 'server:\n  trusted_proxies: []\n');
    expect(loadConfig({ env: {}, cwd: dir }).config.server.trusted_proxies).toEqual([]);
  });

  it('names the key and its source when a value is bad', () => {
    const cwd = emptyDir();
    expect(() => loadConfig({ env: { BACKUPX_SERVER_PORT: 'eighty' }, cwd })).toThrow(
      /server\.port \(from BACKUPX_SERVER_PORT\)/,
    );
    expect(() => loadConfig({ env: { BACKUPX_SERVER_EXTERNAL_URL: 'ftp://x' }, cwd })).toThrow(
      /server\.external_url/,
    );
    expect(() => loadConfig({ env: { BACKUPX_SERVER_EXTERNAL_URL: 'https://u:p@x' }, cwd })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig({ env: { BACKUPX_SERVER_TRUSTED_PROXIES: 'not-an-ip' }, cwd })).toThrow(
      /server\.trusted_proxies/,
    );
    expect(() => loadConfig({ env: { BACKUPX_SECURITY_JWT_EXPIRE: 'forever' }, cwd })).toThrow(
      /security\.jwt_expire/,
    );
    expect(() => loadConfig({ env: { BACKUPX_DATABASE_URL: 'mysql://x' }, cwd })).toThrow(/database\.url/);
  });

  it('rejects unknown keys in the file', () => {
    const dir = emptyDir();
    writeFileSync(path.join(dir, 'config.yaml'), 'server:\n  prot: 1\n');
    expect(() => loadConfig({ env: {}, cwd: dir })).toThrow(/server\.prot/);
  });

  it('fails when an explicit config file is missing', () => {
    expect(() => loadConfig({ env: {}, cwd: emptyDir(), configPath: 'nope.yaml' })).toThrow(/not found/);
  });
});

describe('trusted proxy matcher', () => {
  it('matches addresses and subnets, including IPv4-mapped IPv6', () => {
    const matches = buildTrustedProxyMatcher(['127.0.0.1', '10.0.0.0/8', '::1']);
    expect(matches('127.0.0.1')).toBe(true);
    expect(matches('::ffff:127.0.0.1')).toBe(true);
    expect(matches('10.1.2.3')).toBe(true);
    expect(matches('::1')).toBe(true);
    expect(matches('192.168.0.1')).toBe(false);
    expect(buildTrustedProxyMatcher([])('127.0.0.1')).toBe(false);
  });
});
