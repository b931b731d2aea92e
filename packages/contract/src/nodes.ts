/**
 * Nodes: the master's own and remote agents (SPEC §1.10, §11.2, §11.6). Paths and JSON shapes are
 * BackupX's, so its console, scripts and install commands work against this master.
 */
import { z } from 'zod';
import { defineRoute } from './route.ts';
import { idParams, timestampSchema } from './common.ts';
import { fsListSchema } from './tasks.ts';

export const nodeStatuses = ['online', 'offline'] as const;
export type NodeStatus = (typeof nodeStatuses)[number];
export const nodeHealths = ['healthy', 'degraded', 'offline'] as const;

export const NODE_NAME_MAX = 128;
export const NODE_BATCH_MAX = 50;
export const NODE_LABELS_MAX = 500;
export const NODE_BANDWIDTH_LIMIT_MAX = 32;

export const nodeQueueSchema = z.object({
  pending: z.number().int(),
  dispatched: z.number().int(),
  depth: z.number().int(),
  /** Commands of this node that ever timed out. */
  timeouts: z.number().int(),
  /** Pending: when it was queued; dispatched: when it was claimed. */
  oldestActiveAt: timestampSchema.optional(),
  oldestActiveAgeSeconds: z.number().int(),
});

export const nodeSummarySchema = z.object({
  id: z.number().int(),
  name: z.string(),
  hostname: z.string(),
  ipAddress: z.string(),
  /** Effective: a remote node not heard from within the offline threshold reads `offline`. */
  status: z.enum(nodeStatuses),
  isLocal: z.boolean(),
  os: z.string(),
  arch: z.string(),
  agentVersion: z.string(),
  /** `outdated` when the agent's major.minor is older than the master's. */
  versionStatus: z.enum(['current', 'outdated', 'unknown']),
  lastSeen: timestampSchema,
  maxConcurrent: z.number().int(),
  /** rclone syntax (`10M`, `1M:500k`); empty = the master's `backup.bandwidth_limit`. */
  bandwidthLimit: z.string(),
  labels: z.string(),
  createdAt: timestampSchema,
  queue: nodeQueueSchema,
  runningTasks: z.number().int(),
  lastError: z.string().optional(),
  /**
   * `offline` when not online; `degraded` when a command failed or timed out in the last 24 hours
   * (it recovers, unlike BackupX's sticky flag — quirk 12); else `healthy`.
   */
  health: z.enum(nodeHealths),
});
export type NodeSummary = z.infer<typeof nodeSummarySchema>;

const nodeNameSchema = z.string().trim().min(1).max(NODE_NAME_MAX);
/** rclone bandwidth syntax: `0`, `10M`, `512k`, `1M:500k` (upload:download), optional `/s`. */
export const bandwidthLimitSchema = z
  .string()
  .trim()
  .max(NODE_BANDWIDTH_LIMIT_MAX)
  .regex(
    /^$|^(off|\d+(\.\d+)?[bBkKmMgGtT]?(i?[bB])?(\/s)?(:\d+(\.\d+)?[bBkKmMgGtT]?(i?[bB])?(\/s)?)?)$/,
    'expected an rclone bandwidth such as 10M, 512k or 1M:500k',
  );

export const nodeCreateInputSchema = z.strictObject({ name: nodeNameSchema });
export const nodeBatchCreateInputSchema = z.strictObject({
  /** One name per entry; blank entries are skipped; 1–50 must remain. */
  names: z.array(z.string()).max(10 * NODE_BATCH_MAX),
});
export const nodeUpdateInputSchema = z.strictObject({
  name: nodeNameSchema,
  maxConcurrent: z.number().int().min(0).max(1000).optional(),
  bandwidthLimit: bandwidthLimitSchema.optional(),
  /** CSV; trimmed and de-duplicated, first-seen order kept. */
  labels: z.string().max(NODE_LABELS_MAX).optional(),
});

export const installModes = ['systemd', 'docker', 'foreground'] as const;
export const installArches = ['auto', 'amd64', 'arm64'] as const;
/** `master`: the agent package comes from this master; the other two are BackupX's release mirrors. */
export const installDownloadSources = ['master', 'github', 'ghproxy'] as const;

const installOptionsShape = {
  mode: z.enum(installModes).default('systemd'),
  arch: z.enum(installArches).default('auto'),
  agentVersion: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .regex(/^[0-9A-Za-z.+_-]+$/, 'letters, digits and . + _ - only'),
  downloadSrc: z.enum(installDownloadSources).default('master'),
  /** The master URL the agent should use when it differs from the console's (proxy, bastion). */
  agentMasterUrl: z.string().trim().max(2048).default(''),
  proxyUrl: z.string().trim().max(2048).default(''),
  caCertFile: z.string().trim().max(512).default(''),
};

export const installTokenInputSchema = z.strictObject({
  ...installOptionsShape,
  ttlSeconds: z.number().int().min(300).max(86_400).default(900),
});
export type InstallTokenInput = z.infer<typeof installTokenInputSchema>;

