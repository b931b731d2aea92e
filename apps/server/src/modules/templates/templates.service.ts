import type { Logger } from 'pino';
import {
  MASKED_SECRET,
  serverDatabaseTypes,
  taskUpsertInputSchema,
  type TaskTemplateApplyResult,
  type TaskTemplateDetail,
  type TaskTemplateInput,
  type TaskTemplateSummary,
  type TaskTemplateVariables,
  type TaskType,
  type TaskUpsertInput,
} from '@backupx/contract';
import { AppError, isAppError } from '../../lib/errors.ts';
import { toIso, type Clock } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/crypto.ts';
import type { TaskTemplateRow } from '../../db/tables.ts';
import type { Actor } from '../auth/principal.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { TasksService } from '../tasks/tasks.service.ts';
import { isUniqueViolation } from '../tasks/tasks.repository.ts';
import type { TemplatesRepository } from './templates.repository.ts';

export interface TemplatesServiceDeps {
  repository: TemplatesRepository;
  /** Tasks are created only through the tasks service, with all its checks. */
  tasks: Pick<TasksService, 'create'>;
  audit: Pick<AuditService, 'record'>;
  secretBox: SecretBox;
  clock: Clock;
  logger: Logger;
}

export type TemplatesService = ReturnType<typeof createTemplatesService>;

