import type { Posture, PostureOverview } from '@backupx/contract';
import type { RecordRow } from '../runs/runs.repository.ts';
import { copiesOf } from '../runs/artifacts.ts';
import type { CopyVerification, VerificationRepository } from './verification.repository.ts';

/** The record fields the posture needs. */
export interface PostureRecord {
  id: number;
  status: string;
  storageUploadResults: string;
  storageTargetId: number;
  storagePath: string;
  storageTransferMode: string;
}

export interface PostureDeps {
  verifications: Pick<VerificationRepository, 'copyVerifications' | 'newestSuccessPerEnabledTask'>;
  /** Reads records (for the overview). */
  findRecord(id: number): Promise<RecordRow | undefined>;
  /** Name and type of the storage targets that exist among `ids`. */
  targetSummaries(ids: readonly number[]): Promise<{ id: number; name: string; type: string }[]>;
}

export type PostureReader = ReturnType<typeof createPostureReader>;

/**
 * 3-2-1 posture of successful backups (ours; SPEC §9 only copies). The live data is the first of
 * three copies, so a backup is laid out right with two stored copies on two kinds of storage, one
 * of them off the machine's own disk; it is `protected` once a drill has also passed on a copy.
 */
export const createPostureReader = (deps: PostureDeps) => {
  const assess = (
    record: PostureRecord,
    targets: Map<number, { name: string; type: string }>,
    drills: Map<string, CopyVerification>,
  ): Posture => {
    const copyDetails = copiesOf(record).map((copy) => {
      const target = targets.get(copy.storageTargetId);
      const drill = drills.get(`${String(record.id)}:${String(copy.storageTargetId)}`);
      const type = target?.type ?? '';
      return {
        storageTargetId: copy.storageTargetId,
        storageTargetName: target?.name ?? '',
        storageType: type,
        offsite: type !== '' && type !== 'local_disk',
        lastVerifiedAt: drill?.lastSuccessAt ?? null,
        lastVerifyStatus: drill === undefined ? null : drill.status === 'success' ? 'success' : 'failed',
        lastVerificationId: drill?.id ?? null,
      } as const;
    });
    const copies = copyDetails.length;
    const distinctTargets = new Set(copyDetails.map((copy) => copy.storageTargetId)).size;
    const distinctProviders = new Set(copyDetails.map((copy) => copy.storageType).filter((t) => t !== ''))
      .size;
    const offsiteCopies = copyDetails.filter((copy) => copy.offsite).length;
    const verifiedCopies = copyDetails.filter((copy) => copy.lastVerifiedAt !== null).length;
    const problems: Posture['problems'] = [];
    if (copies === 0) problems.push('no_copy');
    else if (copies === 1) problems.push('single_copy');
    if (copies > 0 && distinctProviders < 2) problems.push('single_provider');
    if (copies > 0 && offsiteCopies === 0) problems.push('no_offsite_copy');
    if (verifiedCopies === 0) problems.push('unverified');
    const layoutProblems = problems.filter((problem) => problem !== 'unverified');
    return {
      status: layoutProblems.length > 0 ? 'degraded' : verifiedCopies === 0 ? 'unverified' : 'protected',
      copies,
      distinctTargets,
      distinctProviders,
      offsiteCopies,
      verifiedCopies,
      problems,
      copyDetails: copyDetails.map((copy) => ({ ...copy })),
    };
  };

  /** Postures of successful records (others get null), in the order given. */
  const ofRecords = async (records: readonly PostureRecord[]): Promise<(Posture | null)[]> => {
    const successful = records.filter((record) => record.status === 'success');
    if (successful.length === 0) return records.map(() => null);
    const targetIds = [
      ...new Set(successful.flatMap((record) => copiesOf(record).map((c) => c.storageTargetId))),
    ];
    const [summaries, drills] = await Promise.all([
      deps.targetSummaries(targetIds),
      deps.verifications.copyVerifications(successful.map((record) => record.id)),
    ]);
    const targets = new Map(summaries.map((target) => [target.id, target]));
    const byCopy = new Map(
      drills.map((drill) => [`${String(drill.backupRecordId)}:${String(drill.storageTargetId)}`, drill]),
    );
    return records.map((record) => (record.status === 'success' ? assess(record, targets, byCopy) : null));
  };

  /** Posture of every enabled task's newest successful backup; the ones not protected listed. */
  const overview = async (): Promise<PostureOverview> => {
    const ids = await deps.verifications.newestSuccessPerEnabledTask();
    const records = (await Promise.all(ids.map((id) => deps.findRecord(id)))).filter(
      (record): record is RecordRow => record !== undefined,
    );
    const postures = await ofRecords(records);
    const counts = { protected: 0, unverified: 0, degraded: 0 };
    const listed: PostureOverview['records'] = [];
    records.forEach((record, index) => {
      const posture = postures[index];
      if (posture === null || posture === undefined) return;
      counts[posture.status] += 1;
      if (posture.status !== 'protected')
        listed.push({
          recordId: record.id,
          taskId: record.taskId,
          taskName: record.taskName ?? '',
          fileName: record.fileName,
          completedAt: record.completedAt,
          posture,
        });
    });
    const rank = { degraded: 0, unverified: 1, protected: 2 } as const;
    listed.sort(
      (a, b) => rank[a.posture.status] - rank[b.posture.status] || a.taskName.localeCompare(b.taskName),
    );
    return { ...counts, records: listed };
  };

  return {
    ofRecords,
    overview,
    async of(record: PostureRecord): Promise<Posture | null> {
      const [posture] = await ofRecords([record]);
      return posture ?? null;
    },
  };
};
