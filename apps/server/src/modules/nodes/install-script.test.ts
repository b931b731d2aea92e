import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../lib/errors.ts';
import {
  AGENT_TOKEN_PLACEHOLDER,
  INSTALL_SCRIPT_MARKER,
  renderComposeFile,
  renderInstallScript,
  shellQuote,
  validateInstallOptions,
  type InstallScriptOptions,
} from './install-script.ts';

const TOKEN = 'a1'.repeat(32);

const baseOptions = (overrides: Partial<InstallScriptOptions> = {}): InstallScriptOptions => ({
  masterUrl: 'https://backup.example.com:8340',
  agentToken: TOKEN,
  mode: 'systemd',
  arch: 'auto',
  agentVersion: '1.4.0',
  downloadSrc: 'master',
  proxyUrl: '',
  caCertFile: '',
  ...overrides,
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking the event loop (the test's HTTP server must keep answering). */
const run = (command: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });

const expectInvalid = (options: InstallScriptOptions, field: string): void => {
  let caught: unknown;
  try {
    renderInstallScript(options);
  } catch (error) {
    caught = error;
  }
  expect(isAppError(caught), `${field} should be refused`).toBe(true);
  if (!isAppError(caught)) return;
  expect(caught.code).toBe('INSTALL_OPTIONS_INVALID');
  expect(caught.message.startsWith(`${field}:`)).toBe(true);
  expect(caught.details?.[0]?.path).toBe(field);
};

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'backupx-install-script-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('renderInstallScript', () => {
  const combinations = (['systemd', 'docker', 'foreground'] as const).flatMap((mode) =>
    (['master', 'github', 'ghproxy'] as const).map((downloadSrc) => ({ mode, downloadSrc })),
  );

  it.each(combinations)('renders a syntactically valid $mode script ($downloadSrc)', async (combo) => {
    const script = renderInstallScript(
      baseOptions({ ...combo, proxyUrl: 'socks5h://proxy.lan:1080', caCertFile: '/etc/ssl/corp-ca.pem' }),
    );
    const lines = script.split('\n');
    expect(lines[0]).toBe('#!/bin/sh');
    expect(lines.slice(0, 5)).toContain(`# ${INSTALL_SCRIPT_MARKER}`);
    expect(script).toContain('\nset -eu\numask 077\n');
    expect(script).toContain(`INSTALL_MODE='${combo.mode}'`);
    expect(script).toContain(`DOWNLOAD_SRC='${combo.downloadSrc}'`);
    const file = path.join(scratch, `syntax-${combo.mode}-${combo.downloadSrc}.sh`);
    await writeFile(file, script);
    for (const shell of ['bash', 'dash']) {
      const result = await run(shell, ['-n', file]);
      expect({ shell, ...result }).toEqual({ shell, code: 0, stdout: '', stderr: '' });
    }
  });

  it('single-quotes every value and trims the master URL', () => {
    const script = renderInstallScript(
      baseOptions({
        masterUrl: 'http://[fd00::5]:8340/backupx/',
        proxyUrl: 'http://proxy.lan:3128/',
        caCertFile: '/etc/ssl/ca.pem',
        installToken: 'f0'.repeat(32),
      }),
    );
    expect(script).toContain("MASTER_URL='http://[fd00::5]:8340/backupx'\n");
    expect(script).toContain(`AGENT_TOKEN='${TOKEN}'\n`);
    expect(script).toContain("PROXY_URL='http://proxy.lan:3128'\n");
    expect(script).toContain("CA_CERT_SRC='/etc/ssl/ca.pem'\n");
    expect(script).toContain('# Install token f0f0f0f0... (single use).');
    expect(script).not.toContain('f0'.repeat(32));
  });

  it('renders a preview with the token placeholder, which refuses to run', async () => {
    const script = renderInstallScript(
      baseOptions({ agentToken: AGENT_TOKEN_PLACEHOLDER, mode: 'foreground' }),
    );
    expect(script).toContain(`AGENT_TOKEN='${AGENT_TOKEN_PLACEHOLDER}'`);
    const prefix = await mkdtemp(path.join(scratch, 'preview-'));
    const file = path.join(prefix, 'install.sh');
    await writeFile(file, script);
    const result = await run('bash', [file], {
      PATH: process.env.PATH,
      BACKUPX_INSTALL_PREFIX: prefix,
      BACKUPX_INSTALL_SKIP_ROOT_CHECK: '1',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('this is a preview');
    expect(await readdir(prefix)).toEqual(['install.sh']);
  });

  it('accepts the documented forms of each option', () => {
    expect(validateInstallOptions(baseOptions({ masterUrl: 'http://10.0.0.5:8340/' })).masterUrl).toBe(
      'http://10.0.0.5:8340',
    );
    for (const proxyUrl of ['http://p:3128', 'https://p', 'socks5://p:1080', 'socks5h://p:1080/']) {
      expect(() => validateInstallOptions(baseOptions({ proxyUrl }))).not.toThrow();
    }
    for (const agentToken of ['abcdef12', 'ABCDEF12', 'a'.repeat(128), AGENT_TOKEN_PLACEHOLDER]) {
      expect(() => validateInstallOptions(baseOptions({ agentToken }))).not.toThrow();
    }
    for (const agentVersion of ['1.2.3', 'v2.0.0-rc.1', '1.2.3+build_5', 'latest']) {
      expect(() => validateInstallOptions(baseOptions({ agentVersion }))).not.toThrow();
    }
  });

  it('refuses values outside the rules of SPEC §11.6, naming the field', () => {
    const cases: [keyof InstallScriptOptions, Partial<InstallScriptOptions>][] = [
      ['masterUrl', { masterUrl: '' }],
      ['masterUrl', { masterUrl: 'backup.example.com' }],
      ['masterUrl', { masterUrl: '/relative/path' }],
      ['masterUrl', { masterUrl: 'ftp://backup.example.com' }],
      ['masterUrl', { masterUrl: 'https://user:pw@backup.example.com' }],
      ['masterUrl', { masterUrl: 'https://user@backup.example.com' }],
      ['masterUrl', { masterUrl: 'https://backup.example.com/?a=1' }],
      ['masterUrl', { masterUrl: 'https://backup.example.com/#x' }],
      ['masterUrl', { masterUrl: `https://backup.example.com/${'a'.repeat(2048)}` }],
      ['proxyUrl', { proxyUrl: 'ftp://proxy:21' }],
      ['proxyUrl', { proxyUrl: 'http://user:pw@proxy:3128' }],
      ['proxyUrl', { proxyUrl: 'http://proxy:3128/path' }],
      ['proxyUrl', { proxyUrl: 'proxy:3128' }],
      ['caCertFile', { caCertFile: 'relative/ca.pem' }],
      ['caCertFile', { caCertFile: '/etc/../root/ca.pem' }],
      ['caCertFile', { caCertFile: '/etc//ca.pem' }],
      ['caCertFile', { caCertFile: '/etc/./ca.pem' }],
      ['caCertFile', { caCertFile: '/etc/ssl/' }],
      ['caCertFile', { caCertFile: '/' }],
      ['caCertFile', { caCertFile: `/${'a'.repeat(512)}` }],
      ['agentToken', { agentToken: '' }],
      ['agentToken', { agentToken: 'abcdef1' }],
      ['agentToken', { agentToken: 'a'.repeat(129) }],
      ['agentToken', { agentToken: 'xyz12345' }],
      ['agentVersion', { agentVersion: '' }],
      ['agentVersion', { agentVersion: 'a'.repeat(65) }],
      ['agentVersion', { agentVersion: '1.2.3+meta', mode: 'docker' }],
      ['installToken', { installToken: 'not-hex!' }],
      ['mode', { mode: 'cron' as InstallScriptOptions['mode'] }],
      ['arch', { arch: 'riscv64' as InstallScriptOptions['arch'] }],
      ['downloadSrc', { downloadSrc: 'npm' as InstallScriptOptions['downloadSrc'] }],
    ];
    for (const [field, overrides] of cases) expectInvalid(baseOptions(overrides), field);
  });

  it('refuses shell injection in every field', () => {
    const payloads = [
      "'; touch /tmp/pwned; '",
      '$(touch /tmp/pwned)',
      '`touch /tmp/pwned`',
      '"; touch /tmp/pwned; "',
      '\ntouch /tmp/pwned\n',
      '; touch /tmp/pwned',
      '| touch /tmp/pwned',
      '&& touch /tmp/pwned',
      '> /tmp/pwned',
      '${IFS}touch${IFS}/tmp/pwned',
      '\\',
      ' ',
      '*',
      '#',
      '\0',
    ];
    const fields: {
      field: keyof InstallScriptOptions;
      inject: (payload: string) => Partial<InstallScriptOptions>;
    }[] = [
      { field: 'masterUrl', inject: (p) => ({ masterUrl: `https://backup.example.com/${p}` }) },
      { field: 'masterUrl', inject: (p) => ({ masterUrl: `https://backup.example.com${p}` }) },
      { field: 'masterUrl', inject: (p) => ({ masterUrl: `${p}https://backup.example.com` }) },
      { field: 'proxyUrl', inject: (p) => ({ proxyUrl: `http://proxy:3128${p}` }) },
      { field: 'proxyUrl', inject: (p) => ({ proxyUrl: `socks5://${p}proxy:1080` }) },
      { field: 'caCertFile', inject: (p) => ({ caCertFile: `/etc/ssl/ca${p}.pem` }) },
      { field: 'caCertFile', inject: (p) => ({ caCertFile: `/etc/ssl/${p}` }) },
      { field: 'agentToken', inject: (p) => ({ agentToken: `${TOKEN}${p}` }) },
      { field: 'agentToken', inject: (p) => ({ agentToken: `<AGENT_TOKEN>${p}` }) },
      { field: 'agentVersion', inject: (p) => ({ agentVersion: `1.0.0${p}` }) },
      { field: 'installToken', inject: (p) => ({ installToken: `${TOKEN}${p}` }) },
      { field: 'mode', inject: (p) => ({ mode: `foreground${p}` as InstallScriptOptions['mode'] }) },
      { field: 'arch', inject: (p) => ({ arch: `amd64${p}` as InstallScriptOptions['arch'] }) },
      {
        field: 'downloadSrc',
        inject: (p) => ({ downloadSrc: `master${p}` as InstallScriptOptions['downloadSrc'] }),
      },
    ];
    for (const { field, inject } of fields) {
      for (const payload of payloads) {
        expectInvalid(baseOptions(inject(payload)), field);
        let composeError: unknown;
        try {
          renderComposeFile(baseOptions({ mode: 'docker', ...inject(payload) }));
        } catch (error) {
          composeError = error;
        }
        // The compose file forces docker mode, so only a bad mode gets through, harmlessly.
        if (field !== 'mode') expect(isAppError(composeError)).toBe(true);
      }
    }
  });

  it('quotes for the shell whatever the value holds', async () => {
    const nasty = `it's $(id) \`id\` "x" \\ ; | & > \n $HOME 'more''`;
    const result = await run('bash', ['--norc', '--noprofile', '-c', `printf '%s' ${shellQuote(nasty)}`]);
    expect(result).toEqual({ code: 0, stdout: nasty, stderr: '' });
  });
});

describe('renderComposeFile', () => {
  it('renders the compose template of SPEC §11.6', () => {
    const compose = renderComposeFile(
      baseOptions({ mode: 'docker', proxyUrl: 'http://proxy:3128', caCertFile: '/etc/ssl/corp-ca.pem' }),
    );
    expect(compose).toContain('services:\n  backupx-agent:\n');
    expect(compose).toContain("    image: 'awuqing/backupx:1.4.0'\n");
    expect(compose).toContain("    command: ['agent']\n");
    expect(compose).toContain("    user: '0:0'\n");
    expect(compose).toContain("      - 'no-new-privileges:true'\n");
    expect(compose).toContain("      BACKUPX_AGENT_MASTER: 'https://backup.example.com:8340'\n");
    expect(compose).toContain(`      BACKUPX_AGENT_TOKEN: '${TOKEN}'\n`);
    expect(compose).toContain("      BACKUPX_AGENT_TEMP_DIR: '/var/lib/backupx-agent/tmp'\n");
    expect(compose).toContain("      BACKUPX_AGENT_PROXY_URL: 'http://proxy:3128'\n");
    expect(compose).toContain("      BACKUPX_AGENT_CA_CERT_FILE: '/etc/backupx-agent/ca.pem'\n");
    expect(compose).toContain("      - '/etc/ssl/corp-ca.pem:/etc/backupx-agent/ca.pem:ro'\n");
    expect(compose).toContain("      - '/var/lib/backupx-agent:/var/lib/backupx-agent'\n");
    expect(compose).toContain('read-only mounts');
  });

  it('leaves out the proxy and CA when not set, and keeps the placeholder of a preview', () => {
    const compose = renderComposeFile(baseOptions({ agentToken: AGENT_TOKEN_PLACEHOLDER }));
    expect(compose).toContain(`BACKUPX_AGENT_TOKEN: '${AGENT_TOKEN_PLACEHOLDER}'`);
    expect(compose).not.toContain('PROXY_URL');
    expect(compose).not.toContain('CA_CERT_FILE');
  });
});

/** A .tar.gz laid out like the master's agent package, whose launcher records its arguments. */
const buildFakePackage = async (): Promise<Buffer> => {
  const pack = tar.pack();
  const add = (name: string, mode: number, content?: string): void => {
    if (content === undefined) pack.entry({ name, mode, type: 'directory' });
    else pack.entry({ name, mode }, content);
  };
  add('backupx-agent/', 0o755);
  add(
    'backupx-agent/backupx-agent',
    0o755,
    '#!/bin/sh\nprintf \'%s\\n\' "$@" >"$(dirname "$0")/launched-args"\nexit 0\n',
  );
  add('backupx-agent/agent.mjs', 0o644, '// agent bundle stand-in\n');
  add('backupx-agent/bin/', 0o755);
  add('backupx-agent/bin/node', 0o755, '#!/bin/sh\nexit 99\n');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
};

interface FakeMaster {
  url: string;
  requests: { url: string; token: string | undefined; arch: string | undefined }[];
  /** Overrides the SHA-256 header (to test a mismatch). */
  sha256?: string;
  /** How many `self` polls answer offline before online. */
  offlinePolls: number;
  close: () => Promise<void>;
}

const startFakeMaster = async (tarball: Buffer): Promise<FakeMaster> => {
  const master: FakeMaster = {
    url: '',
    requests: [],
    offlinePolls: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((request, response) => {
    const token = request.headers['x-agent-token'];
    const arch = request.headers['x-agent-arch'];
    master.requests.push({
      url: request.url ?? '',
      token: typeof token === 'string' ? token : undefined,
      arch: typeof arch === 'string' ? arch : undefined,
    });
    if (token !== TOKEN) {
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end('{"code":"NODE_INVALID_TOKEN","message":"invalid token"}');
      return;
    }
    if (request.url === '/api/agent/package') {
      response.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': tarball.length,
        'x-backupx-sha256': master.sha256 ?? createHash('sha256').update(tarball).digest('hex').toUpperCase(),
      });
      response.end(tarball);
      return;
    }
    if (request.url === '/api/v1/agent/self') {
      const status = master.offlinePolls-- > 0 ? 'offline' : 'online';
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ code: 'OK', message: 'success', data: { id: 2, name: 'n', status, lastSeen: '' } }),
      );
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  master.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return master;
};

describe('the installer, run for real under a prefix', () => {
  let master: FakeMaster;
  let tarball: Buffer;
  let prefix: string;

  beforeAll(async () => {
    tarball = await buildFakePackage();
    master = await startFakeMaster(tarball);
  });
  afterAll(async () => {
    await master.close();
  });
  afterEach(() => {
    delete master.sha256;
    master.offlinePolls = 0;
    master.requests.length = 0;
  });

  /** PATH, a prefix and the test hooks only: no proxy variables of the host leak in. */
  const install = async (
    options: Partial<InstallScriptOptions>,
    pathDirs: string[] = [],
  ): Promise<Run & { prefix: string }> => {
    prefix = await mkdtemp(path.join(scratch, 'prefix-'));
    const file = path.join(prefix, 'install.sh');
    await writeFile(file, renderInstallScript(baseOptions({ masterUrl: `${master.url}/`, ...options })));
    const result = await run('bash', [file], {
      PATH: [...pathDirs, process.env.PATH].join(':'),
      TMPDIR: prefix,
      BACKUPX_INSTALL_PREFIX: prefix,
      BACKUPX_INSTALL_SKIP_ROOT_CHECK: '1',
    });
    return { ...result, prefix };
  };

  const expectInstalled = async (root: string): Promise<void> => {
    const configDir = path.join(root, 'etc/backupx-agent');
    const configFile = path.join(configDir, 'config.yaml');
    const tokenFile = path.join(configDir, 'agent.token');
    expect((await stat(configDir)).mode & 0o777).toBe(0o700);
    expect((await stat(configFile)).mode & 0o777).toBe(0o600);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(tokenFile, 'utf8')).toBe(`${TOKEN}\n`);
    expect(await readFile(configFile, 'utf8')).toBe(
      [
        `master: "${master.url}"`,
        `tokenFile: "${tokenFile}"`,
        'heartbeatInterval: "15s"',
        'pollInterval: "5s"',
        `tempDir: "${path.join(root, 'var/lib/backupx-agent/tmp')}"`,
        'proxyUrl: ""',
        'caCertFile: ""',
        '',
      ].join('\n'),
    );
    expect((await stat(path.join(root, 'var/lib/backupx-agent/tmp'))).isDirectory()).toBe(true);
    const launcher = await stat(path.join(root, 'opt/backupx-agent/backupx-agent'));
    expect(launcher.mode & 0o100).toBe(0o100);
    expect((await stat(path.join(root, 'opt/backupx-agent/bin/node'))).isFile()).toBe(true);
    expect((await stat(path.join(root, 'opt/backupx-agent/agent.mjs'))).isFile()).toBe(true);
    // Nothing left behind by the staging and temp directories.
    expect((await readdir(path.join(root, 'opt'))).sort()).toEqual(['backupx-agent']);
    expect((await readdir(root)).sort()).toEqual(['etc', 'install.sh', 'opt', 'var']);
  };

  it('foreground mode with curl: downloads, verifies, installs and execs the agent', async () => {
    const result = await install({ mode: 'foreground' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('SHA-256 verified');
    await expectInstalled(result.prefix);
    expect(await readFile(path.join(result.prefix, 'opt/backupx-agent/launched-args'), 'utf8')).toBe(
      `agent\n--config\n${path.join(result.prefix, 'etc/backupx-agent/config.yaml')}\n`,
    );
    expect(master.requests).toEqual([{ url: '/api/agent/package', token: TOKEN, arch: expect.any(String) }]);
    expect(['amd64', 'arm64']).toContain(master.requests[0]?.arch);
  });

  it('foreground mode with wget when curl is missing', async () => {
    // A PATH holding every tool of the host except curl.
    const noCurl = path.join(scratch, 'bin-without-curl');
    await mkdir(noCurl, { recursive: true });
    for (const dir of (process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/'))) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        if (name === 'curl') continue;
        await symlink(path.join(dir, name), path.join(noCurl, name)).catch(() => undefined);
      }
    }
    prefix = await mkdtemp(path.join(scratch, 'prefix-'));
    const file = path.join(prefix, 'install.sh');
    await writeFile(file, renderInstallScript(baseOptions({ masterUrl: master.url, mode: 'foreground' })));
    const result = await run(path.join(noCurl, 'bash'), [file], {
      PATH: noCurl,
      TMPDIR: prefix,
      BACKUPX_INSTALL_PREFIX: prefix,
      BACKUPX_INSTALL_SKIP_ROOT_CHECK: '1',
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    await expectInstalled(prefix);
    expect(await readFile(path.join(prefix, 'opt/backupx-agent/launched-args'), 'utf8')).toContain('agent\n');
  });

  it('aborts on a SHA-256 mismatch and installs nothing', async () => {
    master.sha256 = 'ab'.repeat(32);
    const result = await install({ mode: 'foreground' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('SHA-256 mismatch');
    // Neither the package nor its temp directory stays behind.
    expect((await readdir(result.prefix)).sort()).toEqual(['etc', 'install.sh', 'var']);
  });

  it('aborts when the master refuses the token', async () => {
    const result = await install({ mode: 'foreground', agentToken: 'b2'.repeat(32) });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('could not download');
    expect(await readdir(result.prefix)).not.toContain('opt');
  });

  it('systemd mode writes the unit, starts it and waits for the node to be online', async () => {
    // systemd cannot run here: a stand-in systemctl records its calls.
    const fakeBin = await mkdtemp(path.join(scratch, 'fake-systemctl-'));
    await writeFile(
      path.join(fakeBin, 'systemctl'),
      `#!/bin/sh\nprintf '%s\\n' "$*" >>${shellQuote(path.join(fakeBin, 'calls'))}\n`,
    );
    await chmod(path.join(fakeBin, 'systemctl'), 0o755);
    master.offlinePolls = 1;
    const result = await install({ mode: 'systemd' }, [fakeBin]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('the agent is online');
    const root = result.prefix;
    expect(await readFile(path.join(fakeBin, 'calls'), 'utf8')).toBe(
      'daemon-reload\nenable backupx-agent.service\nrestart backupx-agent.service\n',
    );
    const unit = await readFile(path.join(root, 'etc/systemd/system/backupx-agent.service'), 'utf8');
    expect(unit).toContain(
      `ExecStart=${root}/opt/backupx-agent/backupx-agent agent --config ${root}/etc/backupx-agent/config.yaml\n`,
    );
    for (const line of [
      'Restart=on-failure',
      'RestartSec=10s',
      'StartLimitIntervalSec=300',
      'StartLimitBurst=10',
      'UMask=0077',
      'LimitNOFILE=65535',
      'User=root',
      'WantedBy=multi-user.target',
    ]) {
      expect(unit).toContain(`${line}\n`);
    }
    expect(master.requests.map((r) => r.url)).toEqual([
      '/api/agent/package',
      '/api/v1/agent/self',
      '/api/v1/agent/self',
    ]);
  });

  it('docker mode runs BackupX’s image with the config mounted read-only', async () => {
    // No docker daemon here: a stand-in docker records its calls.
    const fakeBin = await mkdtemp(path.join(scratch, 'fake-docker-'));
    await writeFile(
      path.join(fakeBin, 'docker'),
      `#!/bin/sh\nprintf '%s\\n' "$*" >>${shellQuote(path.join(fakeBin, 'calls'))}\n`,
    );
    await chmod(path.join(fakeBin, 'docker'), 0o755);
    const result = await install({ mode: 'docker', caCertFile: '' }, [fakeBin]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const root = result.prefix;
    expect((await readFile(path.join(fakeBin, 'calls'), 'utf8')).split('\n')).toEqual([
      'pull awuqing/backupx:1.4.0',
      'rm -f backupx-agent',
      `run -d --name backupx-agent --restart=unless-stopped --user 0:0 --security-opt no-new-privileges:true -v ${root}/etc/backupx-agent:/etc/backupx-agent:ro -v ${root}/var/lib/backupx-agent:/var/lib/backupx-agent awuqing/backupx:1.4.0 agent --config /etc/backupx-agent/config.yaml`,
      '',
    ]);
    // Inside the container the agent sees the standard paths.
    const config = await readFile(path.join(root, 'etc/backupx-agent/config.yaml'), 'utf8');
    expect(config).toContain('tokenFile: "/etc/backupx-agent/agent.token"\n');
    expect(config).toContain('tempDir: "/var/lib/backupx-agent/tmp"\n');
    expect(master.requests.map((r) => r.url)).toEqual(['/api/v1/agent/self']);
  });
});
