import { apiRoutes } from '@backupx/contract';
import type { RouteRegistry } from '../../http/route-registry.ts';
import type { SearchService } from './search.service.ts';

export const registerSearchRoutes = (registry: RouteRegistry, services: { search: SearchService }) => {
  const { search } = services;
  registry.add(apiRoutes.search.search, ({ query }) => search.search(query.q));
};
