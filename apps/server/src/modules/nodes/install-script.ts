/**
 * The one-click agent installer (SPEC §11.6): a shell script and a docker compose file rendered
 * from validated options. Pure: no I/O.
 *
 * The script runs as root on the operator's server, so every value that reaches it is checked
 * against an allow-list first and then single-quoted; the script body itself is a constant, and
 * the only interpolation is the block of variable assignments at its top.
 */
import {
  installArches,
  installDownloadSources,
  installModes,
  type InstallTokenInput,
} from '@backupx/contract';
import { AppError } from '../../lib/errors.ts';

/** Stands for the node's agent token in previews (the script refuses to run with it). */
export const AGENT_TOKEN_PLACEHOLDER = '<AGENT_TOKEN>';
/** The UI checks for this line to tell a script from a proxy's HTML page. */
export const INSTALL_SCRIPT_MARKER = 'BACKUPX_AGENT_INSTALL_V1';
/** BackupX's image: the docker mode and compose file run it, as BackupX's own installer does. */
export const AGENT_DOCKER_IMAGE = 'awuqing/backupx';

export const GITHUB_RELEASE_BASE = 'https://github.com/Awuqing/BackupX/releases/download';
export const GHPROXY_RELEASE_BASE = `https://ghproxy.com/${GITHUB_RELEASE_BASE}`;

export interface InstallScriptOptions {
  /** The URL the agent will use to reach the master. */
  masterUrl: string;
  /** The node's agent token (hex), or {@link AGENT_TOKEN_PLACEHOLDER} for a preview. */
  agentToken: string;
  mode: InstallTokenInput['mode'];
  arch: InstallTokenInput['arch'];
  agentVersion: string;
  downloadSrc: InstallTokenInput['downloadSrc'];
  /** '' = none (curl and the agent still honour HTTP(S)_PROXY from the environment). */
  proxyUrl: string;
  /** '' = the system roots only. */
  caCertFile: string;
  /** The one-time install token that served this script; named in its header for support. */
  installToken?: string;
}

const MASTER_URL_MAX = 2048;
const PROXY_URL_MAX = 2048;
const CA_CERT_FILE_MAX = 512;

/**
 * Characters a URL may carry into the script. Excludes every shell metacharacter
 * (`'"$\`;&|<>(){}*?!#~^` and whitespace); `[` `]` stay for IPv6 hosts, `@` for nothing (no
 * credentials are accepted anyway).
 */
const URL_SAFE = /^[A-Za-z0-9\-._~:/[\]%+,=]+$/;
const PATH_SAFE = /^[A-Za-z0-9\-._/+,=@]+$/;
const HEX_TOKEN = /^[0-9a-fA-F]{8,128}$/;
const AGENT_VERSION = /^[0-9A-Za-z.+_-]{1,64}$/;
/** Docker tags: no `+`, no leading `.` or `-`. */
const DOCKER_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

const invalid = (field: keyof InstallScriptOptions, message: string): AppError =>
  new AppError('INSTALL_OPTIONS_INVALID', `${field}: ${message}`, {
    details: [{ path: field, message }],
  });

const parseUrl = (value: string): URL | undefined => {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
};

const validateMasterUrl = (value: string): string => {
  const field = 'masterUrl';
  if (value === '') throw invalid(field, 'the master URL is required');
  if (value.length > MASTER_URL_MAX) throw invalid(field, `at most ${MASTER_URL_MAX} characters`);
  if (!URL_SAFE.test(value)) {
    throw invalid(field, 'must not contain spaces, quotes, credentials or shell metacharacters');
  }
  const url = parseUrl(value);
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.host === '') {
    throw invalid(field, 'must be an absolute http:// or https:// URL');
  }
  // `?` and `#` are already refused by URL_SAFE; kept explicit because the rule is the SPEC's.
  if (url.username !== '' || url.password !== '') throw invalid(field, 'must not contain credentials');
  if (url.search !== '' || url.hash !== '') throw invalid(field, 'must not contain a query or fragment');
  return value.replace(/\/+$/, '');
};

