// The query of `GET /v1/flows` and `GET /v1/flows/summary` (docs/api.md): its parameters as
// text, parsed and checked the same way by the collector's API and by `meerkat flows --db`
// (the console reading a database itself), so both find the same records. Pure.
//   agent=UUID  addr=ADDR|CIDR[*]  port=N  proto=NAME  state=S0|SF|...  since=T  until=T
//   community=1:...  uid=...  name=DNS-NAME | nameSuffix=DOMAIN  limit=N (1..10000, default 100)  cursor=...  top=N (summary)
// Times are ISO 8601 text or integer microseconds since the epoch. An address ending in "*"
// (as tables print pseudonyms) matches only sides that are pseudonyms.
import { InputError } from '../errors.js';
import { AGENT_ID_RE } from '../commands/command-schema.js';
import { PeerRefError, parsePeerRef } from '../commands/peer-ref.js';
import { CONN_STATES, type ConnState } from '../flow/flow-record.js';
import type { FlowFilter } from './flow-store.js';

export const DEFAULT_FLOW_LIMIT = 100;
export const MAX_FLOW_LIMIT = 10_000;
export const DEFAULT_SUMMARY_TOP = 10;
export const MAX_SUMMARY_TOP = 1000;
/** a summary without `since` covers this much time before `until` (or now) */
export const DEFAULT_SUMMARY_SPAN_US = 3_600_000_000;

/** A query parameter that cannot be used (the API answers 400 bad-query, the CLI exits 2). */
export class QueryError extends InputError {
  readonly code = 'MEERKAT_ERR_QUERY';
  constructor(readonly param: string, message: string) {
    super(`${param}: ${message}`);
    this.name = 'QueryError';
  }
}

export interface FlowQuery {
  filter: FlowFilter;
  limit: number;
  cursor: string | null;
}

export interface SummaryQuery {
  filter: FlowFilter & { since: number; until: number };
  top: number;
}

const PARAMS = ['agent', 'addr', 'port', 'proto', 'state', 'since', 'until', 'community', 'uid', 'name', 'nameSuffix', 'limit', 'cursor', 'top'] as const;

/** ISO 8601 text or integer µs since the epoch. */
export function parseTimeParam(name: string, text: string): number {
  const t = text.trim();
  if (/^\d{1,16}$/.test(t)) return Number(t);
  const ms = Date.parse(t);
  if (!/^\d{4}-\d{2}-\d{2}/.test(t) || Number.isNaN(ms)) throw new QueryError(name, `expected an ISO 8601 time or microseconds since the epoch, got ${JSON.stringify(text.slice(0, 40))}`);
  return ms * 1000;
}

function intParam(p: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const v = p.get(name);
  if (v === null) return undefined;
  if (!/^\d{1,9}$/.test(v) || Number(v) < min || Number(v) > max) throw new QueryError(name, `expected a whole number ${min}..${max}, got ${JSON.stringify(v.slice(0, 20))}`);
  return Number(v);
}

function filterOf(p: URLSearchParams): FlowFilter {
  for (const k of p.keys()) if (!(PARAMS as readonly string[]).includes(k)) throw new QueryError(k, `unknown parameter; the parameters are ${PARAMS.join(', ')}`);
  const f: FlowFilter = {};
  const agent = p.get('agent');
  if (agent !== null) {
    if (!AGENT_ID_RE.test(agent)) throw new QueryError('agent', 'expected an agent id (a lower-case UUID)');
    f.agentId = agent;
  }
  const addr = p.get('addr');
  if (addr !== null) {
    try {
      const ref = parsePeerRef(addr, 'addr');
      f.addr = ref.address;
      if (ref.pseudonym) f.addrPseudonym = true;
    } catch (e) {
      if (e instanceof PeerRefError) throw new QueryError('addr', 'expected an address or CIDR prefix, with a trailing * for a pseudonym (10.77.3.9*, 10.77.0.0/16*, 198.51.100.7)');
      throw e;
    }
  }
  const port = intParam(p, 'port', 0, 65535);
  if (port !== undefined) f.port = port;
  const proto = p.get('proto');
  if (proto !== null) {
    if (!/^[a-z0-9-]{1,16}$/i.test(proto)) throw new QueryError('proto', 'expected a protocol name (tcp, udp, icmp, ...)');
    f.proto = proto.toLowerCase();
  }
  const state = p.get('state');
  if (state !== null) {
    const s = state.toUpperCase();
    if (!(CONN_STATES as readonly string[]).includes(s)) throw new QueryError('state', `expected one of ${CONN_STATES.join(', ')}`);
    f.state = s as ConnState;
  }
  const since = p.get('since');
  if (since !== null) f.since = parseTimeParam('since', since);
  const until = p.get('until');
  if (until !== null) f.until = parseTimeParam('until', until);
  if (f.since !== undefined && f.until !== undefined && f.until < f.since) throw new QueryError('until', 'is before since');
  const community = p.get('community');
  if (community !== null) {
    if (!/^1:[A-Za-z0-9+/]{27}=$/.test(community)) throw new QueryError('community', 'expected a Community ID v1 ("1:" and 28 base64 characters)');
    f.communityId = community;
  }
  const uid = p.get('uid');
  if (uid !== null) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(uid)) throw new QueryError('uid', 'expected a flow uid');
    f.uid = uid;
  }
  const name = p.get('name');
  const nameSuffix = p.get('nameSuffix');
  if (name !== null && nameSuffix !== null) throw new QueryError('nameSuffix', 'give name or nameSuffix, not both');
  const n = name ?? nameSuffix;
  if (n !== null) {
    // a DNS name as stored: labels of letters, digits, '-', '_', '*' (a pseudonym token is one such label)
    if (n.length === 0 || n.length > 253 || !/^[A-Za-z0-9_*.-]+$/.test(n)) throw new QueryError(name !== null ? 'name' : 'nameSuffix', 'expected a DNS name (example.com)');
    f.name = n;
    if (nameSuffix !== null) f.nameSuffix = true;
  }
  return f;
}

export function flowQueryFromParams(p: URLSearchParams): FlowQuery {
  const filter = filterOf(p);
  if (p.has('top')) throw new QueryError('top', 'is a parameter of /v1/flows/summary');
  const cursor = p.get('cursor');
  if (cursor !== null && !/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw new QueryError('cursor', 'expected the "next" value of the previous page');
  return { filter, limit: intParam(p, 'limit', 1, MAX_FLOW_LIMIT) ?? DEFAULT_FLOW_LIMIT, cursor };
}

export function summaryQueryFromParams(p: URLSearchParams, nowUs: number): SummaryQuery {
  const filter = filterOf(p);
  for (const k of ['limit', 'cursor']) if (p.has(k)) throw new QueryError(k, 'is a parameter of /v1/flows (a summary takes top)');
  const until = filter.until ?? nowUs;
  const since = filter.since ?? until - DEFAULT_SUMMARY_SPAN_US;
  return { filter: { ...filter, since, until }, top: intParam(p, 'top', 1, MAX_SUMMARY_TOP) ?? DEFAULT_SUMMARY_TOP };
}
