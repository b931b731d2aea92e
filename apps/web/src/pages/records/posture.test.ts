import { describe, expect, it } from 'vitest';
import { postureProblems } from '@backupx/contract';
import enUS from '../../i18n/locales/en-US.ts';
import zhCN from '../../i18n/locales/zh-CN.ts';
import {
  copyDrillState,
  copyHolderIds,
  postureColors,
  postureSeverity,
  problemKey,
  replicationDestinations,
  sortProblems,
} from './posture.ts';

const lookup = (tree: unknown, key: string): unknown =>
  key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], tree);

describe('posture labels', () => {
  it('has a label for every problem of the contract in both languages', () => {
    for (const problem of postureProblems) {
      for (const locale of [enUS, zhCN]) {
        const label = lookup(locale, problemKey(problem));
        expect(typeof label, problem).toBe('string');
        expect(String(label).trim()).not.toBe('');
      }
    }
  });

  it('colours protected green, unverified gold and degraded red, worst first', () => {
    expect(postureColors).toEqual({ protected: 'green', unverified: 'gold', degraded: 'red' });
    const sorted = (['protected', 'degraded', 'unverified'] as const)
      .slice()
      .sort((a, b) => postureSeverity[a] - postureSeverity[b]);
    expect(sorted).toEqual(['degraded', 'unverified', 'protected']);
  });

  it('keeps problems in the contract order without duplicates', () => {
    expect(sortProblems(['unverified', 'single_copy', 'unverified', 'no_offsite_copy'])).toEqual([
      'single_copy',
      'no_offsite_copy',
      'unverified',
    ]);
    expect(sortProblems([])).toEqual([]);
  });
});

describe('copyDrillState', () => {
  it('tells verified, failed and never-drilled copies apart', () => {
    expect(copyDrillState({ lastVerifyStatus: null, lastVerifiedAt: null })).toBe('never');
    expect(copyDrillState({ lastVerifyStatus: 'success', lastVerifiedAt: '2025-01-01T00:00:00Z' })).toBe(
      'verified',
    );
    // A failed newest drill wins over an older success.
    expect(copyDrillState({ lastVerifyStatus: 'failed', lastVerifiedAt: '2025-01-01T00:00:00Z' })).toBe(
      'failed',
    );
  });
});

describe('replication destinations', () => {
  const copy = (storageTargetId: number) => ({
    storageTargetId,
    storageTargetName: `t${String(storageTargetId)}`,
    storageType: 'local_disk',
    offsite: false,
    lastVerifiedAt: null,
    lastVerifyStatus: null,
    lastVerificationId: null,
  });
  const record = {
    storageTargetId: 1,
    storageUploadResults: [
      { storageTargetId: 1, status: 'success' as const },
      { storageTargetId: 2, status: 'success' as const },
      { storageTargetId: 3, status: 'failed' as const },
    ],
    posture: { copyDetails: [copy(1), copy(2), copy(4)] },
  };

  it('knows which targets hold a copy: primary, successful uploads and replicas', () => {
    expect([...copyHolderIds(record)].sort()).toEqual([1, 2, 4]);
    expect([...copyHolderIds({ storageTargetId: 0, storageUploadResults: [], posture: null })]).toEqual([]);
  });

  it('offers the enabled targets without a copy (a failed upload can be retried)', () => {
    const targets = [1, 2, 3, 4, 5, 6].map((id) => ({ id, enabled: id !== 6 }));
    expect(replicationDestinations(targets, record).map((target) => target.id)).toEqual([3, 5]);
  });
});
