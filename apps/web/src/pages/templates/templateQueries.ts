/** Pure logic of the task templates page: query keys, the JSON payload editor and apply rows. */
import { TASK_TEMPLATE_APPLY_MAX } from '@backupx/contract';
import type { TaskTemplateBody, TaskTemplateVariables } from '@backupx/contract';

/** Query keys of the page; all start with `task-templates`. */
export const templateKeys = {
  all: ['task-templates'] as const,
  list: ['task-templates', 'list'] as const,
  detail: (id: number) => ['task-templates', 'detail', id] as const,
};

/** Payload offered for a new template: a file task with the usual defaults. */
export const NEW_TEMPLATE_PAYLOAD = {
  type: 'file',
  sourcePaths: ['/data'],
  storageTargetIds: [1],
  cronExpr: '0 2 * * *',
  retentionDays: 30,
  maxBackups: 10,
  compression: 'zstd',
};

/** A payload as shown in the editor: pretty JSON without the name (each apply row sets it). */
export function payloadToText(payload: Record<string, unknown>): string {
  const { name: _name, ...rest } = payload;
  return JSON.stringify(rest, null, 2);
}

export type PayloadParse =
  | { ok: true; payload: Record<string, unknown> }
  | { ok: false; reason: 'json'; error: string }
  | { ok: false; reason: 'object' };

/** Parses the editor's text: a JSON object, else why not. */
export function parsePayload(text: string): PayloadParse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: 'json', error: error instanceof Error ? error.message : String(error) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, reason: 'object' };
  return { ok: true, payload: value as Record<string, unknown> };
}

/**
 * The create/update body: the payload's `name` is the template's own unless the JSON sets one
 * (the task schema requires a name; each apply row replaces it anyway).
 */
export function templateBody(
  name: string,
  description: string,
  payload: Record<string, unknown>,
): TaskTemplateBody {
  const withName =
    typeof payload.name === 'string' && payload.name.trim() !== ''
      ? payload
      : { ...payload, name: name.trim() };
  return {
    name: name.trim(),
    description: description.trim(),
    payload: withName as TaskTemplateBody['payload'],
  };
}

/** One row of the apply dialog, as typed. */
export interface ApplyRow {
  key: number;
  name: string;
  sourcePath: string;
  dbHost: string;
  dbName: string;
}

export const emptyApplyRow = (key: number): ApplyRow => ({
  key,
  name: '',
  sourcePath: '',
  dbHost: '',
  dbName: '',
});

/** Most rows one apply takes (the server's limit). */
export const APPLY_MAX_ROWS = TASK_TEMPLATE_APPLY_MAX;

/** The apply body's rows: trimmed, blank overrides left out so the template's values stay. */
export function applyVariables(rows: readonly ApplyRow[]): TaskTemplateVariables[] {
  return rows.map((row) => {
    const variables: TaskTemplateVariables = { name: row.name.trim() };
    if (row.sourcePath.trim() !== '') variables.sourcePath = row.sourcePath.trim();
    if (row.dbHost.trim() !== '') variables.dbHost = row.dbHost.trim();
    if (row.dbName.trim() !== '') variables.dbName = row.dbName.trim();
    return variables;
  });
}

/** Whether every row has a task name and the count is within 1–100. */
export const applyRowsValid = (rows: readonly ApplyRow[]): boolean =>
  rows.length >= 1 && rows.length <= APPLY_MAX_ROWS && rows.every((row) => row.name.trim() !== '');
