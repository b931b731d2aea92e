import { describe, expect, it } from 'vitest';
import { donutSlices, groupSmallest, niceAxis, ringSegmentPath } from './chartMath.ts';

describe('niceAxis', () => {
  it('rounds up to a nice integer scale', () => {
    expect(niceAxis(0)).toEqual({ max: 4, ticks: [0, 1, 2, 3, 4] });
    expect(niceAxis(1)).toEqual({ max: 1, ticks: [0, 1] });
    expect(niceAxis(3)).toEqual({ max: 3, ticks: [0, 1, 2, 3] });
    expect(niceAxis(7)).toEqual({ max: 8, ticks: [0, 2, 4, 6, 8] });
    expect(niceAxis(37)).toEqual({ max: 40, ticks: [0, 10, 20, 30, 40] });
    expect(niceAxis(101).max).toBeGreaterThanOrEqual(101);
  });
});

describe('donutSlices', () => {
  it('splits a full turn proportionally and ignores bad values', () => {
    const slices = donutSlices([1, 3, -2, Number.NaN]);
    expect(slices.map((slice) => slice.fraction)).toEqual([0.25, 0.75, 0, 0]);
    expect(slices[1]?.end).toBeCloseTo(Math.PI * 2);
  });

  it('gives empty slices when everything is zero', () => {
    expect(donutSlices([0, 0]).every((slice) => slice.fraction === 0 && slice.end === 0)).toBe(true);
  });
});

describe('ringSegmentPath', () => {
  it('draws nothing for an empty slice and two arcs pairs for a full ring', () => {
    expect(ringSegmentPath(50, 50, 40, 25, 1, 1)).toBe('');
    const full = ringSegmentPath(50, 50, 40, 25, 0, Math.PI * 2);
    expect(full.match(/A /g)).toHaveLength(4);
  });

  it('starts at 12 o’clock and marks large arcs', () => {
    const path = ringSegmentPath(50, 50, 40, 25, 0, Math.PI * 1.5);
    expect(path.startsWith('M 50.000 10.000')).toBe(true);
    expect(path).toContain(' 0 1 1 ');
  });
});

describe('groupSmallest', () => {
  it('keeps the largest entries and sums the rest', () => {
    const result = groupSmallest(
      [
        { name: 'a', value: 1 },
        { name: 'b', value: 5 },
        { name: 'c', value: 3 },
        { name: 'd', value: 2 },
      ],
      (entry) => entry.value,
      3,
      (total, count) => ({ name: `other(${String(count)})`, value: total }),
    );
    expect(result).toEqual([
      { name: 'b', value: 5 },
      { name: 'c', value: 3 },
      { name: 'other(2)', value: 3 },
    ]);
  });
});
