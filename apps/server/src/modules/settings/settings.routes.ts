import { apiRoutes } from '@backupx/contract';
import type { RouteRegistry } from '../../http/route-registry.ts';
import type { SettingsService } from './settings.service.ts';

export const registerSettingsRoutes = (registry: RouteRegistry, services: { settings: SettingsService }) => {
  const { settings } = services;
  registry.add(apiRoutes.settings.get, () => settings.get());
  registry.add(apiRoutes.settings.update, ({ actor, body }) => settings.update(actor, body));
};
