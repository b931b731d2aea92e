import { apiRoutes } from '@backupx/contract';
import type { RouteRegistry } from '../../http/route-registry.ts';
import type { DatabaseDiscoveryService } from './database-discovery.service.ts';
import type { TasksService } from './tasks.service.ts';

export const registerTaskRoutes = (
  registry: RouteRegistry,
  services: { tasks: TasksService; databaseDiscovery: DatabaseDiscoveryService },
) => {
  const { tasks, databaseDiscovery } = services;
  const routes = apiRoutes.tasks;
  registry.add(routes.list, ({ query }) =>
    tasks.list({
      ...(query.tag === undefined ? {} : { tags: query.tag }),
      ...(query.type === undefined ? {} : { type: query.type }),
    }),
  );
  registry.add(routes.tags, () => tasks.tags());
  registry.add(routes.get, ({ params }) => tasks.get(params.id));
  registry.add(routes.create, ({ actor, body }) => tasks.create(actor, body));
  registry.add(routes.update, ({ actor, params, body }) => tasks.update(actor, params.id, body));
  registry.add(routes.delete, async ({ actor, params }) => {
    await tasks.delete(actor, params.id);
    return { deleted: true as const };
  });
  registry.add(routes.toggle, ({ actor, params, body }) => tasks.toggle(actor, params.id, body?.enabled));
  registry.add(routes.batchToggle, ({ actor, body }) => tasks.batchToggle(actor, body.ids, body.enabled));
  registry.add(routes.batchDelete, ({ actor, body }) => tasks.batchDelete(actor, body.ids));
  registry.add(routes.cronPreview, ({ body }) => Promise.resolve(tasks.previewCron(body.cronExpr)));
  registry.add(routes.discoverDatabases, ({ body }) => databaseDiscovery.discover(body));
};
