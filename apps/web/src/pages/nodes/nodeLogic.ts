/**
 * Pure logic of the nodes pages: batch name parsing, install options → request, the copy-paste
 * install commands (SPEC §11.6), countdowns and label (pool) lists. Free of React so it can be
 * unit-tested.
 */
import { NODE_BATCH_MAX, NODE_NAME_MAX } from '@backupx/contract';
import type { InstallTokenInput, NodeSummary } from '@backupx/contract';
import { parseTags } from '../tasks/taskForm.ts';

/** Query keys of the nodes pages; every key starts with `nodes` so events refresh them. */
export const nodeKeys = {
  all: ['nodes'] as const,
  list: ['nodes', 'list'] as const,
  detail: (id: number) => ['nodes', 'detail', id] as const,
  fs: (id: number, path: string) => ['nodes', 'fs', id, path] as const,
};

/** The nodes list refreshes this often while a page shows it (heartbeats arrive every 15 s). */
export const NODES_REFRESH_MS = 10_000;

/**
 * Browsing and discovery on a remote node wait for its agent (up to 15 s on the master), so the
 * console waits longer than for an ordinary call.
 */
export const NODE_RPC_TIMEOUT_MS = 25_000;

/** The labels of a node (CSV, normalised by the master). */
export const nodeLabels = (node: Pick<NodeSummary, 'labels'>): string[] => parseTags(node.labels);

/** Every label carried by some node, sorted: the node pools that exist. */
export function poolLabels(nodes: readonly Pick<NodeSummary, 'labels'>[]): string[] {
  const labels = new Set<string>();
  for (const node of nodes) for (const label of nodeLabels(node)) labels.add(label);
  return [...labels].sort((a, b) => a.localeCompare(b));
}

/** Online nodes carrying `label` (exact, trimmed): the candidates of a pool run (SPEC §5.4). */
export const poolMembers = <N extends Pick<NodeSummary, 'labels' | 'status'>>(
  nodes: readonly N[],
  label: string,
): N[] => nodes.filter((node) => nodeLabels(node).includes(label.trim()));

export interface BatchNames {
  /** Trimmed, non-blank names in input order. */
  names: string[];
  /** Names given more than once (case-sensitive, as the master compares them). */
  duplicates: string[];
  /** Names longer than the limit. */
  tooLong: string[];
  /** More names than one batch may create. */
  tooMany: boolean;
}

/** Reads a batch textarea: one name per line, blank lines skipped (SPEC §11.2). */
export function parseBatchNames(text: string): BatchNames {
  const names = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) duplicates.add(name);
    seen.add(name);
  }
  return {
    names,
    duplicates: [...duplicates],
    tooLong: names.filter((name) => name.length > NODE_NAME_MAX),
    tooMany: names.length > NODE_BATCH_MAX,
  };
}

/** Install command lifetimes offered by the wizard; 15 minutes is the recommended default. */
export const ttlChoices = [300, 900, 3600, 86_400] as const;
export type TtlChoice = (typeof ttlChoices)[number];
export const DEFAULT_TTL: TtlChoice = 900;

export type NetworkPath = 'direct' | 'proxy';

/** The options of step 2 of the add-node wizard. */
export interface DeployOptions {
  mode: InstallTokenInput['mode'];
  arch: InstallTokenInput['arch'];
  agentVersion: string;
  ttlSeconds: TtlChoice;
  downloadSrc: InstallTokenInput['downloadSrc'];
  network: NetworkPath;
  agentMasterUrl: string;
  proxyUrl: string;
  caCertFile: string;
}

export const defaultDeployOptions = (masterVersion: string): DeployOptions => ({
  mode: 'systemd',
  arch: 'auto',
  agentVersion: masterVersion,
  ttlSeconds: DEFAULT_TTL,
  downloadSrc: 'master',
  network: 'direct',
  agentMasterUrl: '',
  proxyUrl: '',
  caCertFile: '',
});

/** The body of `POST /api/nodes/:id/install-tokens`; the proxy fields count only on that path. */
export function installTokenBody(options: DeployOptions): InstallTokenInput {
  const proxy = options.network === 'proxy';
  return {
    mode: options.mode,
    arch: options.arch,
    agentVersion: options.agentVersion.trim(),
    ttlSeconds: options.ttlSeconds,
    downloadSrc: options.downloadSrc,
    agentMasterUrl: proxy ? options.agentMasterUrl.trim() : '',
    proxyUrl: proxy ? options.proxyUrl.trim() : '',
    caCertFile: proxy ? options.caCertFile.trim() : '',
  };
}

