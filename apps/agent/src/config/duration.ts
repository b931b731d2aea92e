/**
 * Go `time.ParseDuration` syntax, because BackupX agents' config files (and the installer that
 * writes `heartbeatInterval: "15s"`) use it: a sequence of decimal numbers with units, e.g. `15s`,
 * `1m30s`, `500ms`, `1.5h`. Returns milliseconds, or null when the text is not a duration.
 * A bare `0` is a valid Go duration (zero); callers decide whether zero is allowed.
 */
const unitMs: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

export const parseGoDurationMs = (text: string): number | null => {
  let rest = text.trim();
  if (rest === '') return null;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  // Longest units first so `ms` is not read as `m` followed by garbage.
  const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  let total = 0;
  while (rest.length > 0) {
    const match = part.exec(rest);
    if (match === null) return null;
    const [whole, amount = '', unit = ''] = match;
    total += Number(amount) * (unitMs[unit] ?? Number.NaN);
    rest = rest.slice(whole.length);
  }
  return Number.isFinite(total) ? sign * total : null;
};

/** `15000` → `15s`, for messages. */
export const formatDurationMs = (ms: number): string =>
  ms % 1000 === 0 ? `${String(ms / 1000)}s` : `${String(ms)}ms`;
