import { describe, expect, it } from 'vitest';
import {
  APPLY_MAX_ROWS,
  applyRowsValid,
  applyVariables,
  emptyApplyRow,
  parsePayload,
  payloadToText,
  templateBody,
  templateKeys,
} from './templateQueries.ts';

describe('task template helpers', () => {
  it('keys start with task-templates', () => {
    expect(templateKeys.list[0]).toBe('task-templates');
    expect(templateKeys.detail(3)).toEqual(['task-templates', 'detail', 3]);
  });

  it('shows the payload without its name and reads JSON objects only', () => {
    const text = payloadToText({ name: 'x', type: 'file', dbPassword: '********' });
    expect(JSON.parse(text)).toEqual({ type: 'file', dbPassword: '********' });
    expect(parsePayload(text)).toEqual({ ok: true, payload: { type: 'file', dbPassword: '********' } });
    expect(parsePayload('{ nope')).toMatchObject({ ok: false, reason: 'json' });
    expect(parsePayload('[1]')).toEqual({ ok: false, reason: 'object' });
    expect(parsePayload('null')).toEqual({ ok: false, reason: 'object' });
  });

  it('names the payload after the template unless it has a name', () => {
    expect(templateBody(' Web ', ' d ', { type: 'file' })).toEqual({
      name: 'Web',
      description: 'd',
      payload: { type: 'file', name: 'Web' },
    });
    expect(templateBody('Web', '', { type: 'file', name: 'Own' }).payload.name).toBe('Own');
  });

  it('sends only the overrides that are filled in', () => {
    const rows = [
      { ...emptyApplyRow(1), name: ' a ', sourcePath: ' /srv/a ' },
      { ...emptyApplyRow(2), name: 'b', dbHost: 'db', dbName: 'app' },
    ];
    expect(applyVariables(rows)).toEqual([
      { name: 'a', sourcePath: '/srv/a' },
      { name: 'b', dbHost: 'db', dbName: 'app' },
    ]);
    expect(applyRowsValid(rows)).toBe(true);
    expect(applyRowsValid([emptyApplyRow(1)])).toBe(false);
    expect(applyRowsValid([])).toBe(false);
    expect(
      applyRowsValid(
        Array.from({ length: APPLY_MAX_ROWS + 1 }, (_, i) => ({ ...emptyApplyRow(i), name: 'x' })),
      ),
    ).toBe(false);
  });
});
