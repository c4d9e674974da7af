// The head of an HTTP/1.x request at the start of a TCP payload: method, Host and
// User-Agent (RFC 9112 section 3 request line, section 5 header fields). Only these are
// read: the target (path, query) is never kept, it may carry anything. Pure and total;
// work is linear in the bytes given, values are capped.
const METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'PATCH', 'TRACE'] as const;
export type HttpMethod = (typeof METHODS)[number];

/** request heads longer than this are read as far as this (Host and User-Agent come early) */
export const MAX_HTTP_HEAD = 8192;
const MAX_VALUE = 256;

export interface HttpRequestHead {
  method: HttpMethod;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 */
  minorVersion: number;
  /** the Host header (or the authority of an absolute / CONNECT target), as sent, without port; null without one */
  host: string | null;
  /** the User-Agent header, at most 256 characters, control characters replaced; null without one */
  userAgent: string | null;
}

/** The candidate method for a first byte (a switch, not a search: this runs for every TCP payload). */
function methodFor(c: number, c1: number): HttpMethod | null {
  switch (c) {
    case 0x47: return 'GET';
    case 0x50: return c1 === 0x4f ? 'POST' : c1 === 0x55 ? 'PUT' : c1 === 0x41 ? 'PATCH' : null;
    case 0x48: return 'HEAD';
    case 0x44: return 'DELETE';
    case 0x4f: return 'OPTIONS';
    case 0x43: return 'CONNECT';
    case 0x54: return 'TRACE';
    default: return null;
  }
}

/** Which method the bytes start with (followed by a space), or null: a cheap test for every TCP payload. */
export function httpMethodAt(b: Uint8Array, off: number, len: number): HttpMethod | null {
  if (len < 4) return null;
  const m = methodFor(b[off]!, b[off + 1]!);
  if (m === null || len < m.length + 1 || b[off + m.length] !== 0x20) return null;
  for (let i = 1; i < m.length; i++) if (b[off + i] !== m.charCodeAt(i)) return null;
  return m;
}

function text(b: Uint8Array, from: number, to: number): string {
  while (from < to && (b[from] === 0x20 || b[from] === 0x09)) from++;
  while (to > from && (b[to - 1] === 0x20 || b[to - 1] === 0x09)) to--;
  let s = '';
  for (let i = from; i < to && s.length < MAX_VALUE; i++) {
    const c = b[i]!;
    s += c < 0x20 || c === 0x7f ? '.' : String.fromCharCode(c);
  }
  return s;
}

/** "Example.COM:8080" -> "example.com"; "[2001:db8::1]:80" -> "2001:db8::1". */
export function hostWithoutPort(h: string): string {
  let s = h.toLowerCase();
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    return end > 0 ? s.slice(1, end) : s.slice(1);
  }
  const colon = s.indexOf(':');
  if (colon >= 0 && s.indexOf(':', colon + 1) < 0) s = s.slice(0, colon);
  if (s.endsWith('.')) s = s.slice(0, -1);
  return s;
}

function nameIs(b: Uint8Array, from: number, to: number, lower: string): boolean {
  if (to - from !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let c = b[from + i]!;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

export interface HttpScan {
  /** -1 not an HTTP request, 0 more bytes needed, 1 done */
  status: -1 | 0 | 1;
  request: HttpRequestHead | null;
}

const NO: HttpScan = { status: -1, request: null };
const MORE: HttpScan = { status: 0, request: null };

/**
 * The request head at the start of b[0, len). `final`: no more bytes will come (the caller's
 * buffer is full, or the stream ended): read what the head holds so far.
 */
export function scanHttpRequest(b: Uint8Array, len = b.length, final = false): HttpScan {
  if (len > b.length) len = b.length;
  const method = httpMethodAt(b, 0, len);
  if (method === null) return NO;
  const limit = Math.min(len, MAX_HTTP_HEAD);
  // request line: METHOD SP target SP HTTP/1.x CRLF
  let eol = -1;
  for (let i = method.length + 1; i < limit; i++) {
    const c = b[i]!;
    if (c === 0x0a) { eol = i; break; }
    if (c < 0x20 && c !== 0x0d && c !== 0x09) return NO; // binary: not a request line
  }
  if (eol < 0) return final || limit === MAX_HTTP_HEAD ? NO : MORE;
  const lineEnd = eol > 0 && b[eol - 1] === 0x0d ? eol - 1 : eol;
  // "HTTP/1.x" ends the line
  const v = lineEnd - 8;
  if (v <= method.length + 1 || b[v - 1] !== 0x20 || !nameIs(b, v, v + 7, 'http/1.')) return NO;
  const minor = b[v + 7]! - 0x30;
  if (minor !== 0 && minor !== 1) return NO;
  const req: HttpRequestHead = { method, minorVersion: minor, host: null, userAgent: null };
  // the target: an absolute URI or a CONNECT authority names the host too (RFC 9112 3.2.2, 3.2.3)
  const target = text(b, method.length + 1, v - 1);
  if (method === 'CONNECT') req.host = hostWithoutPort(target);
  else {
    const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@]*@)?([^/?#]*)/i.exec(target);
    if (m && m[2]) req.host = hostWithoutPort(m[2]);
  }
  let line = eol + 1;
  for (;;) {
    let end = -1;
    for (let i = line; i < limit; i++) if (b[i] === 0x0a) { end = i; break; }
    if (end < 0) return final || limit === MAX_HTTP_HEAD ? { status: 1, request: req } : MORE;
    const stop = end > line && b[end - 1] === 0x0d ? end - 1 : end;
    if (stop === line) return { status: 1, request: req }; // empty line: end of the head
    let colon = -1;
    for (let i = line; i < stop; i++) if (b[i] === 0x3a) { colon = i; break; }
    if (colon > line) {
      if (nameIs(b, line, colon, 'host')) { if (req.host === null) req.host = hostWithoutPort(text(b, colon + 1, stop)); }
      else if (nameIs(b, line, colon, 'user-agent')) { if (req.userAgent === null) req.userAgent = text(b, colon + 1, stop); }
    }
    line = end + 1;
  }
}
