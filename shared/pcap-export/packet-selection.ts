// Which packet records an export takes: one agent, a time window, and optionally a peer (address
// or CIDR on either side, as records carry it: pseudonyms for internal hosts), a port (either
// side) and/or one flow's tuple (from a stored flow record: its uid or its Community ID). Also
// the flow-record lookup that turns --flow / --community-id into a tuple and a time window.
// Pure.
import { InputError } from '../errors.js';
import { cidrContains, parseCidr, parseIp, type Cidr } from '../net/ip-address.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, RecordFlag, type PacketRecord } from '../packet/packet-record.js';
import type { FlowRecord } from '../flow/flow-record.js';

/** Both endpoints of one flow, as the flow record names them. */
export interface FlowTuple {
  ipVersion: number;
  ipProto: number;
  /** originator / responder addresses (text as records carry them) and ports */
  origAddr: string;
  origPort: number;
  respAddr: string;
  respPort: number;
  origAnon: boolean;
  respAnon: boolean;
  vlan: number;
}

export interface PacketSelection {
  agentId: string;
  /** µs since the epoch, inclusive */
  sinceUs: number;
  untilUs: number;
  /** address or CIDR on either side (canonical text) */
  peer?: string;
  /** port on either side */
  port?: number;
  /** only packets of these flow tuples (one or more records of one flow / Community ID) */
  flows?: FlowTuple[];
}

export class SelectionError extends InputError {
  readonly code = 'MEERKAT_ERR_PACKET_SELECTION';
  constructor(message: string) {
    super(message);
    this.name = 'SelectionError';
  }
}

interface CompiledFlow {
  version: number;
  proto: number;
  a: Uint8Array;
  aPort: number;
  aAnon: boolean;
  b: Uint8Array;
  bPort: number;
  bAnon: boolean;
  vlan: number;
  icmp: boolean;
}

function sameAddr(x: Uint8Array, y: Uint8Array, len: number): boolean {
  for (let i = 0; i < len; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** The record test of a selection (time, agent are checked by the caller's dump choice too). */
export class RecordFilter {
  private readonly peer: Cidr | null;
  private readonly flows: CompiledFlow[];

  constructor(readonly sel: PacketSelection) {
    if (!(sel.sinceUs <= sel.untilUs)) throw new SelectionError(`the time window is empty (since ${sel.sinceUs} is after until ${sel.untilUs})`);
    try {
      this.peer = sel.peer !== undefined ? parseCidr(sel.peer) : null;
    } catch {
      throw new SelectionError(`peer must be an IPv4/IPv6 address or CIDR, got ${JSON.stringify(sel.peer)}`);
    }
    this.flows = (sel.flows ?? []).map((f) => ({
      version: f.ipVersion,
      proto: f.ipProto,
      a: parseIp(f.origAddr).bytes,
      aPort: f.origPort,
      aAnon: f.origAnon,
      b: parseIp(f.respAddr).bytes,
      bPort: f.respPort,
      bAnon: f.respAnon,
      vlan: f.vlan,
      icmp: f.ipProto === IPPROTO_ICMP || f.ipProto === IPPROTO_ICMPV6,
    }));
  }

  matches(r: PacketRecord): boolean {
    const ts = r.tsUs;
    if (ts < this.sel.sinceUs || ts > this.sel.untilUs) return false;
    const p = this.peer;
    if (p !== null && !cidrContains(p, r.ipVersion, r.src) && !cidrContains(p, r.ipVersion, r.dst)) return false;
    const port = this.sel.port;
    if (port !== undefined && r.sport !== port && r.dport !== port) return false;
    if (this.flows.length > 0 && !this.inFlow(r)) return false;
    return true;
  }

  private inFlow(r: PacketRecord): boolean {
    const srcAnon = (r.flags & RecordFlag.SrcAnon) !== 0;
    const dstAnon = (r.flags & RecordFlag.DstAnon) !== 0;
    for (const f of this.flows) {
      if (f.version !== r.ipVersion || f.proto !== r.proto || f.vlan !== r.vlan) continue;
      const len = f.version === 4 ? 4 : 16;
      // ICMP "ports" are message types paired by the flow engine: addresses decide
      const fwd = sameAddr(f.a, r.src, len) && sameAddr(f.b, r.dst, len) && f.aAnon === srcAnon && f.bAnon === dstAnon &&
        (f.icmp || (f.aPort === r.sport && f.bPort === r.dport));
      if (fwd) return true;
      const rev = sameAddr(f.b, r.src, len) && sameAddr(f.a, r.dst, len) && f.bAnon === srcAnon && f.aAnon === dstAnon &&
        (f.icmp || (f.bPort === r.sport && f.aPort === r.dport));
      if (rev) return true;
    }
    return false;
  }
}

export function flowTupleOf(r: FlowRecord): FlowTuple {
  return {
    ipVersion: r.ip_version, ipProto: r.ip_proto,
    origAddr: r.orig_addr, origPort: r.orig_port, respAddr: r.resp_addr, respPort: r.resp_port,
    origAnon: r.orig_anon, respAnon: r.resp_anon, vlan: r.vlan,
  };
}

/**
 * The tuples and time span of the flow records found for --flow / --community-id (all records
 * of the uid, or of the Community ID within the agent). Throws when none was found.
 */
export function flowScope(records: readonly FlowRecord[], what: string): { agentId: string; flows: FlowTuple[]; sinceUs: number; untilUs: number } {
  if (records.length === 0) throw new SelectionError(`no flow record for ${what}`);
  const agents = new Set(records.map((r) => r.agent_id));
  if (agents.size > 1) throw new SelectionError(`${what} names flows of ${agents.size} agents; give --agent`);
  const seen = new Map<string, FlowTuple>();
  let since = Infinity;
  let until = -Infinity;
  for (const r of records) {
    const t = flowTupleOf(r);
    seen.set(JSON.stringify(t), t);
    if (r.start < since) since = r.start;
    if (r.end > until) until = r.end;
  }
  return { agentId: records[0]!.agent_id, flows: [...seen.values()], sinceUs: since, untilUs: until };
}
