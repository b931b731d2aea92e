import { apiRoutes } from '@backupx/contract';
import type { RouteRegistry } from '../../http/route-registry.ts';
import type { ReplicationService } from './replication.service.ts';

export const registerReplicationRoutes = (
  registry: RouteRegistry,
  services: { replication: ReplicationService },
) => {
  const { replication } = services;
  const routes = apiRoutes.replication;
  registry.add(routes.list, ({ query }) => replication.list(query));
  registry.add(routes.get, ({ params }) => replication.get(params.id));
  registry.add(routes.replicate, ({ actor, params, body }) =>
    replication.replicate(actor, params.id, body.destTargetId),
  );
};
