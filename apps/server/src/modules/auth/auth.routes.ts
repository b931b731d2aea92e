import { apiRoutes } from '@backupx/contract';
import { AppError } from '../../lib/errors.ts';
import type { RouteRegistry } from '../../http/route-registry.ts';
import type { AuthService, RequestOrigin } from './auth.service.ts';
import type { Principal } from './principal.ts';
import type { FastifyRequest } from 'fastify';

const originOf = (request: FastifyRequest): RequestOrigin => ({
  clientIp: request.ip,
  userAgent: typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'] : '',
});

/** Session-only routes are guarded in `authorise`; this narrows the type for the handler. */
const userOf = (principal: Principal | null): Extract<Principal, { kind: 'user' }> => {
  if (principal?.kind !== 'user')
    throw new AppError('AUTH_USER_SESSION_REQUIRED', 'This action needs a signed-in user');
  return principal;
};

export const registerAuthRoutes = (registry: RouteRegistry, services: { auth: AuthService }) => {
  const { auth } = services;
  const routes = apiRoutes.auth;
  registry.add(routes.setupStatus, () => auth.setupStatus());
  registry.add(routes.setup, ({ body, request }) => auth.setup(body, originOf(request)));
  registry.add(routes.login, ({ body, request }) => auth.login(body, originOf(request)));
  registry.add(routes.logout, async ({ principal }) => {
    await auth.logout(userOf(principal));
    return { loggedOut: true as const };
  });
  registry.add(routes.profile, ({ principal }) => auth.profile(userOf(principal).userId));
  registry.add(routes.changePassword, async ({ principal, actor, body }) => {
    await auth.changePassword(userOf(principal), actor, body.oldPassword, body.newPassword);
    return { changed: true as const };
  });
  registry.add(routes.twoFactorSetup, ({ principal, actor, body }) =>
    auth.twoFactorSetup(userOf(principal).userId, actor, body.currentPassword),
  );
  registry.add(routes.twoFactorEnable, ({ principal, actor, body }) =>
    auth.twoFactorEnable(userOf(principal).userId, actor, body.code),
  );
  registry.add(routes.twoFactorRegenerate, ({ principal, actor, body }) =>
    auth.twoFactorRegenerate(userOf(principal).userId, actor, body.currentPassword, body.code),
  );
  registry.add(routes.twoFactorDisable, ({ principal, actor, body }) =>
    auth.twoFactorDisable(userOf(principal).userId, actor, body.currentPassword, body.code),
  );
};
