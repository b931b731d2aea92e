import type { EventType, SystemEvent } from '@backupx/contract';

export type EventSeverity = 'success' | 'error' | 'warning';

/** How an event is shown: green for completed work, red for failures, orange for warnings. */
export const eventSeverity: Record<EventType, EventSeverity> = {
  backup_success: 'success',
  backup_failed: 'error',
  restore_success: 'success',
  restore_failed: 'error',
  verify_failed: 'error',
  sla_violation: 'warning',
  storage_unhealthy: 'error',
  storage_capacity_warning: 'warning',
  replication_failed: 'error',
  agent_outdated: 'warning',
};

/** How long a toast stays (SPEC §15.1): 3.5 s for good news, 6 s for anything to act on. */
export const toastSeconds = (severity: EventSeverity): number => (severity === 'success' ? 3.5 : 6);

/**
 * Query-key prefixes whose data an event changes. The pages use keys starting with these words
 * (`['records', …]`, `['tasks', …]`, …), so invalidating the prefix refetches what is on screen.
 */
export const eventQueryPrefixes: Record<EventType, readonly string[]> = {
  backup_success: ['records', 'tasks', 'storage-targets', 'reports'],
  backup_failed: ['records', 'tasks', 'reports'],
  restore_success: ['restores'],
  restore_failed: ['restores'],
  verify_failed: ['records', 'tasks', 'verifications'],
  sla_violation: ['tasks', 'reports'],
  storage_unhealthy: ['storage-targets'],
  storage_capacity_warning: ['storage-targets'],
  replication_failed: ['records', 'replications'],
  agent_outdated: ['nodes'],
};

/**
 * The events the dashboard refreshes on (SPEC §14.6); backups, drills and copies also change the
 * 3-2-1 posture. `agent_outdated` changes the cluster
 * section's outdated-agents count; nodes going online or offline send no event, so the cluster
 * follows them through the dashboard's 60 s refetch.
 */
export const dashboardEventTypes: readonly EventType[] = [
  'backup_success',
  'backup_failed',
  'restore_success',
  'restore_failed',
  'verify_failed',
  'sla_violation',
  'storage_unhealthy',
  'storage_capacity_warning',
  'replication_failed',
  'agent_outdated',
];

/** Fields worth showing under an event, in display order (the rest stays in the raw body). */
export const eventDisplayFields = [
  'taskName',
  'storageTargetName',
  'nodeName',
  'recordId',
  'restoreId',
  'verifyId',
  'replicationId',
  'backupRecordId',
  'fileName',
  'fileSize',
  'durationSeconds',
  'usageRate',
  'hoursSinceLastSuccess',
  'agentVersion',
  'masterVersion',
  'error',
] as const;
export type EventDisplayField = (typeof eventDisplayFields)[number];

/** The displayable fields of an event that carry a value, as text. */
export function eventFieldEntries(event: SystemEvent): [EventDisplayField, string][] {
  const entries: [EventDisplayField, string][] = [];
  for (const name of eventDisplayFields) {
    const value = event.fields[name];
    if (value === undefined || value === null) continue;
    if (typeof value === 'string') {
      if (value.trim() !== '') entries.push([name, value]);
    } else if (name === 'durationSeconds' && value === 0) {
      // Backup events are sent before the run is finalised, so a zero duration means "not known".
      continue;
    } else if (typeof value === 'number' || typeof value === 'boolean') {
      entries.push([name, String(value)]);
    }
  }
  return entries;
}

/** One event as the event center keeps it: a session-unique id plus the event. */
export interface ReceivedEvent {
  id: number;
  receivedAt: number;
  event: SystemEvent;
}

/** Prepends an event and keeps the newest `limit` ones (the center shows the last 50). */
export function appendEvent(
  list: readonly ReceivedEvent[],
  item: ReceivedEvent,
  limit = 50,
): ReceivedEvent[] {
  return [item, ...list].slice(0, Math.max(0, limit));
}
