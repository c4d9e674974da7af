// How many payload bytes each record keeps ("hybrid capture"): a global snap length (default
// 0, headers only) that commands can change at run time, raised for peers named by per-peer
// rules until they expire. Rules name addresses as the records carry them AFTER
// anonymization - the collector only knows pseudonyms - so the policy runs after the
// anonymizer. Pure; no allocation per packet for kept lengths up to VIEW_CACHE_MAX.
//
// ICMP error messages (unreachable, time exceeded, ...) quote the offending packet's IP header,
// i.e. this host's REAL address, in their payload; that payload is never kept while addresses
// are being anonymized (keepIcmpErrorPayload = false).
import { EMPTY_BYTES, IPPROTO_ICMP, IPPROTO_ICMPV6 } from '../../shared/packet/packet-record.js';
import type { DecodedPacket } from '../../shared/decode/decoded-packet.js';
import { parseCidr } from '../../shared/net/ip-address.js';
import { MeerkatError } from '../../shared/errors.js';
import { COMMAND_LIMITS } from '../../shared/commands/command-limits.js';

const MAX_SNAP_LEN = COMMAND_LIMITS.snapLen.max;
/** kept payloads up to this length are handed out as cached views (no allocation) */
const VIEW_CACHE_MAX = 2048;

export class SnapPolicyError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_SNAP_POLICY';
  constructor(input: string, expected: string) {
    super(`invalid snap policy input ${JSON.stringify(input)}: expected ${expected}`);
    this.name = 'SnapPolicyError';
  }
}

/** Full (or raised) capture for one peer until a deadline - the hook for targeted capture. */
export interface PeerCaptureRule {
  /** the peer's address or CIDR as records carry it (pseudonyms for internal addresses) */
  address: string;
  /** only this port on either side (0 or absent = any) */
  port?: number;
  /** payload bytes to keep for matching packets */
  snapLen: number;
  /** packet time (µs since the epoch) after which the rule no longer applies */
  untilUs: number;
}

interface CompiledRule {
  version: number;
  addr: Uint8Array;
  /** prefix length: the full width for one address */
  prefixLen: number;
  port: number;
  snapLen: number;
  untilUs: number;
}

function checkSnapLen(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_SNAP_LEN) throw new SnapPolicyError(String(n), `an integer snap length 0..${MAX_SNAP_LEN}`);
  return n;
}

/** Whether b lies in the prefix (a, prefixLen). */
function inPrefix(a: Uint8Array, prefixLen: number, b: Uint8Array): boolean {
  const full = prefixLen >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rem = prefixLen & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return (b[full]! & mask) === a[full];
}

function isIcmpError(p: DecodedPacket): boolean {
  if (p.proto === IPPROTO_ICMP) {
    const t = p.sport;
    return t === 3 || t === 4 || t === 5 || t === 11 || t === 12;
  }
  if (p.proto === IPPROTO_ICMPV6) return p.sport >= 1 && p.sport <= 4;
  return false;
}

export interface SnapPolicyOptions {
  snapLen?: number;
  /** keep ICMP error payloads (only safe when addresses are not anonymized) */
  keepIcmpErrorPayload?: boolean;
}

export class SnapPolicy {
  private snap: number;
  private readonly keepIcmpErrors: boolean;
  private rules: CompiledRule[] = [];
  private readonly scratch = new Uint8Array(MAX_SNAP_LEN);
  private readonly views: (Uint8Array | undefined)[] = [];

  constructor(opts: SnapPolicyOptions = {}) {
    this.snap = checkSnapLen(opts.snapLen ?? 0);
    this.keepIcmpErrors = opts.keepIcmpErrorPayload ?? false;
  }

  get snapLen(): number {
    return this.snap;
  }

  /** Changes the global snap length (takes effect from the next packet). */
  setSnapLen(n: number): void {
    this.snap = checkSnapLen(n);
  }

  /** Adds a per-peer rule; it lapses by itself at rule.untilUs (packet time). */
  addPeerRule(rule: PeerCaptureRule): void {
    let a;
    try {
      a = parseCidr(rule.address);
    } catch {
      throw new SnapPolicyError(rule.address, 'an IPv4 or IPv6 address or CIDR');
    }
    const port = rule.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SnapPolicyError(String(port), 'a port 0..65535');
    this.rules = [...this.rules, { version: a.version, addr: a.bytes, prefixLen: a.prefixLen, port, snapLen: checkSnapLen(rule.snapLen), untilUs: rule.untilUs }];
  }

  clearPeerRules(): void {
    this.rules = [];
  }

  /** Rules still in force (for status reports). */
  get peerRules(): number {
    return this.rules.length;
  }

  /** The most payload any packet may keep at `nowUs`: the global length or a live rule's. */
  maxSnapLen(nowUs: number): number {
    let n = this.snap;
    for (const r of this.rules) if (r.untilUs > nowUs && r.snapLen > n) n = r.snapLen;
    return n;
  }

  /** Drops rules whose deadline has passed. */
  expire(nowUs: number): void {
    if (this.rules.some((r) => r.untilUs <= nowUs)) this.rules = this.rules.filter((r) => r.untilUs > nowUs);
  }

  /** Payload bytes this packet may keep under the current policy. */
  snapFor(p: DecodedPacket): number {
    let n = this.snap;
    const rules = this.rules;
    if (rules.length !== 0) {
      for (let i = 0; i < rules.length; i++) {
        const r = rules[i]!;
        if (r.snapLen <= n || r.untilUs <= p.tsUs || r.version !== p.ipVersion) continue;
        if (r.port !== 0 && p.sport !== r.port && p.dport !== r.port) continue;
        if (inPrefix(r.addr, r.prefixLen, p.src) || inPrefix(r.addr, r.prefixLen, p.dst)) n = r.snapLen;
      }
    }
    if (n !== 0 && !this.keepIcmpErrors && isIcmpError(p)) return 0;
    return n;
  }

  /** How many payload bytes of this packet the policy keeps (what apply() hands out). */
  keptLength(p: DecodedPacket): number {
    const n = this.snapFor(p);
    // non-IP frames (ARP, LLDP, ...) carry link-layer identities, never conversation data
    if (n === 0 || p.payloadOff < 0 || p.ipVersion === 0) return 0;
    const avail = p.frameOff + p.capLen - p.payloadOff; // captured bytes from the payload on
    let k = n < p.payloadLen ? n : p.payloadLen;
    if (k > avail) k = avail;
    return k > 0 ? k : 0;
  }

  /** Sets p.payload to the kept bytes (a view that is valid until the next packet). */
  apply(p: DecodedPacket): void {
    const k = this.keptLength(p);
    if (k === 0) {
      p.payload = EMPTY_BYTES;
      return;
    }
    if (k > VIEW_CACHE_MAX) {
      p.payload = p.frame.subarray(p.payloadOff, p.payloadOff + k);
      return;
    }
    const s = this.scratch;
    const f = p.frame;
    const off = p.payloadOff;
    for (let i = 0; i < k; i++) s[i] = f[off + i]!;
    let v = this.views[k];
    if (v === undefined) this.views[k] = v = this.scratch.subarray(0, k);
    p.payload = v;
  }
}
