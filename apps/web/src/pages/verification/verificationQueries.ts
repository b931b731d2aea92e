/** Query keys, links and pure helpers of the verification drills pages. */
import type { VerificationCheck, VerificationSummary, VerifyMode } from '@backupx/contract';
import { paths } from '../../paths.ts';

/** Query keys; every key starts with `verifications`, the prefix the `verify_failed` event refreshes. */
export const verificationKeys = {
  all: ['verifications'] as const,
  list: (filters: Record<string, unknown>) => ['verifications', 'list', filters] as const,
  detail: (id: number | null) => ['verifications', 'detail', id] as const,
};

/** The verification page with one drill open (`?verifyId=`). */
export const verificationDetailsUrl = (id: number) =>
  `${paths.verifyRecords}?verifyId=${encodeURIComponent(String(id))}`;

/** Names of the checks the console translates; others are shown as the server names them. */
export const knownChecks = [
  'checksum',
  'download',
  'structure',
  'restore',
  'manifest',
  'integrity',
  'row_counts',
  'cleanup',
] as const;
export type KnownCheck = (typeof knownChecks)[number];

export const isKnownCheck = (name: string): name is KnownCheck =>
  (knownChecks as readonly string[]).includes(name);

/** Whether a list holds a drill still running (the list is then refreshed every few seconds). */
export const hasRunningDrill = (drills: readonly Pick<VerificationSummary, 'status'>[] | undefined) =>
  drills?.some((drill) => drill.status === 'running') ?? false;

/** Passed and failed checks of a drill. */
export function checkCounts(checks: readonly VerificationCheck[]): { passed: number; failed: number } {
  const passed = checks.filter((check) => check.ok).length;
  return { passed, failed: checks.length - passed };
}

export const isVerifyMode = (value: string | null): value is VerifyMode =>
  value === 'quick' || value === 'deep';
