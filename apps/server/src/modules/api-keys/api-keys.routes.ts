import { apiRoutes } from '@backupx/contract';
import type { RouteRegistry } from '../../http/route-registry.ts';
import type { ApiKeysService } from './api-keys.service.ts';

export const registerApiKeyRoutes = (registry: RouteRegistry, services: { apiKeys: ApiKeysService }) => {
  const { apiKeys } = services;
  const routes = apiRoutes.apiKeys;
  registry.add(routes.list, () => apiKeys.list());
  registry.add(routes.create, async ({ actor, body, reply }) => {
    void reply.header('Cache-Control', 'no-store');
    return apiKeys.create(actor, body);
  });
  registry.add(routes.toggle, ({ actor, params, body }) =>
    apiKeys.setDisabled(actor, params.id, body.disabled),
  );
  registry.add(routes.revoke, async ({ actor, params }) => {
    await apiKeys.revoke(actor, params.id);
    return { revoked: true as const };
  });
};
