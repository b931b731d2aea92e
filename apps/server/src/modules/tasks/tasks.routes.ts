import { apiRoutes } from '@backupx/contract';
import type { RouteRegistry } from '../../http/route-registry.ts';
import type { DatabaseDiscoveryService } from './database-discovery.service.ts';
import { fileStamp } from '../../lib/csv.ts';
import type { Clock } from '../../lib/clock.ts';
import type { TaskTransfer } from './task-transfer.ts';
import type { TasksService } from './tasks.service.ts';

export const registerTaskRoutes = (
  registry: RouteRegistry,
  services: {
    tasks: TasksService;
    databaseDiscovery: DatabaseDiscoveryService;
    taskTransfer: TaskTransfer;
    clock: Clock;
  },
) => {
  const { tasks, databaseDiscovery, taskTransfer, clock } = services;
  const routes = apiRoutes.tasks;
  registry.add(routes.list, ({ query }) =>
    tasks.list({
      ...(query.tag === undefined ? {} : { tags: query.tag }),
      ...(query.type === undefined ? {} : { type: query.type }),
    }),
  );
  registry.add(routes.tags, () => tasks.tags());
  registry.add(routes.exportJson, async ({ actor, query, reply }) => {
    const ids =
      query.ids === undefined || query.ids.trim() === ''
        ? undefined
        : query.ids.split(',').map((id) => Number(id.trim()));
    const file = await taskTransfer.exportTasks(actor, ids);
    return reply
      .type('application/json; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="backupx-tasks-${fileStamp(clock.now())}.json"`)
      .header('Cache-Control', 'no-store')
      .send(JSON.stringify(file, null, 2));
  });
  registry.add(routes.importJson, ({ actor, body }) => taskTransfer.importTasks(actor, body.tasks));
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
