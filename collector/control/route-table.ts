// A small HTTP route table: method + path pattern ("/v1/agents/:id/inventory") -> route,
// with the permission each route needs declared beside it. Matching is by path segments;
// a path that exists under another method is a 405 with the methods it allows. Pure.
import { MeerkatError } from '../../shared/errors.js';

/** What an operator may do; each route names the one it needs (roles will map to sets of these). */
export type Permission = 'identity:read' | 'agents:read' | 'inventory:read' | 'commands:read' | 'commands:submit' | 'audit:read' | 'pcap:export'
  | 'flows:read' | 'alerts:read' | 'alerts:write';

export const PERMISSIONS: readonly Permission[] = ['identity:read', 'agents:read', 'inventory:read', 'commands:read', 'commands:submit', 'audit:read', 'pcap:export', 'flows:read', 'alerts:read', 'alerts:write'];

export type HttpMethod = 'GET' | 'POST';

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
      const key = `${r.method} ${r.segments.map((x) => (x.startsWith(':') ? ':' : x)).join('/')}`;
      if (seen.has(key)) throw new Error(`route table: ${r.method} ${r.path} is declared twice`);
      seen.add(key);
    }
  }

  get specs(): readonly RouteSpec<H>[] {
    return this.routes;
  }

  /** The route for a request, or an HttpError: 404 for an unknown path, 405 for a known path under another method. */
  match(method: string, pathname: string): RouteMatch<H> {
    const parts = pathname.split('/').filter(Boolean);
    const allowed: string[] = [];
    for (const r of this.routes) {
      const params = matchSegments(r.segments, parts);
      if (params === null) continue;
      if (r.method === method) return { route: r, params };
      allowed.push(r.method);
    }
    if (allowed.length > 0) throw new HttpError(405, 'method-not-allowed', `${method} is not allowed on ${pathname} (allowed: ${allowed.join(', ')})`, { allow: allowed.join(', ') });
    throw new HttpError(404, 'not-found', `no such endpoint ${method} ${pathname}`);
  }
}

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
