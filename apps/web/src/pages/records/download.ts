/**
 * Downloads a backup artifact (possibly many GiB) with the session token, which only travels in
 * the Authorization header, without holding the file in memory when the browser allows it:
 *
 * 1. Service worker (secure contexts: HTTPS or localhost): `public/download-sw.js` fetches the
 *    artifact with the token and hands the streamed response to the browser's download manager
 *    (native progress, no memory use, works in Chromium, Firefox and Safari).
 * 2. File System Access API (when service workers are unavailable but `showSaveFilePicker` is):
 *    the response body is piped into the file the user picks.
 * 3. Otherwise fetch into a Blob and save it: the caller warns about large files first.
 */
import { apiRoutes } from '@backupx/contract';
import { apiErrorFromAnswer, buildPath, openApiStream, saveBlob } from '../../api/client.ts';
import { readToken } from '../../api/token.ts';
import { fileNameFromContentDisposition } from '../../lib/format.ts';

const SW_URL = '/download-sw.js';
const SW_SCOPE = '/__bx-download/';
const CHANNEL = 'bx-download';
/** How long the worker may take to get the first byte from the storage target. */
const START_TIMEOUT_MS = 5 * 60_000;

/** Files above this size are held in memory only after the user agreed. */
export const BLOB_WARNING_BYTES = 512 * 1024 * 1024;

export type DownloadMethod = 'service-worker' | 'file-picker' | 'memory';

const route = apiRoutes.records.download;

interface SavePickerWindow {
  showSaveFilePicker?: (options: { suggestedName?: string }) => Promise<{
    createWritable(): Promise<WritableStream<Uint8Array>>;
  }>;
}

const canUseServiceWorker = (): boolean =>
  typeof window !== 'undefined' &&
  window.isSecureContext &&
  'serviceWorker' in navigator &&
  typeof BroadcastChannel !== 'undefined';

const savePicker = () => (window as unknown as SavePickerWindow).showSaveFilePicker;

/** The method the browser will use; `memory` means the whole file is buffered. */
export function downloadMethod(): DownloadMethod {
  if (canUseServiceWorker()) return 'service-worker';
  if (typeof window !== 'undefined' && window.isSecureContext && savePicker()) return 'file-picker';
  return 'memory';
}

let registration: Promise<ServiceWorker> | null = null;

function activeWorker(): Promise<ServiceWorker> {
  registration ??= navigator.serviceWorker
    .register(SW_URL, { scope: SW_SCOPE })
    .then(
      (reg) =>
        new Promise<ServiceWorker>((resolve, reject) => {
          if (reg.active) {
            resolve(reg.active);
            return;
          }
          const worker = reg.installing ?? reg.waiting;
          if (!worker) {
            reject(new Error('The download worker did not install'));
            return;
          }
          worker.addEventListener('statechange', () => {
            if (worker.state === 'activated') resolve(worker);
            else if (worker.state === 'redundant') reject(new Error('The download worker was discarded'));
          });
        }),
    )
    .catch((error: unknown) => {
      registration = null;
      throw error;
    });
  return registration;
}

function postTicket(
  worker: ServiceWorker,
  ticket: { nonce: string; url: string; token: string },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const channel = new MessageChannel();
    const timer = window.setTimeout(() => reject(new Error('The download worker did not answer')), 5000);
    channel.port1.onmessage = (event: MessageEvent<{ ok?: boolean }>) => {
      window.clearTimeout(timer);
      if (event.data.ok === true) resolve();
      else reject(new Error('The download worker refused the ticket'));
    };
    worker.postMessage({ type: 'bx-download-ticket', ...ticket }, [channel.port2]);
  });
}

interface WorkerReport {
  nonce: string;
  ok: boolean;
  status: number;
  payload?: unknown;
  text?: string;
}

/** Infrastructure failure of the worker path (not an answer of the server): try another method. */
class WorkerUnavailable extends Error {}

