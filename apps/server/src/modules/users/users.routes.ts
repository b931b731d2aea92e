import { apiRoutes } from '@backupx/contract';
import type { RouteRegistry } from '../../http/route-registry.ts';
import type { UsersService } from './users.service.ts';

export const registerUserRoutes = (registry: RouteRegistry, services: { users: UsersService }) => {
  const { users } = services;
  const routes = apiRoutes.users;
  registry.add(routes.list, () => users.list());
  registry.add(routes.create, ({ actor, body }) => users.create(actor, body));
  registry.add(routes.update, ({ actor, params, body }) => users.update(actor, params.id, body));
  registry.add(routes.resetTwoFactor, ({ actor, params }) => users.resetTwoFactor(actor, params.id));
  registry.add(routes.remove, async ({ actor, principal, params }) => {
    await users.remove(
      { ...actor, selfUserId: principal?.kind === 'user' ? principal.userId : null },
      params.id,
    );
    return { deleted: true as const };
  });
};
