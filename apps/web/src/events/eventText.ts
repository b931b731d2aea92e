import type { TFunction } from 'i18next';
import type { SystemEvent } from '@backupx/contract';
import { formatBytes } from '../lib/format.ts';
import { eventFieldEntries } from './eventMeta.ts';
import type { EventDisplayField } from './eventMeta.ts';

/** A field value as the event center shows it (sizes in bytes are made readable). */
export function formatEventField(t: TFunction, name: EventDisplayField, value: string): string {
  if (name === 'fileSize') {
    const bytes = Number(value);
    return Number.isFinite(bytes) ? formatBytes(bytes) : value;
  }
  if (name === 'durationSeconds') return t('eventCenter.seconds', { count: Number(value) });
  if (name === 'usageRate') {
    const rate = Number(value);
    // The capacity monitor sends a ratio (0.91) or a percentage (91); both read as 91 %.
    return Number.isFinite(rate) ? `${(rate <= 1 ? rate * 100 : rate).toFixed(1)}%` : value;
  }
  return value;
}

/** One line describing an event for a toast: its subject and, for failures, the error. */
export function eventSummary(t: TFunction, event: SystemEvent): string {
  const entries = new Map(eventFieldEntries(event));
  const subject =
    entries.get('taskName') ?? entries.get('storageTargetName') ?? entries.get('nodeName') ?? undefined;
  const error = entries.get('error');
  const parts: string[] = [];
  if (subject) parts.push(subject);
  if (error) parts.push(error.length > 160 ? `${error.slice(0, 159)}…` : error);
  if (parts.length === 0) parts.push(t(`eventCenter.descriptions.${event.type}`));
  return parts.join(' — ');
}

/** Page showing the item an id field names (`recordId` → the record's details), if any. */
export function eventFieldLink(name: EventDisplayField, value: string): string | undefined {
  if (!/^\d+$/.test(value)) return undefined;
  if (name === 'recordId' || name === 'backupRecordId') return `/backup/records?recordId=${value}`;
  if (name === 'restoreId') return `/restore/records?restoreId=${value}`;
  return undefined;
}
