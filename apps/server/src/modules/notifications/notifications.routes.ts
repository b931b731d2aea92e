import { apiRoutes } from '@backupx/contract';
import type { RouteRegistry } from '../../http/route-registry.ts';
import type { NotificationsService } from './notifications.service.ts';

export const registerNotificationRoutes = (
  registry: RouteRegistry,
  services: { notifications: NotificationsService },
) => {
  const { notifications } = services;
  const routes = apiRoutes.notifications;
  registry.add(routes.list, () => notifications.list());
  registry.add(routes.get, ({ params }) => notifications.get(params.id));
  registry.add(routes.create, ({ actor, body }) => notifications.create(actor, body));
  registry.add(routes.update, ({ actor, params, body }) => notifications.update(actor, params.id, body));
  registry.add(routes.remove, async ({ actor, params }) => {
    await notifications.remove(actor, params.id);
    return { deleted: true as const };
  });
  registry.add(routes.testUnsaved, ({ body }) => notifications.testUnsaved(body));
  registry.add(routes.testSaved, ({ params }) => notifications.testSaved(params.id));
};
