/**
 * `backupx agent [flags]`: loads the configuration, runs the agent, and maps the outcome to an
 * exit code — 0 after a clean stop, 1 on runtime errors (the first heartbeat failed), 2 on
 * configuration errors (SPEC §11.7). SIGINT/SIGTERM stop gracefully; a second signal exits at once.
 */
import { AgentStartError, runAgent } from './agent.ts';
import { childProcessEnv } from './config/child-env.ts';
import { AgentConfigError, parseAgentFlags, resolveAgentConfig } from './config/config.ts';
import { createLogger } from './logger.ts';
import { AGENT_VERSION } from './version.ts';

export const AGENT_USAGE = `Usage: backupx agent [options]

Runs a BackupX agent: it connects out to the master (no inbound port), sends heartbeats, and
runs the backups, restores and look-ups the master gives it.

Options (flags > config file > BACKUPX_AGENT_* environment):
  --config FILE              YAML config (master, token, tokenFile, heartbeatInterval, pollInterval,
                             tempDir, proxyUrl, caCertFile, insecureSkipTlsVerify)
  --master URL               master base URL, http(s)://host[:port][/path]   (BACKUPX_AGENT_MASTER)
  --token TOKEN              node token                                      (BACKUPX_AGENT_TOKEN)
  --token-file FILE          file holding the node token                     (BACKUPX_AGENT_TOKEN_FILE)
  --heartbeat-interval DUR   heartbeat period, default 15s                   (BACKUPX_AGENT_HEARTBEAT)
  --poll-interval DUR        pause between polls of a master without long polling, default 5s
                                                                             (BACKUPX_AGENT_POLL)
  --temp-dir DIR             work directory, default /var/lib/backupx-agent/tmp (BACKUPX_AGENT_TEMP_DIR)
  --proxy-url URL            http|https|socks5|socks5h proxy; default HTTP(S)_PROXY/NO_PROXY
                                                                             (BACKUPX_AGENT_PROXY_URL)
  --ca-cert FILE             extra CA (PEM) trusted besides the system roots (BACKUPX_AGENT_CA_CERT_FILE)
  --insecure-tls             do not verify the master's certificate (unsafe) (BACKUPX_AGENT_INSECURE_TLS)
  -h, --help                 this help

Exit codes: 0 stopped by a signal, 1 runtime error, 2 configuration error.
`;

export interface AgentCliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
}

const defaultIo = (): AgentCliIo => ({
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  cwd: process.cwd(),
});

export const runAgentCommand = async (
  argv: readonly string[],
  env: Record<string, string | undefined>,
  io: AgentCliIo = defaultIo(),
): Promise<number> => {
  let loaded;
  try {
    const flags = parseAgentFlags(argv);
    if (flags.help) {
      io.stdout(AGENT_USAGE);
      return 0;
    }
    loaded = resolveAgentConfig(flags, env, io.cwd);
  } catch (error) {
    if (error instanceof AgentConfigError) {
      io.stderr(`backupx agent: configuration error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const { config } = loaded;
  const log = createLogger({ secrets: [config.token], write: io.stdout });
  for (const warning of loaded.warnings) log.warn(warning);

  const controller = new AbortController();
  let signals = 0;
  const onSignal = (name: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      log.warn(`${name} again: exiting without waiting for running work`);
      process.exit(name === 'SIGINT' ? 130 : 143);
    }
    log.info(`${name} received: stopping (send it again to exit at once)`);
    controller.abort(new Error(`received ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await runAgent(config, { signal: controller.signal, log, env: childProcessEnv(env) });
    return 0;
  } catch (error) {
    if (error instanceof AgentConfigError) {
      io.stderr(`backupx agent: configuration error: ${error.message}\n`);
      return 2;
    }
    // stderr only: the journal captures it, and a person starting the agent by hand sees it.
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(
      `backupx agent ${AGENT_VERSION}: ${error instanceof AgentStartError ? '' : 'stopped by an error: '}${message}\n`,
    );
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
};
