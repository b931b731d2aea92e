import { describe, it, expect } from 'vitest';
import { auditCategories, errorCatalog, roles } from '@backupx/contract';
import enUS from './locales/en-US.ts';
import zhCN from './locales/zh-CN.ts';

/** Flattens a resource tree into `a.b.c` → value. */
function flatten(tree: unknown, prefix = ''): Map<string, unknown> {
  const result = new Map<string, unknown>();
  if (tree === null || typeof tree !== 'object') {
    result.set(prefix, tree);
    return result;
  }
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object') {
      for (const [childPath, childValue] of flatten(value, path)) result.set(childPath, childValue);
    } else {
      result.set(path, value);
    }
  }
  return result;
}

const locales = { 'en-US': flatten(enUS), 'zh-CN': flatten(zhCN) };
const interpolations = (text: unknown) =>
  [...String(text).matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((match) => match[1]).sort();

describe('i18n resources', () => {
  it('en-US and zh-CN have exactly the same keys', () => {
    const english = [...locales['en-US'].keys()].sort();
    const chinese = [...locales['zh-CN'].keys()].sort();
    expect(chinese).toEqual(english);
    expect(english.length).toBeGreaterThan(100);
  });

  it.each(Object.entries(locales))('%s has no empty or non-string values', (_name, entries) => {
    for (const [key, value] of entries) {
      expect(typeof value, key).toBe('string');
      expect(String(value).trim(), key).not.toBe('');
    }
  });

  it('both languages use the same interpolation variables', () => {
    for (const [key, english] of locales['en-US']) {
      expect(interpolations(locales['zh-CN'].get(key)), key).toEqual(interpolations(english));
    }
  });

  it('has a translation for every error code of the contract', () => {
    for (const code of Object.keys(errorCatalog)) {
      for (const [name, entries] of Object.entries(locales)) {
        expect(entries.has(`errors.${code}`), `${name}: errors.${code}`).toBe(true);
      }
    }
  });

  it('translates every audit category and role', () => {
    for (const [name, entries] of Object.entries(locales)) {
      for (const category of auditCategories) {
        expect(entries.has(`audit.categories.${category}`), `${name}: ${category}`).toBe(true);
      }
      for (const role of roles) {
        expect(entries.has(`roles.${role}`), `${name}: roles.${role}`).toBe(true);
        expect(entries.has(`roleDescriptions.${role}`), `${name}: roleDescriptions.${role}`).toBe(true);
      }
    }
  });

  it('pairs every plural form', () => {
    for (const key of locales['en-US'].keys()) {
      if (key.endsWith('_one')) expect(locales['en-US'].has(key.replace(/_one$/, '_other')), key).toBe(true);
    }
  });
});
