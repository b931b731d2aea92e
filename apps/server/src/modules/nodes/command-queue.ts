import type { Logger } from 'pino';
import type { AgentCommand, CommandType, ErrorCode } from '@backupx/contract';
import type { AgentCommandRow } from '../../db/tables.ts';
import type { Signals } from '../../db/signals.ts';
import { AppError } from '../../lib/errors.ts';
import { toIso, type Clock } from '../../lib/clock.ts';
import type { AgentCommandsRepository } from './agent-commands.repository.ts';

export interface CommandQueueDeps {
  repository: AgentCommandsRepository;
  signals: Signals;
  clock: Clock;
  logger: Logger;
  /** Lease of a dispatched command; renewed while its agent heartbeats or reports. */
  leaseMs: number;
  /** A command nobody claimed for this long times out. */
  pendingTimeoutMs: number;
  /** How long RPCs (list_dir, discover_db) wait for their answer. */
  rpcTimeoutMs: number;
}

/** What the master does about a command the monitor timed out (fail the linked record). */
export type TimedOutHandler = (command: AgentCommandRow) => Promise<void>;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const parsePayload = (text: string): Record<string, unknown> => {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
};

/**
 * The command queue seen from the master: queue, hand out (long poll), collect results, time out.
 *
 * Instant dispatch: a poll that finds nothing parks on an in-process waiter for its node; queueing
 * a command publishes a signal (LISTEN/NOTIFY across masters) that wakes the waiters of that node,
 * which then claim from the database. The claim is the only source of truth, so a wake-up that
 * loses the race simply waits again.
 */
