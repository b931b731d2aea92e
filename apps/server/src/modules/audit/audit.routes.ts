import { apiRoutes } from '@backupx/contract';
import type { RouteRegistry } from '../../http/route-registry.ts';
import { fileStamp } from '../../lib/csv.ts';
import type { Clock } from '../../lib/clock.ts';
import type { AuditService } from './audit.service.ts';

export const registerAuditRoutes = (
  registry: RouteRegistry,
  services: { audit: AuditService; clock: Clock },
) => {
  const { audit, clock } = services;
  const routes = apiRoutes.audit;
  registry.add(routes.list, ({ query }) => {
    const { limit, offset, ...filter } = query;
    return audit.list(filter, limit, offset);
  });
  registry.add(routes.exportCsv, async ({ query, reply }) => {
    const { lang, ...filter } = query;
    const csv = await audit.exportCsv(filter, lang ?? 'en-US');
    return reply
      .type('text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="backupx-audit-${fileStamp(clock.now())}.csv"`)
      .header('Cache-Control', 'no-store')
      .send(csv);
  });
};
