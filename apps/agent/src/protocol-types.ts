/** Protocol shapes the agent sends, derived from the contract's types (one source of truth). */
import type { AgentRecordUpdate } from '@backupx/contract';

export type AgentProgress = NonNullable<AgentRecordUpdate['progress']>;
export type { TransferProgress } from '@backupx/engine';