const validateProxyUrl = (value: string): string => {
  const field = 'proxyUrl';
  if (value === '') return '';
  if (value.length > PROXY_URL_MAX) throw invalid(field, `at most ${PROXY_URL_MAX} characters`);
  if (!URL_SAFE.test(value)) {
    throw invalid(field, 'must not contain spaces, quotes, credentials or shell metacharacters');
  }
  const url = parseUrl(value);
  if (url === undefined || !['http:', 'https:', 'socks5:', 'socks5h:'].includes(url.protocol)) {
    throw invalid(field, 'must be an http, https, socks5 or socks5h URL');
  }
  if (url.hostname === '') throw invalid(field, 'must name a host');
  if (url.username !== '' || url.password !== '') throw invalid(field, 'must not contain credentials');
  if (url.search !== '' || url.hash !== '' || !['', '/'].includes(url.pathname)) {
    throw invalid(field, 'must be scheme://host:port without a path');
  }
  return value.replace(/\/+$/, '');
};

const validateCaCertFile = (value: string): string => {
  const field = 'caCertFile';
  if (value === '') return '';
  if (value.length > CA_CERT_FILE_MAX) throw invalid(field, `at most ${CA_CERT_FILE_MAX} characters`);
  if (!PATH_SAFE.test(value)) {
    throw invalid(field, 'must not contain spaces, quotes or shell metacharacters');
  }
  const segments = value.split('/');
  const isClean =
    value.startsWith('/') &&
    value.length > 1 &&
    segments.slice(1).every((segment) => segment !== '' && segment !== '.' && segment !== '..');
  if (!isClean) throw invalid(field, 'must be a clean absolute path such as /etc/ssl/my-ca.pem');
  return value;
};

const validateAgentToken = (value: string): string => {
  if (value === AGENT_TOKEN_PLACEHOLDER || HEX_TOKEN.test(value)) return value;
  throw invalid('agentToken', 'must be 8–128 hexadecimal characters');
};

const validateEnum = <T extends string>(
  field: keyof InstallScriptOptions,
  value: string,
  allowed: readonly T[],
): T => {
  const found = allowed.find((candidate) => candidate === value);
  if (found === undefined) throw invalid(field, `must be one of ${allowed.join(', ')}`);
  return found;
};

/**
 * Checks every option against SPEC §11.6 and returns them normalised (trailing `/` of URLs
 * trimmed). Throws `INSTALL_OPTIONS_INVALID` naming the field.
 */
export const validateInstallOptions = (options: InstallScriptOptions): InstallScriptOptions => {
  const mode = validateEnum('mode', options.mode, installModes);
  const agentVersion = options.agentVersion;
  if (!AGENT_VERSION.test(agentVersion)) {
    throw invalid('agentVersion', 'must be 1–64 letters, digits or . + _ -');
  }
  if (mode === 'docker' && !DOCKER_TAG.test(agentVersion)) {
    throw invalid('agentVersion', 'must be a docker tag in docker mode (no +, no leading . or -)');
  }
  const installToken = options.installToken;
  if (installToken !== undefined && !HEX_TOKEN.test(installToken)) {
    throw invalid('installToken', 'must be 8–128 hexadecimal characters');
  }
  return {
    masterUrl: validateMasterUrl(options.masterUrl),
    agentToken: validateAgentToken(options.agentToken),
    mode,
    arch: validateEnum('arch', options.arch, installArches),
    agentVersion,
    downloadSrc: validateEnum('downloadSrc', options.downloadSrc, installDownloadSources),
    proxyUrl: validateProxyUrl(options.proxyUrl),
    caCertFile: validateCaCertFile(options.caCertFile),
    ...(installToken === undefined ? {} : { installToken }),
  };
};

/** POSIX single-quoting: the shell takes the result literally, whatever it contains. */
export const shellQuote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

/** YAML single-quoting (a `'` is doubled). */
const yamlQuote = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/**
 * The installer (SPEC §11.6 steps 1–8). Every path is relative to `$BACKUPX_INSTALL_PREFIX`
 * (default: the real root), and `BACKUPX_INSTALL_SKIP_ROOT_CHECK=1` lifts the root check, so the
 * script can be exercised without root in a temporary directory.
 */
