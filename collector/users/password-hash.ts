// Password hashes of collector users: scrypt (node:crypto, memory-hard) with N = 2^15, r = 8,
// p = 3 - one of the equivalent minimum settings OWASP's password storage guidance gives for
// scrypt (2^17/8/1 ... 2^13/8/10): 32 MiB of memory per hash, about 0.3 s of one core here,
// instead of 2^17's 128 MiB, so a burst of logins cannot take the collector's memory. The
// stored form names its parameters ("$scrypt$ln=15,r=8,p=3$<salt>$<hash>", base64 without
// padding), so they can be raised later and old hashes still verify (needsRehash says when a
// login should re-hash). Verification compares in constant time, and a missing user costs the
// same work as a wrong password (no timing oracle for user names).
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { InputError } from '../../shared/errors.js';

export const SCRYPT_LOG_N = 15;
export const SCRYPT_R = 8;
export const SCRYPT_P = 3;
const KEY_LEN = 32;
const SALT_LEN = 16;
const MAXMEM = 128 * 1024 * 1024;
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 1024;

export class PasswordPolicyError extends InputError {
  readonly code = 'MEERKAT_ERR_PASSWORD_POLICY';
  constructor(message: string) {
    super(message);
    this.name = 'PasswordPolicyError';
  }
}

/** Length bounds only (NIST SP 800-63B: length, no composition rules). */
export function checkPasswordPolicy(password: string): void {
  const n = [...password].length;
  if (n < MIN_PASSWORD_LENGTH) throw new PasswordPolicyError(`password too short: at least ${MIN_PASSWORD_LENGTH} characters`);
  if (n > MAX_PASSWORD_LENGTH) throw new PasswordPolicyError(`password too long: at most ${MAX_PASSWORD_LENGTH} characters`);
}

function derive(password: string, salt: Buffer, o: { ln: number; r: number; p: number }): Promise<Buffer> {
  const opts: ScryptOptions = { N: 2 ** o.ln, r: o.r, p: o.p, maxmem: MAXMEM };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, KEY_LEN, opts, (e, key) => (e ? reject(e) : resolve(key))));
}

const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');

export async function hashPassword(password: string): Promise<string> {
  checkPasswordPolicy(password);
  const salt = randomBytes(SALT_LEN);
  const key = await derive(password, salt, { ln: SCRYPT_LOG_N, r: SCRYPT_R, p: SCRYPT_P });
  return `$scrypt$ln=${SCRYPT_LOG_N},r=${SCRYPT_R},p=${SCRYPT_P}$${b64(salt)}$${b64(key)}`;
}

/** 16-byte salt, 32-byte key, unpadded base64: anything else (a truncated key would still match its prefix) is no hash */
const HASH_RE = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$/;

interface Parsed { ln: number; r: number; p: number; salt: Buffer; key: Buffer }

function parse(stored: string): Parsed | null {
  const m = HASH_RE.exec(stored);
  if (!m) return null;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // bounds: a damaged or planted row must not make a login allocate gigabytes
  if (ln < 10 || ln > 20 || r < 1 || r > 32 || p < 1 || p > 16) return null;
  return { ln, r, p, salt: Buffer.from(m[4]!, 'base64'), key: Buffer.from(m[5]!, 'base64') };
}

/** A hash of nothing anyone knows, verified against when there is no user or no password (same cost). */
const DUMMY = `$scrypt$ln=${SCRYPT_LOG_N},r=${SCRYPT_R},p=${SCRYPT_P}$${b64(randomBytes(SALT_LEN))}$${b64(randomBytes(KEY_LEN))}`;

/** Whether `password` matches `stored` (null: no hash; the work is done anyway). */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const p = parse(stored ?? DUMMY) ?? parse(DUMMY)!;
  if (password.length > MAX_PASSWORD_LENGTH * 4) return false;
  const key = await derive(password, p.salt, p);
  return timingSafeEqual(key, p.key) && stored !== null && parse(stored) !== null;
}

/** True when the stored hash is weaker than today's parameters (re-hash at the next successful login). */
export function needsRehash(stored: string): boolean {
  const p = parse(stored);
  return !p || p.ln < SCRYPT_LOG_N || p.r < SCRYPT_R || p.p < SCRYPT_P;
}
