/** Pure geometry of the console's small SVG charts (no chart library is bundled). */

/** The smallest "nice" axis maximum ≥ `value` (1, 2, 2.5, 5 × 10^n) that splits into `steps` ticks. */
export function niceAxis(value: number, steps = 4): { max: number; ticks: number[] } {
  if (!Number.isFinite(value) || value <= 0) {
    return { max: steps, ticks: Array.from({ length: steps + 1 }, (_, index) => index) };
  }
  const rawStep = value / steps;
  const magnitude = 10 ** Math.floor(Math.log10(rawStep));
  const step =
    [1, 2, 2.5, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= rawStep) ??
    10 * magnitude;
  // Counts are integers: a step below 1 would print fractional tick labels.
  const integerStep = Math.max(1, Math.ceil(step));
  const tickCount = Math.max(1, Math.ceil(value / integerStep));
  const ticks = Array.from({ length: tickCount + 1 }, (_, index) => index * integerStep);
  return { max: tickCount * integerStep, ticks };
}

export interface DonutSlice {
  /** Start and end angle in radians, clockwise from 12 o'clock. */
  start: number;
  end: number;
  fraction: number;
}

/** Splits a full turn among `values` (negative and non-finite values count as 0). */
export function donutSlices(values: readonly number[]): DonutSlice[] {
  const clean = values.map((value) => (Number.isFinite(value) && value > 0 ? value : 0));
  const total = clean.reduce((sum, value) => sum + value, 0);
  let angle = 0;
  return clean.map((value) => {
    const fraction = total > 0 ? value / total : 0;
    const start = angle;
    angle += fraction * Math.PI * 2;
    return { start, end: angle, fraction };
  });
}

const point = (cx: number, cy: number, radius: number, angle: number) =>
  `${(cx + radius * Math.sin(angle)).toFixed(3)} ${(cy - radius * Math.cos(angle)).toFixed(3)}`;

/**
 * SVG path of a ring segment between `start` and `end` (radians, clockwise from 12 o'clock).
 * A full turn is drawn as two halves, because an arc cannot start and end at the same point.
 */
export function ringSegmentPath(
  cx: number,
  cy: number,
  outer: number,
  inner: number,
  start: number,
  end: number,
): string {
  const sweep = end - start;
  if (sweep <= 0) return '';
  if (sweep >= Math.PI * 2 - 1e-9) {
    const middle = start + Math.PI;
    return `${ringSegmentPath(cx, cy, outer, inner, start, middle)} ${ringSegmentPath(cx, cy, outer, inner, middle, start + Math.PI * 2)}`;
  }
  const large = sweep > Math.PI ? 1 : 0;
  return [
    `M ${point(cx, cy, outer, start)}`,
    `A ${String(outer)} ${String(outer)} 0 ${String(large)} 1 ${point(cx, cy, outer, end)}`,
    `L ${point(cx, cy, inner, end)}`,
    `A ${String(inner)} ${String(inner)} 0 ${String(large)} 0 ${point(cx, cy, inner, start)}`,
    'Z',
  ].join(' ');
}

/** Keeps the `limit - 1` largest entries and sums the rest into one "other" entry. */
export function groupSmallest<T>(
  entries: readonly T[],
  valueOf: (entry: T) => number,
  limit: number,
  makeOther: (total: number, count: number) => T,
): T[] {
  const sorted = [...entries].sort((a, b) => valueOf(b) - valueOf(a));
  if (sorted.length <= limit) return sorted;
  const kept = sorted.slice(0, Math.max(0, limit - 1));
  const rest = sorted.slice(Math.max(0, limit - 1));
  return [
    ...kept,
    makeOther(
      rest.reduce((sum, entry) => sum + valueOf(entry), 0),
      rest.length,
    ),
  ];
}