export const renderInstallScript = (input: InstallScriptOptions): string => {
  const options = validateInstallOptions(input);
  const header = [
    '#!/bin/sh',
    `# ${INSTALL_SCRIPT_MARKER}`,
    `# BackupX agent installer: mode ${options.mode}, package from ${options.downloadSrc}.`,
    '# Generated by the BackupX master. It embeds the agent token of this node: keep it secret.',
    ...(options.installToken === undefined
      ? []
      : [`# Install token ${options.installToken.slice(0, 8)}... (single use).`]),
  ];
  const values = [
    `MASTER_URL=${shellQuote(options.masterUrl)}`,
    `AGENT_TOKEN=${shellQuote(options.agentToken)}`,
    `INSTALL_MODE=${shellQuote(options.mode)}`,
    `AGENT_ARCH=${shellQuote(options.arch)}`,
    `AGENT_VERSION=${shellQuote(options.agentVersion)}`,
    `DOWNLOAD_SRC=${shellQuote(options.downloadSrc)}`,
    `PROXY_URL=${shellQuote(options.proxyUrl)}`,
    `CA_CERT_SRC=${shellQuote(options.caCertFile)}`,
    `TOKEN_PLACEHOLDER=${shellQuote(AGENT_TOKEN_PLACEHOLDER)}`,
    `DOCKER_IMAGE=${shellQuote(AGENT_DOCKER_IMAGE)}`,
    `GITHUB_BASE=${shellQuote(GITHUB_RELEASE_BASE)}`,
    `GHPROXY_BASE=${shellQuote(GHPROXY_RELEASE_BASE)}`,
  ];
  return `${header.join('\n')}\nset -eu\numask 077\n\n${values.join('\n')}\n${SCRIPT_BODY}`;
};

/** The docker compose file of a docker-mode install (SPEC §11.6, compose template). */
export const renderComposeFile = (input: InstallScriptOptions): string => {
  const options = validateInstallOptions({ ...input, mode: 'docker' });
  const image = `${AGENT_DOCKER_IMAGE}:${options.agentVersion}`;
  const environment = [
    `      BACKUPX_AGENT_MASTER: ${yamlQuote(options.masterUrl)}`,
    `      BACKUPX_AGENT_TOKEN: ${yamlQuote(options.agentToken)}`,
    `      BACKUPX_AGENT_TEMP_DIR: '/var/lib/backupx-agent/tmp'`,
    ...(options.proxyUrl === '' ? [] : [`      BACKUPX_AGENT_PROXY_URL: ${yamlQuote(options.proxyUrl)}`]),
    ...(options.caCertFile === '' ? [] : [`      BACKUPX_AGENT_CA_CERT_FILE: '/etc/backupx-agent/ca.pem'`]),
  ];
  const volumes = [
    `      - '/var/lib/backupx-agent:/var/lib/backupx-agent'`,
    ...(options.caCertFile === ''
      ? []
      : [`      - ${yamlQuote(`${options.caCertFile}:/etc/backupx-agent/ca.pem:ro`)}`]),
    '      # Add what this agent should back up as read-only mounts, for example:',
    "      # - '/srv/data:/srv/data:ro'",
  ];
  return [
    '# BackupX agent (docker compose). Generated by the BackupX master.',
    '# It embeds the agent token of this node: keep it secret. Start with: docker compose up -d',
    'services:',
    '  backupx-agent:',
    `    image: ${yamlQuote(image)}`,
    '    container_name: backupx-agent',
    '    restart: unless-stopped',
    "    command: ['agent']",
    "    user: '0:0'",
    '    security_opt:',
    "      - 'no-new-privileges:true'",
    '    environment:',
    ...environment,
    '    volumes:',
    ...volumes,
    '',
  ].join('\n');
};

/**
 * The constant part of the installer. POSIX sh (bash when available, for pipefail); it reads
 * only the variables assigned above it and the BACKUPX_INSTALL_* test hooks. Written raw so the
 * shell's backslashes stay as they are; `\${` stands for the shell's `${` (a raw template keeps
 * the backslash, removed below).
 */
