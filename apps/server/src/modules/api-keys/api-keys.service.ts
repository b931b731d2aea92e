import type { ApiKeySummary, Role } from '@backupx/contract';
import { AppError } from '../../lib/errors.ts';
import { addMs, toIso, type Clock } from '../../lib/clock.ts';
import { hmacSha256Hex, randomHex } from '../../lib/crypto.ts';
import type { ApiKeyRow } from '../../db/tables.ts';
import type { Actor, Principal } from '../auth/principal.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { ApiKeysRepository } from './api-keys.repository.ts';

/** BackupX's fixed pepper, kept so keys created by BackupX keep working after a move (SPEC §12.7). */
export const API_KEY_PEPPER = 'backupx-api-key-hmac-pepper-v1';
export const API_KEY_PREFIX = 'bax_';
const KEY_PATTERN = /^bax_[0-9a-f]{48}$/;
/** `lastUsedAt` is written at most this often per key, so API traffic does not turn into writes. */
const TOUCH_INTERVAL_MS = 60_000;

export const hashApiKey = (plaintext: string): string => hmacSha256Hex(API_KEY_PEPPER, plaintext);

export interface ApiKeysServiceDeps {
  apiKeysRepository: ApiKeysRepository;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
}

export type ApiKeysService = ReturnType<typeof createApiKeysService>;

const toSummary = (row: ApiKeyRow): ApiKeySummary => ({
  id: row.id,
  name: row.name,
  role: row.role as Role,
  prefix: row.prefix,
  createdBy: row.createdBy,
  lastUsedAt: row.lastUsedAt,
  expiresAt: row.expiresAt,
  disabled: row.disabled === 1,
  createdAt: row.createdAt,
});

export const createApiKeysService = (deps: ApiKeysServiceDeps) => {
  const { apiKeysRepository, audit, clock } = deps;

  const requireKey = async (id: number): Promise<ApiKeyRow> => {
    const row = await apiKeysRepository.findById(id);
    if (!row) throw new AppError('API_KEY_NOT_FOUND', `API key ${id} does not exist`);
    return row;
  };

  return {
    async list(): Promise<ApiKeySummary[]> {
      return (await apiKeysRepository.list()).map(toSummary);
    },

    async create(actor: Actor, input: { name: string; role: Role; ttlHours: number }) {
      const plainKey = `${API_KEY_PREFIX}${randomHex(24)}`;
      const now = clock.now();
      const row = await apiKeysRepository.insert({
        name: input.name,
        role: input.role,
        keyHash: hashApiKey(plainKey),
        prefix: plainKey.slice(0, 12),
        createdBy: actor.username,
        lastUsedAt: null,
        expiresAt: input.ttlHours > 0 ? toIso(addMs(now, input.ttlHours * 3_600_000)) : null,
        disabled: 0,
        createdAt: toIso(now),
        updatedAt: toIso(now),
      });
      await audit.record(actor, {
        category: 'api_key',
        action: 'create',
        targetType: 'api_key',
        targetId: row.id,
        targetName: row.name,
        detail: `Created API key ${row.name} (${row.prefix}…) with role ${row.role}${row.expiresAt ? `, expires ${row.expiresAt}` : ''}`,
      });
      return { apiKey: toSummary(row), plainKey };
    },

    async setDisabled(actor: Actor, id: number, disabled: boolean): Promise<{ disabled: boolean }> {
      const row = await requireKey(id);
      await apiKeysRepository.setDisabled(id, disabled, toIso(clock.now()));
      await audit.record(actor, {
        category: 'api_key',
        action: disabled ? 'disable' : 'enable',
        targetType: 'api_key',
        targetId: id,
        targetName: row.name,
        detail: `${disabled ? 'Disabled' : 'Enabled'} API key ${row.name}`,
      });
      return { disabled };
    },

    async revoke(actor: Actor, id: number): Promise<void> {
      const row = await requireKey(id);
      await apiKeysRepository.delete(id);
      await audit.record(actor, {
        category: 'api_key',
        action: 'revoke',
        targetType: 'api_key',
        targetId: id,
        targetName: row.name,
        detail: `Revoked API key ${row.name} (${row.prefix}…)`,
      });
    },

    /** Resolves a plaintext key to its principal. Lookup is by HMAC, so no secret is compared directly. */
    async authenticate(plaintext: string): Promise<Principal> {
      if (!KEY_PATTERN.test(plaintext)) throw new AppError('AUTH_INVALID_TOKEN', 'The API key is invalid');
      const row = await apiKeysRepository.findByHash(hashApiKey(plaintext));
      if (!row) throw new AppError('AUTH_INVALID_TOKEN', 'The API key is invalid');
      if (row.disabled === 1) throw new AppError('AUTH_KEY_DISABLED', 'The API key is disabled');
      const now = clock.now();
      if (row.expiresAt !== null && row.expiresAt <= toIso(now))
        throw new AppError('AUTH_KEY_EXPIRED', 'The API key has expired');
      if (row.lastUsedAt === null || new Date(row.lastUsedAt).getTime() < now.getTime() - TOUCH_INTERVAL_MS) {
        await apiKeysRepository.touch(row.id, toIso(now));
      }
      return { kind: 'api_key', apiKeyId: row.id, name: row.name, role: row.role as Role };
    },
  };
};
