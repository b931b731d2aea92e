import { EventEmitter } from 'node:events';
import pg from 'pg';
import { sql } from 'kysely';
import type { OpenedDatabase } from './database.ts';

/**
 * Wake-up signals between masters: "a command was queued for node 7", "command 42 finished".
 * On PostgreSQL they travel by LISTEN/NOTIFY, so the master holding an agent's long poll hears
 * about work queued by another master at once; on SQLite (one master) they stay in the process.
 * A signal only says "look again": receivers always re-read the database, so a lost signal costs
 * latency (the next poll or check), never correctness.
 */
export interface Signals {
  publish(channel: SignalChannel, payload: string): Promise<void>;
  subscribe(channel: SignalChannel, handler: (payload: string) => void): () => void;
  close(): Promise<void>;
}

export type SignalChannel = 'backupx_command_queued' | 'backupx_command_done';

const RECONNECT_MS = 1_000;

export const createSignals = (
  opened: OpenedDatabase,
  options: { postgresUrl?: string; onError?: (error: Error) => void } = {},
): Signals => {
  const local = new EventEmitter();
  local.setMaxListeners(0);
  if (opened.dialect !== 'postgres' || options.postgresUrl === undefined) {
    return {
      publish(channel, payload) {
        local.emit(channel, payload);
        return Promise.resolve();
      },
      subscribe(channel, handler) {
        local.on(channel, handler);
        return () => local.off(channel, handler);
      },
      close: () => Promise.resolve(),
    };
  }

  const url = options.postgresUrl;
  const channels = new Set<SignalChannel>();
  let client: pg.Client | undefined;
  let closed = false;
  let reconnect: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    if (closed) return;
    const next = new pg.Client({ connectionString: url });
    next.on('notification', (message) => {
      if (channels.has(message.channel as SignalChannel)) local.emit(message.channel, message.payload ?? '');
    });
    next.on('error', (error) => {
      options.onError?.(error);
      scheduleReconnect(next);
    });
    next.on('end', () => scheduleReconnect(next));
    try {
      await next.connect();
      for (const channel of channels) await next.query(`LISTEN ${channel}`);
      client = next;
    } catch (error) {
      options.onError?.(error as Error);
      scheduleReconnect(next);
    }
  };
  const scheduleReconnect = (failed: pg.Client) => {
    if (closed || client !== failed) {
      if (client === undefined && !closed && reconnect === undefined) {
        reconnect = setTimeout(() => {
          reconnect = undefined;
          void connect();
        }, RECONNECT_MS);
        reconnect.unref();
      }
      return;
    }
    client = undefined;
    void failed.end().catch(() => undefined);
    reconnect = setTimeout(() => {
      reconnect = undefined;
      void connect();
    }, RECONNECT_MS);
    reconnect.unref();
  };
  const ready = connect();

  return {
    async publish(channel, payload) {
      // Through the pool, so it is delivered to every master (this one included) once committed.
      await sql`select pg_notify(${channel}, ${payload})`.execute(opened.db);
    },
    subscribe(channel, handler) {
      local.on(channel, handler);
      if (!channels.has(channel)) {
        channels.add(channel);
        void ready.then(() => client?.query(`LISTEN ${channel}`)).catch(() => undefined);
      }
      return () => local.off(channel, handler);
    },
    async close() {
      closed = true;
      if (reconnect) clearTimeout(reconnect);
      await ready.catch(() => undefined);
      await client?.end().catch(() => undefined);
      client = undefined;
    },
  };
};