/** The query of the script preview: the same options without the lifetime. */
export function previewQuery(options: DeployOptions): Omit<InstallTokenInput, 'ttlSeconds'> {
  const { ttlSeconds: _ttl, ...rest } = installTokenBody(options);
  return rest;
}

/** Quotes a word for a POSIX shell: `it's` → `'it'\''s'`. */
export const shellQuote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

/** The installer's header line; an answer without it is not the script (e.g. a proxy's HTML page). */
export const INSTALL_SCRIPT_MARKER = 'BACKUPX_AGENT_INSTALL_V1';

export interface InstallCommands {
  /** Downloads the one-time script from the master's API path and runs it. */
  url: string;
  /** The same through `/install/…`, for proxies that only forward the console paths. */
  fallback: string;
  /** The whole script inline: works without reaching the install URL, but holds the node token. */
  embedded: string;
  /** Docker mode: fetches the compose file instead of the script (it shares the one use). */
  compose?: string;
}

/** The copy-paste commands of an install token (SPEC §11.6, UI part). */
export function installCommands(token: {
  url: string;
  fallbackUrl: string;
  scriptBase64: string;
  composeUrl?: string | undefined;
}): InstallCommands {
  const commands: InstallCommands = {
    url: `curl -fsSL ${shellQuote(token.url)} | sudo bash`,
    fallback: `curl -fsSL ${shellQuote(token.fallbackUrl)} | sudo bash`,
    embedded: `printf '%s' ${shellQuote(token.scriptBase64)} | base64 -d | sudo bash`,
  };
  if (token.composeUrl) {
    commands.compose = `curl -fsSL ${shellQuote(token.composeUrl)} -o backupx-agent-compose.yml && sudo docker compose -f backupx-agent-compose.yml up -d`;
  }
  return commands;
}

/** Whole seconds left until `expiresAt` (0 once it passed or when it cannot be read). */
export function remainingSeconds(expiresAt: string, nowMs: number): number {
  const end = Date.parse(expiresAt);
  if (Number.isNaN(end)) return 0;
  return Math.max(0, Math.ceil((end - nowMs) / 1000));
}

/** `14:05`, or `1:02:03` from an hour on. */
export function formatCountdown(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  const pad = (value: number) => String(value).padStart(2, '0');
  return hours > 0 ? `${String(hours)}:${pad(minutes)}:${pad(rest)}` : `${pad(minutes)}:${pad(rest)}`;
}

/**
 * Whether an agent never reported in: a remote node's `lastSeen` starts at its creation, so it
 * says nothing until the first heartbeat fills in the version and host.
 */
export const neverConnected = (
  node: Pick<NodeSummary, 'isLocal' | 'agentVersion' | 'hostname' | 'status'>,
): boolean => !node.isLocal && node.status === 'offline' && node.agentVersion === '' && node.hostname === '';

/** `os/arch`, either part may be unknown. */
export const platformOf = (node: Pick<NodeSummary, 'os' | 'arch'>): string =>
  [node.os, node.arch].filter((part) => part.trim() !== '').join('/');

/**
 * Whether the agent accepts `value` as its proxy (SPEC §11.7): http, https, socks5 or socks5h,
 * a host, no credentials and no path.
 */
export function isProxyUrl(value: string): boolean {
  try {
    const url = new URL(value.trim());
    return (
      ['http:', 'https:', 'socks5:', 'socks5h:'].includes(url.protocol) &&
      url.hostname !== '' &&
      url.username === '' &&
      url.password === '' &&
      (url.pathname === '' || url.pathname === '/') &&
      url.search === '' &&
      url.hash === ''
    );
  } catch {
    return false;
  }
}

/** A clean absolute path without shell metacharacters (the CA file of the agent). */
export const isSafeAbsolutePath = (value: string): boolean =>
  /^\/[A-Za-z0-9._\-/+@]*$/.test(value.trim()) && !value.split('/').some((part) => part === '..');
