import type { FormInstance } from 'antd';
import { isApiError } from '../../api/client.ts';

/**
 * Shows the field-level `details` of an API validation error on the form. `resolve` maps a
 * server path split at dots (`['config', 'port']`) to the form's field name, or null when the
 * form does not show that field (its problem then stays in the error message).
 * Returns how many fields it marked.
 */
export function applyApiFieldErrors(
  form: FormInstance,
  error: unknown,
  resolve: (path: string[]) => string[] | null,
): number {
  if (!isApiError(error) || !error.details || error.details.length === 0) return 0;
  const byField = new Map<string, { name: string[]; errors: string[] }>();
  for (const detail of error.details) {
    const name = resolve(detail.path.split('.').filter((part) => part !== ''));
    if (!name || name.length === 0) continue;
    const key = name.join('.');
    const entry = byField.get(key) ?? { name, errors: [] };
    entry.errors.push(detail.message);
    byField.set(key, entry);
  }
  form.setFields([...byField.values()].map(({ name, errors }) => ({ name: name as never, errors })));
  return byField.size;
}