export const createCommandQueue = (deps: CommandQueueDeps) => {
  const { repository, clock } = deps;
  const waiters = new Map<number, Set<() => void>>();
  const doneWaiters = new Map<number, Set<() => void>>();
  /** Aborted when the master begins to shut down: held polls answer at once. */
  const closing = new AbortController();

  const wake = (map: Map<number, Set<() => void>>, key: number) => {
    const set = map.get(key);
    if (set === undefined) return;
    map.delete(key);
    for (const resolve of set) resolve();
  };
  const unsubscribeQueued = deps.signals.subscribe('backupx_command_queued', (payload) => {
    wake(waiters, Number(payload));
  });
  const unsubscribeDone = deps.signals.subscribe('backupx_command_done', (payload) => {
    wake(doneWaiters, Number(payload));
  });

  /** Resolves on the next signal for `key`, or after `ms`, or on abort. */
  const park = (map: Map<number, Set<() => void>>, key: number, ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve) => {
      let set = map.get(key);
      if (set === undefined) {
        set = new Set();
        map.set(key, set);
      }
      const entry = set;
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        entry.delete(finish);
        if (entry.size === 0 && map.get(key) === entry) map.delete(key);
        resolve();
      };
      const timer = setTimeout(finish, ms);
      signal?.addEventListener('abort', finish, { once: true });
      entry.add(finish);
    });

  const leaseUntil = () => toIso(new Date(clock.now().getTime() + deps.leaseMs));

  /** `maxConcurrent`: long commands (run_task, restore_record) the node may run at once (0 = no limit). */
  const claim = async (nodeId: number, maxConcurrent: number): Promise<AgentCommand | null> => {
    const longAllowed = maxConcurrent <= 0 || (await repository.countRunningLong(nodeId)) < maxConcurrent;
    const claimed = await repository.claim(nodeId, longAllowed, toIso(clock.now()), leaseUntil());
    return claimed === null
      ? null
      : { id: claimed.id, type: claimed.type, payload: parsePayload(claimed.payload) };
  };

  const enqueue = async (
    nodeId: number,
    type: CommandType,
    payload: Record<string, unknown>,
    links: { backupRecordId?: number; restoreRecordId?: number } = {},
  ): Promise<number> => {
    let id: number;
    try {
      id = await repository.insert({
        nodeId,
        type,
        payload: JSON.stringify(payload),
        ...links,
        now: toIso(clock.now()),
      });
    } catch (error) {
      throw new AppError(
        'AGENT_COMMAND_ENQUEUE_FAILED',
        `The command could not be queued: ${messageOf(error)}`,
      );
    }
    await deps.signals
      .publish('backupx_command_queued', String(nodeId))
      .catch((error: unknown) =>
        deps.logger.warn({ err: messageOf(error) }, 'could not signal a queued command'),
      );
    return id;
  };

  let monitor: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;

  /** Times out what nobody claimed and what lost its lease; late results then change nothing. */
  const sweep = async (onTimedOut: TimedOutHandler): Promise<number> => {
    const now = clock.now();
    const expired = await repository.expired(
      toIso(new Date(now.getTime() - deps.pendingTimeoutMs)),
      toIso(now),
    );
    let count = 0;
    for (const command of expired) {
      const message =
        command.status === 'pending'
          ? 'no agent claimed the command before timeout (node offline?)'
          : 'agent did not report result before timeout';
      if (!(await repository.markTimedOut(command.id, message, toIso(clock.now())))) continue;
      count += 1;
      try {
        await onTimedOut(command);
      } catch (error) {
        deps.logger.warn(
          { err: messageOf(error), commandId: command.id },
          'could not fail the record of a timed-out command',
        );
      }
      await deps.signals.publish('backupx_command_done', String(command.id)).catch(() => undefined);
    }
    return count;
  };

  return {
    enqueue,

    /**
     * A poll: claims at once, or waits up to `waitMs` for a command of this node to be queued.
     * The caller passes the node's `maxConcurrent` (it already holds the node row: no re-read
     * on every poll of every agent).
     */
    async poll(
      node: { id: number; maxConcurrent: number },
      waitMs: number,
      signal?: AbortSignal,
    ): Promise<AgentCommand | null> {
      const nodeId = node.id;
      const ended = signal === undefined ? closing.signal : AbortSignal.any([signal, closing.signal]);
      // Waiting uses the monotonic clock: `clock` gives timestamps (tests may hold it still).
      const deadline = performance.now() + waitMs;
      for (;;) {
        const command = await claim(nodeId, node.maxConcurrent);
        if (command !== null || ended.aborted) return command;
        const left = deadline - performance.now();
        if (left <= 0) return null;
        await park(waiters, nodeId, left, ended);
      }
    },

    /** The agent's result; only a dispatched command of this node is completed. */
    async complete(
      nodeId: number,
      commandId: number,
      input: { success: boolean; errorMessage?: string | undefined; result?: unknown },
    ): Promise<AgentCommandRow> {
      const command = await repository.findById(commandId);
      if (command === undefined)
        throw new AppError('AGENT_COMMAND_NOT_FOUND', `Command ${String(commandId)} not found`);
      if (command.nodeId !== nodeId)
        throw new AppError('AGENT_COMMAND_FORBIDDEN', `Command ${String(commandId)} belongs to another node`);
      const changed = await repository.complete(commandId, {
        status: input.success ? 'succeeded' : 'failed',
        result: input.result === undefined ? '' : JSON.stringify(input.result),
        errorMessage: (input.errorMessage ?? '').slice(0, 2000),
        now: toIso(clock.now()),
      });
      if (changed)
        await deps.signals.publish('backupx_command_done', String(commandId)).catch(() => undefined);
      return command;
    },

    /**
     * Queues a short command and waits for its answer (remote browsing, discovery). On timeout the
     * command is timed out at once, so a late agent does not run a stale request.
     */
    async call(
      nodeId: number,
      type: CommandType,
      payload: Record<string, unknown>,
      failureCode: ErrorCode,
    ): Promise<unknown> {
      const id = await enqueue(nodeId, type, payload);
      const deadline = performance.now() + deps.rpcTimeoutMs;
      for (;;) {
        const row = await repository.findById(id);
        if (row?.status === 'succeeded') return row.result === '' ? {} : (JSON.parse(row.result) as unknown);
        if (row?.status === 'failed')
          throw new AppError(failureCode, row.errorMessage || 'the agent reported a failure');
        if (row?.status === 'timeout' || row === undefined) break;
        const left = deadline - performance.now();
        if (left <= 0) break;
        // Woken by the result signal; the 300 ms cap covers a lost signal.
        await park(doneWaiters, id, Math.min(left, 300));
      }
      await repository.markTimedOut(id, 'the agent did not answer in time', toIso(clock.now()));
      throw new AppError(
        'AGENT_COMMAND_TIMEOUT',
        `The agent did not answer within ${String(Math.round(deps.rpcTimeoutMs / 1000))} s`,
      );
    },

    /** Heartbeats and reports renew the leases of the node's running work. */
    async renewLeases(nodeId: number): Promise<void> {
      await repository.extendLeases(nodeId, leaseUntil());
    },
    async renewLeaseOfRecord(column: 'backupRecordId' | 'restoreRecordId', recordId: number): Promise<void> {
      await repository.extendLeaseOfRecord(column, recordId, leaseUntil());
    },

    sweep,
    /** Starts the timeout monitor; `onTimedOut` fails the record a timed-out command carried. */
    start(intervalMs: number, onTimedOut: TimedOutHandler): void {
      monitor = setInterval(() => {
        if (sweeping !== undefined) return;
        sweeping = sweep(onTimedOut)
          .then(() => undefined)
          .catch((error: unknown) =>
            deps.logger.warn({ err: messageOf(error) }, 'command timeout sweep failed'),
          )
          .finally(() => {
            sweeping = undefined;
          });
      }, intervalMs);
      monitor.unref();
    },
    /**
     * Answers every held poll now (with nothing) and every later one at once: the HTTP server
     * waits for in-flight requests when it closes, and a held poll would keep it open for 25 s.
     */
    releasePolls(): void {
      closing.abort();
    },

    async stop(): Promise<void> {
      closing.abort();
      if (monitor) clearInterval(monitor);
      await sweeping;
      unsubscribeQueued();
      unsubscribeDone();
      for (const map of [waiters, doneWaiters]) for (const key of [...map.keys()]) wake(map, key);
    },
  };
};

export type CommandQueue = ReturnType<typeof createCommandQueue>;
