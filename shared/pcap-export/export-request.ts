// An export request as the console and the operators' API exchange it (query string of
// GET /v1/pcap), and its resolution into a PacketSelection: a flow uid or Community ID is looked
// up in the flow records (their tuples, and their time span unless since/until narrow it).
// Pure apart from the lookup the caller passes in.
import type { FlowRecord } from '../flow/flow-record.js';
import { canonicalAddressOrCidr, PeerRefError } from '../commands/peer-ref.js';
import { flowScope, SelectionError, type PacketSelection } from './packet-selection.js';

export type ExportFormat = 'pcapng' | 'dump';

/** HTTP trailer of an export answer: its summary as JSON (absent when the stream was cut short). */
export const EXPORT_TRAILER = 'x-meerkat-export';

export interface ExportRequest {
  agentId?: string;
  /** µs since the epoch */
  sinceUs?: number;
  untilUs?: number;
  /** address or CIDR as records carry it ("*" of a pseudonym allowed) */
  peer?: string;
  port?: number;
  flowUid?: string;
  communityId?: string;
  format: ExportFormat;
  maxPackets?: number;
}

const AGENT_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// engine uids are "F" + 8 base64url characters + "." + a counter (collector/flow/flow-engine.ts)
const UID_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const COMMUNITY_RE = /^1:[A-Za-z0-9+/]{27}=$/;

export function exportRequestToQuery(r: ExportRequest): string {
  const q = new URLSearchParams();
  if (r.agentId) q.set('agent', r.agentId);
  if (r.sinceUs !== undefined) q.set('since', String(r.sinceUs));
  if (r.untilUs !== undefined) q.set('until', String(r.untilUs));
  if (r.peer) q.set('peer', r.peer);
  if (r.port !== undefined) q.set('port', String(r.port));
  if (r.flowUid) q.set('flow', r.flowUid);
  if (r.communityId) q.set('community', r.communityId);
  if (r.maxPackets !== undefined) q.set('max-packets', String(r.maxPackets));
  q.set('format', r.format);
  return q.toString();
}

function intOf(q: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (!/^\d{1,16}$/.test(v) || Number(v) < min || Number(v) > max) throw new SelectionError(`${name} must be a whole number ${min}..${max}, got ${JSON.stringify(v.slice(0, 40))}`);
  return Number(v);
}

const KNOWN = new Set(['agent', 'since', 'until', 'peer', 'port', 'flow', 'community', 'format', 'max-packets']);

/** @throws SelectionError naming the bad parameter */
export function exportRequestFromQuery(q: URLSearchParams, maxPacketsLimit: number): ExportRequest {
  for (const k of q.keys()) if (!KNOWN.has(k)) throw new SelectionError(`unknown parameter ${JSON.stringify(k.slice(0, 40))} (known: ${[...KNOWN].join(', ')})`);
  const agent = q.get('agent') ?? undefined;
  if (agent !== undefined && !AGENT_RE.test(agent)) throw new SelectionError('agent must be an agent id (lower-case UUID)');
  const format = q.get('format') ?? 'pcapng';
  if (format !== 'pcapng' && format !== 'dump') throw new SelectionError('format must be pcapng or dump');
  const r: ExportRequest = { format };
  if (agent) r.agentId = agent;
  const since = intOf(q, 'since', 0, Number.MAX_SAFE_INTEGER);
  const until = intOf(q, 'until', 0, Number.MAX_SAFE_INTEGER);
  if (since !== undefined) r.sinceUs = since;
  if (until !== undefined) r.untilUs = until;
  const peer = q.get('peer');
  if (peer !== null) r.peer = peerText(peer);
  const port = intOf(q, 'port', 0, 65535);
  if (port !== undefined) r.port = port;
  const flow = q.get('flow');
  if (flow !== null) {
    if (!UID_RE.test(flow)) throw new SelectionError('flow must be a flow uid as `meerkat flows` prints it');
    r.flowUid = flow;
  }
  const community = q.get('community');
  if (community !== null) {
    if (!COMMUNITY_RE.test(community)) throw new SelectionError('community must be a Community ID v1 ("1:" + 28 base64 characters)');
    r.communityId = community;
  }
  const mp = intOf(q, 'max-packets', 1, maxPacketsLimit);
  if (mp !== undefined) r.maxPackets = mp;
  return r;
}

/** A peer as records carry it: address or CIDR, canonical, "*" of a pseudonym dropped. */
export function peerText(text: string): string {
  const t = text.trim();
  try {
    return canonicalAddressOrCidr(t.endsWith('*') ? t.slice(0, -1) : t, 'peer');
  } catch (e) {
    if (e instanceof PeerRefError) throw new SelectionError(e.message);
    throw e;
  }
}

export interface FlowLookup {
  (q: { uid?: string; communityId?: string; agentId?: string }): FlowRecord[];
}

/** The selection a request names. @throws SelectionError */
export function resolveSelection(r: ExportRequest, lookup: FlowLookup): PacketSelection {
  if (r.flowUid !== undefined && r.communityId !== undefined) throw new SelectionError('give a flow uid or a Community ID, not both');
  let agentId = r.agentId;
  let since = r.sinceUs;
  let until = r.untilUs;
  const sel: Partial<PacketSelection> = {};
  if (r.flowUid !== undefined || r.communityId !== undefined) {
    const what = r.flowUid !== undefined ? `flow ${r.flowUid}` : `Community ID ${r.communityId}`;
    const recs = lookup({ ...(r.flowUid ? { uid: r.flowUid } : {}), ...(r.communityId ? { communityId: r.communityId } : {}), ...(agentId ? { agentId } : {}) });
    const scope = flowScope(recs, what);
    if (agentId !== undefined && agentId !== scope.agentId) throw new SelectionError(`${what} belongs to agent ${scope.agentId}, not ${agentId}`);
    agentId = scope.agentId;
    since = Math.max(since ?? scope.sinceUs, scope.sinceUs);
    until = Math.min(until ?? scope.untilUs, scope.untilUs);
    sel.flows = scope.flows;
  }
  if (agentId === undefined) throw new SelectionError('name the agent (or a flow, which names it)');
  if (since === undefined || until === undefined) throw new SelectionError('give the time window: since and until (or a flow)');
  if (since > until) throw new SelectionError(`since (${since}) is after until (${until})`);
  return { ...sel, agentId, sinceUs: since, untilUs: until, ...(r.peer ? { peer: r.peer } : {}), ...(r.port !== undefined ? { port: r.port } : {}) };
}
