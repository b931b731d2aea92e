/**
 * Structural verification of tar artifacts (SPEC §8.3, file tasks): the stream must be readable to
 * the end, every header valid, every entry's data complete, and the archive must end with the
 * end-of-archive marker (two zero blocks) right after the last entry — a tar cut exactly at an entry
 * boundary is reported as truncated too. Also the shared tar reader of the file restore.
 */
import type { Readable } from 'node:stream';
import tar from 'tar-stream';

/** A tar stream that cannot be read to its end: truncated, corrupt header, garbage. */
export class TarIntegrityError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TarIntegrityError';
  }
}

/** A decoded tar header, with the fields tar-stream decodes but does not declare. */
export type TarHeader = Omit<tar.Header, 'type' | 'pax' | 'size' | 'mode' | 'linkname'> & {
  /** Entry type; `null` for a type flag tar-stream does not know. */
  type: string | null;
  size: number;
  mode: number;
  linkname: string | null;
  /** Offset of the entry's data in the archive. */
  byteOffset?: number;
  /** Decoded pax extended header records of this entry. */
  pax?: Record<string, string> | null;
};

export interface TarEntry {
  header: TarHeader;
  /** The entry's data (regular files). Read it, or leave it: the reader drains what is left. */
  stream: Readable;
}

const BLOCK = 512;
const END_MARKER_BYTES = 2 * BLOCK;
const ZEROS = Buffer.alloc(64 * 1024);

const isAllZero = (chunk: Buffer): boolean => {
  if (chunk.length === 0) return true;
  if (chunk[chunk.length - 1] !== 0 || chunk[0] !== 0) return false;
  for (let offset = 0; offset < chunk.length; offset += ZEROS.length) {
    const part = chunk.subarray(offset, offset + ZEROS.length);
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
};

/** Counts the bytes of a stream and how many of the last ones are zero. */
class TailTracker {
  total = 0;
  zeroTail = 0;

  update(chunk: Buffer): void {
    this.total += chunk.length;
    if (isAllZero(chunk)) {
      this.zeroTail += chunk.length;
      return;
    }
    let index = chunk.length - 1;
    while (index >= 0 && chunk[index] === 0) index -= 1;
    this.zeroTail = chunk.length - 1 - index;
  }
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Reads the entries of a tar stream. Throws TarIntegrityError when the archive is truncated or
 * corrupt — possibly after some entries were yielded, so callers that write must stage. An abort of
 * `signal` rejects with the signal's reason (an AbortError).
 */
export async function* readTarEntries(stream: Readable, signal?: AbortSignal): AsyncGenerator<TarEntry> {
  signal?.throwIfAborted();
  const extract = tar.extract();
  const tail = new TailTracker();
  let ended = false;
  let completed = false;
  let sourceError: unknown = null;
  const onData = (chunk: Buffer | string): void =>
    tail.update(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  const onEnd = (): void => {
    ended = true;
  };
  const onError = (error: unknown): void => {
    sourceError = error;
    extract.destroy(error instanceof Error ? error : new Error(String(error)));
  };
  const onClose = (): void => {
    if (!ended) extract.destroy(new Error('archive stream closed before its end'));
  };
  const onAbort = (): void => {
    extract.destroy(new Error('aborted'));
  };
  stream.on('data', onData);
  stream.once('end', onEnd);
  stream.on('error', onError);
  stream.once('close', onClose);
  signal?.addEventListener('abort', onAbort, { once: true });
  stream.pipe(extract);

  let lastEnd = 0;
  let entryCount = 0;
  try {
    try {
      for await (const entry of extract) {
        const header = entry.header as unknown as TarHeader;
        const size = header.size;
        const dataStart = header.byteOffset ?? 0;
        lastEnd = header.type === 'directory' ? dataStart : dataStart + Math.ceil(size / BLOCK) * BLOCK;
        entryCount += 1;
        yield { header, stream: entry as unknown as Readable };
        entry.resume();
      }
    } catch (error) {
      signal?.throwIfAborted();
      if (sourceError !== null)
        throw sourceError instanceof Error ? sourceError : new Error(describe(sourceError));
      throw new TarIntegrityError(`tar unreadable after ${entryCount} entries: ${describe(error)}`, {
        cause: error,
      });
    }
    signal?.throwIfAborted();
    const after = tail.total - lastEnd;
    if (tail.total === 0) throw new TarIntegrityError('tar is empty (0 bytes)');
    if (after < END_MARKER_BYTES || tail.zeroTail < after)
      throw new TarIntegrityError(
        `tar truncated after ${entryCount} entries: no end-of-archive marker after the last entry`,
      );
    completed = true;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('close', onClose);
    if (!completed) {
      stream.unpipe(extract);
      extract.destroy();
      stream.destroy();
    }
    // Keep a late error of the source from becoming an uncaught exception.
    if (!completed) stream.on('error', () => undefined);
    stream.off('error', onError);
  }
}

export interface TarVerifyResult {
  ok: boolean;
  /** Entries read (all types). */
  entries: number;
  /** Bytes of regular-file data. */
  fileBytes: number;
  /** `tar intact (N entries, B bytes)` or `tar corrupt: <reason>`. */
  summary: string;
  /** Why the archive failed, when it did. */
  reason?: string;
}

/** Reads a tar stream to its end and reports whether it is structurally intact (SPEC §8.3). */
export const verifyTar = async (stream: Readable, signal?: AbortSignal): Promise<TarVerifyResult> => {
  let entries = 0;
  let fileBytes = 0;
  try {
    for await (const entry of readTarEntries(stream, signal)) {
      entries += 1;
      const type = entry.header.type;
      if (type === 'file' || type === 'contiguous-file') fileBytes += entry.header.size;
    }
  } catch (error) {
    if (signal?.aborted === true) throw error;
    const reason = describe(error);
    return { ok: false, entries, fileBytes, summary: `tar corrupt: ${reason}`, reason };
  }
  return { ok: true, entries, fileBytes, summary: `tar intact (${entries} entries, ${fileBytes} bytes)` };
};
