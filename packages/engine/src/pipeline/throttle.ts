import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { EngineError } from '../errors.ts';

/** Bytes per second each way; 0 is unlimited. */
export interface BandwidthLimit {
  uploadBytesPerSecond: number;
  downloadBytesPerSecond: number;
}

const SYNTAX =
  "expected rclone's --bwlimit syntax: a rate such as 10M, 512k, 1.5M or 10MiB (binary units, " +
  'an optional /s; a bare number is KiB), "off" or 0 for unlimited, or UPLOAD:DOWNLOAD such as 1M:500k';

const MULTIPLIERS: Record<string, number> = {
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/** One side of a limit: a number with an optional unit (k, K, KB, KiB, Ki, …) and `/s`. */
const RATE = /^(\d+(?:\.\d*)?|\.\d+)\s*(?:(b)|([kmgtp])(?:i?b|i)?)?(?:\/s)?$/i;

const parseRate = (text: string, whole: string): number => {
  const value = text.trim();
  if (value === '' || value.toLowerCase() === 'off') return 0;
  const match = RATE.exec(value);
  if (match === null)
    throw new EngineError(
      'BANDWIDTH_LIMIT_INVALID',
      'storage',
      `invalid bandwidth limit "${whole}": ${SYNTAX}`,
    );
  // rclone reads a bare number as KiB/s.
  const unit = (match[2] ?? match[3] ?? 'k').toLowerCase();
  const bytes = Math.floor(Number(match[1]) * (MULTIPLIERS[unit] ?? 1024));
  if (!Number.isSafeInteger(bytes))
    throw new EngineError('BANDWIDTH_LIMIT_INVALID', 'storage', `bandwidth limit "${whole}" is too large`);
  return bytes;
};

/**
 * Parses a bandwidth limit in rclone's `--bwlimit` syntax: '' / '0' / 'off' = unlimited;
 * `10M`, `512k`, `1.5M`, `10MiB`, `1G`, optional `/s`, binary units (k = 1024), a bare number
 * in KiB/s as rclone does; `UP:DOWN` (e.g. `1M:500k`, `off:2M`) limits each way, a single
 * value both. Timetables are not supported. Invalid text is `BANDWIDTH_LIMIT_INVALID`.
 */
export const parseBandwidthLimit = (text: string): BandwidthLimit => {
  const sides = text.split(':');
  if (sides.length > 2)
    throw new EngineError(
      'BANDWIDTH_LIMIT_INVALID',
      'storage',
      `invalid bandwidth limit "${text}": ${SYNTAX}`,
    );
  const upload = parseRate(sides[0] ?? '', text);
  const download = sides.length === 2 ? parseRate(sides[1] ?? '', text) : upload;
  return { uploadBytesPerSecond: upload, downloadBytesPerSecond: download };
};

const MIN_BURST_BYTES = 256 * 1024;

/**
 * A token bucket: passes bytes through unchanged at no more than `bytesPerSecond` on average.
 * The bucket starts empty and holds at most one second of traffic or 256 KiB, whichever is
 * larger (the burst after an idle spell). Chunks larger than the tokens at hand are split; the
 * next chunk is accepted only once the current one has gone out, so backpressure reaches the
 * writer. Destroying it clears its timer.
 */
class Throttle extends Transform {
  readonly #bytesPerSecond: number;
  readonly #burstBytes: number;
  /** Bytes released per wake-up: about 50 ms of traffic, so timers fire at most ~20 times a second. */
  readonly #sliceBytes: number;
  #tokens = 0;
  #refilledAt = performance.now();
  #timer: NodeJS.Timeout | undefined;

  constructor(bytesPerSecond: number) {
    super();
    this.#bytesPerSecond = bytesPerSecond;
    this.#burstBytes = Math.max(bytesPerSecond, MIN_BURST_BYTES);
    this.#sliceBytes = Math.max(1, Math.min(this.#burstBytes, Math.floor(bytesPerSecond / 20)));
  }

  #refill(): void {
    const now = performance.now();
    this.#tokens = Math.min(
      this.#burstBytes,
      this.#tokens + ((now - this.#refilledAt) * this.#bytesPerSecond) / 1000,
    );
    this.#refilledAt = now;
  }

  #release(chunk: Buffer, callback: TransformCallback): void {
    if (this.destroyed) return;
    this.#refill();
    let rest = chunk;
    const allowed = Math.min(rest.length, Math.floor(this.#tokens));
    if (allowed > 0) {
      this.#tokens -= allowed;
      this.push(allowed === rest.length ? rest : rest.subarray(0, allowed));
      rest = rest.subarray(allowed);
    }
    if (rest.length === 0) {
      callback();
      return;
    }
    const needed = Math.min(rest.length, this.#sliceBytes) - this.#tokens;
    const waitMs = Math.max(1, Math.ceil((needed * 1000) / this.#bytesPerSecond));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#release(rest, callback);
    }, waitMs);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#release(chunk, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    callback(error);
  }
}

/**
 * A pass-through limited to `bytesPerSecond` (token bucket, see `parseBandwidthLimit`); 0 is
 * unlimited (a plain PassThrough).
 */
export const createThrottle = (bytesPerSecond: number): Transform => {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond < 0)
    throw new EngineError(
      'BANDWIDTH_LIMIT_INVALID',
      'storage',
      `invalid bandwidth limit ${bytesPerSecond}: bytes per second must be 0 (unlimited) or more`,
    );
  return bytesPerSecond === 0 ? new PassThrough() : new Throttle(bytesPerSecond);
};
