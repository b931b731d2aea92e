import { z } from 'zod';
import { defineRoute } from './route.ts';
import { timestampSchema } from './common.ts';

/** Every event type the master emits (SPEC §13.1), to the SSE stream and to notification channels. */
export const eventTypes = [
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
] as const;
export const eventTypeSchema = z.enum(eventTypes);
export type EventType = z.infer<typeof eventTypeSchema>;

/** One event as the SSE stream sends it (`event: <type>` + this JSON as `data`). */
export const systemEventSchema = z.object({
  type: eventTypeSchema,
  title: z.string(),
  body: z.string(),
  /** Type-specific fields (SPEC §13.1) plus `eventType` and `timestamp`. */
  fields: z.record(z.string(), z.unknown()),
  timestamp: timestampSchema,
});
export type SystemEvent = z.infer<typeof systemEventSchema>;

export const eventRoutes = {
  stream: defineRoute({
    method: 'GET',
    path: '/api/events/stream',
    access: 'viewer',
    tag: 'events',
    summary:
      'Live events as Server-Sent Events: `: connected`, then `event: <type>` frames; a heartbeat comment every 25 s',
    responseKind: 'event-stream',
  }),
} as const;
