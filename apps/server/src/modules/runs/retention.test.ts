import { describe, expect, it } from 'vitest';
import { selectForDeletion, type RetentionCandidate, type RetentionPolicy } from './retention.ts';

const policy = (overrides: Partial<RetentionPolicy>): RetentionPolicy => ({
  retentionDays: 0,
  maxBackups: 0,
  keepDaily: 0,
  keepWeekly: 0,
  keepMonthly: 0,
  keepYearly: 0,
  ...overrides,
});
const at = (iso: string) => new Date(iso);
const full = (id: number, iso: string, locked = false): RetentionCandidate => ({
  id,
  time: at(iso),
  locked,
  backupKind: 'full',
  baseRecordId: 0,
});
const now = at('2026-03-20T12:00:00Z');

describe('retention policy', () => {
  it('simple policy: 7 days and max 2 deletes only what is beyond both limits (SPEC example)', () => {
    const records = [
      full(3, '2026-03-19T00:00:00Z'),
      full(2, '2026-03-18T00:00:00Z'),
      full(1, '2026-03-05T00:00:00Z'),
    ];
    expect(selectForDeletion(records, policy({ retentionDays: 7, maxBackups: 2 }), now)).toEqual([1]);
  });

  it('count limit keeps the newest N; 0 means no limit', () => {
    const records = [1, 2, 3, 4].map((id) => full(id, `2026-03-1${id}T00:00:00Z`));
    expect(selectForDeletion(records, policy({ maxBackups: 2 }), now).sort()).toEqual([1, 2]);
    expect(selectForDeletion(records, policy({}), now)).toEqual([]);
  });

  it('locked records are never deleted and do not use up count slots', () => {
    const records = [
      full(4, '2026-03-14T00:00:00Z', true),
      full(3, '2026-03-13T00:00:00Z'),
      full(2, '2026-03-12T00:00:00Z'),
      full(1, '2026-01-01T00:00:00Z', true),
    ];
    expect(selectForDeletion(records, policy({ maxBackups: 1, retentionDays: 30 }), now)).toEqual([2]);
  });

  it('GFS daily=2 keeps the newest of the two newest days (SPEC example)', () => {
    const records = [
      full(5, '2026-03-07T12:00:00Z'),
      full(4, '2026-03-07T06:00:00Z'),
      full(3, '2026-03-06T12:00:00Z'),
      full(2, '2026-03-05T12:00:00Z'),
      full(1, '2026-03-04T12:00:00Z'),
    ];
    expect(selectForDeletion(records, policy({ keepDaily: 2 }), now).sort()).toEqual([1, 2, 4]);
  });

  it('GFS tiers are a union: daily=1 + monthly=2 over Mar 7, Feb 15, Jan 15 deletes Jan 15 (SPEC example)', () => {
    const records = [
      full(3, '2026-03-07T00:00:00Z'),
      full(2, '2026-02-15T00:00:00Z'),
      full(1, '2026-01-15T00:00:00Z'),
    ];
    expect(selectForDeletion(records, policy({ keepDaily: 1, keepMonthly: 2 }), now)).toEqual([1]);
  });

  it('GFS weekly tier uses ISO weeks (Sunday and the next Monday are different weeks)', () => {
    const records = [
      full(3, '2026-03-16T00:00:00Z'),
      full(2, '2026-03-15T00:00:00Z'),
      full(1, '2026-03-14T00:00:00Z'),
    ];
    expect(selectForDeletion(records, policy({ keepWeekly: 2 }), now)).toEqual([1]);
  });

  it('keeps a full backup while a surviving differential depends on it, deletes both when both go', () => {
    const diff = (id: number, iso: string, base: number): RetentionCandidate => ({
      id,
      time: at(iso),
      locked: false,
      backupKind: 'differential',
      baseRecordId: base,
    });
    const records = [
      diff(3, '2026-03-19T00:00:00Z', 1),
      full(2, '2026-03-18T00:00:00Z'),
      full(1, '2026-03-17T00:00:00Z'),
    ];
    expect(selectForDeletion(records, policy({ maxBackups: 1 }), now).sort()).toEqual([2]);
    const older = [
      full(3, '2026-03-19T00:00:00Z'),
      diff(2, '2026-03-18T00:00:00Z', 1),
      full(1, '2026-03-17T00:00:00Z'),
    ];
    expect(selectForDeletion(older, policy({ maxBackups: 1 }), now).sort()).toEqual([1, 2]);
  });
});
