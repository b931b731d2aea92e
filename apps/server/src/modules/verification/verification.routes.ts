import { apiRoutes } from '@backupx/contract';
import type { RouteRegistry } from '../../http/route-registry.ts';
import type { LogHub } from '../runs/log-hub.ts';
import { streamLog } from '../runs/runs.routes.ts';
import type { PostureReader } from './posture.ts';
import type { VerificationService } from './verification.service.ts';

export const registerVerificationRoutes = (
  registry: RouteRegistry,
  services: { verification: VerificationService; verifyHub: LogHub; posture: PostureReader },
) => {
  const { verification } = services;
  const routes = apiRoutes.verification;
  registry.add(routes.verifyTask, ({ actor, params, body }) =>
    verification.verifyTask(actor, params.id, body ?? {}),
  );
  registry.add(routes.verifyRecord, ({ actor, params, body }) =>
    verification.verifyRecord(actor, params.id, body ?? {}),
  );
  registry.add(routes.list, ({ query }) => verification.list(query));
  registry.add(apiRoutes.dashboard.posture, () => services.posture.overview());
  registry.add(routes.get, ({ params }) => verification.get(params.id));
  registry.add(routes.logStream, async ({ params, reply }) => {
    await verification.get(params.id); // 404 before the stream opens
    await streamLog(reply, services.verifyHub, params.id, () => verification.get(params.id));
    return reply;
  });
};
