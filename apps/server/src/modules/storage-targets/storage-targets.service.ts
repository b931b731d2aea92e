import {
  storageSecretFields,
  type StorageTargetCreateInput,
  type StorageTargetDetail,
  type StorageTargetSummary,
  type StorageTargetTestInput,
  type StorageTargetUpdateInput,
  type StorageTargetUsage,
  type StorageTestStatus,
  type StorageType,
} from '@backupx/contract';
import { createStorageBackend, type StorageBackend, type StorageUsage } from '@backupx/engine';
import type { Logger } from 'pino';
import type { StorageTargetRow } from '../../db/tables.ts';
import { toIso, type Clock } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/crypto.ts';
import { AppError } from '../../lib/errors.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { Actor } from '../auth/principal.ts';
import {
  changedConfigKeys,
  maskStorageConfig,
  mergeStorageConfig,
  requireStorageType,
  scrubSecrets,
  validateStorageConfig,
  type StorageConfigObject,
} from './storage-config.ts';
import { isUniqueViolation, type StorageTargetsRepository } from './storage-targets.repository.ts';
import { usageByTarget } from './storage-usage.ts';
import { messageOf, withTimeout } from './with-timeout.ts';

/** Builds a backend from a decrypted config (the engine's registry; tests may substitute). */
export type BackendFactory = (type: StorageType, config: StorageConfigObject) => Promise<StorageBackend>;

export interface StorageTargetsServiceDeps {
  storageTargetsRepository: StorageTargetsRepository;
  secretBox: SecretBox;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  logger: Pick<Logger, 'warn'>;
  createBackend?: BackendFactory;
  /** Limit of a connection test started by a user (default 30 s). */
  testTimeoutMs?: number;
  /** Limit of a capacity query for the usage view (default 15 s). */
  usageTimeoutMs?: number;
}

export type StorageTargetsService = ReturnType<typeof createStorageTargetsService>;

/** A backend opened for another module; the caller closes it. */
export interface OpenedStorageTarget {
  target: StorageTargetSummary;
  backend: StorageBackend;
}

/** A target with its decrypted config, for modules that need the raw settings (OAuth, monitor). */
export interface DecryptedStorageTarget {
  target: StorageTargetSummary;
  type: StorageType;
  config: StorageConfigObject;
}

export const CONNECTION_SUCCEEDED = 'Connection succeeded';
const LAST_TEST_MESSAGE_MAX = 255;
const CLOSE_TIMEOUT_MS = 5000;

