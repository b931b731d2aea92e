import { allRoutes, apiRoutes } from '@backupx/contract';
import type { RouteRegistry } from '../../http/route-registry.ts';
import { buildOpenApiDocument } from '../../http/openapi.ts';
import type { Metrics } from './metrics.ts';
import type { SystemService } from './system.service.ts';

export const registerSystemRoutes = (
  registry: RouteRegistry,
  services: { system: SystemService; metrics: Metrics },
) => {
  const { system, metrics } = services;
  const routes = apiRoutes.system;
  registry.add(routes.info, () => system.info());
  registry.add(routes.health, () => Promise.resolve(system.health()));
  registry.add(routes.apiHealth, () => Promise.resolve(system.health()));
  for (const route of [routes.ready, routes.apiReady]) {
    registry.add(route, async ({ reply }) => {
      const { ready, body } = await system.readiness();
      return reply.code(ready ? 200 : 503).send(body);
    });
  }
  registry.add(routes.metrics, async ({ reply }) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
  const openApi = buildOpenApiDocument(allRoutes, system.version);
  registry.add(routes.openapi, () => Promise.resolve(openApi));
};
