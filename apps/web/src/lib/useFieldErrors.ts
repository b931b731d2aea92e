import { useCallback } from 'react';
import type { FormInstance } from 'antd';
import { isApiError } from '../api/client.ts';

/**
 * Returns a function that shows the field-level `details` of an API validation error on the
 * matching form fields (`details[].path` is the field name, e.g. `email`).
 */
export function useFieldErrors<Values extends object>(form: FormInstance<Values>) {
  return useCallback(
    (error: unknown) => {
      if (!isApiError(error) || !error.details || error.details.length === 0) return;
      const known = new Set(Object.keys(form.getFieldsValue(true) as Record<string, unknown>));
      const byField = new Map<string, string[]>();
      for (const detail of error.details) {
        const field = detail.path.split('.')[0] ?? '';
        if (!known.has(field)) continue;
        byField.set(field, [...(byField.get(field) ?? []), detail.message]);
      }
      form.setFields([...byField].map(([name, errors]) => ({ name: name as never, errors })));
    },
    [form],
  );
}
