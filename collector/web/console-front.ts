// The web console's front on the operators' API port: its pages (the built bundle, read from
// disk once at start) and its login, logout and session endpoints (/v1/session), answered
// before the API's route table; everything else under /v1/ is the API's. Pages get a strict
// Content-Security-Policy (scripts and styles from this server only, no inline script, no
// framing) and the other security headers. Logins are throttled (login-throttle.ts) and
// audited in the collector audit, refused ones included.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FrontHandler } from '../control/admin-api.js';
import type { CollectorAudit } from '../orgs/collector-audit.js';
import type { OrgRegistry } from '../orgs/org-registry.js';
import type { UserStore } from '../users/user-store.js';
import type { Principal } from '../users/roles.js';
import type { Logger } from '../../shared/log.js';
import { LoginThrottle } from './login-throttle.js';
import { SessionStore } from './session-store.js';
import { CSRF_HEADER, SESSION_COOKIE, sameOrigin, sessionOf } from './session-auth.js';
import { csrfMatches } from './session-store.js';

/** set by the collector bundle (scripts/bundle-collector.mjs): the console bundle's place relative to the bundle's folder */
declare const MEERKAT_BUNDLED_CONSOLE_ASSETS: string | undefined;

/**
 * Where the build puts the console bundle (dist/console-web, beside dist/collector and
 * dist/collector-bundle): files read, not a module imported.
 */
export const DEFAULT_ASSETS_DIR = typeof MEERKAT_BUNDLED_CONSOLE_ASSETS === 'string'
  ? join(dirname(fileURLToPath(import.meta.url)), MEERKAT_BUNDLED_CONSOLE_ASSETS)
  : join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'console-web');

export const PAGE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "font-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.map': 'application/json',
};

interface Asset { body: Buffer; type: string; etag: string }

/** The bundle's files by URL path ("/", "/assets/app.js"); empty when the console was not built. */
export function loadAssets(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  const add = (urlPath: string, file: string): void => {
    const body = readFileSync(file);
    out.set(urlPath, { body, type: TYPES[extname(file)] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  };
  if (!existsSync(join(dir, 'index.html'))) return out;
  add('/', join(dir, 'index.html'));
  const assets = join(dir, 'assets');
  if (existsSync(assets)) {
    for (const name of readdirSync(assets)) {
      if (/^[A-Za-z0-9._-]+$/.test(name) && statSync(join(assets, name)).isFile()) add(`/assets/${name}`, join(assets, name));
    }
  }
  return out;
}

export interface ConsoleFrontDeps {
  users: UserStore;
  orgs: OrgRegistry;
  sessions: SessionStore;
  throttle: LoginThrottle;
  audit: CollectorAudit;
  log: Logger;
  assetsDir?: string;
}

const MAX_LOGIN_BODY = 8 * 1024;

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): true {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body));
  return true;
}

function readSmallBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (d: Buffer) => {
      n += d.length;
      if (n > MAX_LOGIN_BODY) { resolve(null); req.destroy(); return; }
      parts.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function cookie(token: string, maxAgeS: number): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${maxAgeS}`;
}

function clientOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/** What the page learns about the signed-in user: name, role per organisation, the CSRF token. */
function sessionView(p: Principal, orgs: OrgRegistry, csrf: string, expiresAt: number): Record<string, unknown> {
  return {
    user: p.user,
    collectorAdmin: p.collectorAdmin,
    csrf,
    expiresAt: new Date(expiresAt).toISOString(),
    memberships: [...p.roles].sort(([a], [b]) => a.localeCompare(b)).map(([org, role]) => {
      const rec = orgs.get(org);
      return { org, role, name: rec?.name ?? org, state: rec?.state ?? 'unknown' };
    }),
  };
}

export function consoleFront(d: ConsoleFrontDeps): FrontHandler {
  const assets = loadAssets(d.assetsDir ?? DEFAULT_ASSETS_DIR);
  if (assets.size === 0) d.log.warn({ dir: d.assetsDir ?? DEFAULT_ASSETS_DIR }, 'web console assets not found (npm run build): the console page answers 503');
  const purge = setInterval(() => { try { d.sessions.purge(); } catch { /* next time */ } }, 10 * 60_000);
  purge.unref();

  async function login(req: IncomingMessage, res: ServerResponse): Promise<true> {
    // a cross-site form cannot send JSON without a preflight this server never answers
    if (!(req.headers['content-type'] ?? '').startsWith('application/json') || !sameOrigin(req)) {
      return json(res, 400, { error: 'bad-login', message: 'login: POST JSON {"user","password"} from the console page' });
    }
    const text = await readSmallBody(req);
    let body: { user?: unknown; password?: unknown } = {};
    try { body = JSON.parse(text ?? '') as typeof body; } catch { /* below */ }
    if (typeof body?.user !== 'string' || typeof body.password !== 'string' || body.user.length === 0 || body.user.length > 64) {
      return json(res, 400, { error: 'bad-login', message: 'login: POST JSON {"user","password"}' });
    }
    const user = body.user;
    const client = clientOf(req);
    const verdict = d.throttle.check(user, client);
    if (!verdict.ok) {
      d.audit.record({ actor: `unauthenticated:${user}`, action: 'console.login', org: null, outcome: `refused:${verdict.reason}`, detail: { client } });
      const s = Math.ceil(verdict.retryAfterMs / 1000);
      return json(res, 429, { error: verdict.reason, message: verdict.reason === 'user-locked' ? `too many failed logins for this user: locked, try again in ${s} s` : `too many failed logins from this address: try again in ${s} s`, retryAfterS: s }, { 'retry-after': String(s) });
    }
    const p = await d.users.verifyLogin(user, body.password);
    if (!p) {
      d.throttle.failed(user, client);
      d.audit.record({ actor: `unauthenticated:${user}`, action: 'console.login', org: null, outcome: 'refused:bad-credentials', detail: { client } });
      d.log.warn({ user, client }, 'console login refused');
      return json(res, 401, { error: 'bad-credentials', message: 'wrong user name or password' });
    }
    d.throttle.succeeded(user);
    const s = d.sessions.create(p.user, `${client} ${String(req.headers['user-agent'] ?? '').slice(0, 200)}`);
    d.audit.record({ actor: `user:${p.user}`, action: 'console.login', org: null, outcome: 'ok', detail: { client } });
    d.log.info({ user: p.user, client }, 'console login');
    return json(res, 200, sessionView(p, d.orgs, s.csrf, s.expiresAt), { 'set-cookie': cookie(s.token, Math.floor(d.sessions.policy.absoluteMs / 1000)) });
  }

  function current(req: IncomingMessage, res: ServerResponse): true {
    const s = sessionOf(req, d.sessions, d.users);
    const p = s ? d.users.principal(s.session.user) : null;
    if (!s || !p) return json(res, 401, { error: 'no-session', message: 'not logged in' });
    return json(res, 200, sessionView(p, d.orgs, s.session.csrf, s.session.expiresAt));
  }

  function logout(req: IncomingMessage, res: ServerResponse): true {
    const s = sessionOf(req, d.sessions, d.users);
    if (!s) return json(res, 401, { error: 'no-session', message: 'not logged in' }, { 'set-cookie': cookie('', 0) });
    const given = req.headers[CSRF_HEADER];
    if (!csrfMatches(s.token, Array.isArray(given) ? given[0] : given) || !sameOrigin(req)) {
      d.audit.record({ actor: `user:${s.session.user}`, action: 'console.logout', org: null, outcome: 'refused:csrf', detail: { client: clientOf(req) } });
      return json(res, 403, { error: 'unauthorized', message: `CSRF check failed: logout must carry the session's ${CSRF_HEADER} header` });
    }
    d.sessions.end(s.token);
    d.audit.record({ actor: `user:${s.session.user}`, action: 'console.logout', org: null, outcome: 'ok', detail: { client: clientOf(req) } });
    return json(res, 200, { loggedOut: true }, { 'set-cookie': cookie('', 0) });
  }

  function page(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const a = assets.get(path === '/index.html' ? '/' : path);
    const headers = { 'content-security-policy': PAGE_CSP, 'cross-origin-opener-policy': 'same-origin', 'permissions-policy': 'camera=(), microphone=(), geolocation=()' };
    if (!a) {
      if (path !== '/' && path !== '/index.html') return false;
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end('The web console was not built with this collector (npm run build).\n');
      return true;
    }
    if (req.headers['if-none-match'] === a.etag) {
      res.writeHead(304, { etag: a.etag, ...headers }).end();
      return true;
    }
    res.writeHead(200, { 'content-type': a.type, etag: a.etag, 'cache-control': path === '/' ? 'no-cache' : 'max-age=300', ...headers });
    res.end(req.method === 'HEAD' ? undefined : a.body);
    return true;
  }

  return async (req, res, url) => {
    const path = url.pathname;
    if (path === '/v1/session') {
      if (req.method === 'POST') return login(req, res);
      if (req.method === 'GET') return current(req, res);
      if (req.method === 'DELETE') return logout(req, res);
      return json(res, 405, { error: 'method-not-allowed', message: 'GET, POST or DELETE /v1/session' }, { allow: 'GET, POST, DELETE' });
    }
    if (path.startsWith('/v1/')) return false;
    return page(req, res, path);
  };
}
