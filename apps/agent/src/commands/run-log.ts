/**
 * The run log an agent sends for a record or restore. Lines are `[agent] message`, with the
 * master's `[WARN] ` / `[ERROR] ` level tag in front when not info, so the master can re-publish
 * each line with its level in the live view; the `[agent]` prefix tells a reader which side wrote
 * a line of a log that mixes master and agent lines.
 */
import type { AgentRecordUpdate } from '@backupx/contract';
import type { RunLogLevel, RunLogger } from '@backupx/engine';
import { isRetryableMasterError, type AgentRestoreUpdate } from '../master-client.ts';
import type { AgentProgress } from '../protocol-types.ts';
import { createReportChannel, type ReportChannel } from '../report-channel.ts';
import type { CommandContext } from './types.ts';

export const formatRunLine = (level: RunLogLevel, message: string): string =>
  `${level === 'info' ? '' : `[${level.toUpperCase()}] `}[agent] ${message.trim()}`;

/** A RunLogger (what the engine writes to) feeding a report channel, one line per line of text. */
export const runLoggerFor =
  (channel: ReportChannel<unknown, unknown>): RunLogger =>
  (level, message) => {
    for (const line of message.split(/\r?\n/))
      if (line.trim() !== '') channel.line(formatRunLine(level, line));
  };

export const recordChannel = (
  ctx: CommandContext,
  recordId: number,
): ReportChannel<AgentProgress, AgentRecordUpdate> =>
  createReportChannel<AgentProgress, AgentRecordUpdate>({
    sendBatch: (batch, signal) => ctx.client.recordUpdate(recordId, batch, signal),
    sendFinal: (update, signal) => ctx.client.recordUpdate(recordId, update, signal),
    isRetryable: isRetryableMasterError,
    signal: ctx.deliverySignal,
    log: ctx.log,
    label: `backup record #${String(recordId)}`,
  });

export const restoreChannel = (
  ctx: CommandContext,
  restoreId: number,
): ReportChannel<never, AgentRestoreUpdate> =>
  createReportChannel<never, AgentRestoreUpdate>({
    sendBatch: (batch, signal) =>
      ctx.client.restoreUpdate(
        restoreId,
        batch.logAppend === undefined ? {} : { logAppend: batch.logAppend },
        signal,
      ),
    sendFinal: (update, signal) => ctx.client.restoreUpdate(restoreId, update, signal),
    isRetryable: isRetryableMasterError,
    signal: ctx.deliverySignal,
    log: ctx.log,
    label: `restore #${String(restoreId)}`,
  });

/** The message of a run that ended in error: the stop reason when the agent is stopping. */
export const failureMessage = (error: unknown, signal: AbortSignal): string => {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    return reason instanceof Error ? reason.message : String(reason);
  }
  return error instanceof Error ? error.message : String(error);
};

export const truncate = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;
