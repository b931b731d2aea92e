import type { FormInstance } from 'antd';
import { isApiError } from '../../api/client.ts';

/**
 * Shows the field-level `details` of an API validation error on the form: a detail path such as
 * `config.port` marks the nested field `['config', 'port']`, `name` the top-level one. Details of
 * fields the form does not show are left to the error message. Returns how many fields it marked.
 */
export function applyApiFieldErrors(form: FormInstance, error: unknown, isShown: (path: string[]) => boolean): number {
  if (!isApiError(error) || !error.details || error.details.length === 0) return 0;
  const byField = new Map<string, { name: string[]; errors: string[] }>();
  for (const detail of error.details) {
    const name = detail.path.split('.').filter((part) => part !== '');
    // `config.<field>` is nested; deeper parts (array indexes) belong to that field.
    const fieldName = name[0] === 'config' ? name.slice(0, 2) : name.slice(0, 1);
    if (fieldName.length === 0 || !isShown(fieldName)) continue;
    const key = fieldName.join('.');
    const entry = byField.get(key) ?? { name: fieldName, errors: [] };
    entry.errors.push(detail.message);
    byField.set(key, entry);
  }
  form.setFields([...byField.values()].map(({ name, errors }) => ({ name: name as never, errors })));
  return byField.size;
}
