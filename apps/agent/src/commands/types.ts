import type { AgentLogger } from '../logger.ts';
import type { MasterClient } from '../master-client.ts';

/** What an executor may use; everything with a side effect comes in here (tests replace it). */
export interface CommandContext {
  client: MasterClient;
  /** Aborts the work itself (the agent is stopping). */
  signal: AbortSignal;
  /**
   * Aborts delivery of reports for good: fires after the shutdown grace period, so a stopping
   * agent still tells the master how its runs ended when the master is reachable.
   */
  deliverySignal: AbortSignal;
  log: AgentLogger;
  /** Absolute directory for work directories and relay spools. */
  tempDir: string;
  /** Environment of child processes (dump tools). */
  env: Record<string, string | undefined>;
  now: () => Date;
  /** The node's bandwidth limit from the latest heartbeat ('' = none), when a spec has none. */
  nodeBandwidthLimit: () => string;
}

/** Runs one command; returns its `result` or throws (the message becomes the command's error). */
export type CommandExecutor = (ctx: CommandContext, payload: Record<string, unknown>) => Promise<unknown>;
