// The DNS / TLS log filter from text options, as `meerkat dns|tls` flags and the admin API's
// GET /v1/dns and /v1/tls query parameters give them (one grammar for both). Throws
// UsageError (an InputError: exit 2 on the CLI, 400 on the API) naming what is wrong. Pure.
import { UsageError } from '../cli/run-cli.js';
import { parseTimeOption } from '../cli/time-option.js';
import { formatIp, parseIp } from '../net/ip-address.js';
import { dnsRcodeName } from '../appmeta/protocol-names.js';
import type { AppLogFilter } from './flow-store.js';

export interface AppLogOptions {
  agent?: string;
  addr?: string;
  name?: string;
  nameSuffix?: string;
  uid?: string;
  since?: string;
  until?: string;
  rcode?: string;
  ja4?: string;
  limit?: number;
}

/** rcode by number or name (NXDOMAIN, nxdomain, 3). */
function parseRcode(text: string): number {
  if (/^\d{1,4}$/.test(text) && Number(text) < 4096) return Number(text);
  for (let r = 0; r < 24; r++) if (dnsRcodeName(r) === text.toUpperCase()) return r;
  throw new UsageError(`rcode must be a DNS response code (NOERROR, NXDOMAIN, SERVFAIL, ... or a number < 4096), got ${JSON.stringify(text)}`);
}

function parseAddr(text: string): string {
  try {
    const a = parseIp(text);
    return formatIp(a.version, a.bytes);
  } catch {
    throw new UsageError(`addr must be an IPv4 or IPv6 address, got ${JSON.stringify(text)}`);
  }
}

export function appLogFilterFrom(o: AppLogOptions, nowMs = Date.now()): AppLogFilter {
  const f: AppLogFilter = {};
  if (o.agent !== undefined) f.agentId = o.agent;
  if (o.addr !== undefined) f.addr = parseAddr(o.addr);
  if (o.name !== undefined && o.nameSuffix !== undefined) throw new UsageError('give name or name-suffix, not both');
  if (o.name !== undefined) f.name = o.name;
  if (o.nameSuffix !== undefined) { f.name = o.nameSuffix; f.nameSuffix = true; }
  if (o.uid !== undefined) f.uid = o.uid;
  if (o.since !== undefined) f.since = parseTimeOption('since', o.since, nowMs);
  if (o.until !== undefined) f.until = parseTimeOption('until', o.until, nowMs);
  if (o.rcode !== undefined) f.rcode = parseRcode(o.rcode);
  if (o.ja4 !== undefined) f.ja4 = o.ja4;
  if (o.limit !== undefined) f.limit = o.limit;
  return f;
}
