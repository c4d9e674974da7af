// Port/protocol text as the policies write it (pure):
//   "443"        that port, TCP or UDP
//   "tcp/443"    that port over TCP
//   "udp/5000-5100"  a range
//   "icmp"       a whole protocol (any port)
// and a compiled matcher that answers per flow with one Map lookup.
import { InputError } from '../../shared/errors.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../../shared/packet/packet-record.js';

export class PortSpecError extends InputError {
  readonly code = 'MEERKAT_ERR_PORT_SPEC';
  constructor(text: string) {
    super(`not a port spec: ${JSON.stringify(text)} (expected e.g. 443, tcp/443, udp/5000-5100, icmp)`);
    this.name = 'PortSpecError';
  }
}

const PROTO_NUMBERS: Record<string, number[]> = {
  tcp: [IPPROTO_TCP], udp: [IPPROTO_UDP], sctp: [IPPROTO_SCTP], icmp: [IPPROTO_ICMP, IPPROTO_ICMPV6], any: [IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP],
};

export interface PortSpec {
  /** IP protocol numbers */
  protos: number[];
  lo: number;
  hi: number;
  /** the whole protocol, ports ignored */
  wholeProto: boolean;
}

export function parsePortSpec(text: string): PortSpec {
  const t = text.trim().toLowerCase();
  const m = /^(?:(tcp|udp|sctp|icmp|any)\/)?(\d{1,5})(?:-(\d{1,5}))?$/.exec(t);
  if (m) {
    const lo = Number(m[2]);
    const hi = m[3] !== undefined ? Number(m[3]) : lo;
    if (lo > 65535 || hi > 65535 || hi < lo) throw new PortSpecError(text);
    return { protos: PROTO_NUMBERS[m[1] ?? 'any']!, lo, hi, wholeProto: false };
  }
  if (/^(tcp|udp|sctp|icmp)$/.test(t)) return { protos: PROTO_NUMBERS[t]!, lo: 0, hi: 65535, wholeProto: true };
  throw new PortSpecError(text);
}

/** proto/port -> values, built from port specs. */
export class PortIndex<T> {
  private readonly exact = new Map<number, T[]>();
  private readonly whole = new Map<number, T[]>();
  private readonly ranges: Array<{ spec: PortSpec; value: T }> = [];

  add(spec: PortSpec, value: T): void {
    if (spec.wholeProto) {
      for (const p of spec.protos) push(this.whole, p, value);
    } else if (spec.hi - spec.lo < 1024) {
      for (const p of spec.protos) for (let port = spec.lo; port <= spec.hi; port++) push(this.exact, (p << 16) | port, value);
    } else {
      this.ranges.push({ spec, value });
    }
  }

  /** Values matching (ipProto, port); a shared empty array when none. */
  get(ipProto: number, port: number): readonly T[] {
    const e = this.exact.get((ipProto << 16) | port);
    const w = this.whole.get(ipProto);
    if (this.ranges.length === 0 && w === undefined) return e ?? EMPTY;
    const out: T[] = e ? [...e] : [];
    if (w) out.push(...w);
    for (const r of this.ranges) if (r.spec.protos.includes(ipProto) && port >= r.spec.lo && port <= r.spec.hi) out.push(r.value);
    return out;
  }

  has(ipProto: number, port: number): boolean {
    return this.get(ipProto, port).length > 0;
  }
}

const EMPTY: readonly never[] = Object.freeze([]) as readonly never[];

function push<T>(m: Map<number, T[]>, k: number, v: T): void {
  const a = m.get(k);
  if (a) a.push(v); else m.set(k, [v]);
}
