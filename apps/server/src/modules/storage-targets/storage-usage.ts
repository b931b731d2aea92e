import type { RecordCopiesRow } from './storage-targets.repository.ts';

/** One entry of `backup_records.storage_upload_results` as far as usage cares. */
interface UploadResultEntry {
  storageTargetId?: unknown;
  status?: unknown;
  fileSize?: unknown;
}

const isTargetId = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value > 0;

const parseUploadResults = (json: string): UploadResultEntry[] => {
  try {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed)
      ? parsed.filter((entry): entry is UploadResultEntry => typeof entry === 'object' && entry !== null)
      : [];
  } catch {
    return [];
  }
};

/**
 * The copies a successful record holds: target id → bytes. Every successful upload counts
 * (SPEC §17.4 quirk 14 fixed: BackupX counted only the primary target). The record's own
 * `storageTargetId` (the first successful target) always holds a copy, which also covers records
 * written before per-target results existed.
 */
export const copiesOfRecord = (record: RecordCopiesRow): Map<number, number> => {
  const copies = new Map<number, number>();
  for (const entry of parseUploadResults(record.storageUploadResults)) {
    if (entry.status !== 'success' || !isTargetId(entry.storageTargetId)) continue;
    const size =
      typeof entry.fileSize === 'number' && Number.isFinite(entry.fileSize) && entry.fileSize >= 0
        ? entry.fileSize
        : record.fileSize;
    copies.set(entry.storageTargetId, size);
  }
  if (isTargetId(record.storageTargetId) && !copies.has(record.storageTargetId))
    copies.set(record.storageTargetId, record.fileSize);
  return copies;
};

export interface TargetUsageTotals {
  recordCount: number;
  totalBytes: number;
}

/** Per target: how many successful records keep a copy there and how many bytes those copies take. */
export const usageByTarget = (records: readonly RecordCopiesRow[]): Map<number, TargetUsageTotals> => {
  const totals = new Map<number, TargetUsageTotals>();
  for (const record of records) {
    for (const [targetId, bytes] of copiesOfRecord(record)) {
      const current = totals.get(targetId) ?? { recordCount: 0, totalBytes: 0 };
      current.recordCount += 1;
      current.totalBytes += bytes;
      totals.set(targetId, current);
    }
  }
  return totals;
};
