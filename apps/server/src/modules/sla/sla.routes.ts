import { apiRoutes } from '@backupx/contract';
import type { RouteRegistry } from '../../http/route-registry.ts';
import type { SlaService } from './sla.service.ts';

export const registerSlaRoutes = (registry: RouteRegistry, services: { sla: SlaService }) => {
  const { sla } = services;
  registry.add(apiRoutes.dashboard.sla, () => sla.compliance());
  registry.add(apiRoutes.reports.compliance, ({ query }) => sla.report(query.days));
  registry.add(apiRoutes.reports.complianceCsv, async ({ query, reply }) => {
    const { fileName, csv } = await sla.reportCsv(query.days);
    return reply
      .type('text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="${fileName}"`)
      .header('Cache-Control', 'no-store')
      .send(csv);
  });
};
