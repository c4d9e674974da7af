// A small HTTP route table: method + path pattern ("/v1/orgs/:org/agents/:id/inventory") ->
// route, with the permission each route needs declared beside it (collector/users/roles.ts maps
// roles to permissions). Matching is by path segments; a path that exists under another method
// is a 405 with the methods it allows. A route needing an organisation permission must take the
// organisation from its path (":org"): the table refuses to build otherwise. Pure.
import { MeerkatError } from '../../shared/errors.js';
import { COLLECTOR_PERMISSIONS, ORG_PERMISSIONS, isOrgPermission, type Permission } from '../users/roles.js';

export type { Permission } from '../users/roles.js';

export const PERMISSIONS: readonly Permission[] = [...ORG_PERMISSIONS, ...COLLECTOR_PERMISSIONS];

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** An HTTP answer with a stable reason (operators' API errors are JSON { error: reason, message }). */
export class HttpError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_ADMIN_REQUEST';
  constructor(readonly status: number, readonly reason: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface RouteSpec<H> {
  method: HttpMethod;
  /** segments; ":name" captures one segment */
  path: string;
  permission: Permission;
  handler: H;
}

interface CompiledRoute<H> extends RouteSpec<H> {
  segments: readonly string[];
}

export type RouteMatch<H> = { route: RouteSpec<H>; params: Record<string, string> };

export class RouteTable<H> {
  private readonly routes: CompiledRoute<H>[];

  constructor(specs: readonly RouteSpec<H>[]) {
    this.routes = specs.map((s) => ({ ...s, segments: s.path.split('/').filter(Boolean) }));
    const seen = new Set<string>();
    for (const r of this.routes) {
      if (isOrgPermission(r.permission) && !r.segments.includes(':org')) throw new Error(`route table: ${r.method} ${r.path} needs ${r.permission}, an organisation permission, but names no :org`);
      const key = `${r.method} ${r.segments.map((x) => (x.startsWith(':') ? ':' : x)).join('/')}`;
      if (seen.has(key)) throw new Error(`route table: ${r.method} ${r.path} is declared twice`);
      seen.add(key);
    }
  }

  get specs(): readonly RouteSpec<H>[] {
    return this.routes;
  }

  /**
   * The route for a request, or an HttpError: 404 for an unknown path, 405 for a known path
   * under another method. Every path is also served under the prefix /api (/api/v1/orgs/...,
   * the name of the API beside a web console's pages on the same port).
   */
  match(method: string, pathname: string): RouteMatch<H> {
    const all = pathname.split('/').filter(Boolean);
    const parts = all[0] === API_PREFIX && all[1] === 'v1' ? all.slice(1) : all;
    const allowed: string[] = [];
    for (const r of this.routes) {
      const params = matchSegments(r.segments, parts);
      if (params === null) continue;
      if (r.method === method) return { route: r, params };
      allowed.push(r.method);
    }
    if (allowed.length > 0) throw new HttpError(405, 'method-not-allowed', `${method} is not allowed on ${pathname} (allowed: ${allowed.join(', ')})`, { allow: allowed.join(', ') });
    const m = /^(\/api)?\/v1(\/(agents|commands|audit|pcap|transport|flows|alerts|dns|tls)(\/.*)?)$/.exec(pathname);
    const hint = m ? ` (routes are scoped to an organisation: ${m[1] ?? ''}/v1/orgs/<org>${m[2]})` : '';
    throw new HttpError(404, 'not-found', `no such endpoint ${method} ${pathname}${hint}`);
  }
}

const API_PREFIX = 'api';

function matchSegments(pattern: readonly string[], parts: readonly string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(':')) params[p.slice(1)] = decodeSegment(parts[i]!);
    else if (p !== parts[i]) return null;
  }
  return params;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, 'bad-path', `path segment ${JSON.stringify(s.slice(0, 64))} is not valid percent-encoding`);
  }
}