export const installTokenSchema = z.object({
  installToken: z.string(),
  expiresAt: timestampSchema,
  /** `curl -fsSL <url> | sudo bash` installs and starts the agent; the token works once. */
  url: z.string(),
  fallbackUrl: z.string(),
  /** The script itself (it embeds the node's long-lived token: treat as a secret). */
  scriptBase64: z.string(),
  composeUrl: z.string().optional(),
  fallbackComposeUrl: z.string().optional(),
});

export const installScriptPreviewQuerySchema = z.strictObject(installOptionsShape);

export const nodeRoutes = {
  list: defineRoute({
    method: 'GET',
    path: '/api/nodes',
    access: 'viewer',
    tag: 'nodes',
    summary: 'List nodes (local first) with their queue, running work and health',
    response: z.array(nodeSummarySchema),
  }),
  get: defineRoute({
    method: 'GET',
    path: '/api/nodes/:id',
    access: 'viewer',
    tag: 'nodes',
    summary: 'Get a node',
    params: idParams,
    response: nodeSummarySchema,
  }),
  create: defineRoute({
    method: 'POST',
    path: '/api/nodes',
    access: 'admin',
    tag: 'nodes',
    summary: 'Create a remote node; its token is shown only in this response',
    body: nodeCreateInputSchema,
    response: z.object({ id: z.number().int(), name: z.string(), token: z.string() }),
  }),
  batchCreate: defineRoute({
    method: 'POST',
    path: '/api/nodes/batch',
    access: 'admin',
    tag: 'nodes',
    summary: 'Create up to 50 remote nodes at once (no tokens: deploy them with install tokens)',
    body: nodeBatchCreateInputSchema,
    response: z.array(z.object({ id: z.number().int(), name: z.string() })),
  }),
  update: defineRoute({
    method: 'PUT',
    path: '/api/nodes/:id',
    access: 'admin',
    tag: 'nodes',
    summary: 'Rename a node, set its concurrency, bandwidth limit and labels (pools)',
    params: idParams,
    body: nodeUpdateInputSchema,
    response: nodeSummarySchema,
  }),
  delete: defineRoute({
    method: 'DELETE',
    path: '/api/nodes/:id',
    access: 'admin',
    tag: 'nodes',
    summary: 'Delete a remote node that no task is bound to',
    params: idParams,
    response: z.object({ deleted: z.literal(true) }),
  }),
  rotateToken: defineRoute({
    method: 'POST',
    path: '/api/nodes/:id/rotate-token',
    access: 'admin',
    tag: 'nodes',
    summary: 'Issue a new node token; the previous one keeps working for 24 hours',
    params: idParams,
    response: z.object({ newToken: z.string() }),
  }),
  listDirectory: defineRoute({
    method: 'GET',
    path: '/api/nodes/:id/fs/list',
    access: 'operator',
    tag: 'nodes',
    summary: "List one directory of a node's file system (the master's own, or through its agent)",
    params: idParams,
    query: z.strictObject({ path: z.string().max(4096).optional() }),
    response: fsListSchema,
  }),
  createInstallToken: defineRoute({
    method: 'POST',
    path: '/api/nodes/:id/install-tokens',
    access: 'admin',
    tag: 'nodes',
    summary: 'One-time install command for a remote node (expires after ttlSeconds)',
    params: idParams,
    body: installTokenInputSchema,
    response: installTokenSchema,
  }),
  installScriptPreview: defineRoute({
    method: 'GET',
    path: '/api/nodes/:id/install-script-preview',
    access: 'admin',
    tag: 'nodes',
    summary: 'The install script with the token replaced by <AGENT_TOKEN>',
    params: idParams,
    query: installScriptPreviewQuerySchema,
    responseKind: 'text',
  }),
} as const;

const installTokenParams = z.strictObject({ token: z.string().max(256) });

/** Public: the install token is the credential, consumed by the first successful fetch. */
export const installRoutes = {
  script: defineRoute({
    method: 'GET',
    path: '/api/install/:token',
    access: 'public',
    tag: 'install',
    summary: 'The install script of a one-time install token (410 once used or expired)',
    params: installTokenParams,
    responseKind: 'text',
  }),
  scriptFallback: defineRoute({
    method: 'GET',
    path: '/install/:token',
    access: 'public',
    tag: 'install',
    summary: 'Same as /api/install/:token, for proxies that only forward the console paths',
    params: installTokenParams,
    responseKind: 'text',
  }),
  compose: defineRoute({
    method: 'GET',
    path: '/api/install/:token/compose.yml',
    access: 'public',
    tag: 'install',
    summary: 'Docker compose file of a docker-mode install token (shares its single use)',
    params: installTokenParams,
    responseKind: 'text',
  }),
  composeFallback: defineRoute({
    method: 'GET',
    path: '/install/:token/compose.yml',
    access: 'public',
    tag: 'install',
    summary: 'Same as /api/install/:token/compose.yml',
    params: installTokenParams,
    responseKind: 'text',
  }),
} as const;
