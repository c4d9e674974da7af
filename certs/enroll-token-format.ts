// The enrollment token's text form, "mk1.<secret>.<CA fingerprint>", and its parser. Apart
// from the token store (enroll-tokens.ts, SQLite) because the agent parses tokens too and
// must not carry the collector's database binding (an endpoint package has no better-sqlite3).
import { EnrollTokenError } from './errors.js';

export const TOKEN_PREFIX = 'mk1';
/** one base64url-encoded 32-byte value */
export const B64URL_32 = /^[A-Za-z0-9_-]{43}$/;

export interface ParsedEnrollToken {
  secret: string;
  caFingerprint: Buffer;
}

export function parseEnrollToken(token: string): ParsedEnrollToken {
  const parts = typeof token === 'string' ? token.trim().split('.') : [];
  if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX || !B64URL_32.test(parts[1]!) || !B64URL_32.test(parts[2]!)) {
    throw new EnrollTokenError('malformed', `expected "${TOKEN_PREFIX}.<43 base64url chars>.<43 base64url chars>"`);
  }
  return { secret: parts[1]!, caFingerprint: Buffer.from(parts[2]!, 'base64url') };
}
