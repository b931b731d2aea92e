import os from 'node:os';
import type { Logger } from 'pino';
import { NODE_BATCH_MAX, NODE_NAME_MAX, type FsList, type NodeSummary } from '@backupx/contract';
import type { NodeRow } from '../../db/tables.ts';
import { AppError } from '../../lib/errors.ts';
import { toIso, type Clock } from '../../lib/clock.ts';
import { constantTimeEqual, randomHex, sha256Hex, type SecretBox } from '../../lib/crypto.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { Actor } from '../auth/principal.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { FilesystemService } from '../filesystem/filesystem.service.ts';
import type { CommandQueue } from './command-queue.ts';
import { emptyQueueStats, type NodeQueueStats, type NodesRepository } from './nodes.repository.ts';

export interface NodesServiceDeps {
  repository: NodesRepository;
  commands: CommandQueue;
  filesystem: FilesystemService;
  secretBox: SecretBox;
  audit: AuditService;
  events: EventBus;
  clock: Clock;
  logger: Logger;
  version: string;
  /** A remote node not heard from for this long is offline (SPEC §11.3). */
  offlineAfterMs: number;
}

/** The master's own node, created at first start (SPEC §1.10). */
export const LOCAL_NODE_NAME = '本机 (Local)';
/** A rotated-out token keeps working this long, so agents can be updated without downtime. */
const TOKEN_OVERLAP_MS = 24 * 3600_000;
/** A failed or timed-out command marks the node degraded for this long (quirk 12: it recovers). */
const DEGRADED_WINDOW_MS = 24 * 3600_000;
/** `agent_outdated` is sent at most once per node per day. */
const OUTDATED_ALERT_SPACING_MS = 24 * 3600_000;

/** Labels as CSV: trimmed, de-duplicated, first-seen order kept. */
export const normaliseLabels = (labels: string): string => {
  const seen: string[] = [];
  for (const label of labels.split(',')) {
    const trimmed = label.trim();
    if (trimmed !== '' && !seen.includes(trimmed)) seen.push(trimmed);
  }
  return seen.join(',');
};

/** `major.minor` of a version (`v1.2.3` → [1, 2]); null for dev, empty or unparsable. */
const majorMinor = (version: string): [number, number] | null => {
  const match = /^v?(\d+)\.(\d+)/.exec(version.trim());
  return match === null ? null : [Number(match[1]), Number(match[2])];
};

/** SPEC §11.3: older major.minor than the master is outdated; patches and unknowns never are. */
export const versionStatusOf = (
  agentVersion: string,
  masterVersion: string,
  isLocal: boolean,
): NodeSummary['versionStatus'] => {
  if (isLocal) return 'current';
  if (agentVersion.trim() === '') return 'unknown';
  const agent = majorMinor(agentVersion);
  const master = majorMinor(masterVersion);
  if (agent === null || master === null) return 'current';
  return agent[0] < master[0] || (agent[0] === master[0] && agent[1] < master[1]) ? 'outdated' : 'current';
};

const firstIpv4 = (): string => {
  for (const addresses of Object.values(os.networkInterfaces()))
    for (const address of addresses ?? [])
      if (address.family === 'IPv4' && !address.internal) return address.address;
  return '';
};
const goArch = (arch: string): string => ({ x64: 'amd64', arm64: 'arm64', ia32: '386' })[arch] ?? arch;