const toSummary = (row: StorageTargetRow): StorageTargetSummary => ({
  id: row.id,
  name: row.name,
  type: row.type,
  description: row.description,
  enabled: row.enabled === 1,
  starred: row.starred === 1,
  lastTestedAt: row.lastTestedAt,
  lastTestStatus: (['unknown', 'success', 'failed'] as const).includes(
    row.lastTestStatus as StorageTestStatus,
  )
    ? (row.lastTestStatus as StorageTestStatus)
    : 'unknown',
  lastTestMessage: row.lastTestMessage,
  quotaBytes: row.quotaBytes,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

const fromUsage = (usage: StorageUsage) => ({
  ...(usage.totalBytes === undefined ? {} : { total: usage.totalBytes }),
  ...(usage.usedBytes === undefined ? {} : { used: usage.usedBytes }),
  ...(usage.freeBytes === undefined ? {} : { free: usage.freeBytes }),
  ...(usage.objects === undefined ? {} : { objects: usage.objects }),
});

/** Closes a backend without letting a hung connection or an error escape. */
export const closeQuietly = async (backend: StorageBackend): Promise<void> => {
  await withTimeout('close', CLOSE_TIMEOUT_MS, () => backend.close()).catch(() => undefined);
};

/**
 * Storage targets (SPEC §4): CRUD with encrypted, masked configs, connection tests, usage, and the
 * API other modules use to reach a target's backend.
 *
 * Quota semantics (SPEC §4.5): `quotaBytes > 0` is a hard quota. "Used" is the sum of the sizes of
 * the successful copies recorded on the target (`usedBytesByTarget`), not what the provider
 * reports. An upload of `size` bytes is refused before it starts when `used + size > quotaBytes`
 * (BACKUP_STORAGE_QUOTA_EXCEEDED); the backup runner applies that check, this module supplies the
 * figures.
 */
export const createStorageTargetsService = (deps: StorageTargetsServiceDeps) => {
  const { storageTargetsRepository: repository, secretBox, audit, clock, logger } = deps;
  const createBackend: BackendFactory =
    deps.createBackend ?? ((type, config) => createStorageBackend(type, config));
  const testTimeoutMs = deps.testTimeoutMs ?? 30_000;
  const usageTimeoutMs = deps.usageTimeoutMs ?? 15_000;
  const nowIso = () => toIso(clock.now());

  const requireRow = async (id: number): Promise<StorageTargetRow> => {
    const row = await repository.findById(id);
    if (!row) throw new AppError('STORAGE_TARGET_NOT_FOUND', `Storage target ${id} does not exist`);
    return row;
  };

  const decrypt = (row: StorageTargetRow): StorageConfigObject =>
    JSON.parse(secretBox.open(row.configCiphertext)) as StorageConfigObject;

  const seal = (config: StorageConfigObject): string => secretBox.seal(JSON.stringify(config));

  const toDetail = (row: StorageTargetRow): StorageTargetDetail => {
    const type = requireStorageType(row.type);
    return {
      ...toSummary(row),
      config: maskStorageConfig(type, decrypt(row)),
      maskedFields: storageSecretFields(type),
    };
  };

  /** Builds the backend; a config the backend refuses (e.g. an unknown Qiniu region) is invalid. */
  const build = async (type: StorageType, config: StorageConfigObject): Promise<StorageBackend> => {
    try {
      return await createBackend(type, config);
    } catch (error) {
      throw new AppError(
        'STORAGE_TARGET_INVALID_CONFIG',
        scrubSecrets(messageOf(error), type, config).slice(0, 500),
        { cause: error },
      );
    }
  };

  /** Instantiating the backend validates what the schema cannot (SPEC §4.3); nothing is contacted. */
  const assertBuildable = async (type: StorageType, config: StorageConfigObject): Promise<void> => {
    await closeQuietly(await build(type, config));
  };

  /** Connects, ensures the root exists and lists it. Resolves with null on success, else the message. */
  const probe = async (
    type: StorageType,
    config: StorageConfigObject,
    timeoutMs: number,
  ): Promise<string | null> => {
    const backend = await build(type, config);
    try {
      await withTimeout('connection test', timeoutMs, (signal) => backend.testConnection(signal));
      return null;
    } catch (error) {
      return scrubSecrets(messageOf(error), type, config) || 'connection test failed';
    } finally {
      await closeQuietly(backend);
    }
  };

  const nameTaken = (name: string) =>
    new AppError('STORAGE_TARGET_NAME_EXISTS', `A storage target named "${name}" already exists`);

  const assertNameFree = async (name: string, exceptId?: number): Promise<void> => {
    const other = await repository.findByName(name);
    if (other && other.id !== exceptId) throw nameTaken(name);
  };

  /** The pre-check answers the usual case; the unique index settles two writers racing for a name. */
  const uniqueName = async <T>(name: string, write: () => Promise<T>): Promise<T> => {
    try {
      return await write();
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(name);
      throw error;
    }
  };

  const assertSameType = (row: StorageTargetRow, requested: string): void => {
    if (requested !== row.type)
      throw new AppError(
        'STORAGE_TARGET_TYPE_IMMUTABLE',
        `The type of storage target "${row.name}" is ${row.type} and cannot change`,
      );
  };

  const create = async (actor: Actor, input: StorageTargetCreateInput): Promise<StorageTargetDetail> => {
    const type = requireStorageType(input.type);
    const config = validateStorageConfig(type, input.config);
    await assertBuildable(type, config);
    await assertNameFree(input.name);
    const now = nowIso();
    const row = await uniqueName(input.name, () =>
      repository.insert({
        name: input.name,
        type,
        description: input.description,
        enabled: input.enabled ? 1 : 0,
        starred: 0,
        configCiphertext: seal(config),
        configVersion: 1,
        lastTestedAt: null,
        lastTestStatus: 'unknown',
        lastTestMessage: '',
        quotaBytes: input.quotaBytes,
        createdAt: now,
        updatedAt: now,
      }),
    );
    await audit.record(actor, {
      category: 'storage_target',
      action: 'create',
      targetType: 'storage_target',
      targetId: row.id,
      targetName: row.name,
      detail: `Created ${type} storage target ${row.name}${input.enabled ? '' : ' (disabled)'}${
        input.quotaBytes > 0 ? `, quota ${input.quotaBytes} bytes` : ''
      }`,
    });
    return toDetail(row);
  };

  const update = async (
    actor: Actor,
    id: number,
    input: StorageTargetUpdateInput,
  ): Promise<StorageTargetDetail> => {
    const row = await requireRow(id);
    assertSameType(row, input.type);
    const type = requireStorageType(row.type);
    const stored = decrypt(row);
    const config = validateStorageConfig(type, mergeStorageConfig(type, stored, input.config));
    await assertBuildable(type, config);
    if (input.name !== row.name) await assertNameFree(input.name, id);
    const next = {
      name: input.name,
      description: input.description ?? row.description,
      enabled: input.enabled === undefined ? row.enabled : input.enabled ? 1 : 0,
      quotaBytes: input.quotaBytes ?? row.quotaBytes,
    };
    const changedConfig = changedConfigKeys(stored, config);
    const updated = await uniqueName(input.name, () =>
      repository.update(id, {
        ...next,
        configCiphertext: changedConfig.length > 0 ? seal(config) : row.configCiphertext,
        updatedAt: nowIso(),
      }),
    );
    if (!updated) throw new AppError('STORAGE_TARGET_NOT_FOUND', `Storage target ${id} does not exist`);
    const changed = [
      ...(['name', 'description', 'enabled', 'quotaBytes'] as const).filter((key) => next[key] !== row[key]),
      ...changedConfig.map((key) => `config.${key}`),
    ];
    await audit.record(actor, {
      category: 'storage_target',
      action: 'update',
      targetType: 'storage_target',
      targetId: id,
      targetName: updated.name,
      detail: `Updated storage target ${updated.name}${
        changed.length > 0 ? `; changed: ${changed.join(', ')}` : ' (no changes)'
      }`,
    });
    return toDetail(updated);
  };

  const remove = async (actor: Actor, id: number): Promise<void> => {
    const row = await requireRow(id);
    const outcome = await repository.deleteUnlessInUse(id);
    if (outcome === 'missing')
      throw new AppError('STORAGE_TARGET_NOT_FOUND', `Storage target ${id} does not exist`);
    if (outcome === 'in_use') {
      const tasks = await repository.taskNamesUsing(id);
      throw new AppError(
        'STORAGE_TARGET_IN_USE',
        `Storage target "${row.name}" is used by ${tasks.length} task(s): ${tasks.slice(0, 10).join(', ')}`,
      );
    }
    await audit.record(actor, {
      category: 'storage_target',
      action: 'delete',
      targetType: 'storage_target',
      targetId: id,
      targetName: row.name,
      detail: `Deleted ${row.type} storage target ${row.name}`,
    });
  };

  const toggleStar = async (actor: Actor, id: number): Promise<StorageTargetSummary> => {
    await requireRow(id);
    const row = await repository.toggleStar(id, nowIso());
    if (!row) throw new AppError('STORAGE_TARGET_NOT_FOUND', `Storage target ${id} does not exist`);
    await audit.record(actor, {
      category: 'storage_target',
      action: 'star',
      targetType: 'storage_target',
      targetId: id,
      targetName: row.name,
      detail: `${row.starred === 1 ? 'Starred' : 'Unstarred'} storage target ${row.name}`,
    });
    return toSummary(row);
  };

  const testFailed = (message: string) =>
    new AppError('STORAGE_TARGET_TEST_FAILED', `Connection test failed: ${message}`);

  /** Tests a configuration that is not saved; nothing is written (not even an audit entry). */
  const testUnsaved = async (input: StorageTargetTestInput): Promise<{ success: true; message: string }> => {
    let type: StorageType;
    let raw: StorageConfigObject;
    if (input.targetId !== undefined) {
      const row = await requireRow(input.targetId);
      assertSameType(row, input.type);
      type = requireStorageType(row.type);
      raw = mergeStorageConfig(type, decrypt(row), input.config);
    } else {
      type = requireStorageType(input.type);
      raw = input.config;
    }
    const config = validateStorageConfig(type, raw);
    const failure = await probe(type, config, testTimeoutMs);
    if (failure !== null) throw testFailed(failure);
    return { success: true, message: CONNECTION_SUCCEEDED };
  };

  /** Stores a test outcome; `becameFailed` is true for the one test that turned the target failed. */
  const recordTestOutcome = (id: number, failure: string | null): Promise<{ becameFailed: boolean }> =>
    repository.recordTestOutcome(id, {
      status: failure === null ? 'success' : 'failed',
      message: (failure ?? CONNECTION_SUCCEEDED).slice(0, LAST_TEST_MESSAGE_MAX),
      testedAt: nowIso(),
    });

  const testSaved = async (actor: Actor, id: number): Promise<{ success: true; message: string }> => {
    const row = await requireRow(id);
    const type = requireStorageType(row.type);
    const failure = await probe(type, decrypt(row), testTimeoutMs);
    await recordTestOutcome(id, failure);
    await audit.record(actor, {
      category: 'storage_target',
      action: 'test',
      targetType: 'storage_target',
      targetId: id,
      targetName: row.name,
      detail:
        failure === null
          ? `Connection test of ${row.name} succeeded`
          : `Connection test of ${row.name} failed: ${failure.slice(0, 500)}`,
    });
    if (failure !== null) throw testFailed(failure);
    return { success: true, message: CONNECTION_SUCCEEDED };
  };

  /** Asks the backend for its capacity; null when it cannot tell, fails or takes too long. */
  const readCapacity = async (row: StorageTargetRow): Promise<StorageUsage | null> => {
    const type = requireStorageType(row.type);
    const config = decrypt(row);
    let backend: StorageBackend | null = null;
    try {
      const opened = await build(type, config);
      backend = opened;
      return await withTimeout('capacity query', usageTimeoutMs, (signal) => opened.usage(signal));
    } catch (error) {
      logger.warn(
        { storageTargetId: row.id, err: scrubSecrets(messageOf(error), type, config) },
        'storage capacity query failed',
      );
      return null;
    } finally {
      if (backend) await closeQuietly(backend);
    }
  };

  const usage = async (id: number): Promise<StorageTargetUsage> => {
    const row = await requireRow(id);
    const totals = usageByTarget(await repository.successfulRecordCopies()).get(id);
    // A disabled target is not contacted: disabling is how users silence an unreachable server.
    const capacity = row.enabled === 1 ? await readCapacity(row) : null;
    return {
      targetId: id,
      targetName: row.name,
      recordCount: totals?.recordCount ?? 0,
      totalSize: totals?.totalBytes ?? 0,
      ...(capacity === null ? {} : { diskUsage: fromUsage(capacity) }),
    };
  };

  /** A target's decrypted config (Google OAuth re-uses stored client credentials; the monitor tests). */
  const readDecrypted = async (id: number): Promise<DecryptedStorageTarget> => {
    const row = await requireRow(id);
    return { target: toSummary(row), type: requireStorageType(row.type), config: decrypt(row) };
  };

  /**
   * Creates or updates a target with a complete, already-trusted config (the end of the Google
   * Drive OAuth flow): validated like any other, secrets never merged from masks.
   */
  const saveWithConfig = async (
    actor: Actor,
    input: StorageTargetCreateInput & { targetId?: number },
  ): Promise<StorageTargetDetail> => {
    if (input.targetId === undefined) return create(actor, input);
    return update(actor, input.targetId, {
      name: input.name,
      type: input.type,
      description: input.description,
      enabled: input.enabled,
      quotaBytes: input.quotaBytes,
      config: input.config,
    });
  };

  return {
    async list(): Promise<StorageTargetSummary[]> {
      return (await repository.list()).map(toSummary);
    },
    async get(id: number): Promise<StorageTargetDetail> {
      return toDetail(await requireRow(id));
    },
    create,
    update,
    remove,
    toggleStar,
    testUnsaved,
    testSaved,
    usage,
    readDecrypted,
    saveWithConfig,
    recordTestOutcome,

    /**
     * Opens the backend of a target for a backup, restore, verification or cleanup; the caller
     * closes it. A disabled target is refused unless `allowDisabled` (reading copies that already
     * exist there, e.g. to restore or delete them).
     */
    async openBackend(
      targetId: number,
      options: { allowDisabled?: boolean } = {},
    ): Promise<OpenedStorageTarget> {
      const row = await requireRow(targetId);
      if (row.enabled !== 1 && options.allowDisabled !== true)
        throw new AppError('STORAGE_TARGET_DISABLED', `Storage target "${row.name}" is disabled`);
      const type = requireStorageType(row.type);
      return { target: toSummary(row), backend: await build(type, decrypt(row)) };
    },

    /** Summaries of the given targets that exist, in the order asked for (duplicates once). */
    async getSummaries(ids: readonly number[]): Promise<StorageTargetSummary[]> {
      const unique = [...new Set(ids)];
      const rows = new Map((await repository.findByIds(unique)).map((row) => [row.id, row]));
      return unique.flatMap((id) => {
        const row = rows.get(id);
        return row ? [toSummary(row)] : [];
      });
    },

    /** The ids among `ids` that name an existing target, in the order asked for (duplicates once). */
    async existingIds(ids: readonly number[]): Promise<number[]> {
      const unique = [...new Set(ids)];
      const found = new Set((await repository.findByIds(unique)).map((row) => row.id));
      return unique.filter((id) => found.has(id));
    },

    /** Bytes counted against each target's quota: every successful copy recorded there. */
    async usedBytesByTarget(): Promise<Map<number, number>> {
      const totals = usageByTarget(await repository.successfulRecordCopies());
      return new Map([...totals].map(([id, total]) => [id, total.totalBytes]));
    },

    /** Enabled targets (the health monitor tests these). */
    async listEnabled(): Promise<StorageTargetSummary[]> {
      return (await repository.listEnabled()).map(toSummary);
    },

    /**
     * One health probe of a target for the monitor: connection test within `timeoutMs`, outcome
     * stored. Returns the failure message (null when healthy) and whether this probe was the
     * transition to failed; on success the still-open backend is handed to `whileOpen`.
     */
    async probeHealth(
      id: number,
      timeoutMs: number,
      whileOpen: (backend: StorageBackend, target: StorageTargetSummary) => Promise<void>,
    ): Promise<{ target: StorageTargetSummary; failure: string | null; becameFailed: boolean }> {
      const row = await requireRow(id);
      const target = toSummary(row);
      const type = requireStorageType(row.type);
      const config = decrypt(row);
      let failure: string | null = null;
      let backend: StorageBackend | null = null;
      try {
        const opened = await build(type, config);
        backend = opened;
        await withTimeout('connection test', timeoutMs, (signal) => opened.testConnection(signal));
      } catch (error) {
        failure = scrubSecrets(messageOf(error), type, config) || 'connection test failed';
      }
      try {
        const { becameFailed } = await recordTestOutcome(id, failure);
        if (failure === null && backend) await whileOpen(backend, target);
        return { target, failure, becameFailed };
      } finally {
        if (backend) await closeQuietly(backend);
      }
    },
  };
};
