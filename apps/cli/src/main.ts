import { parseArgs } from 'node:util';
import path from 'node:path';
import { runAgentCommand } from '@backupx/agent';
import { createStorageBackend, runBackint } from '@backupx/engine';
import { ConfigError, SecretsError, VERSION, resetPassword, startMaster } from '@backupx/server';

type Env = Record<string, string | undefined>;

const usage = `BackupX ${VERSION}

Usage:
  backupx [server] [options]               start the master (web console + API)
  backupx agent [options]                  run an agent that connects out to a master
                                           (backupx agent --help lists its options)
  backupx reset-password --username U --password P [--config FILE]
  backupx backint -f <function> -i <input> -o <output> -p <parameter file>   SAP HANA Backint adapter
  backupx --version | --help

Server options (override config file and BACKUPX_* environment):
  --config FILE           YAML config (default: ./config.yaml, ./server/config.yaml, /etc/backupx/config.yaml)
  --host HOST             listen address (server.host, default 0.0.0.0)
  --port PORT             listen port (server.port, default 8340)
  --database-path FILE    SQLite database (database.path, default ./data/backupx.db)
  --database-url URL      PostgreSQL instead of SQLite (database.url, postgres://…)
  --web-root DIR          built console directory (server.web_root)
  --log-level LEVEL       debug | info | warn | error (log.level)
`;

/** Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error. */
export const main = async (argv: string[], env: Env, invokedAs = ''): Promise<number> => {
  // SAP HANA calls its Backint agent `hdbbackint` with the Backint flags directly (SPEC quirk 21).
  if (path.basename(invokedAs) === 'hdbbackint') return runBackintCommand(argv);
  const [first] = argv;
  const command = first === undefined || first.startsWith('-') ? 'server' : first;
  const rest = command === first ? argv.slice(1) : argv;
  try {
    switch (command) {
      case 'server':
        return await runServer(rest, env);
      case 'agent':
        return await runAgentCommand(rest, env);
      case 'reset-password':
        return await runResetPassword(rest, env);
      case 'backint':
        return await runBackintCommand(rest);
      case 'help':
        process.stdout.write(usage);
        return 0;
      default:
        process.stderr.write(`Unknown command "${command}".\n\n${usage}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError || error instanceof SecretsError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    if (
      error instanceof TypeError &&
      (error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
    ) {
      process.stderr.write(`${error.message}\n\n${usage}`);
      return 2;
    }
    process.stderr.write(`backupx: ${(error as Error).message}\n`);
    return 1;
  }
};

const runServer = async (argv: string[], env: Env): Promise<number> => {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'database-path': { type: 'string' },
      'database-url': { type: 'string' },
      'web-root': { type: 'string' },
      'log-level': { type: 'string' },
      version: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.version === true) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (values.help === true) {
    process.stdout.write(usage);
    return 0;
  }
  const master = await startMaster({
    cwd: process.cwd(),
    env,
    ...(values.config === undefined ? {} : { configPath: values.config }),
    flags: {
      'server.host': values.host,
      'server.port': values.port,
      'database.path': values['database-path'],
      'database.url': values['database-url'],
      'server.web_root': values['web-root'],
      'log.level': values['log-level'],
    },
  });
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      master.app.log.info({ signal }, 'shutting down');
      void master.stop().then(resolve, resolve);
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
  return 0;
};

const runBackintCommand = (argv: string[]): Promise<number> =>
  runBackint(argv, {
    createStorage: (type, config) => createStorageBackend(type, config),
    stderr: (text) => process.stderr.write(text),
    cwd: process.cwd(),
  });

const runResetPassword = async (argv: string[], env: Env): Promise<number> => {
  const { values } = parseArgs({
    args: argv,
    options: {
      username: { type: 'string' },
      password: { type: 'string' },
      config: { type: 'string' },
      'database-path': { type: 'string' },
      'database-url': { type: 'string' },
    },
    strict: true,
  });
  if (values.username === undefined || values.password === undefined) {
    process.stderr.write('reset-password needs --username and --password\n');
    return 2;
  }
  await resetPassword({
    cwd: process.cwd(),
    env,
    username: values.username,
    password: values.password,
    ...(values.config === undefined ? {} : { configPath: values.config }),
    flags: { 'database.path': values['database-path'], 'database.url': values['database-url'] },
  });
  process.stdout.write(`Password of "${values.username}" reset; all of its sessions were signed out.\n`);
  return 0;
};