export const createNodesService = (deps: NodesServiceDeps) => {
  const { repository, clock, audit } = deps;

  const issueToken = () => {
    const token = randomHex(32);
    return { token, tokenHash: sha256Hex(token), tokenCiphertext: deps.secretBox.seal(token) };
  };

  /** Local: its stored status; remote: online only if seen within the offline threshold. */
  const effectiveStatus = (node: NodeRow, now = clock.now()): 'online' | 'offline' => {
    if (node.isLocal === 1) return node.status === 'online' ? 'online' : 'offline';
    if (node.status !== 'online') return 'offline';
    return Date.parse(node.lastSeen) >= now.getTime() - deps.offlineAfterMs ? 'online' : 'offline';
  };

  const summarise = (node: NodeRow, stats: NodeQueueStats, now: Date): NodeSummary => {
    const status = effectiveStatus(node, now);
    const oldestActiveAt = [stats.oldestPendingAt, stats.oldestDispatchedAt]
      .filter((value): value is string => value !== null)
      .sort()[0];
    const recentError =
      stats.lastErrorAt !== null && Date.parse(stats.lastErrorAt) >= now.getTime() - DEGRADED_WINDOW_MS;
    return {
      id: node.id,
      name: node.name,
      hostname: node.hostname,
      ipAddress: node.ipAddress,
      status,
      isLocal: node.isLocal === 1,
      os: node.os,
      arch: node.arch,
      agentVersion: node.agentVersion,
      versionStatus: versionStatusOf(node.agentVersion, deps.version, node.isLocal === 1),
      lastSeen: node.lastSeen,
      maxConcurrent: node.maxConcurrent,
      bandwidthLimit: node.bandwidthLimit,
      labels: node.labels,
      createdAt: node.createdAt,
      queue: {
        pending: stats.pending,
        dispatched: stats.dispatched,
        depth: stats.pending + stats.dispatched,
        timeouts: stats.timeouts,
        ...(oldestActiveAt === undefined ? {} : { oldestActiveAt }),
        oldestActiveAgeSeconds:
          oldestActiveAt === undefined
            ? 0
            : Math.max(0, Math.floor((now.getTime() - Date.parse(oldestActiveAt)) / 1000)),
      },
      runningTasks: stats.runningTasks,
      ...(stats.lastError === '' ? {} : { lastError: stats.lastError }),
      health: status !== 'online' ? 'offline' : recentError ? 'degraded' : 'healthy',
    };
  };

  const findNode = async (id: number): Promise<NodeRow> => {
    const node = await repository.findById(id);
    if (node === undefined) throw new AppError('NODE_NOT_FOUND', `Node ${String(id)} not found`);
    return node;
  };

  const get = async (id: number): Promise<NodeSummary> => {
    const node = await findNode(id);
    const stats = (await repository.queueStats([id])).get(id) ?? emptyQueueStats();
    return summarise(node, stats, clock.now());
  };

  const checkNewNames = async (names: string[]) => {
    for (const name of names)
      if (name.length > NODE_NAME_MAX)
        throw new AppError(
          'NODE_NAME_TOO_LONG',
          `Node name "${name.slice(0, 32)}…" is longer than ${String(NODE_NAME_MAX)} characters`,
        );
    const duplicates = names.filter((name, index) => names.indexOf(name) !== index);
    if (duplicates.length > 0)
      throw new AppError(
        'NODE_DUPLICATE_NAME',
        `Duplicate names in the batch: ${[...new Set(duplicates)].join(', ')}`,
      );
    const taken = await repository.namesTaken(names);
    if (taken.length > 0)
      throw new AppError('NODE_DUPLICATE_NAME', `A node with this name already exists: ${taken.join(', ')}`);
  };

  let offlineMonitor: NodeJS.Timeout | undefined;
  let versionMonitor: NodeJS.Timeout | undefined;

  const checkVersions = async (): Promise<void> => {
    const now = clock.now();
    for (const node of await repository.list()) {
      if (node.isLocal === 1) continue;
      const outdated = versionStatusOf(node.agentVersion, deps.version, false) === 'outdated';
      if (!outdated) {
        // Upgraded nodes are forgotten: a later downgrade alerts again.
        if (node.outdatedAlertedAt !== null) await repository.update(node.id, { outdatedAlertedAt: null });
        continue;
      }
      if (
        node.outdatedAlertedAt !== null &&
        Date.parse(node.outdatedAlertedAt) > now.getTime() - OUTDATED_ALERT_SPACING_MS
      )
        continue;
      await repository.update(node.id, { outdatedAlertedAt: toIso(now) });
      deps.events.publish(
        'agent_outdated',
        'BackupX Agent 版本落后',
        `节点：${node.name}\nAgent 版本：${node.agentVersion}\nMaster 版本：${deps.version}`,
        {
          nodeId: node.id,
          nodeName: node.name,
          agentVersion: node.agentVersion,
          masterVersion: deps.version,
        },
      );
    }
  };

  return {
    effectiveStatus,

    /** Creates the master's own node if absent and refreshes what it runs on (every start). */
    async registerLocalNode(): Promise<NodeRow> {
      const now = toIso(clock.now());
      const info = {
        hostname: os.hostname().slice(0, 255),
        ipAddress: firstIpv4(),
        agentVersion: deps.version.slice(0, 64),
        os: process.platform,
        arch: goArch(process.arch),
        status: 'online',
        lastSeen: now,
        updatedAt: now,
      };
      let local = await repository.findLocal();
      if (local === undefined) {
        try {
          // No agent ever uses this token (the local node is never authenticated); it only fills
          // the unique column.
          await repository.insert({
            name: LOCAL_NODE_NAME,
            isLocal: 1,
            tokenHash: sha256Hex(randomHex(32)),
            tokenCiphertext: '',
            status: 'online',
            lastSeen: now,
            now,
          });
        } catch (error) {
          // Another master created it at the same moment (unique index on is_local).
          deps.logger.debug({ err: String(error) }, 'local node already created');
        }
        local = await repository.findLocal();
      }
      if (local === undefined) throw new Error('the local node could not be created');
      await repository.update(local.id, info);
      return { ...local, ...info };
    },

    async list(): Promise<NodeSummary[]> {
      const [nodes, stats] = await Promise.all([repository.list(), repository.queueStats()]);
      const now = clock.now();
      return nodes.map((node) => summarise(node, stats.get(node.id) ?? emptyQueueStats(), now));
    },
    get,
    findNode,
    findLocal: () => repository.findLocal(),

    async create(actor: Actor, name: string): Promise<{ id: number; name: string; token: string }> {
      const trimmed = name.trim();
      await checkNewNames([trimmed]);
      const { token, tokenHash, tokenCiphertext } = issueToken();
      const now = toIso(clock.now());
      const id = await repository.insert({
        name: trimmed,
        isLocal: 0,
        tokenHash,
        tokenCiphertext,
        status: 'offline',
        lastSeen: now,
        now,
      });
      await audit.record(actor, {
        category: 'node',
        action: 'create',
        targetType: 'node',
        targetId: id,
        targetName: trimmed,
      });
      return { id, name: trimmed, token };
    },

    async batchCreate(actor: Actor, names: string[]): Promise<{ id: number; name: string }[]> {
      const wanted = names.map((name) => name.trim()).filter((name) => name !== '');
      if (wanted.length === 0) throw new AppError('NODE_BATCH_EMPTY', 'Enter at least one node name');
      if (wanted.length > NODE_BATCH_MAX)
        throw new AppError(
          'NODE_BATCH_TOO_MANY',
          `A batch creates at most ${String(NODE_BATCH_MAX)} nodes (got ${String(wanted.length)})`,
        );
      await checkNewNames(wanted);
      const now = toIso(clock.now());
      const created = await repository.insertMany(wanted.map((name) => ({ name, ...issueToken(), now })));
      await audit.record(actor, {
        category: 'node',
        action: 'batch_create',
        targetType: 'node',
        detail: `${String(created.length)} nodes: ${wanted.join(', ')}`.slice(0, 1000),
      });
      return created;
    },

    async update(
      actor: Actor,
      id: number,
      input: {
        name: string;
        maxConcurrent?: number | undefined;
        bandwidthLimit?: string | undefined;
        labels?: string | undefined;
      },
    ): Promise<NodeSummary> {
      const node = await findNode(id);
      const name = input.name.trim();
      if (name !== node.name) await checkNewNames([name]);
      await repository.update(id, {
        name,
        ...(input.maxConcurrent === undefined ? {} : { maxConcurrent: input.maxConcurrent }),
        ...(input.bandwidthLimit === undefined ? {} : { bandwidthLimit: input.bandwidthLimit.trim() }),
        ...(input.labels === undefined ? {} : { labels: normaliseLabels(input.labels) }),
        updatedAt: toIso(clock.now()),
      });
      await audit.record(actor, {
        category: 'node',
        action: 'update',
        targetType: 'node',
        targetId: id,
        targetName: name,
      });
      return get(id);
    },

    async delete(actor: Actor, id: number): Promise<void> {
      const node = await findNode(id);
      if (node.isLocal === 1)
        throw new AppError('NODE_DELETE_LOCAL', "The master's own node cannot be deleted");
      const bound = await repository.countTasksBoundTo(id);
      if (bound > 0)
        throw new AppError(
          'NODE_HAS_TASKS',
          `${String(bound)} task(s) run on node "${node.name}"; move or delete them first`,
        );
      await repository.delete(id);
      await audit.record(actor, {
        category: 'node',
        action: 'delete',
        targetType: 'node',
        targetId: id,
        targetName: node.name,
      });
    },

    async rotateToken(actor: Actor, id: number): Promise<{ newToken: string }> {
      const node = await findNode(id);
      if (node.isLocal === 1)
        throw new AppError('NODE_ROTATE_LOCAL', "The master's own node has no agent token");
      const { token, tokenHash, tokenCiphertext } = issueToken();
      const now = clock.now();
      await repository.update(id, {
        tokenHash,
        tokenCiphertext,
        prevTokenHash: node.tokenHash,
        prevTokenExpiresAt: toIso(new Date(now.getTime() + TOKEN_OVERLAP_MS)),
        updatedAt: toIso(now),
      });
      await audit.record(actor, {
        category: 'node',
        action: 'rotate_token',
        targetType: 'node',
        targetId: id,
        targetName: node.name,
      });
      return { newToken: token };
    },

    /** The node's current token in clear, for install scripts (never returned by the API itself). */
    tokenOf(node: NodeRow): string {
      if (node.tokenCiphertext === '')
        throw new AppError('NODE_ROTATE_LOCAL', 'This node has no agent token');
      return deps.secretBox.open(node.tokenCiphertext);
    },

    /** Resolves an agent token; the hash lookup is followed by a constant-time comparison. */
    async authenticateAgent(token: string): Promise<NodeRow> {
      // Built only on failure: this runs on every agent request.
      const invalid = () => new AppError('NODE_INVALID_TOKEN', 'The agent token is invalid');
      if (!/^[0-9a-fA-F]{16,128}$/.test(token)) throw invalid();
      const hash = sha256Hex(token.toLowerCase());
      const node = await repository.findByTokenHash(hash, toIso(clock.now()));
      if (node === undefined) throw invalid();
      if (!constantTimeEqual(hash, node.tokenHash) && !constantTimeEqual(hash, node.prevTokenHash))
        throw invalid();
      return node;
    },

    /** SPEC §11.3: the agent is alive; what it says about itself is stored. */
    async heartbeat(
      node: NodeRow,
      input: { hostname: string; ipAddress: string; agentVersion: string; os: string; arch: string },
      clientIp: string,
    ): Promise<void> {
      const now = toIso(clock.now());
      // Blank os/arch stay blank (quirk: BackupX filled in the master's own values).
      await repository.update(node.id, {
        status: 'online',
        hostname: input.hostname.slice(0, 255),
        ipAddress: (input.ipAddress || clientIp).slice(0, 64),
        agentVersion: input.agentVersion.slice(0, 64),
        os: input.os.slice(0, 64),
        arch: input.arch.slice(0, 32),
        lastSeen: now,
        updatedAt: node.status === 'online' ? node.updatedAt : now,
      });
      await deps.commands.renewLeases(node.id);
    },

    /** One directory of a node: the master's own file system, or the agent's through list_dir. */
    async listDirectory(id: number, requested: string | undefined): Promise<FsList> {
      const node = await findNode(id);
      if (node.isLocal === 1) return deps.filesystem.list(requested);
      if (effectiveStatus(node) !== 'online')
        throw new AppError('NODE_OFFLINE', `Node "${node.name}" is offline`);
      const dir = (requested ?? '').trim() === '' ? '/' : (requested ?? '').trim();
      if (dir.includes('\0') || !dir.startsWith('/'))
        throw new AppError('FS_PATH_INVALID', `Cannot list "${dir}": the path must be absolute`);
      const result = (await deps.commands.call(id, 'list_dir', { path: dir }, 'NODE_FS_READ_ERROR')) as {
        entries?: { name?: unknown; path?: unknown; isDir?: unknown; size?: unknown }[];
        truncated?: unknown;
      };
      const entries = (result.entries ?? [])
        .filter((entry) => typeof entry.name === 'string' && typeof entry.path === 'string')
        .map((entry) => ({
          name: entry.name as string,
          path: entry.path as string,
          isDir: entry.isDir === true,
          size: entry.isDir === true ? 0 : Number(entry.size) || 0,
        }))
        .sort((a, b) =>
          a.isDir === b.isDir ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.isDir ? -1 : 1,
        );
      const parent = dir === '/' ? null : dir.replace(/\/+$/, '').split('/').slice(0, -1).join('/') || '/';
      return { path: dir, parent, entries, truncated: result.truncated === true };
    },

    /** Database discovery run by a node's agent (SPEC §3.19 with nodeId). */
    async discoverOnNode(
      id: number,
      input: { type: string; host: string; port: number; user: string; password: string },
    ): Promise<{ databases: string[] }> {
      const node = await findNode(id);
      if (node.isLocal === 1) throw new Error('discoverOnNode is for remote nodes');
      if (effectiveStatus(node) !== 'online')
        throw new AppError('NODE_OFFLINE', `Node "${node.name}" is offline`);
      const result = (await deps.commands.call(id, 'discover_db', input, 'DATABASE_DISCOVERY_FAILED')) as {
        databases?: unknown;
      };
      return {
        databases: Array.isArray(result.databases)
          ? result.databases.filter((name): name is string => typeof name === 'string')
          : [],
      };
    },

    /** Node pool (SPEC §5.4): online nodes carrying the label, least running records first. */
    async pickPoolNode(tag: string): Promise<NodeRow> {
      const wanted = tag.trim();
      const running = await repository.runningRecordsByNode();
      const candidates = (await repository.list())
        .filter((node) => effectiveStatus(node) === 'online')
        .filter((node) =>
          node.labels
            .split(',')
            .map((label) => label.trim())
            .includes(wanted),
        )
        .sort((a, b) => (running.get(a.id) ?? 0) - (running.get(b.id) ?? 0) || a.id - b.id);
      const chosen = candidates[0];
      if (chosen === undefined)
        throw new AppError('NODE_POOL_EMPTY', `No online node carries the label "${wanted}"`);
      return chosen;
    },

    start(intervalMs: number): void {
      offlineMonitor = setInterval(() => {
        const now = clock.now();
        void repository
          .markStaleOffline(toIso(new Date(now.getTime() - deps.offlineAfterMs)), toIso(now))
          .catch((error: unknown) => deps.logger.warn({ err: String(error) }, 'offline monitor failed'));
      }, intervalMs);
      offlineMonitor.unref();
      const runVersionCheck = () =>
        void checkVersions().catch((error: unknown) =>
          deps.logger.warn({ err: String(error) }, 'version monitor failed'),
        );
      runVersionCheck();
      versionMonitor = setInterval(runVersionCheck, 30 * 60_000);
      versionMonitor.unref();
    },
    stop(): void {
      if (offlineMonitor) clearInterval(offlineMonitor);
      if (versionMonitor) clearInterval(versionMonitor);
    },
  };
};

export type NodesService = ReturnType<typeof createNodesService>;
