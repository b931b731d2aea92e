/**
 * The agent runtime (SPEC §11.7, extended): after one successful heartbeat, a heartbeat loop and
 * a long-poll loop run until the agent is stopped. Every claimed command runs concurrently with
 * the poll loop — the master hands out long commands (run_task, restore_record) only within the
 * node's `maxConcurrent`, so the agent runs what it gets, and short RPCs (list_dir, discover_db,
 * delete_storage_object) are answered at once even while backups run (unlike BackupX's agent,
 * which polls only between commands, quirk of §5.6).
 *
 * Failures of the master or the network never stop the agent: loops retry with a capped
 * exponential backoff, and final reports are kept in memory and retried until accepted.
 *
 * Stopping (the `signal` option): polling stops, running work is aborted, each run is reported as
 * failed ("agent stopped …") while a grace period lasts, then `runAgent` resolves.
 */
import { mkdir } from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import type { AgentCommand } from '@backupx/contract';
import { createBackoff, deliver, sleep } from './backoff.ts';
import { childProcessEnv } from './config/child-env.ts';
import { describeAgentConfig, redactUrlCredentials, type AgentConfig } from './config/config.ts';
import { executeCommand, type CommandContext } from './commands/index.ts';
import { createMasterDispatcher } from './http/dispatcher.ts';
import { selectProxy } from './http/proxy.ts';
import { createLogger, messageOf, withSecretsScrubbed, type AgentLogger } from './logger.ts';
import {
  createMasterClient,
  isRetryableMasterError,
  MasterError,
  type AgentHeartbeatInput,
  type MasterClient,
} from './master-client.ts';
import { systemInfo } from './system-info.ts';
import { AGENT_VERSION } from './version.ts';

/** Seconds a poll asks the master to wait for a command (below the protocol's 30 s maximum). */
export const POLL_WAIT_SECONDS = 25;
/** How long a stopping agent keeps trying to report the runs it aborted. */
export const SHUTDOWN_GRACE_MS = 15_000;

/** The first heartbeat failed: the agent does not start (exit code 1). */
export class AgentStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentStartError';
  }
}

export interface RunAgentOptions {
  /** Aborting it stops the agent gracefully; its `reason` ends up in the failure messages. */
  signal?: AbortSignal;
  log?: AgentLogger;
  /** Environment for child processes (dump tools); default: this process's, minus BACKUPX_*. */
  env?: Record<string, string | undefined>;
  /** Called once the first heartbeat succeeded. */
  onReady?: (info: { nodeId: number; name: string; masterVersion?: string }) => void;
  /** Overrides for tests. */
  pollWaitSeconds?: number;
  shutdownGraceMs?: number;
  now?: () => Date;
  dispatcher?: Dispatcher;
}

/** `1.4.2` → [1, 4]; null for `dev`, '' or anything unparsable (never compared, SPEC §11.3). */
const majorMinor = (version: string): [number, number] | null => {
  const match = /^v?(\d+)\.(\d+)/.exec(version.trim());
  return match === null ? null : [Number(match[1]), Number(match[2])];
};

const heartbeatBody = (): AgentHeartbeatInput => ({ ...systemInfo(), agentVersion: AGENT_VERSION });

const stopReason = (signal: AbortSignal): string => {
  const reason: unknown = signal.reason;
  const text = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : '';
  return text === '' || text === 'This operation was aborted' ? 'agent stopped' : `agent stopped (${text})`;
};

/**
 * Runs the agent until `options.signal` aborts. Throws AgentStartError when the first heartbeat
 * fails and AgentConfigError when the proxy environment is invalid; resolves after a clean stop.
 */
