import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signJwt, verifyJwt } from './jwt.ts';
import { base32Decode, base32Encode, currentStep, generateTotpSecret, matchTotp, totpAt } from './totp.ts';
import { findRecoveryCode, generateRecoveryCodes, hashRecoveryCode } from './recovery-codes.ts';
import { hashPassword, verifyPassword } from './password.ts';

describe('jwt', () => {
  const claims = { sub: '1', username: 'admin', role: 'admin', jti: 'abc', iat: 100, exp: 200 };

  it('round-trips and expires', () => {
    const token = signJwt('secret', claims);
    expect(verifyJwt('secret', token, 150)).toMatchObject({ sub: '1', jti: 'abc' });
    expect(verifyJwt('secret', token, 200)).toBeNull();
  });

  it('refuses another secret, a tampered payload and alg none', () => {
    const token = signJwt('secret', claims);
    expect(verifyJwt('other', token, 150)).toBeNull();
    const [h, , s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'viewer', sub: '2' })).toString('base64url');
    expect(verifyJwt('secret', `${h}.${forged}.${s}`, 150)).toBeNull();
    const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    expect(verifyJwt('secret', `${none}.${body}.`, 150)).toBeNull();
    expect(verifyJwt('secret', 'garbage', 150)).toBeNull();
  });
});

describe('totp', () => {
  it('matches the RFC 6238 SHA-1 test vectors', () => {
    const secret = base32Encode(Buffer.from('12345678901234567890'));
    // RFC 6238 Appendix B (8 digits there; the last 6 digits are the 6-digit code).
    expect(totpAt(secret, Math.floor(59 / 30))).toBe('287082');
    expect(totpAt(secret, Math.floor(1111111109 / 30))).toBe('081804');
    expect(totpAt(secret, Math.floor(2000000000 / 30))).toBe('279037');
  });

  it('base32 round-trips', () => {
    const data = randomBytes(20);
    expect(base32Decode(base32Encode(data))).toEqual(data);
  });

  it('accepts ±1 step and refuses replays', () => {
    const secret = generateTotpSecret();
    const now = Date.now();
    const step = currentStep(now);
    expect(matchTotp(secret, totpAt(secret, step), now, 0)).toBe(step);
    expect(matchTotp(secret, totpAt(secret, step - 1), now, 0)).toBe(step - 1);
    expect(matchTotp(secret, totpAt(secret, step + 1), now, 0)).toBe(step + 1);
    expect(matchTotp(secret, totpAt(secret, step - 2), now, 0)).toBeNull();
    expect(matchTotp(secret, totpAt(secret, step), now, step)).toBeNull();
    expect(matchTotp(secret, 'abcdef', now, 0)).toBeNull();
  });
});

describe('recovery codes', () => {
  it('are ten distinct XXXX-XXXX-XXXX-XXXX codes matched ignoring case, spaces and dashes', async () => {
    const key = randomBytes(32);
    const codes = generateRecoveryCodes();
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9A-F]{4}(-[0-9A-F]{4}){3}$/);
    const stored = codes.map((code) => hashRecoveryCode(key, code));
    const third = codes[2]!;
    expect(await findRecoveryCode(key, stored, third.toLowerCase().replaceAll('-', ' '))).toBe(2);
    expect(await findRecoveryCode(key, stored, 'FFFF-FFFF-FFFF-FFFF')).toBe(-1);
    expect(await findRecoveryCode(randomBytes(32), stored, third)).toBe(-1);
  });
});

describe('password', () => {
  it('hashes with bcrypt cost 12 and verifies', async () => {
    const hashed = await hashPassword('correct horse');
    expect(hashed).toMatch(/^\$2b\$12\$/);
    expect(await verifyPassword('correct horse', hashed)).toBe(true);
    expect(await verifyPassword('wrong horse', hashed)).toBe(false);
    expect(await verifyPassword('anything', null)).toBe(false);
  });
});