const SCRIPT_BODY = String.raw`
# 1. Prefer bash when started from a file (curl ... | sh cannot re-exec, and does not need to).
if [ -z "\${BASH_VERSION:-}" ] && [ -f "$0" ] && command -v bash >/dev/null 2>&1; then
  exec bash "$0" "$@"
fi
if [ -n "\${BASH_VERSION:-}" ]; then set -o pipefail; fi

info() { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
fail() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# Test hooks: install under a prefix and without root (the real paths when unset).
PREFIX="\${BACKUPX_INSTALL_PREFIX:-}"
case "$PREFIX" in
  '' | /*) ;;
  *) fail "BACKUPX_INSTALL_PREFIX must be an absolute path" ;;
esac
case "$PREFIX" in
  *[!A-Za-z0-9._/-]*) fail "BACKUPX_INSTALL_PREFIX may only contain letters, digits and . _ / -" ;;
esac
while [ "\${PREFIX%/}" != "$PREFIX" ]; do PREFIX="\${PREFIX%/}"; done

CONFIG_DIR="$PREFIX/etc/backupx-agent"
INSTALL_DIR="$PREFIX/opt/backupx-agent"
STATE_DIR="$PREFIX/var/lib/backupx-agent"
TEMP_DIR="$STATE_DIR/tmp"
TOKEN_FILE="$CONFIG_DIR/agent.token"
CONFIG_FILE="$CONFIG_DIR/config.yaml"
CA_FILE="$CONFIG_DIR/ca.pem"
UNIT_NAME="backupx-agent.service"
UNIT_FILE="$PREFIX/etc/systemd/system/$UNIT_NAME"
CONTAINER_NAME="backupx-agent"

if [ "$AGENT_TOKEN" = "$TOKEN_PLACEHOLDER" ]; then
  fail "this is a preview: create an install token in the console to get a script with the agent token"
fi

# 2. Requirements.
if [ "\${BACKUPX_INSTALL_SKIP_ROOT_CHECK:-}" != 1 ] && [ "$(id -u)" != 0 ]; then
  fail "run as root, for example: curl -fsSL <url> | sudo bash"
fi
have grep || fail "grep is required"
if have curl; then
  HTTP_CLIENT=curl
elif have wget; then
  HTTP_CLIENT=wget
else
  fail "curl or wget is required"
fi
if { [ -n "$PROXY_URL" ] || [ -n "$CA_CERT_SRC" ]; } && [ "$HTTP_CLIENT" != curl ]; then
  fail "curl is required when a proxy or a custom CA is configured"
fi
case "$INSTALL_MODE" in
  systemd) have systemctl || fail "systemd mode needs systemctl (use the docker or foreground mode)" ;;
  docker) have docker || fail "docker mode needs docker" ;;
  foreground) ;;
  *) fail "unknown mode: $INSTALL_MODE" ;;
esac
if [ "$INSTALL_MODE" != docker ]; then
  have tar || fail "tar is required"
  [ "$(uname -s)" = Linux ] || fail "the agent package is built for Linux"
fi
if [ -n "$CA_CERT_SRC" ] && [ ! -f "$CA_CERT_SRC" ]; then
  fail "CA certificate not found: $CA_CERT_SRC"
fi

# 3. Architecture (docker pulls a multi-arch image: no package to choose).
if [ "$INSTALL_MODE" = docker ]; then
  ARCH="$(uname -m)"
elif [ "$AGENT_ARCH" = auto ]; then
  case "$(uname -m)" in
    x86_64 | amd64) ARCH=amd64 ;;
    aarch64 | arm64) ARCH=arm64 ;;
    *) fail "unsupported architecture: $(uname -m) (the agent is built for amd64 and arm64)" ;;
  esac
else
  ARCH="$AGENT_ARCH"
fi

WORK_DIR="$(mktemp -d "\${TMPDIR:-/tmp}/backupx-agent-install.XXXXXX")"
cleanup() { rm -rf "$WORK_DIR"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# 4. Configuration: token, CA, config.yaml (paths as the agent will see them).
mkdir -p "$CONFIG_DIR" "$TEMP_DIR"
chmod 700 "$CONFIG_DIR"
printf '%s\n' "$AGENT_TOKEN" >"$TOKEN_FILE.tmp"
chmod 600 "$TOKEN_FILE.tmp"
mv -f "$TOKEN_FILE.tmp" "$TOKEN_FILE"
if [ -n "$CA_CERT_SRC" ] && [ "$CA_CERT_SRC" != "$CA_FILE" ]; then
  cp "$CA_CERT_SRC" "$CA_FILE.tmp"
  chmod 600 "$CA_FILE.tmp"
  mv -f "$CA_FILE.tmp" "$CA_FILE"
fi
if [ "$INSTALL_MODE" = docker ]; then
  # Mounted into the container at the standard paths.
  AGENT_CONFIG_DIR=/etc/backupx-agent
  AGENT_TEMP_DIR=/var/lib/backupx-agent/tmp
else
  AGENT_CONFIG_DIR="$CONFIG_DIR"
  AGENT_TEMP_DIR="$TEMP_DIR"
fi
AGENT_CA_FILE=""
if [ -n "$CA_CERT_SRC" ]; then AGENT_CA_FILE="$AGENT_CONFIG_DIR/ca.pem"; fi
{
  printf 'master: "%s"\n' "$MASTER_URL"
  printf 'tokenFile: "%s"\n' "$AGENT_CONFIG_DIR/agent.token"
  printf 'heartbeatInterval: "15s"\n'
  printf 'pollInterval: "5s"\n'
  printf 'tempDir: "%s"\n' "$AGENT_TEMP_DIR"
  printf 'proxyUrl: "%s"\n' "$PROXY_URL"
  printf 'caCertFile: "%s"\n' "$AGENT_CA_FILE"
} >"$CONFIG_FILE.tmp"
chmod 600 "$CONFIG_FILE.tmp"
mv -f "$CONFIG_FILE.tmp" "$CONFIG_FILE"
info "configuration written to $CONFIG_FILE"

# The token travels in a curl config file (0600), not on the command line where ps shows it.
AUTH_FILE="$WORK_DIR/auth.curlrc"
printf 'header = "X-Agent-Token: %s"\nheader = "X-Agent-Arch: %s"\n' "$AGENT_TOKEN" "$ARCH" >"$AUTH_FILE"

# http_get URL OUT HEADERS AUTH(0|1) FOLLOW(0|1) RETRIES: body to OUT, response headers to HEADERS.
# Requests that carry the token never follow redirects, so the token cannot leak to another host.
http_get() {
  if [ "$HTTP_CLIENT" = curl ]; then
    set -- "$1" "$2" "$3" "$4" "$5" "$6" -fsS --connect-timeout 15 --retry "$6" -D "$3" -o "$2"
    if [ "$4" = 1 ]; then set -- "$@" -K "$AUTH_FILE"; fi
    if [ "$5" = 1 ]; then set -- "$@" -L; fi
    if [ -n "$PROXY_URL" ]; then set -- "$@" --proxy "$PROXY_URL"; fi
    if [ -n "$CA_CERT_SRC" ]; then set -- "$@" --cacert "$CA_FILE"; fi
    _url="$1"
    shift 6
    curl "$@" "$_url"
  else
    set -- "$1" "$2" "$3" "$4" "$5" "$6" -q -S -O "$2" --timeout=120 --tries="$(($6 + 1))"
    if [ "$4" = 1 ]; then
      set -- "$@" --header "X-Agent-Token: $AGENT_TOKEN" --header "X-Agent-Arch: $ARCH"
    fi
    if [ "$5" != 1 ]; then set -- "$@" --max-redirect=0; fi
    _url="$1"
    _headers="$3"
    shift 6
    wget "$@" "$_url" 2>"$_headers"
  fi
}

# header_value NAME FILE: the last value of a response header (case-insensitive), lower-cased.
header_value() {
  { grep -i "^[[:space:]]*$1:" "$2" || true; } | tail -n 1 | sed 's/^[^:]*:[[:space:]]*//' | tr -d '\r' | tr 'A-F' 'a-f'
}

sha256_of() {
  if have sha256sum; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif have shasum; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    return 1
  fi
}

# verify_sha256 FILE EXPECTED
verify_sha256() {
  case "$2" in
    *[!0-9a-f]* | '') fail "malformed SHA-256 from the server: $2" ;;
  esac
  [ "\${#2}" -eq 64 ] || fail "malformed SHA-256 from the server: $2"
  _actual="$(sha256_of "$1")" || fail "sha256sum or shasum is required to verify the download"
  if [ "$_actual" != "$2" ]; then
    fail "SHA-256 mismatch for the agent package (expected $2, got $_actual): download aborted"
  fi
  info "SHA-256 verified"
}

# replace_install_dir STAGED_DIR: swap the new files in (the running agent keeps its old inodes).
replace_install_dir() {
  rm -rf "$INSTALL_DIR.old"
  if [ -e "$INSTALL_DIR" ]; then mv "$INSTALL_DIR" "$INSTALL_DIR.old"; fi
  mv "$1" "$INSTALL_DIR"
  rm -rf "$INSTALL_DIR.old"
}

# 5. The agent package: from this master (default) or BackupX's GitHub releases.
install_from_master() {
  _pkg="$WORK_DIR/agent.tar.gz"
  info "downloading the agent (linux-$ARCH) from $MASTER_URL"
  http_get "$MASTER_URL/api/agent/package" "$_pkg" "$WORK_DIR/package.headers" 1 0 3 ||
    fail "could not download $MASTER_URL/api/agent/package (is the master reachable from here, and the token valid?)"
  _served_arch="$(header_value X-BackupX-Arch "$WORK_DIR/package.headers")"
  if [ -n "$_served_arch" ] && [ "$_served_arch" != "$ARCH" ]; then
    fail "the master serves the agent for linux-$_served_arch, this server is $ARCH: install from github instead"
  fi
  _sum="$(header_value X-BackupX-SHA256 "$WORK_DIR/package.headers")"
  [ -n "$_sum" ] || fail "the master did not send X-BackupX-SHA256: download aborted"
  verify_sha256 "$_pkg" "$_sum"
  mkdir -p "$PREFIX/opt"
  _stage="$PREFIX/opt/.backupx-agent.new.$$"
  rm -rf "$_stage"
  mkdir -p "$_stage"
  tar -xzf "$_pkg" -C "$_stage" || fail "could not extract the agent package"
  for _file in backupx-agent bin/node agent.mjs; do
    [ -f "$_stage/backupx-agent/$_file" ] || fail "the agent package lacks backupx-agent/$_file"
  done
  chmod 755 "$_stage/backupx-agent" "$_stage/backupx-agent/backupx-agent" "$_stage/backupx-agent/bin/node"
  replace_install_dir "$_stage/backupx-agent"
  rmdir "$_stage"
  AGENT_BIN="$INSTALL_DIR/backupx-agent"
  info "agent installed in $INSTALL_DIR"
}

install_from_release() {
  if [ "$DOWNLOAD_SRC" = ghproxy ]; then _base="$GHPROXY_BASE"; else _base="$GITHUB_BASE"; fi
  _name="backupx-$AGENT_VERSION-linux-$ARCH.tar.gz"
  _url="$_base/$AGENT_VERSION/$_name"
  _pkg="$WORK_DIR/$_name"
  info "downloading $_url"
  http_get "$_url" "$_pkg" "$WORK_DIR/release.headers" 0 1 3 || fail "could not download $_url"
  if http_get "$_url.sha256" "$WORK_DIR/release.sha256" "$WORK_DIR/sha.headers" 0 1 3 2>/dev/null; then
    _sum="$(cut -d ' ' -f 1 <"$WORK_DIR/release.sha256" | head -n 1 | tr -d '\r' | tr 'A-F' 'a-f')"
    verify_sha256 "$_pkg" "$_sum"
  else
    warn "no $_name.sha256 published: the download is not verified"
  fi
  mkdir -p "$WORK_DIR/release"
  tar -xzf "$_pkg" -C "$WORK_DIR/release" || fail "could not extract $_name"
  _bin="$(find "$WORK_DIR/release" -type f -name backupx | head -n 1)"
  [ -n "$_bin" ] || fail "$_name has no backupx binary"
  mkdir -p "$PREFIX/opt"
  _stage="$PREFIX/opt/.backupx-agent.new.$$"
  rm -rf "$_stage"
  mkdir -p "$_stage"
  cp "$_bin" "$_stage/backupx"
  chmod 755 "$_stage" "$_stage/backupx"
  replace_install_dir "$_stage"
  AGENT_BIN="$INSTALL_DIR/backupx"
  info "agent installed in $INSTALL_DIR"
}

# Polls GET /api/v1/agent/self until the master reports the node online (15 times, 2 s apart).
wait_online() {
  info "waiting for the agent to come online"
  _try=0
  while [ "$_try" -lt 15 ]; do
    _try=$((_try + 1))
    if http_get "$MASTER_URL/api/v1/agent/self" "$WORK_DIR/self.json" "$WORK_DIR/self.headers" 1 0 0 2>/dev/null &&
      grep -q '"status"[[:space:]]*:[[:space:]]*"online"' "$WORK_DIR/self.json"; then
      info "the agent is online"
      return 0
    fi
    sleep 2
  done
  return 1
}

case "$INSTALL_MODE" in
  systemd | foreground)
    if [ "$DOWNLOAD_SRC" = master ]; then install_from_master; else install_from_release; fi
    ;;
esac

case "$INSTALL_MODE" in
  systemd)
    # 6. systemd service.
    mkdir -p "$(dirname "$UNIT_FILE")"
    {
      printf '[Unit]\n'
      printf 'Description=BackupX Agent\n'
      printf 'After=network-online.target\n'
      printf 'Wants=network-online.target\n'
      printf 'StartLimitIntervalSec=300\n'
      printf 'StartLimitBurst=10\n\n'
      printf '[Service]\n'
      printf 'Type=simple\n'
      printf 'User=root\n'
      printf 'ExecStart=%s agent --config %s\n' "$AGENT_BIN" "$CONFIG_FILE"
      printf 'Restart=on-failure\n'
      printf 'RestartSec=10s\n'
      printf 'UMask=0077\n'
      printf 'LimitNOFILE=65535\n\n'
      printf '[Install]\n'
      printf 'WantedBy=multi-user.target\n'
    } >"$UNIT_FILE.tmp"
    chmod 644 "$UNIT_FILE.tmp"
    mv -f "$UNIT_FILE.tmp" "$UNIT_FILE"
    systemctl daemon-reload
    systemctl enable "$UNIT_NAME" >/dev/null 2>&1 || systemctl enable "$UNIT_NAME"
    if ! systemctl restart "$UNIT_NAME"; then
      systemctl status "$UNIT_NAME" --no-pager || true
      journalctl -u "$UNIT_NAME" -n 50 --no-pager 2>/dev/null || true
      fail "the $UNIT_NAME service did not start"
    fi
    if wait_online; then exit 0; fi
    warn "the agent did not report online within 30 s"
    systemctl status "$UNIT_NAME" --no-pager || true
    journalctl -u "$UNIT_NAME" -n 50 --no-pager 2>/dev/null || true
    exit 2
    ;;
  foreground)
    # 7. Run in the foreground (the caller supervises it).
    cleanup
    trap - EXIT INT TERM
    info "starting the agent in the foreground"
    exec "$AGENT_BIN" agent --config "$CONFIG_FILE"
    ;;
  docker)
    # 8. Docker container (BackupX's image).
    info "pulling $DOCKER_IMAGE:$AGENT_VERSION"
    docker pull "$DOCKER_IMAGE:$AGENT_VERSION"
    docker rm -f "$CONTAINER_NAME" >/dev/null 2>&1 || true
    docker run -d --name "$CONTAINER_NAME" --restart=unless-stopped --user 0:0 \
      --security-opt no-new-privileges:true \
      -v "$CONFIG_DIR:/etc/backupx-agent:ro" -v "$STATE_DIR:/var/lib/backupx-agent" \
      "$DOCKER_IMAGE:$AGENT_VERSION" agent --config /etc/backupx-agent/config.yaml >/dev/null
    if wait_online; then exit 0; fi
    warn "the agent did not report online within 30 s"
    docker ps -a --filter "name=^$CONTAINER_NAME\$" || true
    docker logs --tail 50 "$CONTAINER_NAME" || true
    exit 2
    ;;
esac
`.replaceAll('\\${', '${');