export const runAgent = async (config: AgentConfig, options: RunAgentOptions = {}): Promise<void> => {
  const log = withSecretsScrubbed(options.log ?? createLogger({ secrets: [config.token] }), [config.token]);
  const stop = options.signal ?? new AbortController().signal;
  const now = options.now ?? (() => new Date());
  const pollWait = options.pollWaitSeconds ?? POLL_WAIT_SECONDS;
  const proxy = selectProxy(config);
  if (config.insecureSkipTlsVerify)
    log.warn(
      'TLS CERTIFICATE VERIFICATION IS DISABLED (insecureSkipTlsVerify): anyone between this agent and the master can read the node token and every backup credential. Use caCertFile instead.',
    );
  const client: MasterClient = createMasterClient({
    master: config.master,
    token: config.token,
    dispatcher: options.dispatcher ?? createMasterDispatcher(config, proxy),
    userAgent: `backupx-agent/${AGENT_VERSION}`,
  });
  log.info('BackupX agent starting', {
    version: AGENT_VERSION,
    ...describeAgentConfig(config),
    proxy: proxy === null ? 'none' : `${redactUrlCredentials(proxy.url.href)} (from ${proxy.source})`,
  });

  // Checked once so a wrong tempDir shows at start, not only when the first backup fails.
  try {
    await mkdir(config.tempDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    log.warn('the temp directory cannot be created; backups and restores will fail until it can', {
      tempDir: config.tempDir,
      error: messageOf(error),
    });
  }

  let nodeBandwidthLimit = '';
  const checkVersion = (masterVersion: string | undefined) => {
    const master = majorMinor(masterVersion ?? '');
    const agent = majorMinor(AGENT_VERSION);
    if (master === null || agent === null) return;
    if (master[0] !== agent[0] || master[1] !== agent[1])
      log.warn('agent and master versions differ; upgrade the agent to the master version', {
        agentVersion: AGENT_VERSION,
        masterVersion,
      });
  };

  try {
    const first = await client.heartbeat(heartbeatBody(), stop);
    nodeBandwidthLimit = first.bandwidthLimit ?? '';
    checkVersion(first.masterVersion);
    log.info('connected to the master', { master: config.master, nodeId: first.nodeId, node: first.name });
    options.onReady?.({
      nodeId: first.nodeId,
      name: first.name,
      ...(first.masterVersion === undefined ? {} : { masterVersion: first.masterVersion }),
    });
  } catch (error) {
    await client.close().catch(() => undefined);
    if (stop.aborted) return;
    const hint =
      error instanceof MasterError && error.code === 'NODE_INVALID_TOKEN'
        ? ' (the token is wrong, or was rotated more than 24 hours ago)'
        : '';
    throw new AgentStartError(`first heartbeat to ${config.master} failed: ${messageOf(error)}${hint}`, {
      cause: error,
    });
  }

  // Reports may go on after `stop` for a grace period; this signal ends even that.
  const delivery = new AbortController();
  const running = new Map<number, { controller: AbortController; done: Promise<void> }>();

  const heartbeatLoop = async () => {
    let failures = 0;
    while (await sleep(config.heartbeatIntervalMs, stop)) {
      try {
        const answer = await client.heartbeat(heartbeatBody(), stop);
        nodeBandwidthLimit = answer.bandwidthLimit ?? '';
        if (failures > 0) log.info('heartbeat reaches the master again', { failedHeartbeats: failures });
        failures = 0;
      } catch (error) {
        if (stop.aborted) break;
        failures += 1;
        // The first failure and then every tenth: an outage must not flood the journal.
        if (failures === 1 || failures % 10 === 0)
          log.warn('heartbeat failed', { error: messageOf(error), failedHeartbeats: failures });
      }
    }
  };

  const commandContext = (signal: AbortSignal): CommandContext => ({
    client,
    signal,
    deliverySignal: delivery.signal,
    log,
    tempDir: config.tempDir,
    env: options.env ?? childProcessEnv(),
    now,
    nodeBandwidthLimit: () => nodeBandwidthLimit,
  });

  const launch = (command: AgentCommand) => {
    if (running.has(command.id)) return;
    const controller = new AbortController();
    const started = performance.now();
    log.info('command received', { commandId: command.id, type: command.type });
    const done = (async () => {
      const outcome = await executeCommand(commandContext(controller.signal), command);
      const seconds = Math.round((performance.now() - started) / 100) / 10;
      if (outcome.success)
        log.info('command succeeded', { commandId: command.id, type: command.type, seconds });
      else
        log.warn('command failed', {
          commandId: command.id,
          type: command.type,
          seconds,
          error: outcome.errorMessage,
        });
      await deliver(() => client.result(command.id, outcome, delivery.signal), {
        signal: delivery.signal,
        log,
        what: `result of command #${String(command.id)} (${command.type})`,
        isRetryable: isRetryableMasterError,
      });
    })()
      .catch((error: unknown) =>
        log.error('command crashed', { commandId: command.id, error: messageOf(error) }),
      )
      .finally(() => running.delete(command.id));
    running.set(command.id, { controller, done });
  };

  // A function, not the property: the loops re-read it after every await.
  const stopped = (): boolean => stop.aborted;

  const pollLoop = async () => {
    const backoff = createBackoff({ jitter: 0.2 });
    while (!stopped()) {
      const started = performance.now();
      let command: AgentCommand | null;
      try {
        command = await client.poll(pollWait, stop);
      } catch (error) {
        if (stopped()) break;
        const delay = backoff.next();
        if (backoff.attempts === 1 || backoff.attempts % 10 === 0)
          log[error instanceof MasterError && !error.retryable ? 'error' : 'warn']('poll failed; retrying', {
            error: messageOf(error),
            retryInMs: delay,
            attempt: backoff.attempts,
          });
        await sleep(delay, stop);
        continue;
      }
      if (backoff.attempts > 0) log.info('polling the master again', { failedPolls: backoff.attempts });
      backoff.reset();
      if (command !== null) {
        launch(command);
        continue;
      }
      // A master that ignores `wait` (BackupX) answers at once: fall back to the poll interval.
      if (pollWait === 0 || performance.now() - started < (pollWait * 1000) / 2)
        await sleep(config.pollIntervalMs, stop);
    }
  };

  const loops = Promise.all([heartbeatLoop(), pollLoop()]);
  await new Promise<void>((resolve) => {
    if (stop.aborted) resolve();
    else stop.addEventListener('abort', () => resolve(), { once: true });
  });

  const reason = stopReason(stop);
  log.info('stopping', { reason, runningCommands: running.size });
  const grace = setTimeout(
    () => delivery.abort(new Error('shutdown grace period over')),
    options.shutdownGraceMs ?? SHUTDOWN_GRACE_MS,
  );
  for (const { controller } of running.values()) controller.abort(new Error(reason));
  await loops;
  // Work that ignores the abort (a tool stuck in the kernel) must not keep the agent alive for ever.
  const settled = Promise.allSettled([...running.values()].map((run) => run.done));
  const graceOver = new Promise<void>((resolve) =>
    delivery.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  await Promise.race([settled, graceOver]);
  if (running.size > 0)
    log.error('stopping without the outcome of some commands: they did not end within the grace period', {
      commandIds: [...running.keys()],
    });
  clearTimeout(grace);
  delivery.abort();
  await client.close().catch(() => undefined);
  log.info('stopped');
};
