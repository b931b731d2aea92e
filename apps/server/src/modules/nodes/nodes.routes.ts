import { createReadStream } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  AGENT_OBJECT_KEY_HEADER,
  AGENT_SHA256_HEADER,
  agentHeartbeatInputSchema,
  apiRoutes,
} from '@backupx/contract';
import type { RouteRegistry } from '../../http/route-registry.ts';
import { AppError } from '../../lib/errors.ts';
import type { Actor, AgentPrincipal } from '../auth/principal.ts';
import type { AgentPackageBuilder } from './agent-package.ts';
import type { AgentService } from './agent.service.ts';
import type { InstallTokensService } from './install-tokens.service.ts';
import type { NodesService } from './nodes.service.ts';

export interface NodeRouteServices {
  nodes: NodesService;
  agentProtocol: AgentService;
  installTokens: InstallTokensService;
  agentPackage: AgentPackageBuilder;
  /** `server.external_url`; '' = from the request (forwarded headers count from trusted proxies only). */
  externalUrl: string;
}

/** The URL agents and install commands use to reach this master. */
const masterUrlOf = (request: FastifyRequest, externalUrl: string): string => {
  if (externalUrl !== '') return externalUrl;
  const proto = request.headers['x-forwarded-proto'];
  const host = request.headers['x-forwarded-host'];
  const scheme = typeof proto === 'string' && proto !== '' ? proto.split(',')[0]?.trim() : request.protocol;
  const authority = typeof host === 'string' && host !== '' ? host.split(',')[0]?.trim() : request.host;
  return `${scheme ?? 'http'}://${authority ?? 'localhost'}`;
};

interface InstallContext {
  params: { token: string };
  actor: Actor;
  request: FastifyRequest;
  reply: FastifyReply;
}

const requireAgent = (agent: AgentPrincipal | null): AgentPrincipal => {
  if (agent === null) throw new AppError('NODE_INVALID_TOKEN', 'Send the node token in X-Agent-Token');
  return agent;
};

