import { describe, expect, it } from 'vitest';
import { fileStamp, toCsv } from './csv.ts';

describe('toCsv', () => {
  it('starts with a BOM, quotes where needed and neutralises formulas', () => {
    const csv = toCsv(
      ['a', 'b'],
      [
        ['x,y', 'say "hi"'],
        ['=1+1', 3],
        ['第二行\nline', '-5'],
      ],
    );
    expect(csv.startsWith('\uFEFFa,b\r\n')).toBe(true);
    expect(csv).toContain('"x,y","say ""hi"""');
    expect(csv).toContain("'=1+1,3");
    expect(csv).toContain('"第二行\nline",\'-5');
  });

  it('stamps file names in UTC', () => {
    expect(fileStamp(new Date('2026-03-04T05:06:07Z'))).toBe('20260304-050607');
  });
});
