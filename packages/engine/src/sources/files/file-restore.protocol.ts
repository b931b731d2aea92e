/** Messages between the file restore and its writer thread (file-restore.worker.ts). */
import type { EngineStage } from '../../errors.ts';
import type { RunLogLevel } from '../types.ts';
import type { FileRestoreResult } from './restore-stager.ts';

/** Int32 slot of the shared control array: non-zero once the restore is cancelled. */
export const RESTORE_CANCELLED = 0;
/** Chunks the reader may post ahead of the writer. */
export const RESTORE_WINDOW_CHUNKS = 8;
export const RESTORE_CHUNK_BYTES = 1024 * 1024;

export type RestoreCommand =
  | { type: 'begin'; index: number }
  | { type: 'chunk'; buffer: ArrayBuffer; length: number }
  | { type: 'end' }
  | { type: 'commit' }
  | { type: 'abort' };

export type RestoreReport =
  /** A chunk was written; its buffer comes back for the next one. */
  | { type: 'ack'; buffer: ArrayBuffer }
  | { type: 'archive-done' }
  | { type: 'log'; level: RunLogLevel; message: string }
  | { type: 'done'; result: FileRestoreResult }
  | { type: 'error'; code: string; stage: EngineStage; message: string };
