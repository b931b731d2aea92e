import type { Kysely } from 'kysely';
import type { InstallTokenInput } from '@backupx/contract';
import type { Database } from '../../db/tables.ts';
import { AppError } from '../../lib/errors.ts';
import { toIso, type Clock } from '../../lib/clock.ts';
import { randomHex, sha256Hex } from '../../lib/crypto.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { Actor } from '../auth/principal.ts';
import type { RateLimitRepository } from '../auth/rate-limit.repository.ts';
import {
  AGENT_TOKEN_PLACEHOLDER,
  renderComposeFile,
  renderInstallScript,
  validateInstallOptions,
  type InstallScriptOptions,
} from './install-script.ts';
import type { NodesService } from './nodes.service.ts';

export interface InstallTokensDeps {
  db: Kysely<Database>;
  nodes: NodesService;
  rateLimits: RateLimitRepository;
  audit: AuditService;
  clock: Clock;
}

/** SPEC §11.6: at most 5 tokens per node per minute, 20 public fetches per client IP per minute. */
const TOKENS_PER_NODE_PER_MINUTE = 5;
const FETCHES_PER_IP_PER_MINUTE = 20;
/** Used and expired tokens are deleted this long after they expire. */
const KEEP_AFTER_EXPIRY_MS = 7 * 86_400_000;

type InstallOptions = Omit<InstallTokenInput, 'ttlSeconds'>;

/**
 * One-time install tokens (SPEC §11.6): an admin asks for an install command; the first fetch of
 * its URL consumes the token and returns the script, which carries the node's long-lived token.
 * Tokens are stored as SHA-256; the consumption is one conditional update, so exactly one of
 * several concurrent fetches wins.
 */