/** The stored task body (without password); `{}` if the column is not an object (never written so). */
const storedPayload = (row: TaskTemplateRow): Record<string, unknown> => {
  try {
    const value: unknown = JSON.parse(row.payloadJson);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
};

const toSummary = (row: TaskTemplateRow): TaskTemplateSummary => ({
  id: row.id,
  name: row.name,
  description: row.description,
  taskType: row.taskType as TaskType,
  createdBy: row.createdBy,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

const toDetail = (row: TaskTemplateRow): TaskTemplateDetail => {
  const hasPassword = row.payloadSecretCiphertext !== '';
  return {
    ...toSummary(row),
    payload: {
      ...storedPayload(row),
      ...(hasPassword ? { dbPassword: MASKED_SECRET } : {}),
    } as unknown as TaskUpsertInput,
    maskedFields: hasPassword ? ['dbPassword'] : [],
  };
};

/**
 * The task body of one apply row: the template's, renamed, with the row's non-blank fields over
 * it. A lone `sourcePath` replaces the template's paths (BackupX kept the template's `sourcePaths`,
 * which win over `sourcePath`, so the override was lost).
 */
const mergeRow = (
  base: Record<string, unknown>,
  row: TaskTemplateVariables,
  password: string | undefined,
): Record<string, unknown> => {
  const body: Record<string, unknown> = { ...base, name: row.name };
  const sourcePath = row.sourcePath?.trim() ?? '';
  const sourcePaths = (row.sourcePaths ?? []).filter((value) => value.trim() !== '');
  if (sourcePaths.length > 0) body.sourcePaths = sourcePaths;
  else if (sourcePath !== '') body.sourcePaths = [sourcePath];
  if (sourcePath !== '') body.sourcePath = sourcePath;
  if (row.dbHost !== undefined && row.dbHost !== '') body.dbHost = row.dbHost;
  if (row.dbName !== undefined && row.dbName !== '') body.dbName = row.dbName;
  const tagsGiven =
    typeof row.tags === 'string' ? row.tags.trim() !== '' : (row.tags ?? []).some((tag) => tag.trim() !== '');
  if (tagsGiven) body.tags = row.tags;
  if (row.nodeId !== undefined) body.nodeId = row.nodeId;
  if (password !== undefined) body.dbPassword = password;
  return body;
};

export const createTemplatesService = (deps: TemplatesServiceDeps) => {
  const { repository, tasks, audit, secretBox, clock, logger } = deps;

  const requireRow = async (id: number): Promise<TaskTemplateRow> => {
    const row = await repository.findById(id);
    if (!row) throw new AppError('TASK_TEMPLATE_NOT_FOUND', `Task template ${id} does not exist`);
    return row;
  };

  const nameClash = (name: string) =>
    new AppError('TASK_TEMPLATE_NAME_EXISTS', `A task template named "${name}" already exists`);

  const checkName = async (name: string, selfId: number | undefined): Promise<void> => {
    const holder = await repository.findIdByName(name);
    if (holder !== undefined && holder !== selfId) throw nameClash(name);
  };

  /**
   * Quirk 5: the password never enters the payload column. A new one is sealed; absent, empty or
   * `********` keeps the stored one; types without a database server keep none.
   */
  const sealPassword = (payload: TaskUpsertInput, stored: string): string => {
    if (!serverDatabaseTypes.includes(payload.type)) return '';
    const password = payload.dbPassword;
    if (password === undefined || password === '' || password === MASKED_SECRET) return stored;
    return secretBox.seal(password);
  };

  const payloadJson = (payload: TaskUpsertInput): string => {
    const { dbPassword: _password, ...rest } = payload;
    return JSON.stringify(rest);
  };

  return {
    async list(): Promise<TaskTemplateSummary[]> {
      return (await repository.list()).map(toSummary);
    },

    async get(id: number): Promise<TaskTemplateDetail> {
      return toDetail(await requireRow(id));
    },

    async create(actor: Actor, input: TaskTemplateInput): Promise<TaskTemplateDetail> {
      await checkName(input.name, undefined);
      const now = toIso(clock.now());
      let row: TaskTemplateRow;
      try {
        row = await repository.insert({
          name: input.name,
          description: input.description,
          taskType: input.payload.type,
          payloadJson: payloadJson(input.payload),
          payloadSecretCiphertext: sealPassword(input.payload, ''),
          createdBy: actor.username.slice(0, 64),
          createdAt: now,
          updatedAt: now,
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw nameClash(input.name);
        throw error;
      }
      await audit.record(actor, {
        category: 'task_template',
        action: 'create',
        targetType: 'task_template',
        targetId: row.id,
        targetName: row.name,
        detail: `Created template ${row.name} for ${row.taskType} tasks${
          row.payloadSecretCiphertext === '' ? '' : ' (database password stored encrypted)'
        }`,
      });
      return toDetail(row);
    },

    async update(actor: Actor, id: number, input: TaskTemplateInput): Promise<TaskTemplateDetail> {
      const current = await requireRow(id);
      await checkName(input.name, id);
      const values = {
        name: input.name,
        description: input.description,
        taskType: input.payload.type,
        payloadJson: payloadJson(input.payload),
        payloadSecretCiphertext: sealPassword(input.payload, current.payloadSecretCiphertext),
        updatedAt: toIso(clock.now()),
      };
      let row: TaskTemplateRow | undefined;
      try {
        row = await repository.update(id, values);
      } catch (error) {
        if (isUniqueViolation(error)) throw nameClash(input.name);
        throw error;
      }
      if (!row) throw new AppError('TASK_TEMPLATE_NOT_FOUND', `Task template ${id} does not exist`);
      const changed = [
        current.name === row.name ? '' : 'name',
        current.description === row.description ? '' : 'description',
        current.payloadJson === row.payloadJson ? '' : 'payload',
        current.payloadSecretCiphertext === row.payloadSecretCiphertext ? '' : 'dbPassword',
      ].filter((field) => field !== '');
      await audit.record(actor, {
        category: 'task_template',
        action: 'update',
        targetType: 'task_template',
        targetId: id,
        targetName: row.name,
        detail: `Updated template ${row.name}${changed.length === 0 ? ' (no changes)' : ` (${changed.join(', ')})`}`,
      });
      return toDetail(row);
    },

    async delete(actor: Actor, id: number): Promise<void> {
      const row = await requireRow(id);
      if (!(await repository.delete(id)))
        throw new AppError('TASK_TEMPLATE_NOT_FOUND', `Task template ${id} does not exist`);
      await audit.record(actor, {
        category: 'task_template',
        action: 'delete',
        targetType: 'task_template',
        targetId: id,
        targetName: row.name,
        detail: `Deleted template ${row.name}`,
      });
    },

    /**
     * Creates one task per row through the tasks service (same validation, audit and schedule as a
     * task create). Best effort: a failed row carries the reason and the others go on.
     */
    async apply(
      actor: Actor,
      id: number,
      rows: readonly TaskTemplateVariables[],
    ): Promise<TaskTemplateApplyResult> {
      const template = await requireRow(id);
      const base = storedPayload(template);
      let password: string | undefined;
      if (template.payloadSecretCiphertext !== '') {
        try {
          password = secretBox.open(template.payloadSecretCiphertext);
        } catch (error) {
          throw new AppError(
            'TASK_TEMPLATE_INVALID',
            `The database password of template "${template.name}" cannot be decrypted with this master's encryption key; save the template again with the password`,
            { cause: error },
          );
        }
      }
      const results: TaskTemplateApplyResult = [];
      for (const row of rows) {
        const parsed = taskUpsertInputSchema.safeParse(mergeRow(base, row, password));
        if (!parsed.success) {
          results.push({
            name: row.name,
            success: false,
            error: `The task body is invalid: ${parsed.error.issues
              .map((issue) => `${issue.path.join('.') || 'body'} ${issue.message}`)
              .join('; ')}`,
          });
          continue;
        }
        try {
          const task = await tasks.create(actor, parsed.data);
          results.push({ name: row.name, taskId: task.id, success: true });
        } catch (error) {
          if (isAppError(error)) {
            results.push({ name: row.name, success: false, error: error.message });
            continue;
          }
          // Unexpected failures are logged, never described to the client.
          logger.error(
            { templateId: id, taskName: row.name, err: (error as Error).message },
            'creating a task from a template failed',
          );
          results.push({ name: row.name, success: false, error: 'Internal error; see the master log' });
        }
      }
      const created = results.filter((result) => result.success);
      await audit.record(actor, {
        category: 'task_template',
        action: 'apply',
        targetType: 'task_template',
        targetId: id,
        targetName: template.name,
        detail: `Applied template ${template.name}: created ${created.length} of ${results.length} task(s)${
          created.length > 0 ? `: ${created.map((result) => result.name).join(', ')}` : ''
        }`,
      });
      return results;
    },
  };
};
