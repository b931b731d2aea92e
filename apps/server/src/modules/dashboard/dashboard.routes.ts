import { apiRoutes } from '@backupx/contract';
import type { RouteRegistry } from '../../http/route-registry.ts';
import type { DashboardService } from './dashboard.service.ts';

export const registerDashboardRoutes = (
  registry: RouteRegistry,
  services: { dashboard: DashboardService },
) => {
  const { dashboard } = services;
  const routes = apiRoutes.dashboard;
  registry.add(routes.stats, () => dashboard.stats());
  registry.add(routes.timeline, ({ query }) => dashboard.timeline(query.days));
  registry.add(routes.breakdown, ({ query }) => dashboard.breakdown(query.days));
  registry.add(routes.cluster, () => dashboard.cluster());
  registry.add(routes.nodePerformance, ({ query }) => dashboard.nodePerformance(query.days));
};