export const createInstallTokensService = (deps: InstallTokensDeps) => {
  const { db, clock } = deps;

  const scriptOptions = async (
    nodeId: number,
    options: InstallOptions,
    masterUrl: string,
    withToken: boolean,
  ): Promise<InstallScriptOptions> => {
    const node = await deps.nodes.findNode(nodeId);
    if (node.isLocal === 1)
      throw new AppError('INSTALL_OPTIONS_INVALID', "The master's own node needs no agent");
    return validateInstallOptions({
      masterUrl: options.agentMasterUrl !== '' ? options.agentMasterUrl : masterUrl,
      agentToken: withToken ? deps.nodes.tokenOf(node) : AGENT_TOKEN_PLACEHOLDER,
      mode: options.mode,
      arch: options.arch,
      agentVersion: options.agentVersion,
      downloadSrc: options.downloadSrc,
      proxyUrl: options.proxyUrl,
      caCertFile: options.caCertFile,
    });
  };

  const limitFetches = async (clientIp: string) => {
    const now = clock.now();
    const count = await deps.rateLimits.hit(
      `install-fetch:${clientIp}`,
      toIso(now),
      toIso(new Date(now.getTime() - 60_000)),
    );
    if (count > FETCHES_PER_IP_PER_MINUTE)
      throw new AppError(
        'INSTALL_TOKEN_RATE_LIMITED',
        'Too many install requests from this address; wait a minute',
      );
  };

  /** Marks the token used if it is valid; exactly one caller gets the row. */
  const consume = async (token: string) => {
    const now = toIso(clock.now());
    const hash = sha256Hex(token);
    const row = await db
      .selectFrom('agentInstallTokens')
      .selectAll()
      .where('tokenHash', '=', hash)
      .executeTakeFirst();
    if (row === undefined || row.consumedAt !== null || row.expiresAt <= now) return undefined;
    const updated = await db
      .updateTable('agentInstallTokens')
      .set({ consumedAt: now })
      .where('id', '=', row.id)
      .where('consumedAt', 'is', null)
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1 ? row : undefined;
  };

  const peek = async (token: string) => {
    const row = await db
      .selectFrom('agentInstallTokens')
      .selectAll()
      .where('tokenHash', '=', sha256Hex(token))
      .executeTakeFirst();
    return row === undefined || row.consumedAt !== null || row.expiresAt <= toIso(clock.now())
      ? undefined
      : row;
  };

  const optionsOf = (row: {
    mode: string;
    arch: string;
    agentVersion: string;
    downloadSrc: string;
    agentMasterUrl: string;
    proxyUrl: string;
    caCertFile: string;
  }): InstallOptions => ({
    mode: row.mode as InstallOptions['mode'],
    arch: row.arch as InstallOptions['arch'],
    agentVersion: row.agentVersion,
    downloadSrc: row.downloadSrc as InstallOptions['downloadSrc'],
    agentMasterUrl: row.agentMasterUrl,
    proxyUrl: row.proxyUrl,
    caCertFile: row.caCertFile,
  });

  const gone = () =>
    new AppError('INSTALL_TOKEN_INVALID', 'This install link was already used or has expired');

  return {
    async create(actor: Actor, nodeId: number, input: InstallTokenInput, masterUrl: string) {
      const now = clock.now();
      // Rendering first validates every option before anything is stored.
      const options = await scriptOptions(nodeId, input, masterUrl, true);
      const recent = await db
        .selectFrom('agentInstallTokens')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('nodeId', '=', nodeId)
        .where('createdAt', '>', toIso(new Date(now.getTime() - 60_000)))
        .executeTakeFirstOrThrow();
      if (recent.count >= TOKENS_PER_NODE_PER_MINUTE)
        throw new AppError('INSTALL_TOKEN_RATE_LIMITED', 'At most 5 install commands per node per minute');
      const installToken = randomHex(32);
      const expiresAt = toIso(new Date(now.getTime() + input.ttlSeconds * 1000));
      await db
        .insertInto('agentInstallTokens')
        .values({
          tokenHash: sha256Hex(installToken),
          nodeId,
          mode: input.mode,
          arch: input.arch,
          agentVersion: input.agentVersion,
          downloadSrc: input.downloadSrc,
          agentMasterUrl: input.agentMasterUrl,
          proxyUrl: input.proxyUrl,
          caCertFile: input.caCertFile,
          expiresAt,
          createdById: actor.userId,
          createdAt: toIso(now),
        })
        .execute();
      await db
        .deleteFrom('agentInstallTokens')
        .where('expiresAt', '<', toIso(new Date(now.getTime() - KEEP_AFTER_EXPIRY_MS)))
        .execute();
      await deps.audit.record(actor, {
        category: 'node',
        action: 'install_token',
        targetType: 'node',
        targetId: nodeId,
        detail: `mode ${input.mode}, expires ${expiresAt}`,
      });
      const base = options.masterUrl;
      return {
        installToken,
        expiresAt,
        url: `${base}/api/install/${installToken}`,
        fallbackUrl: `${base}/install/${installToken}`,
        scriptBase64: Buffer.from(renderInstallScript({ ...options, installToken }), 'utf8').toString(
          'base64',
        ),
        ...(input.mode === 'docker'
          ? {
              composeUrl: `${base}/api/install/${installToken}/compose.yml`,
              fallbackComposeUrl: `${base}/install/${installToken}/compose.yml`,
            }
          : {}),
      };
    },

    async preview(nodeId: number, options: InstallOptions, masterUrl: string): Promise<string> {
      return renderInstallScript(await scriptOptions(nodeId, options, masterUrl, false));
    },

    async fetchScript(actor: Actor, token: string, masterUrl: string): Promise<string> {
      await limitFetches(actor.clientIp);
      const row = await consume(token);
      if (row === undefined) throw gone();
      const options = await scriptOptions(row.nodeId, optionsOf(row), masterUrl, true);
      await deps.audit.record(actor, {
        category: 'install_token',
        action: 'consume',
        targetType: 'node',
        targetId: row.nodeId,
      });
      return renderInstallScript({ ...options, installToken: token });
    },

    async fetchCompose(actor: Actor, token: string, masterUrl: string): Promise<string> {
      await limitFetches(actor.clientIp);
      const peeked = await peek(token);
      if (peeked === undefined) throw gone();
      if (peeked.mode !== 'docker')
        throw new AppError(
          'INSTALL_OPTIONS_INVALID',
          'This install link is not for Docker; use the script URL',
        );
      const row = await consume(token);
      if (row === undefined) throw gone();
      const options = await scriptOptions(row.nodeId, optionsOf(row), masterUrl, true);
      await deps.audit.record(actor, {
        category: 'install_token',
        action: 'consume',
        targetType: 'node',
        targetId: row.nodeId,
        detail: 'compose',
      });
      return renderComposeFile({ ...options, installToken: token });
    },
  };
};

export type InstallTokensService = ReturnType<typeof createInstallTokensService>;
