import { apiRoutes } from '@backupx/contract';
import type { FastifyRequest } from 'fastify';
import type { RouteRegistry } from '../../http/route-registry.ts';
import type { GoogleDriveOAuthService } from './google-drive-oauth.service.ts';
import type { RcloneCatalogue } from './rclone-catalogue.ts';
import type { StorageTargetsService } from './storage-targets.service.ts';

/**
 * The console's origin for the OAuth redirect (SPEC §4.8): the browser's `Origin` header, else
 * scheme://host of the request (trusted proxies' forwarded values included by Fastify).
 */
const consoleOrigin = (request: FastifyRequest): string => {
  const header = request.headers.origin;
  if (typeof header === 'string' && header !== 'null') {
    try {
      const url = new URL(header);
      if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin;
    } catch {
      // fall through to the request's own host
    }
  }
  return `${request.protocol}://${request.host}`;
};

export const registerStorageTargetRoutes = (
  registry: RouteRegistry,
  services: {
    storageTargets: StorageTargetsService;
    googleDriveOAuth: GoogleDriveOAuthService;
    rcloneCatalogue: RcloneCatalogue;
  },
) => {
  const { storageTargets, googleDriveOAuth, rcloneCatalogue } = services;
  const routes = apiRoutes.storageTargets;
  registry.add(routes.list, () => storageTargets.list());
  registry.add(routes.create, ({ actor, body }) => storageTargets.create(actor, body));
  registry.add(routes.testUnsaved, ({ body }) => storageTargets.testUnsaved(body));
  registry.add(routes.rcloneBackends, () => rcloneCatalogue.list());
  registry.add(routes.googleDriveAuthUrl, async ({ body, request, reply }) => {
    void reply.header('Cache-Control', 'no-store');
    return googleDriveOAuth.authUrl(body, consoleOrigin(request));
  });
  registry.add(routes.googleDriveComplete, ({ actor, body }) => googleDriveOAuth.complete(actor, body));
  registry.add(routes.googleDriveCallback, async ({ actor, query }) => ({
    success: true as const,
    message: 'Google Drive connected',
    target: await googleDriveOAuth.complete(actor, { state: query.state, code: query.code }),
  }));
  registry.add(routes.get, ({ params }) => storageTargets.get(params.id));
  registry.add(routes.update, ({ actor, params, body }) => storageTargets.update(actor, params.id, body));
  registry.add(routes.remove, async ({ actor, params }) => {
    await storageTargets.remove(actor, params.id);
    return { deleted: true as const };
  });
  registry.add(routes.star, ({ actor, params }) => storageTargets.toggleStar(actor, params.id));
  registry.add(routes.test, ({ actor, params }) => storageTargets.testSaved(actor, params.id));
  registry.add(routes.usage, ({ params }) => storageTargets.usage(params.id));
  registry.add(routes.googleDriveProfile, ({ params }) => googleDriveOAuth.profile(params.id));
};