async function downloadWithServiceWorker(recordId: number): Promise<void> {
  const token = readToken() ?? '';
  let worker: ServiceWorker;
  const nonce = crypto.randomUUID();
  try {
    worker = await activeWorker();
    await postTicket(worker, { nonce, url: buildPath(route.path, { id: recordId }), token });
  } catch (error) {
    throw new WorkerUnavailable(error instanceof Error ? error.message : 'download worker unavailable');
  }
  const outcome = new Promise<WorkerReport>((resolve, reject) => {
    const channel = new BroadcastChannel(CHANNEL);
    const timer = window.setTimeout(() => {
      channel.close();
      reject(new WorkerUnavailable('The download did not start'));
    }, START_TIMEOUT_MS);
    channel.onmessage = (event: MessageEvent<WorkerReport>) => {
      if (event.data.nonce !== nonce) return;
      window.clearTimeout(timer);
      channel.close();
      resolve(event.data);
    };
  });
  const frame = document.createElement('iframe');
  frame.style.display = 'none';
  frame.setAttribute('aria-hidden', 'true');
  frame.dataset.testid = 'record-download-frame';
  frame.src = `${SW_SCOPE}${nonce}`;
  document.body.appendChild(frame);
  let report: WorkerReport;
  try {
    report = await outcome;
  } finally {
    // The download manager owns the transfer once it started; the frame is only its trigger.
    window.setTimeout(() => frame.remove(), 60_000);
  }
  if (!report.ok) throw apiErrorFromAnswer(route, report.status, report.payload, report.text ?? '');
}

async function downloadWithPicker(recordId: number, fileName: string): Promise<void> {
  const pick = savePicker();
  if (!pick) throw new WorkerUnavailable('no file picker');
  const handle = await pick({ suggestedName: fileName });
  const response = await openApiStream(route, {
    params: { id: recordId },
    accept: 'application/octet-stream',
  });
  if (!response.body) throw new WorkerUnavailable('no response body');
  await response.body.pipeTo(await handle.createWritable());
}

async function downloadToMemory(
  recordId: number,
  fallbackName: string,
  onProgress?: (bytes: number, total: number) => void,
): Promise<void> {
  const response = await openApiStream(route, {
    params: { id: recordId },
    accept: 'application/octet-stream',
  });
  const total = Number(response.headers.get('Content-Length') ?? 0);
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let received = 0;
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      received += value.byteLength;
      onProgress?.(received, total);
    }
  }
  const name = fileNameFromContentDisposition(response.headers.get('Content-Disposition'), fallbackName);
  saveBlob(new Blob(chunks, { type: 'application/octet-stream' }), name);
}

/**
 * Downloads the artifact of a record. `confirmInMemory` is asked before a large file would be
 * buffered in memory (only when neither streaming method is available) and may cancel it.
 * Returns the method used, or null when the user cancelled.
 */
export async function downloadRecordArtifact(options: {
  recordId: number;
  fileName: string;
  sizeBytes: number;
  confirmInMemory: (sizeBytes: number) => Promise<boolean>;
  onProgress?: (bytes: number, total: number) => void;
}): Promise<DownloadMethod | null> {
  const { recordId, fileName, sizeBytes } = options;
  const method = downloadMethod();
  if (method === 'service-worker') {
    try {
      await downloadWithServiceWorker(recordId);
      return 'service-worker';
    } catch (error) {
      if (!(error instanceof WorkerUnavailable)) throw error;
      // Private windows may refuse service workers: fall back to buffering.
    }
  } else if (method === 'file-picker') {
    try {
      await downloadWithPicker(recordId, fileName);
      return 'file-picker';
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') return null;
      if (!(error instanceof WorkerUnavailable)) throw error;
    }
  }
  if (sizeBytes > BLOB_WARNING_BYTES && !(await options.confirmInMemory(sizeBytes))) return null;
  await downloadToMemory(recordId, fileName || `backupx-record-${String(recordId)}`, options.onProgress);
  return 'memory';
}
