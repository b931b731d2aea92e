/**
 * The agent protocol (SPEC §11.4, §11.8, §11.9, §7.5): what an agent sends and receives. Paths,
 * headers and JSON field names are BackupX's, so BackupX agents work against this master and ours
 * against BackupX's. Fields BackupX does not know are optional extensions, and BackupX agents
 * ignore fields they do not know.
 *
 * Authentication: `X-Agent-Token: <node token>` (or `Authorization: Bearer <node token>`); the
 * previous token keeps working for 24 hours after a rotation. Invalid → 401 NODE_INVALID_TOKEN.
 */
import { z } from 'zod';
import { defineRoute } from './route.ts';
import { idParamSchema, idParams, timestampSchema } from './common.ts';
import { nodeStatuses } from './nodes.ts';
import { uploadResultSchema } from './records.ts';

/** SPEC §1.11: pending → dispatched → succeeded | failed; pending | dispatched → timeout. */
export const commandStatuses = ['pending', 'dispatched', 'succeeded', 'failed', 'timeout'] as const;
export type CommandStatus = (typeof commandStatuses)[number];
export const commandTypes = [
  'run_task',
  'restore_record',
  'list_dir',
  'discover_db',
  'delete_storage_object',
] as const;
export type CommandType = (typeof commandTypes)[number];
/** Commands that run for long and hold a slot of the node's `maxConcurrent`; the others are RPCs. */
export const longCommandTypes: readonly CommandType[] = ['run_task', 'restore_record'];

/** The longest a poll may wait for a command (`?wait=` seconds). 0 = answer at once (BackupX agents). */
export const AGENT_POLL_MAX_WAIT_SECONDS = 30;

export const agentHeartbeatInputSchema = z.object({
  hostname: z.string().max(255).default(''),
  ipAddress: z.string().max(64).default(''),
  agentVersion: z.string().max(64).default(''),
  os: z.string().max(64).default(''),
  arch: z.string().max(32).default(''),
  /** BackupX agents before 1.1 send their token in the body. */
  token: z.string().max(256).optional(),
});

export const agentHeartbeatSchema = z.object({
  status: z.literal('ok'),
  nodeId: z.number().int(),
  name: z.string(),
  /** Extension: the master's version, so an agent can tell it is outdated. */
  masterVersion: z.string().optional(),
  /** Extension: rclone-syntax limit the agent applies to its transfers ('' = none). */
  bandwidthLimit: z.string().optional(),
});

export const agentPollQuerySchema = z.object({
  /** Extension: hold the request up to this many seconds until a command is queued (long poll). */
  wait: z.coerce.number().int().min(0).max(AGENT_POLL_MAX_WAIT_SECONDS).default(0),
});

export const agentCommandSchema = z.object({
  id: z.number().int(),
  type: z.string(),
  payload: z.record(z.string(), z.unknown()),
});
export type AgentCommand = z.infer<typeof agentCommandSchema>;

export const agentCommandResultInputSchema = z.object({
  success: z.boolean(),
  errorMessage: z
    .string()
    .max(64 * 1024)
    .optional(),
  result: z.unknown().optional(),
});

export const agentStorageTargetSchema = z.object({
  id: z.number().int(),
  type: z.string(),
  name: z.string(),
  /** Decrypted configuration; `{}` for master-relay targets (the master writes those). */
  config: z.record(z.string(), z.unknown()),
  /** `master_relay`: upload through PUT /api/agent/records/:id/artifacts/:targetId. */
  transferMode: z.enum(['direct', 'master_relay']),
});
export type AgentStorageTarget = z.infer<typeof agentStorageTargetSchema>;

/** SPEC §11.8 task spec, with extensions for encrypted backups and bandwidth. */
export const agentTaskSpecSchema = z.object({
  taskId: z.number().int(),
  name: z.string(),
  type: z.string(),
  sourcePath: z.string(),
  /** JSON array as a string (BackupX's shape). */
  sourcePaths: z.string(),
  excludePatterns: z.string(),
  dbHost: z.string(),
  dbPort: z.number().int(),
  dbUser: z.string(),
  dbPassword: z.string(),
  dbName: z.string(),
  dbPath: z.string(),
  extraConfig: z.string(),
  compression: z.string(),
  encrypt: z.boolean(),
  storageTargets: z.array(agentStorageTargetSchema),
  /**
   * Extension: the master's X25519 public key (base64, raw 32 bytes). With `encrypt`, the agent
   * seals each artifact with a fresh data key wrapped to this key (BXENC2, docs/engine.md).
   */
  masterPublicKey: z.string().optional(),
  /** Extension: rclone-syntax bandwidth limit for this node ('' = none). */
  bandwidthLimit: z.string().optional(),
  /** Extension: `full` | `differential` | `repository` (the deduplicating repository, SPEC §3.14). */
  backupMode: z.string().optional(),
  /**
   * Extension, repository mode: snapshot key of the task's newest successful run, so unchanged
   * files are not read again.
   */
  previousSnapshotKey: z.string().optional(),
});
export type AgentTaskSpec = z.infer<typeof agentTaskSpecSchema>;

