/**
 * Worker thread entry of the file restore: feeds the archives it is sent to a RestoreStager and
 * commits them when told to. Any failure (or an abort) removes the staging directory before the
 * thread exits, so the destination is never touched by a restore that did not complete.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EngineError, describeError } from '../../errors.ts';
import { TarIntegrityError } from '../../verify/tar-verifier.ts';
import { RESTORE_CANCELLED } from './file-restore.protocol.ts';
import type { RestoreCommand, RestoreReport } from './file-restore.protocol.ts';
import { RestoreStager } from './restore-stager.ts';

const {
  destination,
  selected,
  archiveCount,
  control: controlBuffer,
} = workerData as {
  destination: string;
  selected: string[];
  archiveCount: number;
  control: SharedArrayBuffer;
};
const control = new Int32Array(controlBuffer);
const port = parentPort;
if (port === null) throw new Error('file-restore.worker.ts must run in a worker thread');
const report = (message: RestoreReport): void => port.postMessage(message);

let archive = 0;
let stager: RestoreStager | null = null;

/** Removes the staging directory, sends the last report and lets the thread end. */
const finish = (last?: RestoreReport): void => {
  try {
    stager?.dispose();
  } finally {
    stager = null;
    if (last !== undefined) report(last);
    port.close();
  }
};

const fail = (error: unknown): void => {
  let failure: EngineError;
  if (error instanceof EngineError) failure = error;
  else if (error instanceof TarIntegrityError)
    failure = new EngineError(
      'RESTORE_ARCHIVE_CORRUPT',
      'restore',
      `archive ${archive + 1}/${archiveCount} is not a complete tar: ${error.message}`,
    );
  else
    failure = new EngineError(
      'RESTORE_WRITE_FAILED',
      'restore',
      `file restore failed: ${describeError(error)}`,
    );
  finish({ type: 'error', code: failure.code, stage: failure.stage, message: failure.message });
};

try {
  stager = new RestoreStager({
    destination,
    selected,
    archiveCount,
    log: (level, message) => report({ type: 'log', level, message }),
    cancelled: () => Atomics.load(control, RESTORE_CANCELLED) !== 0,
  });
} catch (error) {
  fail(error);
}

port.on('message', (command: RestoreCommand) => {
  const current = stager;
  if (current === null) return;
  try {
    switch (command.type) {
      case 'begin':
        archive = command.index;
        current.beginArchive(command.index);
        return;
      case 'chunk':
        current.write(Buffer.from(command.buffer, 0, command.length));
        // The stager keeps no view of the chunk past write(): hand the buffer back for reuse.
        port.postMessage({ type: 'ack', buffer: command.buffer } satisfies RestoreReport, [command.buffer]);
        return;
      case 'end':
        current.endArchive();
        report({ type: 'archive-done' });
        return;
      case 'commit': {
        finish({ type: 'done', result: current.commit() });
        return;
      }
      case 'abort':
        finish();
    }
  } catch (error) {
    fail(error);
  }
});
