import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../../lib/crypto.ts';

/** Claims of a session token (HS256). `sub` is the user id as a decimal string, as in BackupX. */
export interface SessionClaims {
  sub: string;
  username: string;
  role: string;
  /** Session id; the session row can be revoked. */
  jti: string;
  iat: number;
  exp: number;
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const header = encode({ alg: 'HS256', typ: 'JWT' });

const sign = (secret: string, input: string): string =>
  createHmac('sha256', secret).update(input).digest('base64url');

export const signJwt = (secret: string, claims: SessionClaims): string => {
  const body = `${header}.${encode(claims)}`;
  return `${body}.${sign(secret, body)}`;
};

/** Returns the claims of a valid, unexpired HS256 token, else null. Only HS256 is accepted. */
export const verifyJwt = (secret: string, token: string, nowSeconds: number): SessionClaims | null => {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [headerPart = '', payloadPart = '', signature = ''] = parts;
  if (!constantTimeEqual(sign(secret, `${headerPart}.${payloadPart}`), signature)) return null;
  try {
    const parsedHeader = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')) as {
      alg?: unknown;
    };
    if (parsedHeader.alg !== 'HS256') return null;
    const claims = JSON.parse(
      Buffer.from(payloadPart, 'base64url').toString('utf8'),
    ) as Partial<SessionClaims>;
    if (
      typeof claims.sub !== 'string' ||
      typeof claims.jti !== 'string' ||
      typeof claims.exp !== 'number' ||
      typeof claims.iat !== 'number' ||
      claims.exp <= nowSeconds
    ) {
      return null;
    }
    return claims as SessionClaims;
  } catch {
    return null;
  }
};
