/**
 * Which successful backups a task's retention policy deletes (SPEC §6.2). Pure: the caller loads
 * the records and deletes what this returns.
 *
 * - Locked records (legal hold) are never deleted and do not use up `maxBackups` slots.
 * - Simple policy (every keep* = 0): beyond the newest `maxBackups` (0 = no count limit), plus
 *   anything completed more than `retentionDays` days ago (0 = no age limit).
 * - GFS (any keep* > 0, replaces the simple policy): per tier keep the newest backup of each of
 *   the newest N periods (UTC day, ISO week, month, year); keep the union; delete the rest.
 * - A full backup is kept while a differential that is kept depends on it.
 * The current run is already committed when retention runs, so it counts (quirk 18 fixed).
 */
export interface RetentionCandidate {
  id: number;
  /** completedAt, or startedAt when it never completed. */
  time: Date;
  locked: boolean;
  backupKind: string;
  baseRecordId: number;
}

export interface RetentionPolicy {
  retentionDays: number;
  maxBackups: number;
  keepDaily: number;
  keepWeekly: number;
  keepMonthly: number;
  keepYearly: number;
}

const DAY_MS = 86_400_000;

const isoWeekKey = (date: Date): string => {
  const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = day.getUTCDay() === 0 ? 7 : day.getUTCDay();
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // Thursday of this ISO week decides its year
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / DAY_MS + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
};

const tiers: { count: keyof RetentionPolicy; key: (date: Date) => string }[] = [
  { count: 'keepDaily', key: (date) => date.toISOString().slice(0, 10) },
  { count: 'keepWeekly', key: isoWeekKey },
  { count: 'keepMonthly', key: (date) => date.toISOString().slice(0, 7) },
  { count: 'keepYearly', key: (date) => date.toISOString().slice(0, 4) },
];

export const usesGfs = (policy: RetentionPolicy): boolean =>
  policy.keepDaily > 0 || policy.keepWeekly > 0 || policy.keepMonthly > 0 || policy.keepYearly > 0;

export const selectForDeletion = (
  candidates: readonly RetentionCandidate[],
  policy: RetentionPolicy,
  now: Date,
): number[] => {
  const unlocked = candidates
    .filter((candidate) => !candidate.locked)
    .sort((a, b) => b.time.getTime() - a.time.getTime() || b.id - a.id);
  const doomed = new Set<number>();
  if (usesGfs(policy)) {
    const keep = new Set<number>();
    for (const tier of tiers) {
      const wanted = policy[tier.count];
      if (wanted <= 0) continue;
      const seen = new Set<string>();
      for (const candidate of unlocked) {
        if (seen.size >= wanted) break;
        const key = tier.key(candidate.time);
        if (seen.has(key)) continue;
        seen.add(key);
        keep.add(candidate.id);
      }
    }
    for (const candidate of unlocked) if (!keep.has(candidate.id)) doomed.add(candidate.id);
  } else {
    if (policy.maxBackups > 0)
      for (const candidate of unlocked.slice(policy.maxBackups)) doomed.add(candidate.id);
    if (policy.retentionDays > 0) {
      const cutoff = now.getTime() - policy.retentionDays * DAY_MS;
      for (const candidate of unlocked) if (candidate.time.getTime() < cutoff) doomed.add(candidate.id);
    }
  }
  // Differential protection: a full backup stays while any surviving differential needs it.
  const neededBases = new Set(
    candidates
      .filter((candidate) => candidate.backupKind === 'differential' && !doomed.has(candidate.id))
      .map((candidate) => candidate.baseRecordId),
  );
  return [...doomed].filter((id) => !neededBases.has(id));
};
