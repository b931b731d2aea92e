import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentConfigError, DEFAULT_TEMP_DIR, loadAgentConfig } from './config.ts';
import { parseGoDurationMs } from './duration.ts';

const TOKEN = 'a'.repeat(64);
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'bx-agent-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, content: string): string => {
  const full = path.join(dir, name);
  writeFileSync(full, content);
  return full;
};

const load = (argv: string[], env: Record<string, string> = {}) =>
  loadAgentConfig({ argv, env, cwd: dir }).config;

const fails = (argv: string[], env: Record<string, string> = {}): string => {
  try {
    load(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(AgentConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a configuration error');
};

describe('Go durations', () => {
  it('parses the forms BackupX config files use', () => {
    expect(parseGoDurationMs('15s')).toBe(15_000);
    expect(parseGoDurationMs('1m30s')).toBe(90_000);
    expect(parseGoDurationMs('500ms')).toBe(500);
    expect(parseGoDurationMs('1.5h')).toBe(5_400_000);
    expect(parseGoDurationMs('2h45m')).toBe(9_900_000);
    expect(parseGoDurationMs('0')).toBe(0);
    expect(parseGoDurationMs('-5s')).toBe(-5000);
  });

  it('refuses what Go refuses', () => {
    for (const bad of ['', '15', 's', '1x', '1d', '5 s', 'abc', '1.s2'])
      expect(parseGoDurationMs(bad)).toBeNull();
  });
});

describe('agent configuration: sources and precedence', () => {
  it('applies defaults when only master and token are given', () => {
    const config = load(['--master', 'https://backup.example.com/', '--token', TOKEN]);
    expect(config).toMatchObject({
      master: 'https://backup.example.com',
      token: TOKEN,
      heartbeatIntervalMs: 15_000,
      pollIntervalMs: 5000,
      tempDir: DEFAULT_TEMP_DIR,
      proxyUrl: '',
      caCertFile: '',
      insecureSkipTlsVerify: false,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every key of the YAML file', () => {
    const tokenFile = file('agent.token', `${TOKEN}\n`);
    const ca = file('ca.pem', PEM);
    const config = file(
      'config.yaml',
      [
        'master: "http://master:8340"',
        `tokenFile: "${tokenFile}"`,
        'heartbeatInterval: "20s"',
        'pollInterval: "1m30s"',
        'tempDir: "spool"',
        'proxyUrl: "socks5h://proxy:1080"',
        `caCertFile: "${ca}"`,
      ].join('\n'),
    );
    const loaded = load(['--config', config]);
    expect(loaded).toMatchObject({
      master: 'http://master:8340',
      token: TOKEN,
      heartbeatIntervalMs: 20_000,
      pollIntervalMs: 90_000,
      tempDir: path.join(dir, 'spool'),
      proxyUrl: 'socks5h://proxy:1080',
      caCertFile: ca,
      caCertPem: PEM,
    });
  });

  it('reads every BACKUPX_AGENT_* variable', () => {
    const config = load([], {
      BACKUPX_AGENT_MASTER: 'https://m.example.com',
      BACKUPX_AGENT_TOKEN: TOKEN,
      BACKUPX_AGENT_HEARTBEAT: '30s',
      BACKUPX_AGENT_POLL: '2s',
      BACKUPX_AGENT_TEMP_DIR: '/tmp/agent',
      BACKUPX_AGENT_PROXY_URL: 'http://proxy:3128',
      BACKUPX_AGENT_INSECURE_TLS: '1',
    });
    expect(config).toMatchObject({
      master: 'https://m.example.com',
      heartbeatIntervalMs: 30_000,
      pollIntervalMs: 2000,
      tempDir: '/tmp/agent',
      proxyUrl: 'http://proxy:3128',
      insecureSkipTlsVerify: true,
    });
    expect(
      load([], {
        BACKUPX_AGENT_MASTER: 'https://m',
        BACKUPX_AGENT_TOKEN: TOKEN,
        BACKUPX_AGENT_INSECURE_TLS: 'true',
      }),
    ).toMatchObject({ insecureSkipTlsVerify: true });
    expect(
      fails([], {
        BACKUPX_AGENT_MASTER: 'https://m',
        BACKUPX_AGENT_TOKEN: TOKEN,
        BACKUPX_AGENT_INSECURE_TLS: 'maybe',
      }),
    ).toContain('BACKUPX_AGENT_INSECURE_TLS');
  });

  it('ranks non-empty flags over the file over the environment, key by key', () => {
    const config = file(
      'config.yaml',
      'master: "https://from-file"\nheartbeatInterval: "20s"\npollInterval: ""\n',
    );
    const env = {
      BACKUPX_AGENT_MASTER: 'https://from-env',
      BACKUPX_AGENT_TOKEN: TOKEN,
      BACKUPX_AGENT_HEARTBEAT: '40s',
      BACKUPX_AGENT_POLL: '7s',
      BACKUPX_AGENT_TEMP_DIR: '/env/tmp',
    };
    // File beats env; env fills what the file leaves unset or empty (this deviation from BackupX
    // — which ignores env whenever --config is given — is documented in config.ts).
    expect(load(['--config', config], env)).toMatchObject({
      master: 'https://from-file',
      token: TOKEN,
      heartbeatIntervalMs: 20_000,
      pollIntervalMs: 7000,
      tempDir: '/env/tmp',
    });
    // Flags beat both; empty flags count as not given.
    expect(
      load(
        ['--config', config, '--master', 'https://from-flag', '--heartbeat-interval', '5s', '--temp-dir', ''],
        env,
      ),
    ).toMatchObject({ master: 'https://from-flag', heartbeatIntervalMs: 5000, tempDir: '/env/tmp' });
    // Without a file, env is used (as in BackupX).
    expect(load([], env)).toMatchObject({ master: 'https://from-env', heartbeatIntervalMs: 40_000 });
  });

  it('resolves the token: token beats tokenFile, --token-file alone drops an inherited token', () => {
    const tokenFile = file('agent.token', `  ${'b'.repeat(64)}  \n`);
    const config = file('config.yaml', `master: "https://m"\ntoken: "${TOKEN}"\n`);
    expect(load(['--config', config]).token).toBe(TOKEN);
    // --token-file without --token replaces the file's token.
    expect(load(['--config', config, '--token-file', tokenFile]).token).toBe('b'.repeat(64));
    // ... and the environment's.
    expect(
      load(['--master', 'https://m', '--token-file', tokenFile], { BACKUPX_AGENT_TOKEN: TOKEN }).token,
    ).toBe('b'.repeat(64));
    // Within one layer, token beats tokenFile.
    const both = file('both.yaml', `master: "https://m"\ntoken: "${TOKEN}"\ntokenFile: "${tokenFile}"\n`);
    expect(load(['--config', both]).token).toBe(TOKEN);
    expect(load(['--config', config, '--token', 'c'.repeat(64), '--token-file', tokenFile]).token).toBe(
      'c'.repeat(64),
    );
    // A file's tokenFile is not overridden by a token in the environment.
    const fileWithTokenFile = file('tf.yaml', `master: "https://m"\ntokenFile: "${tokenFile}"\n`);
    expect(load(['--config', fileWithTokenFile], { BACKUPX_AGENT_TOKEN: TOKEN }).token).toBe('b'.repeat(64));
    // The token file is read after merging: a relative path resolves against the working directory.
    expect(load(['--master', 'https://m'], { BACKUPX_AGENT_TOKEN_FILE: 'agent.token' }).token).toBe(
      'b'.repeat(64),
    );
  });
});

describe('agent configuration: validation (exit code 2)', () => {
  const ok = ['--token', TOKEN];

  it('requires a master URL that is absolute http(s) without credentials, query or fragment', () => {
    expect(fails(ok)).toContain('master URL is required');
    expect(fails(['--master', 'backup.example.com', ...ok])).toContain('not an absolute URL');
    expect(fails(['--master', 'ftp://backup.example.com', ...ok])).toContain('http or https');
    expect(fails(['--master', 'https://user:pw@backup.example.com', ...ok])).toContain('credentials');
    expect(fails(['--master', 'https://backup.example.com/?x=1', ...ok])).toContain('query');
    expect(fails(['--master', 'https://backup.example.com/?', ...ok])).toContain('query');
    expect(fails(['--master', 'https://backup.example.com/#top', ...ok])).toContain('fragment');
    expect(load(['--master', 'https://backup.example.com/backupx///', ...ok]).master).toBe(
      'https://backup.example.com/backupx',
    );
  });

  it('requires a token, and refuses an empty or missing token file', () => {
    expect(fails(['--master', 'https://m'])).toContain('token is required');
    const empty = file('empty.token', '\n  \n');
    expect(fails(['--master', 'https://m', '--token-file', empty])).toContain('is empty');
    expect(fails(['--master', 'https://m', '--token-file', path.join(dir, 'missing')])).toContain(
      'cannot read token file',
    );
    expect(fails(['--master', 'https://m', '--token', 'two words'])).toContain('one line');
  });

  it('accepts only http, https, socks5 and socks5h proxies without path or query', () => {
    const base = ['--master', 'https://m', ...ok];
    for (const proxy of [
      'http://p:3128',
      'https://p:443',
      'socks5://p:1080',
      'socks5h://u:pw@p:1080',
      'http://p:3128/',
    ])
      expect(load([...base, '--proxy-url', proxy]).proxyUrl).toBe(proxy);
    expect(fails([...base, '--proxy-url', 'socks4://p:1080'])).toContain('proxy scheme');
    expect(fails([...base, '--proxy-url', 'ftp://p'])).toContain('proxy scheme');
    expect(fails([...base, '--proxy-url', 'http://p:3128/path'])).toContain('path, query');
    expect(fails([...base, '--proxy-url', 'http://p:3128?x=1'])).toContain('path, query');
    expect(fails([...base, '--proxy-url', 'proxy:3128'])).toContain('proxy scheme');
  });

  it('refuses a CA file together with insecure TLS, and an unreadable or non-PEM CA', () => {
    const base = ['--master', 'https://m', ...ok];
    const ca = file('ca.pem', PEM);
    expect(fails([...base, '--ca-cert', ca, '--insecure-tls'])).toContain('mutually exclusive');
    const config = file('config.yaml', 'insecureSkipTlsVerify: true\n');
    expect(fails([...base, '--config', config, '--ca-cert', ca])).toContain('mutually exclusive');
    expect(fails([...base, '--ca-cert', path.join(dir, 'nope.pem')])).toContain('cannot read CA file');
    expect(fails([...base, '--ca-cert', file('bad.pem', 'hello')])).toContain('no PEM certificate');
    expect(load([...base, '--insecure-tls']).insecureSkipTlsVerify).toBe(true);
  });

  it('requires positive Go durations for both intervals', () => {
    const base = ['--master', 'https://m', ...ok];
    expect(fails([...base, '--heartbeat-interval', '0s'])).toContain('positive');
    expect(fails([...base, '--poll-interval=-1s'])).toContain('positive');
    expect(fails([...base, '--poll-interval', '5'])).toContain('not a duration');
    const numeric = file('config.yaml', 'heartbeatInterval: 15\n');
    expect(fails([...base, '--config', numeric])).toContain('"15s"');
  });

  it('reports unknown flags, bad files and unknown keys', () => {
    expect(fails(['--master', 'https://m', ...ok, '--frobnicate'])).toContain('--frobnicate');
    expect(fails(['--config', path.join(dir, 'missing.yaml'), ...ok])).toContain('cannot read config file');
    expect(fails(['--config', file('bad.yaml', 'master: [unclosed'), ...ok])).toContain('not valid YAML');
    expect(fails(['--config', file('list.yaml', '- a\n- b\n'), ...ok])).toContain('YAML mapping');
    const loaded = loadAgentConfig({
      argv: ['--config', file('typo.yaml', 'master: "https://m"\nmastr: "x"\n'), ...ok],
      env: {},
      cwd: dir,
    });
    expect(loaded.warnings).toEqual([expect.stringContaining('"mastr"')]);
  });

  it('captures the standard proxy variables, lower case first', () => {
    const config = load(['--master', 'https://m', ...ok], {
      HTTPS_PROXY: 'http://upper:1',
      https_proxy: 'http://lower:1',
      HTTP_PROXY: 'http://plain:1',
      NO_PROXY: 'internal.example.com',
    });
    expect(config.environmentProxy).toEqual({
      httpProxy: 'http://plain:1',
      httpsProxy: 'http://lower:1',
      noProxy: 'internal.example.com',
    });
  });
});
