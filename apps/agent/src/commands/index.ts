/**
 * Command dispatch (SPEC §11.4). Each command ends in exactly one result for the master:
 * `{success: true, result}` or `{success: false, errorMessage}`.
 */
import type { AgentCommand } from '@backupx/contract';
import { messageOf } from '../logger.ts';
import { deleteStorageObject } from './delete-storage-object.ts';
import { discoverDb } from './discover-db.ts';
import { listDir } from './list-dir.ts';
import { restoreRecord } from './restore-record.ts';
import { runTask } from './run-task.ts';
import type { CommandContext, CommandExecutor } from './types.ts';

export const executors: Readonly<Record<string, CommandExecutor>> = {
  run_task: runTask,
  restore_record: restoreRecord,
  list_dir: listDir,
  discover_db: discoverDb,
  delete_storage_object: deleteStorageObject,
};

export type CommandOutcome = { success: true; result: unknown } | { success: false; errorMessage: string };

/** Runs one command and turns whatever happens into its outcome; never throws. */
export const executeCommand = async (ctx: CommandContext, command: AgentCommand): Promise<CommandOutcome> => {
  const executor = Object.hasOwn(executors, command.type) ? executors[command.type] : undefined;
  if (executor === undefined)
    return { success: false, errorMessage: `unknown command type: ${command.type}` };
  try {
    return { success: true, result: await executor(ctx, command.payload) };
  } catch (error) {
    return { success: false, errorMessage: messageOf(error).slice(0, 60_000) };
  }
};

export type { CommandContext, CommandExecutor } from './types.ts';
