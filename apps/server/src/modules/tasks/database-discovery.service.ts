import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { MASKED_SECRET } from '@backupx/contract';
import { discoverDatabases, redactSecrets, type DiscoverableType } from '@backupx/engine';
import { AppError } from '../../lib/errors.ts';
import type { Clock } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/crypto.ts';
import type { TasksRepository } from './tasks.repository.ts';

export interface DatabaseDiscoveryDeps {
  tasksRepository: Pick<TasksRepository, 'findById'>;
  secretBox: SecretBox;
  clock: Clock;
  /** Environment of the client tools (PATH), without the master's own secrets. */
  childEnv: Record<string, string | undefined>;
  /**
   * Discovery on a remote node's agent; null when the node is the master's own. Without it (no
   * cluster) only node 0 is valid.
   */
  onNode?: (
    nodeId: number,
    input: { type: DiscoverableType; host: string; port: number; user: string; password: string },
  ) => Promise<{ databases: string[] } | null>;
}

export interface DiscoverInput {
  type: DiscoverableType;
  host: string;
  port: number;
  user: string;
  password: string;
  taskId?: number | undefined;
  nodeId?: number | undefined;
}

export type DatabaseDiscoveryService = ReturnType<typeof createDatabaseDiscoveryService>;

/** Upper bound around the engine's own 5 s tool timeout. */
const DISCOVERY_DEADLINE_MS = 15_000;

/** Lists databases with the engine's client-tool discovery (SPEC §3.20), run on the master. */
export const createDatabaseDiscoveryService = (deps: DatabaseDiscoveryDeps) => {
  const failed = (message: string) => new AppError('DATABASE_DISCOVERY_FAILED', message);

  /**
   * An empty password with `taskId` means the task's stored one. It is only sent to the task's
   * own server: any viewer may call discovery, and pointing it at another host would hand the
   * stored password to that host.
   */
  const passwordFor = async (input: DiscoverInput): Promise<string> => {
    const given = input.password === MASKED_SECRET ? '' : input.password;
    if (given !== '' || input.taskId === undefined) return given;
    const task = await deps.tasksRepository.findById(input.taskId);
    if (!task) throw new AppError('BACKUP_TASK_NOT_FOUND', `Backup task ${input.taskId} does not exist`);
    const taskType = task.type === 'pgsql' ? 'postgresql' : task.type;
    if (
      taskType !== input.type ||
      task.dbHost !== input.host ||
      task.dbPort !== input.port ||
      task.dbUser !== input.user
    )
      throw failed(
        `The stored password of task ${task.name} is only used with its own ${taskType} server, port and user; enter the password`,
      );
    return task.dbPasswordCiphertext === '' ? '' : deps.secretBox.open(task.dbPasswordCiphertext);
  };

  return {
    async discover(input: DiscoverInput): Promise<{ databases: string[] }> {
      const password = await passwordFor(input);
      if (input.nodeId !== undefined && input.nodeId > 0) {
        if (deps.onNode === undefined) throw failed(`node ${input.nodeId} does not exist`);
        const remote = await deps.onNode(input.nodeId, {
          type: input.type,
          host: input.host,
          port: input.port,
          user: input.user,
          password,
        });
        if (remote !== null) return remote;
      }
      try {
        const databases = await discoverDatabases(
          {
            signal: AbortSignal.timeout(DISCOVERY_DEADLINE_MS),
            log: () => undefined,
            workDir: tmpdir(),
            now: deps.clock.now(),
            spawn,
            env: deps.childEnv,
          },
          input.type,
          { host: input.host, port: input.port, user: input.user, password },
        );
        return { databases };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw failed(redactSecrets(message, [password]).slice(0, 255));
      }
    },
  };
};
