// The console's calls to the collector: same-origin fetch with the session cookie (set
// HttpOnly by the server, never visible here) and the session's CSRF token on every request
// that changes something. A 401 means the session ended: the app goes back to the login.
import { MeerkatError } from '../../../shared/errors.js';

export interface Membership { org: string; role: 'viewer' | 'responder' | 'admin'; name: string; state: string }
export interface Session { user: string; collectorAdmin: boolean; csrf: string; expiresAt: string; memberships: Membership[] }

/** The collector answered a call of the page with an error status (its `reason` and message shown as they are). */
export class ApiError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_CONSOLE_API';
  constructor(readonly status: number, readonly reason: string, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrf = '';
let onLoggedOut: () => void = () => undefined;

export function setSessionHooks(token: string, loggedOut: () => void): void {
  csrf = token;
  onLoggedOut = loggedOut;
}

export async function call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, credentials: 'same-origin', cache: 'no-store', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  let data: unknown = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) {
    const d = (data ?? {}) as { error?: string; message?: string };
    if (res.status === 401 && path !== '/v1/session') onLoggedOut();
    throw new ApiError(res.status, d.error ?? 'error', d.message ?? `HTTP ${res.status}`);
  }
  return data as T;
}

export const get = <T>(path: string): Promise<T> => call<T>('GET', path);

export function orgPath(org: string, rest: string): string {
  return `/v1/orgs/${encodeURIComponent(org)}${rest}`;
}

export function login(user: string, password: string): Promise<Session> {
  return call<Session>('POST', '/v1/session', { user, password });
}

export function currentSession(): Promise<Session> {
  return get<Session>('/v1/session');
}

export function logout(): Promise<unknown> {
  return call('DELETE', '/v1/session');
}