export const agentProgressSchema = z.object({
  bytesSent: z.number().min(0),
  totalBytes: z.number().min(0),
  percent: z.number().min(0).max(100),
  speedBps: z.number().min(0),
  targetName: z.string().max(128),
});

export const agentRecordUpdateSchema = z.object({
  status: z.string().max(16).optional(),
  fileName: z.string().max(255).optional(),
  fileSize: z.number().optional(),
  checksum: z.string().max(128).optional(),
  storagePath: z.string().max(1024).optional(),
  storageTargetId: z.number().int().optional(),
  storageTransferMode: z.string().max(32).optional(),
  storageUploadResults: z.array(uploadResultSchema).max(64).optional(),
  errorMessage: z
    .string()
    .max(64 * 1024)
    .optional(),
  /** Appended verbatim to the record's log (one or more lines). */
  logAppend: z
    .string()
    .max(1024 * 1024)
    .optional(),
  /** Extension: live progress, relayed to the record's SSE stream. */
  progress: agentProgressSchema.optional(),
  /** Extension: `full` | `differential` | `repository`, and the file list of a file backup (encoded manifest). */
  backupKind: z.enum(['full', 'differential', 'repository']).optional(),
  /** Extension: deduplication figures of a repository run. */
  repositoryStats: z
    .object({
      logicalBytes: z.number().min(0),
      uploadedBytes: z.number().min(0),
      reusedBytes: z.number().min(0),
      uniqueChunks: z.number().int().min(0),
      newChunks: z.number().int().min(0),
      unchangedFiles: z.number().int().min(0),
    })
    .optional(),
  manifest: z
    .string()
    .max(64 * 1024 * 1024)
    .optional(),
  /** Extension: base64 key envelope of a BXENC2 artifact (its data key wrapped to the master). */
  keyEnvelope: z.string().max(1024).optional(),
});
export type AgentRecordUpdate = z.infer<typeof agentRecordUpdateSchema>;

export const agentRestoreSpecSchema = z.object({
  restoreRecordId: z.number().int(),
  backupRecordId: z.number().int(),
  taskId: z.number().int(),
  taskName: z.string(),
  type: z.string(),
  sourcePath: z.string(),
  sourcePaths: z.array(z.string()),
  dbHost: z.string(),
  dbPort: z.number().int(),
  dbUser: z.string(),
  dbPassword: z.string(),
  dbName: z.string(),
  dbPath: z.string(),
  extraConfig: z.string(),
  compression: z.string(),
  encrypt: z.boolean(),
  storage: agentStorageTargetSchema,
  storagePath: z.string(),
  fileName: z.string(),
  checksum: z.string(),
  /** Extension: restore into this directory instead of the original paths (file backups). */
  targetPath: z.string().optional(),
  /** Extension: restore only these archive paths (file backups). */
  selectedPaths: z.array(z.string()).optional(),
  /** Extension: base64 data key of this one artifact, for BXENC2 artifacts sealed by an agent. */
  dataKey: z.string().optional(),
  /** Extension: `repository` when `storagePath` is a repository snapshot (restore from the repository). */
  backupKind: z.string().optional(),
});
export type AgentRestoreSpec = z.infer<typeof agentRestoreSpecSchema>;

export const agentRestoreUpdateSchema = z.object({
  status: z.string().max(16).optional(),
  errorMessage: z
    .string()
    .max(64 * 1024)
    .optional(),
  logAppend: z
    .string()
    .max(1024 * 1024)
    .optional(),
});

const okSchema = z.object({ status: z.literal('ok') });

/**
 * Extension: the lease an agent holds while it writes to (or prunes) a repository on a storage
 * target. Leases live on the master, expire unless renewed, so a crashed writer never blocks the
 * next one for longer than the lease time.
 */
export const agentRepositoryLeaseInputSchema = z.strictObject({
  recordId: z.number().int().min(1),
  storageTargetId: z.number().int().min(1),
});
export const agentRepositoryLeaseSchema = z.object({
  expiresAt: z.string(),
  ttlSeconds: z.number().int(),
});
const artifactParams = z.strictObject({ id: idParamSchema, targetId: idParamSchema });

/** Headers of a relayed artifact upload (SPEC §4.6). */
export const AGENT_OBJECT_KEY_HEADER = 'x-backupx-object-key';
export const AGENT_SHA256_HEADER = 'x-backupx-sha256';
export const AGENT_TOKEN_HEADER = 'x-agent-token';

