import { createReadStream } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
} from 'fastify';
import { allRoutes } from '@backupx/contract';
import { AppError, isAppError } from '../lib/errors.ts';
import { buildTrustedProxyMatcher } from '../config/schema.ts';
import type { AgentPrincipal, Principal } from '../modules/auth/principal.ts';
import type { Metrics } from '../modules/system/metrics.ts';
import { authorise, authoriseAgent } from './authenticate.ts';
import { DEFAULT_BODY_LIMIT_BYTES, RouteRegistry } from './route-registry.ts';
import { contentTypeFor, isReservedPath, resolveStaticFile } from './web-root.ts';

export interface AppOptions {
  logger: FastifyBaseLogger;
  trustedProxies: readonly string[];
  /** Directory of the built console, or null to serve the API only. */
  webRoot: string | null;
  metrics: Metrics;
  authenticate: (credential: string) => Promise<Principal>;
  /** Resolves a node token (agent routes). */
  authenticateAgent: (token: string) => Promise<AgentPrincipal>;
  /** Registers every module's routes. */
  registerRoutes: (registry: RouteRegistry) => void;
  /** Called when closing begins, before in-flight requests are awaited (ends held long polls). */
  onClosing?: () => void;
}

const forwardedHeaders = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-proto',
  'x-real-ip',
];

const corsHeaders = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'Origin, Content-Type, Accept, Authorization, X-Api-Key',
  'Access-Control-Max-Age': '86400',
};

const validAccess = new Set<string>(['public', 'viewer', 'operator', 'admin', 'agent']);

const quietPaths = new Set(['/health', '/ready', '/metrics', '/api/health', '/api/ready']);

/** Maps framework errors to stable codes; anything unknown becomes INTERNAL_ERROR. */
const toAppError = (error: FastifyError | Error): AppError => {
  if (isAppError(error)) return error;
  const code = (error as FastifyError).code;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('PAYLOAD_TOO_LARGE', 'The request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('INVALID_JSON', 'The request body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('INVALID_INPUT', 'The Content-Length header does not match the body');
    default:
      break;
  }
  if (error instanceof SyntaxError || (error as FastifyError).statusCode === 400) {
    return new AppError('INVALID_JSON', 'The request body is not valid JSON');
  }
  const status = (error as FastifyError).statusCode;
  if (status === 413) return new AppError('PAYLOAD_TOO_LARGE', 'The request body is too large');
  if (status === 415) return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported content type');
  if (status !== undefined && status >= 400 && status < 500)
    return new AppError('INVALID_INPUT', error.message);
  return new AppError('INTERNAL_ERROR', 'Internal server error', { cause: error });
};

/** Builds the HTTP app without listening (tests use inject() or listen on port 0). */
export const buildApp = async (options: AppOptions): Promise<FastifyInstance> => {
  const isTrusted = buildTrustedProxyMatcher(options.trustedProxies);
  const app: FastifyInstance = Fastify({
    loggerInstance: options.logger,
    // Requests are logged once, by path only, in onResponse below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: DEFAULT_BODY_LIMIT_BYTES,
    trustProxy: (address: string) => isTrusted(address),
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
  });
  if (options.onClosing) {
    const onClosing = options.onClosing;
    app.addHook('preClose', (done) => {
      onClosing();
      done();
    });
  }
  app.decorateRequest('principal', null);
  app.decorateRequest('agent', null);
  // Raw uploads (agent relay): the handler reads the body stream itself.
  app.addContentTypeParser('*', (request, payload, done) => {
    if (request.routeOptions.config.routeSpec?.requestKind === 'stream') done(null, payload);
    else done(new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json'), undefined);
  });

  // Every route must come from the contract with a declared access level.
  app.addHook('onRoute', (route) => {
    if (route.method === 'HEAD') return;
    const access = route.config?.routeSpec?.access;
    if (access === undefined || !validAccess.has(access)) {
      throw new Error(`Route ${String(route.method)} ${route.url} has no declared role (access)`);
    }
  });

  // An empty body with a JSON content type counts as no body (some clients send it on POST).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body.toString().trim() === '') {
      done(null, undefined);
      return;
    }
    void parseJson(request, body.toString(), done);
  });

  app.addHook('onRequest', async (request, reply) => {
    // Forwarded headers count only from trusted proxies (SPEC §12.8).
    if (!isTrusted(request.socket.remoteAddress ?? '')) {
      for (const header of forwardedHeaders) Reflect.deleteProperty(request.headers, header);
    }
    void reply.headers({
      ...corsHeaders,
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
    });
    if (request.method === 'OPTIONS') return reply.code(204).send();
    const spec = request.routeOptions.config.routeSpec;
    if (spec?.access === 'agent')
      request.agent = await authoriseAgent(spec, request, options.authenticateAgent);
    else if (spec !== undefined) request.principal = await authorise(spec, request, options.authenticate);
    return undefined;
  });

  app.addHook('onResponse', async (request, reply) => {
    const urlPath = request.url.split('?')[0] ?? '';
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.observeHttp(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    const line = {
      method: request.method,
      path: urlPath,
      status: reply.statusCode,
      ip: request.ip,
      ms: Math.round(reply.elapsedTime),
    };
    if (quietPaths.has(urlPath)) request.log.debug(line, 'request');
    else request.log.info(line, 'request');
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const appError = toAppError(error);
    if (appError.code === 'INTERNAL_ERROR') {
      request.log.error({ err: error, reqId: request.id }, 'unhandled error');
    }
    return reply.code(appError.status).send({
      code: appError.code,
      message: appError.message,
      ...(appError.details ? { details: appError.details } : {}),
    });
  });

  app.setNotFoundHandler((request, reply) => {
    const urlPath = request.url.split('?')[0] ?? '/';
    if (request.method === 'OPTIONS') return reply.code(204).send();
    const root = options.webRoot;
    if (
      root !== null &&
      (request.method === 'GET' || request.method === 'HEAD') &&
      !isReservedPath(urlPath)
    ) {
      const file = resolveStaticFile(root, urlPath) ?? path.join(root, 'index.html');
      const isAsset = urlPath.startsWith('/assets/');
      return reply
        .type(contentTypeFor(file))
        .header('Cache-Control', isAsset ? 'public, max-age=31536000, immutable' : 'no-cache')
        .send(createReadStream(file));
    }
    return reply.code(404).send({ code: 'NOT_FOUND', message: `No route for ${request.method} ${urlPath}` });
  });

  const registry = new RouteRegistry(app);
  options.registerRoutes(registry);
  const missing = allRoutes.filter((route) => !registry.implemented.has(route));
  if (missing.length > 0) {
    throw new Error(
      `Contract routes without a handler: ${missing.map((r) => `${r.method} ${r.path}`).join(', ')}`,
    );
  }

  await app.ready();
  app.server.headersTimeout = 10_000;
  return app;
};
