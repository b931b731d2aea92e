/**
 * @backupx/agent — the `backupx agent` process: configuration, the heartbeat and long-poll loops,
 * and the commands it runs with the shared engine. It never imports the server (architecture §3).
 */
export {
  runAgent,
  AgentStartError,
  POLL_WAIT_SECONDS,
  SHUTDOWN_GRACE_MS,
  type RunAgentOptions,
} from './agent.ts';
export { runAgentCommand, AGENT_USAGE } from './cli.ts';
export {
  AgentConfigError,
  loadAgentConfig,
  parseAgentFlags,
  resolveAgentConfig,
  describeAgentConfig,
  type AgentConfig,
  type LoadAgentConfigInput,
  type LoadedAgentConfig,
} from './config/config.ts';
export { childProcessEnv } from './config/child-env.ts';
export { createMasterClient, MasterError, type MasterClient } from './master-client.ts';
export { createLogger, silentLogger, type AgentLogger } from './logger.ts';
export { AGENT_VERSION } from './version.ts';

/** Protocol name, for logs and diagnostics. */
export const AGENT_PROTOCOL = 'backupx-agent-v1';