export const agentRoutes = {
  heartbeat: defineRoute({
    method: 'POST',
    path: '/api/agent/heartbeat',
    access: 'agent',
    legacyBodyToken: true,
    tag: 'agent',
    summary: 'Heartbeat: marks the node online and records what it runs on',
    body: agentHeartbeatInputSchema,
    response: agentHeartbeatSchema,
  }),
  poll: defineRoute({
    method: 'POST',
    path: '/api/agent/commands/poll',
    access: 'agent',
    tag: 'agent',
    summary: 'Claim the oldest pending command of the node; with ?wait=N, wait up to N s for one',
    query: agentPollQuerySchema,
    response: z.object({ command: agentCommandSchema.nullable() }),
  }),
  result: defineRoute({
    method: 'POST',
    path: '/api/agent/commands/:id/result',
    access: 'agent',
    tag: 'agent',
    summary: 'Report the outcome of a dispatched command (terminal commands are never overwritten)',
    params: idParams,
    body: agentCommandResultInputSchema,
    bodyLimitBytes: 8 * 1024 * 1024,
    response: okSchema,
  }),
  repositoryLeaseAcquire: defineRoute({
    method: 'POST',
    path: '/api/agent/repository-leases',
    access: 'agent',
    tag: 'agent',
    summary:
      "Take the write lease of a storage target's repository for a running record (409 REPOSITORY_BUSY while another writer holds it)",
    body: agentRepositoryLeaseInputSchema,
    response: agentRepositoryLeaseSchema,
  }),
  repositoryLeaseRenew: defineRoute({
    method: 'POST',
    path: '/api/agent/repository-leases/renew',
    access: 'agent',
    tag: 'agent',
    summary:
      'Extend a repository lease this node holds (409 REPOSITORY_LEASE_LOST when it expired and was taken)',
    body: agentRepositoryLeaseInputSchema,
    response: agentRepositoryLeaseSchema,
  }),
  repositoryLeaseRelease: defineRoute({
    method: 'POST',
    path: '/api/agent/repository-leases/release',
    access: 'agent',
    tag: 'agent',
    summary: 'Give a repository lease back',
    body: agentRepositoryLeaseInputSchema,
    response: okSchema,
  }),
  taskSpec: defineRoute({
    method: 'GET',
    path: '/api/agent/tasks/:id',
    access: 'agent',
    tag: 'agent',
    summary: 'What a run_task needs: the task with decrypted credentials and its storage targets',
    params: idParams,
    response: agentTaskSpecSchema,
  }),
  recordUpdate: defineRoute({
    method: 'POST',
    path: '/api/agent/records/:id',
    access: 'agent',
    tag: 'agent',
    summary: 'Report log lines, progress and the outcome of a backup run',
    params: idParams,
    body: agentRecordUpdateSchema,
    bodyLimitBytes: 80 * 1024 * 1024,
    response: okSchema,
  }),
  artifactUpload: defineRoute({
    method: 'PUT',
    path: '/api/agent/records/:id/artifacts/:targetId',
    access: 'agent',
    tag: 'agent',
    summary: 'Stream an artifact to a master-relay local-disk target (Content-Length, SHA-256 header)',
    params: artifactParams,
    requestKind: 'stream',
    response: okSchema,
  }),
  restoreSpec: defineRoute({
    method: 'GET',
    path: '/api/agent/restores/:id/spec',
    access: 'agent',
    tag: 'agent',
    summary: 'What a restore_record needs: the record, its artifact and decrypted credentials',
    params: idParams,
    response: agentRestoreSpecSchema,
  }),
  restoreArtifact: defineRoute({
    method: 'GET',
    path: '/api/agent/restores/:id/artifact',
    access: 'agent',
    tag: 'agent',
    summary: 'Stream a master-relay artifact to the agent restoring it',
    params: idParams,
    responseKind: 'octet-stream',
  }),
  restoreUpdate: defineRoute({
    method: 'POST',
    path: '/api/agent/restores/:id',
    access: 'agent',
    tag: 'agent',
    summary: 'Report log lines and the outcome of a restore',
    params: idParams,
    body: agentRestoreUpdateSchema,
    bodyLimitBytes: 4 * 1024 * 1024,
    response: okSchema,
  }),
  self: defineRoute({
    method: 'GET',
    path: '/api/v1/agent/self',
    access: 'agent',
    tag: 'agent',
    summary: 'The node this token belongs to (the install script waits for it to be online)',
    response: z.object({
      id: z.number().int(),
      name: z.string(),
      status: z.enum(nodeStatuses),
      lastSeen: timestampSchema,
    }),
  }),
  package: defineRoute({
    method: 'GET',
    path: '/api/agent/package',
    access: 'agent',
    tag: 'agent',
    summary: 'The agent itself as a .tar.gz (Node runtime and agent bundle), served by the master',
    responseKind: 'octet-stream',
  }),
} as const;
