import { EventEmitter } from 'node:events';
import type { EventType, SystemEvent } from '@backupx/contract';
import { toIso, type Clock } from '../../lib/clock.ts';

export type EventListener = (event: SystemEvent) => void;

/**
 * The master's in-process event bus (SPEC §13.2): every event goes to the SSE stream and to the
 * notification dispatcher. `publish` never waits for listeners and a throwing listener never
 * breaks the publisher.
 */
export interface EventBus {
  publish(type: EventType, title: string, body: string, fields: Record<string, unknown>): SystemEvent;
  subscribe(listener: EventListener): () => void;
}

export const createEventBus = (deps: {
  clock: Clock;
  onListenerError?: (error: unknown) => void;
}): EventBus => {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    publish(type, title, body, fields) {
      const timestamp = toIso(deps.clock.now());
      const event: SystemEvent = {
        type,
        title,
        body,
        fields: { ...fields, eventType: type, timestamp },
        timestamp,
      };
      for (const listener of emitter.listeners('event') as EventListener[]) {
        try {
          listener(event);
        } catch (error) {
          deps.onListenerError?.(error);
        }
      }
      return event;
    },
    subscribe(listener) {
      emitter.on('event', listener);
      return () => emitter.off('event', listener);
    },
  };
};
