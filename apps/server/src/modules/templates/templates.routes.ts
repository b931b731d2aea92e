import { apiRoutes } from '@backupx/contract';
import type { RouteRegistry } from '../../http/route-registry.ts';
import type { TemplatesService } from './templates.service.ts';

export const registerTemplateRoutes = (
  registry: RouteRegistry,
  services: { templates: TemplatesService },
) => {
  const { templates } = services;
  const routes = apiRoutes.templates;
  registry.add(routes.list, () => templates.list());
  registry.add(routes.get, ({ params }) => templates.get(params.id));
  registry.add(routes.create, ({ actor, body }) => templates.create(actor, body));
  registry.add(routes.update, ({ actor, params, body }) => templates.update(actor, params.id, body));
  registry.add(routes.delete, async ({ actor, params }) => {
    await templates.delete(actor, params.id);
    return { deleted: true as const };
  });
  registry.add(routes.apply, ({ actor, params, body }) => templates.apply(actor, params.id, body.variables));
};
