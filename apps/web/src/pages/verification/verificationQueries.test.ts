import { describe, expect, it } from 'vitest';
import enUS from '../../i18n/locales/en-US.ts';
import zhCN from '../../i18n/locales/zh-CN.ts';
import {
  checkCounts,
  hasRunningDrill,
  isKnownCheck,
  isVerifyMode,
  knownChecks,
  verificationDetailsUrl,
} from './verificationQueries.ts';

describe('verification helpers', () => {
  it('translates every known check name in both languages', () => {
    for (const check of knownChecks) {
      expect(enUS.verification.checks[check]).toBeTruthy();
      expect(zhCN.verification.checks[check]).toBeTruthy();
    }
    expect(isKnownCheck('row_counts')).toBe(true);
    expect(isKnownCheck('something_new')).toBe(false);
  });

  it('links to a drill and recognises the modes', () => {
    expect(verificationDetailsUrl(12)).toBe('/verify/records?verifyId=12');
    expect(isVerifyMode('deep')).toBe(true);
    expect(isVerifyMode('full')).toBe(false);
    expect(isVerifyMode(null)).toBe(false);
  });

  it('counts checks and notices running drills', () => {
    expect(
      checkCounts([
        { name: 'checksum', ok: true, detail: '' },
        { name: 'structure', ok: false, detail: 'bad' },
        { name: 'cleanup', ok: true, detail: '' },
      ]),
    ).toEqual({ passed: 2, failed: 1 });
    expect(hasRunningDrill([{ status: 'success' }, { status: 'running' }])).toBe(true);
    expect(hasRunningDrill([{ status: 'failed' }])).toBe(false);
    expect(hasRunningDrill(undefined)).toBe(false);
  });
});
