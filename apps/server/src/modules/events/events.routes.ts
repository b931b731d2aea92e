import type { OutgoingHttpHeaders } from 'node:http';
import { apiRoutes } from '@backupx/contract';
import type { RouteRegistry } from '../../http/route-registry.ts';
import type { EventStreamHub } from './event-stream.ts';

export const registerEventRoutes = (registry: RouteRegistry, services: { eventStream: EventStreamHub }) => {
  const { eventStream } = services;
  registry.add(apiRoutes.events.stream, async ({ reply }) => {
    // Headers set by the app's hooks (CORS, security) go out with the stream's own.
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) headers[name] = value;
    }
    const server = reply.server.server;
    reply.hijack();
    eventStream.attach(reply.raw, { headers, isServerClosing: () => !server.listening });
    return reply;
  });
};
