import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { App } from 'antd';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import type { EventType, SystemEvent } from '@backupx/contract';
import { appendEvent, eventQueryPrefixes, eventSeverity, toastSeconds } from './eventMeta.ts';
import type { ReceivedEvent } from './eventMeta.ts';
import { startEventStream } from './eventStream.ts';
import type { EventStreamStatus } from './eventStream.ts';
import { eventSummary } from './eventText.ts';

type Listener = (event: SystemEvent) => void;

interface EventCenterValue {
  /** The newest 50 events of this session, newest first. */
  events: readonly ReceivedEvent[];
  unread: number;
  status: EventStreamStatus;
  /** Epoch ms of the next connection attempt while reconnecting. */
  retryAt: number | undefined;
  /** Whether the event drawer is open; while it is, new events count as read. */
  open: boolean;
  setOpen: (open: boolean) => void;
  clear: () => void;
  subscribe: (listener: Listener) => () => void;
}

const EventCenterContext = createContext<EventCenterValue | null>(null);

/**
 * Keeps the live event stream of the signed-in session open (it is mounted inside the
 * authenticated layout, so signing out unmounts it and stops the stream), toasts each event,
 * refetches the queries an event changes and lets pages subscribe.
 */
export function EventCenterProvider({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const { notification } = App.useApp();
  const queryClient = useQueryClient();
  const [events, setEvents] = useState<ReceivedEvent[]>([]);
  const [readUpTo, setReadUpTo] = useState(0);
  const [open, setOpenState] = useState(false);
  const [status, setStatus] = useState<EventStreamStatus>('connecting');
  const [retryAt, setRetryAt] = useState<number | undefined>(undefined);
  const listeners = useRef(new Set<Listener>());
  const nextId = useRef(1);
  // The stream lives as long as the provider; the latest translator and toaster are read via refs.
  const latest = useRef({ t, notification, queryClient });
  useEffect(() => {
    latest.current = { t, notification, queryClient };
  }, [t, notification, queryClient]);

  useEffect(() => {
    const handle = startEventStream({
      onStatus: (next, nextRetryAt) => {
        setStatus(next);
        setRetryAt(nextRetryAt);
      },
      onEvent: (event) => {
        const id = nextId.current;
        nextId.current += 1;
        setEvents((list) => appendEvent(list, { id, receivedAt: Date.now(), event }));
        const current = latest.current;
        const severity = eventSeverity[event.type];
        current.notification.open({
          type: severity,
          title: current.t(`eventCenter.types.${event.type}`),
          description: eventSummary(current.t, event),
          duration: toastSeconds(severity),
          placement: 'topRight',
        });
        for (const prefix of eventQueryPrefixes[event.type]) {
          void current.queryClient.invalidateQueries({ queryKey: [prefix] });
        }
        for (const listener of listeners.current) {
          try {
            listener(event);
          } catch (error) {
            console.error('An event listener failed', error);
          }
        }
      },
    });
    return () => handle.stop();
  }, []);

  // Opening or closing the drawer marks everything received so far as read.
  const setOpen = useCallback((next: boolean) => {
    setOpenState(next);
    setReadUpTo(nextId.current - 1);
  }, []);

  const subscribe = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const clear = useCallback(() => setEvents([]), []);
  // While the drawer is open, arriving events are seen at once.
  const unread = open ? 0 : events.filter((item) => item.id > readUpTo).length;

  const value = useMemo(
    () => ({ events, unread, status, retryAt, open, setOpen, clear, subscribe }),
    [events, unread, status, retryAt, open, setOpen, clear, subscribe],
  );
  return <EventCenterContext value={value}>{children}</EventCenterContext>;
}

export function useEventCenter(): EventCenterValue {
  const value = useContext(EventCenterContext);
  if (!value) throw new Error('useEventCenter must be used inside <EventCenterProvider>');
  return value;
}

/**
 * Calls `handler` for each live event of the given types (all types when omitted), e.g. to
 * refetch a page's data. The handler may change between renders without resubscribing.
 */
export function useEventSubscription(types: readonly EventType[] | undefined, handler: Listener): void {
  const { subscribe } = useEventCenter();
  const handlerRef = useRef(handler);
  useEffect(() => {
    handlerRef.current = handler;
  }, [handler]);
  const typeKey = types ? [...types].sort().join(',') : '*';
  useEffect(() => {
    const wanted = typeKey === '*' ? null : new Set(typeKey.split(','));
    return subscribe((event) => {
      if (wanted === null || wanted.has(event.type)) handlerRef.current(event);
    });
  }, [subscribe, typeKey]);
}
