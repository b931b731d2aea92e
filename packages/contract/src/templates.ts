/**
 * Task templates (SPEC §1.15, §14.1): a saved task upsert body from which several tasks are
 * created at once, each with its own name and a few per-task overrides.
 */
import { z } from 'zod';
import { defineRoute } from './route.ts';
import { deletedSchema, idParams, timestampSchema } from './common.ts';
import { taskTypeSchema, taskUpsertInputSchema } from './tasks.ts';

/** Longest template name, in characters. */
export const TASK_TEMPLATE_NAME_MAX = 128;
/** Longest template description, in characters. */
export const TASK_TEMPLATE_DESCRIPTION_MAX = 500;
/** Rows one apply request may create. */
export const TASK_TEMPLATE_APPLY_MAX = 100;

/**
 * Create/update body. `payload` is a full task upsert body, checked with the task schema; its
 * `name` is replaced by each apply row. A `dbPassword` is stored encrypted apart from the payload
 * and read back as `********`; on update an absent, empty or `********` password keeps the stored one.
 */
export const taskTemplateInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(TASK_TEMPLATE_NAME_MAX),
  description: z.string().trim().max(TASK_TEMPLATE_DESCRIPTION_MAX).default(''),
  payload: taskUpsertInputSchema,
});
export type TaskTemplateInput = z.infer<typeof taskTemplateInputSchema>;
export type TaskTemplateBody = z.input<typeof taskTemplateInputSchema>;

/** List (name order). */
export const taskTemplateSummarySchema = z.object({
  id: z.number().int(),
  name: z.string(),
  description: z.string(),
  /** `payload.type`. */
  taskType: taskTypeSchema,
  /** Username (or `api_key:<id>:<name>`) of the creator. */
  createdBy: z.string(),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});
export type TaskTemplateSummary = z.infer<typeof taskTemplateSummarySchema>;

/** Get, create, update: the summary and the stored task body (password masked). */
export const taskTemplateDetailSchema = taskTemplateSummarySchema.extend({
  payload: taskUpsertInputSchema,
  /** `["dbPassword"]` when the template holds a database password (shown as `********`). */
  maskedFields: z.array(z.string()),
});
export type TaskTemplateDetail = z.infer<typeof taskTemplateDetailSchema>;

const taskField = taskUpsertInputSchema.shape;

/**
 * One task to create. `name` is required; every other field, when sent and not blank, replaces the
 * template's (a `sourcePath` alone replaces the template's source paths); `nodeId` applies whenever
 * it is present, 0 included (the master).
 */
export const taskTemplateVariablesSchema = z.strictObject({
  name: taskField.name,
  sourcePath: taskField.sourcePath,
  sourcePaths: taskField.sourcePaths,
  dbHost: taskField.dbHost,
  dbName: taskField.dbName,
  tags: taskField.tags,
  nodeId: taskField.nodeId,
});
export type TaskTemplateVariables = z.infer<typeof taskTemplateVariablesSchema>;

/** `POST /api/task-templates/:id/apply` body: 1–100 rows, one task each. */
export const taskTemplateApplyInputSchema = z.strictObject({
  variables: z.array(taskTemplateVariablesSchema).min(1).max(TASK_TEMPLATE_APPLY_MAX),
});

/** One row per variables entry, in request order; a failed row says why and does not stop the others. */
export const taskTemplateApplyResultSchema = z.array(
  z.object({
    name: z.string(),
    taskId: z.number().int().optional(),
    success: z.boolean(),
    error: z.string().optional(),
  }),
);
export type TaskTemplateApplyResult = z.infer<typeof taskTemplateApplyResultSchema>;

/** Routes of task templates (SPEC §14.1): reads for any role, changes and apply for operators. */
export const taskTemplateRoutes = {
  list: defineRoute({
    method: 'GET',
    path: '/api/task-templates',
    access: 'viewer',
    tag: 'templates',
    summary: 'List task templates (by name)',
    response: z.array(taskTemplateSummarySchema),
  }),
  get: defineRoute({
    method: 'GET',
    path: '/api/task-templates/:id',
    access: 'viewer',
    tag: 'templates',
    summary: 'Task template with its task body (password masked)',
    params: idParams,
    response: taskTemplateDetailSchema,
  }),
  create: defineRoute({
    method: 'POST',
    path: '/api/task-templates',
    access: 'operator',
    tag: 'templates',
    summary: 'Create a task template (the database password is stored encrypted)',
    body: taskTemplateInputSchema,
    invalidInputCode: 'TASK_TEMPLATE_INVALID',
    response: taskTemplateDetailSchema,
  }),
  update: defineRoute({
    method: 'PUT',
    path: '/api/task-templates/:id',
    access: 'operator',
    tag: 'templates',
    summary: 'Replace a task template (an absent or masked password keeps the stored one)',
    params: idParams,
    body: taskTemplateInputSchema,
    invalidInputCode: 'TASK_TEMPLATE_INVALID',
    response: taskTemplateDetailSchema,
  }),
  delete: defineRoute({
    method: 'DELETE',
    path: '/api/task-templates/:id',
    access: 'operator',
    tag: 'templates',
    summary: 'Delete a task template (tasks created from it stay)',
    params: idParams,
    response: deletedSchema,
  }),
  apply: defineRoute({
    method: 'POST',
    path: '/api/task-templates/:id/apply',
    access: 'operator',
    tag: 'templates',
    summary: 'Create 1–100 tasks from a template, each validated like a task create (best effort)',
    params: idParams,
    body: taskTemplateApplyInputSchema,
    invalidInputCode: 'TASK_TEMPLATE_INVALID',
    response: taskTemplateApplyResultSchema,
  }),
} as const;
