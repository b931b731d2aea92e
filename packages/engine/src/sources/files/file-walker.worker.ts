/**
 * Worker thread entry of the file source: runs walkToTar and streams its buffers to the parent.
 *
 * Flow control is a window of chunks in shared memory: the parent counts the chunks it has passed
 * on (CONSUMED) and the walker blocks (Atomics.wait) while it is more than WINDOW_CHUNKS ahead, so
 * memory stays bounded whatever the reader's pace. CANCELLED, set by the parent, stops the walk.
 * Buffers the reader hands back (SourceArtifact.recycle) are filled again instead of new ones.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { EngineError } from '../../errors.ts';
import { TAR_CHUNK_BYTES, walkToTar } from './tar-walker.ts';
import type { TarWalkOptions } from './tar-walker.ts';
import { CANCELLED, CONSUMED, WINDOW_CHUNKS } from './file-walker.protocol.ts';
import type { WalkerMessage } from './file-walker.protocol.ts';

const {
  options,
  control: controlBuffer,
  recycled,
} = workerData as {
  options: TarWalkOptions;
  control: SharedArrayBuffer;
  /** Buffers the reader is done with come back here; the walk picks them up synchronously. */
  recycled: MessagePort;
};
const control = new Int32Array(controlBuffer);
const port = parentPort;
if (port === null) throw new Error('file-walker.worker.ts must run in a worker thread');
const post = (message: WalkerMessage, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(message, transfer);

let sent = 0;
const cancelled = (): boolean => Atomics.load(control, CANCELLED) !== 0;

try {
  const completion = walkToTar(options, {
    emit: (chunk, length) => {
      post({ type: 'chunk', buffer: chunk.buffer as ArrayBuffer, length }, [chunk.buffer as ArrayBuffer]);
      sent += 1;
      for (;;) {
        const consumed = Atomics.load(control, CONSUMED);
        if (sent - consumed <= WINDOW_CHUNKS || cancelled()) break;
        Atomics.wait(control, CONSUMED, consumed, 1000);
      }
    },
    log: (level, message) => post({ type: 'log', level, message }),
    cancelled,
    nextBuffer: () => {
      const returned = receiveMessageOnPort(recycled);
      return returned === undefined ? Buffer.allocUnsafeSlow(TAR_CHUNK_BYTES) : Buffer.from(returned.message);
    },
  });
  post({ type: 'done', completion });
} catch (error) {
  const engineError =
    error instanceof EngineError
      ? error
      : new EngineError(
          'SOURCE_READ_FAILED',
          'source',
          `file backup failed: ${error instanceof Error ? error.message : String(error)}`,
        );
  post({ type: 'error', code: engineError.code, stage: engineError.stage, message: engineError.message });
}
