// The web console's credential on the operators' API: the session cookie. A request with the
// cookie is the session's user (the same principal as their certificate would be: one place,
// UserStore.principal, decides what they may do). A request that changes something (any method
// but GET/HEAD) must also carry the session's CSRF token in the X-CSRF-Token header and, when
// the browser says where it comes from, an Origin of this server: another site's page can make
// the browser send the cookie (SameSite=Strict already stops most of that), never the token.
// A request without the cookie is left to the next authenticator (operator certificates).
import type { IncomingMessage } from 'node:http';
import type { Authenticator } from '../control/admin-api.js';
import type { UserStore } from '../users/user-store.js';
import { csrfMatches, type LiveSession, type SessionStore } from './session-store.js';

export const SESSION_COOKIE = 'meerkat_session';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** The value of one cookie of the request (first wins), or undefined. */
export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Whether the request's Origin (when the browser sent one) is this server. */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = req.headers.host;
  return host !== undefined && origin === `https://${host}`;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The live session of the request's cookie, or null. */
export function sessionOf(req: IncomingMessage, sessions: SessionStore, users: UserStore): { token: string; session: LiveSession } | null {
  const token = cookieValue(req, SESSION_COOKIE);
  if (token === undefined) return null;
  const session = sessions.resolve(token, (u) => users.principal(u)?.credentialsChangedAt ?? null);
  return session ? { token, session } : null;
}

export function sessionAuthenticator(sessions: SessionStore, users: UserStore): Authenticator {
  return (req) => {
    if (cookieValue(req, SESSION_COOKIE) === undefined) return null;
    const s = sessionOf(req, sessions, users);
    if (!s) return { ok: false, status: 401, reason: 'the console session has ended (logged out, expired, or the password changed): log in again', actor: 'anonymous' };
    const actor = `user:${s.session.user}`;
    const principal = users.principal(s.session.user);
    if (!principal) return { ok: false, status: 401, reason: `user ${s.session.user} is disabled or gone`, actor };
    if (!SAFE_METHODS.has(req.method ?? 'GET')) {
      if (!csrfMatches(s.token, header(req, CSRF_HEADER))) return { ok: false, status: 403, reason: `CSRF check failed: a console request that changes something must carry the session's ${CSRF_HEADER} header`, actor };
      if (!sameOrigin(req)) return { ok: false, status: 403, reason: 'CSRF check failed: the request comes from another origin', actor };
    }
    return { ok: true, principal, actor, serial: '' };
  };
}