export const registerNodeRoutes = (registry: RouteRegistry, services: NodeRouteServices) => {
  const { nodes, agentProtocol, installTokens } = services;
  const routes = apiRoutes.nodes;
  registry.add(routes.list, () => nodes.list());
  registry.add(routes.get, ({ params }) => nodes.get(params.id));
  registry.add(routes.create, async ({ actor, body, reply }) => {
    void reply.header('Cache-Control', 'no-store');
    return nodes.create(actor, body.name);
  });
  registry.add(routes.batchCreate, ({ actor, body }) => nodes.batchCreate(actor, body.names));
  registry.add(routes.update, ({ actor, params, body }) => nodes.update(actor, params.id, body));
  registry.add(routes.delete, async ({ actor, params }) => {
    await nodes.delete(actor, params.id);
    return { deleted: true as const };
  });
  registry.add(routes.rotateToken, async ({ actor, params, reply }) => {
    void reply.header('Cache-Control', 'no-store');
    return nodes.rotateToken(actor, params.id);
  });
  registry.add(routes.listDirectory, ({ params, query }) => nodes.listDirectory(params.id, query.path));
  registry.add(routes.createInstallToken, async ({ actor, params, body, request, reply }) => {
    void reply.header('Cache-Control', 'no-store');
    return installTokens.create(actor, params.id, body, masterUrlOf(request, services.externalUrl));
  });
  registry.add(routes.installScriptPreview, async ({ params, query, request, reply }) => {
    const script = await installTokens.preview(params.id, query, masterUrlOf(request, services.externalUrl));
    return reply.type('text/x-shellscript; charset=utf-8').header('Cache-Control', 'no-store').send(script);
  });

  // Public install endpoints: plain text answers (the caller is curl piping into a shell).
  const install = apiRoutes.install;
  const sendScript = async (context: InstallContext) => {
    const { params, actor, request, reply } = context;
    try {
      const script = await installTokens.fetchScript(
        actor,
        params.token,
        masterUrlOf(request, services.externalUrl),
      );
      return await reply
        .type('text/plain; charset=utf-8')
        .header('Cache-Control', 'no-store')
        .header('Content-Disposition', 'inline; filename="backupx-agent-install.sh"')
        .send(script);
    } catch (error) {
      if (error instanceof AppError && (error.status === 410 || error.status === 429))
        return reply.code(error.status).type('text/plain; charset=utf-8').send(`${error.message}\n`);
      throw error;
    }
  };
  const sendCompose = async (context: InstallContext) => {
    const { params, actor, request, reply } = context;
    try {
      const yaml = await installTokens.fetchCompose(
        actor,
        params.token,
        masterUrlOf(request, services.externalUrl),
      );
      return await reply
        .type('text/yaml; charset=utf-8')
        .header('Cache-Control', 'no-store')
        .header('Content-Disposition', 'attachment; filename="backupx-agent-compose.yml"')
        .send(yaml);
    } catch (error) {
      if (error instanceof AppError && (error.status === 410 || error.status === 429 || error.status === 400))
        return reply.code(error.status).type('text/plain; charset=utf-8').send(`${error.message}\n`);
      throw error;
    }
  };
  registry.add(install.script, sendScript);
  registry.add(install.scriptFallback, sendScript);
  registry.add(install.compose, sendCompose);
  registry.add(install.composeFallback, sendCompose);

  // The agent protocol (SPEC §11.9).
  const agent = apiRoutes.agent;
  registry.add(agent.heartbeat, async ({ agent: caller, body, clientIp }) => {
    let principal = caller;
    if (principal === null) {
      // A BackupX agent sends its token in the body; no token at all is a bad request (SPEC §11.9).
      const token = agentHeartbeatInputSchema.parse(body).token ?? '';
      if (token === '') throw new AppError('INVALID_INPUT', 'No agent token in the request');
      principal = { kind: 'agent', node: await nodes.authenticateAgent(token) };
    }
    return agentProtocol.heartbeat(principal.node, body, clientIp);
  });
  registry.add(agent.poll, async ({ agent: caller, query, reply }) => {
    const { node } = requireAgent(caller);
    // The held request ends early when the agent goes away (or the master stops). The response's
    // `close` says so; the request's fires as soon as its body has been read (a poll with `{}`
    // would never be held).
    const controller = new AbortController();
    const abort = () => controller.abort();
    reply.raw.once('close', abort);
    try {
      return { command: await agentProtocol.poll(node, query.wait, controller.signal) };
    } finally {
      reply.raw.off('close', abort);
    }
  });
  registry.add(agent.result, async ({ agent: caller, params, body }) => {
    await agentProtocol.result(requireAgent(caller).node, params.id, body);
    return { status: 'ok' as const };
  });
  registry.add(agent.taskSpec, ({ agent: caller, params }) =>
    agentProtocol.taskSpec(requireAgent(caller).node, params.id),
  );
  registry.add(agent.recordUpdate, async ({ agent: caller, params, body }) => {
    await agentProtocol.recordUpdate(requireAgent(caller).node, params.id, body);
    return { status: 'ok' as const };
  });
  registry.add(agent.repositoryLeaseAcquire, ({ agent: caller, body }) =>
    agentProtocol.repositoryLeaseAcquire(requireAgent(caller).node, body),
  );
  registry.add(agent.repositoryLeaseRenew, ({ agent: caller, body }) =>
    agentProtocol.repositoryLeaseRenew(requireAgent(caller).node, body),
  );
  registry.add(agent.repositoryLeaseRelease, async ({ agent: caller, body }) => {
    await agentProtocol.repositoryLeaseRelease(requireAgent(caller).node, body);
    return { status: 'ok' as const };
  });
  registry.add(agent.artifactUpload, async ({ agent: caller, params, request }) => {
    const header = (name: string) => {
      const value = request.headers[name];
      return typeof value === 'string' ? value.trim() : '';
    };
    const length = header('content-length');
    await agentProtocol.artifactUpload(requireAgent(caller).node, params.id, params.targetId, {
      // The stream route's content parser hands the unread request through.
      body: request.raw,
      contentLength: /^\d+$/.test(length) ? Number(length) : null,
      objectKey: header(AGENT_OBJECT_KEY_HEADER),
      sha256: header(AGENT_SHA256_HEADER),
    });
    return { status: 'ok' as const };
  });
  registry.add(agent.restoreSpec, ({ agent: caller, params }) =>
    agentProtocol.restoreSpec(requireAgent(caller).node, params.id),
  );
  registry.add(agent.restoreArtifact, async ({ agent: caller, params, reply }) => {
    const artifact = await agentProtocol.restoreArtifact(requireAgent(caller).node, params.id);
    artifact.stream.once('close', () => void artifact.close());
    void reply
      .header('Content-Type', 'application/octet-stream')
      .header('Content-Length', String(artifact.size))
      .header('Cache-Control', 'no-store');
    return artifact.stream;
  });
  registry.add(agent.restoreUpdate, async ({ agent: caller, params, body }) => {
    await agentProtocol.restoreUpdate(requireAgent(caller).node, params.id, body);
    return { status: 'ok' as const };
  });
  registry.add(agent.self, ({ agent: caller }) => agentProtocol.self(requireAgent(caller).node));
  registry.add(agent.package, async ({ reply }) => {
    const built = await services.agentPackage.get();
    void reply
      .header('Content-Type', 'application/gzip')
      .header('Content-Length', String(built.size))
      .header('Content-Disposition', 'attachment; filename="backupx-agent.tar.gz"')
      .header('X-BackupX-SHA256', built.sha256)
      .header('X-BackupX-Arch', built.arch)
      .header('Cache-Control', 'no-store');
    return createReadStream(built.path);
  });
};
