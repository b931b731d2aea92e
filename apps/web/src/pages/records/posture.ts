/** Pure helpers of the 3-2-1 posture (SPEC §9): colours, problem order, state of one copy. */
import { postureProblems } from '@backupx/contract';
import type { Posture } from '@backupx/contract';

export type PostureStatus = Posture['status'];
export type PostureProblem = Posture['problems'][number];
export type CopyPosture = Posture['copyDetails'][number];

/** Tag colours: protected green, unverified gold, degraded red. */
export const postureColors: Record<PostureStatus, string> = {
  protected: 'green',
  unverified: 'gold',
  degraded: 'red',
};

/** Worst first, so a list of backups starts with the ones that need attention. */
export const postureSeverity: Record<PostureStatus, number> = { degraded: 0, unverified: 1, protected: 2 };

/** Problems in the contract's order (from the most to the least basic), without duplicates. */
export const sortProblems = (problems: readonly PostureProblem[]): PostureProblem[] =>
  postureProblems.filter((problem) => problems.includes(problem));

/** The translation key of a problem. */
export const problemKey = (problem: PostureProblem) => `posture.problems.${problem}` as const;

/** Drill state of one copy: verified by its newest drill, failed it, or never drilled. */
export function copyDrillState(copy: Pick<CopyPosture, 'lastVerifyStatus' | 'lastVerifiedAt'>) {
  if (copy.lastVerifyStatus === 'failed') return 'failed' as const;
  if (copy.lastVerifyStatus === 'success' || copy.lastVerifiedAt !== null) return 'verified' as const;
  return 'never' as const;
}

/** What of a backup record tells which storage targets already hold a copy of it. */
export interface CopyHolders {
  storageTargetId: number;
  storageUploadResults: readonly { storageTargetId: number; status: 'success' | 'failed' }[];
  posture: Pick<Posture, 'copyDetails'> | null;
}

/** Ids of the storage targets that already hold a copy: the primary, successful uploads, replicas. */
export function copyHolderIds(record: CopyHolders): Set<number> {
  const ids = new Set<number>();
  if (record.storageTargetId > 0) ids.add(record.storageTargetId);
  for (const result of record.storageUploadResults)
    if (result.status === 'success') ids.add(result.storageTargetId);
  for (const copy of record.posture?.copyDetails ?? []) ids.add(copy.storageTargetId);
  return ids;
}

/** Storage targets a backup can be replicated to: enabled and not already holding a copy. */
export function replicationDestinations<T extends { id: number; enabled: boolean }>(
  targets: readonly T[],
  record: CopyHolders,
): T[] {
  const holders = copyHolderIds(record);
  return targets.filter((target) => target.enabled && !holders.has(target.id));
}
