/** Messages and shared-memory slots between the file source and its walker thread. */
import type { RunLogLevel, SourceCompletion } from '../types.ts';
import type { EngineStage } from '../../errors.ts';

/** Int32 slot: chunks the parent has passed on. */
export const CONSUMED = 0;
/** Int32 slot: non-zero once the parent wants the walk stopped. */
export const CANCELLED = 1;
export const CONTROL_SLOTS = 2;
/** Chunks (of TAR_CHUNK_BYTES) the walker may run ahead of the reader. */
export const WINDOW_CHUNKS = 8;

export type WalkerMessage =
  | { type: 'chunk'; buffer: ArrayBuffer; length: number }
  | { type: 'log'; level: RunLogLevel; message: string }
  /** Structured-cloned whole: the manifest's entries arrive with every field (`h` included). */
  | { type: 'done'; completion: SourceCompletion }
  | { type: 'error'; code: string; stage: EngineStage; message: string };
