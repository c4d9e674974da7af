// The flow engine: a bidirectional flow table fed one PacketRecord at a time (records
// are reused by the producer; everything kept is copied). Keys are agent + IP version +
// protocol + both endpoints (address, pseudonym flag, port) + VLAN + tunnel kind, in
// canonical order, hashed to a number with the full key compared on lookup (an array of chains). Time is packet time only:
// idle timeouts per protocol, Zeek's TCP attempt and close delays, and an Argus-style
// active timeout that reports long flows incrementally. Records go to onRecord.
// Pure logic: no I/O, no wall clock.
import {
  FragFlag, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, RecordFlag, TCP_ACK, TCP_SYN, type PacketRecord,
} from '../../shared/packet/packet-record.js';
import { appRecordBase, buildFlowRecord } from './build-flow-record.js';
import { AppSession } from './app-session.js';
import type { AppMeta } from '../../shared/appmeta/meta-record.js';
import type { AppRecord } from '../../shared/flow/app-records.js';
import { ExpiryList, TimerNode, type HeadWatch } from './expiry-list.js';
import type { FlowRecord, RecordCause } from '../../shared/flow/flow-record.js';
import { Flow } from './flow.js';
import { FragmentIndex } from './fragment-index.js';
import { HistBit } from './conn-history.js';
import { zeekIcmpCounterpart } from './icmp-pairs.js';
import { DEFAULT_TCP_SERVER_PORTS, DEFAULT_UDP_SERVER_PORTS, ServerPortSet } from './likely-server-ports.js';
import { TcpAction, TcpConnection } from './tcp-connection.js';

/** Timeouts in microseconds of packet time. */
export interface FlowTimeouts {
  /** established TCP without packets (Zeek tcp_inactivity_timeout: 5 min) */
  tcpIdleUs: number;
  /** TCP still in its handshake (Zeek applies the UDP timeout then: 1 min) */
  tcpHandshakeIdleUs: number;
  udpIdleUs: number;
  icmpIdleUs: number;
  /** other IP protocols */
  otherIdleUs: number;
  /** a SYN without answer ends the flow this long after the SYN (Zeek tcp_attempt_delay: 5 s) */
  tcpAttemptUs: number;
  /** a closed (FIN/FIN or RST) connection lingers this long for trailing packets (Zeek: 5 s) */
  tcpCloseDelayUs: number;
  /** a RST after a FIN from the same side ends the flow after this (Zeek tcp_reset_delay: 5 s) */
  tcpResetDelayUs: number;
  /** long flows get an interim record this often (Argus status interval); 0 disables */
  activeUs: number;
  /** how long the first fragment of a datagram is remembered for its later fragments */
  fragmentUs: number;
}

const DEFAULT_TIMEOUTS: Readonly<FlowTimeouts> = Object.freeze({
  tcpIdleUs: 300e6,
  tcpHandshakeIdleUs: 60e6,
  udpIdleUs: 60e6,
  icmpIdleUs: 60e6,
  otherIdleUs: 60e6,
  tcpAttemptUs: 5e6,
  tcpCloseDelayUs: 5e6,
  tcpResetDelayUs: 5e6,
  activeUs: 60e6,
  fragmentUs: 30e6,
});

export interface FlowEngineOptions {
  onRecord: (rec: FlowRecord) => void;
  /** application records (DNS transactions, TLS handshakes, HTTP requests) made from addMeta() */
  onAppRecord?: (rec: AppRecord) => void;
  /** agent of records added without one */
  agentId?: string;
  timeouts?: Partial<FlowTimeouts>;
  /** likely server ports used to pick the originator of mid-stream TCP and of UDP */
  tcpServerPorts?: Iterable<number>;
  udpServerPorts?: Iterable<number>;
  /** expire flows as packet time advances inside add() (default true) */
  autoAdvance?: boolean;
  /** prefix of flow uids (default: 48 random bits per engine) */
  uidPrefix?: string;
  /**
   * Most flows held at once (default 2,000,000). Past it the flow closest to its idle
   * timeout is ended early (cause 'timeout', counted in stats.evicted), so a flood of
   * new flows cannot exhaust memory.
   */
  maxFlows?: number;
  /**
   * find the flows of IPv4 TCP and UDP packets through the recent-flow index (default true);
   * false: every packet the long way (canonical key, table), for comparisons - the records are
   * the same either way
   */
  recentIndex?: boolean;
  /**
   * TCP connections take the common segment's shortcut (TcpConnection's fastPath; default
   * true); false: every segment the general way, for comparisons - the records are the same
   */
  tcpFastPath?: boolean;
}

export interface FlowEngineStats {
  packets: number;
  /** non-IP records (ARP, ...) */
  nonIp: number;
  /** records whose headers were cut off or contradicted themselves (counted in port-less flows) */
  damaged: number;
  /** records whose IP header itself was unusable (RecordFlag.BadIpHeader): no flow is built from them */
  badIpHeader: number;
  /** non-first fragments counted into their datagram's flow */
  fragmentsJoined: number;
  flowsCreated: number;
  recordsEmitted: number;
  /** flows ended early because maxFlows was reached */
  evicted: number;
}

function mixWord(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finalMix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

function word(b: Uint8Array, i: number): number {
  return (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
}

/** Unsigned order of two int32 address words; negative when x sorts first. */
function cmpWord(x: number, y: number): number {
  return (x >>> 0) - (y >>> 0);
}

/** The list's head deadline when it is before `min`, else `min`. */
function headBefore(list: ExpiryList<Flow>, min: number): number {
  const h = list.head;
  return h !== null && h.deadline < min ? h.deadline : min;
}

/**
 * How a flow of each IP protocol number is keyed: PORTS (TCP, UDP, SCTP: by ports), ICMP (by
 * type and code), 0 (addresses only). A table read instead of a chain of protocol compares:
 * optimized code that has seen only TCP never ran the compares for UDP, and the first UDP
 * packet deoptimized it (docs/benchmarks.md, `import`, eighth round); the read and its one
 * compare run for every packet.
 */
const KEY_PORTS = 1;
const KEY_ICMP = 2;
const KEY_KIND = new Uint8Array(256);
KEY_KIND[IPPROTO_TCP] = KEY_PORTS;
KEY_KIND[IPPROTO_UDP] = KEY_PORTS;
KEY_KIND[IPPROTO_SCTP] = KEY_PORTS;
KEY_KIND[IPPROTO_ICMP] = KEY_ICMP;
KEY_KIND[IPPROTO_ICMPV6] = KEY_ICMP;
/** 1 for the protocols whose packets may join the flow of the packet before (sameAsLast): TCP, UDP */
const RUN_PROTO = new Uint8Array(256);
RUN_PROTO[IPPROTO_TCP] = 1;
RUN_PROTO[IPPROTO_UDP] = 1;

/** flow table slots to start with (a power of two) */
const INITIAL_SLOTS = 1024;

/**
 * The recent-flow index: IPv4 TCP and UDP packets (not tunnelled, not a SYN) by their key as
 * sent - source, destination, ports, protocol, pseudonym flags, VLAN, agent - in a direct-mapped
 * array of the flow they last belonged to and which endpoint sent them. A packet found there
 * needs neither the canonical key (ordering the endpoints, an 11-word hash) nor the table's
 * chain: ~500 instructions per packet of the import's 3,300 (docs/benchmarks.md, "Instruction
 * profiles"). An entry whose flow has ended is stale and ignored (Flow.alive); a SYN always goes
 * the long way, where lookup() sees a reused port pair. Sized to two entries or more per flow
 * at the most flows held: it doubles as flows are added, from RECENT_INITIAL, so an engine with
 * few flows (one per agent in the collector) stays small (~6 kB).
 */
const RECENT_PER_FLOW = 2;
const RECENT_INITIAL = 256;
/** words per recent-flow entry: source, destination, ports, rest of the key */
const RECENT_WORDS = 4;
/** agents beyond this index are not put in the recent-flow index (their key would not fit a word) */
const RECENT_MAX_AGENT = 0x1ff;

/** Earlier start first; flows started in the same microsecond in the order they were created. */
function byStart(a: Flow, b: Flow): number {
  return a.flowStart - b.flowStart || a.serial - b.serial;
}

function isIpv4Broadcast(ipVersion: number, a: Uint8Array): boolean {
  return ipVersion === 4 && a[0] === 255 && a[1] === 255 && a[2] === 255 && a[3] === 255;
}

export class FlowEngine {
  readonly stats: FlowEngineStats = {
    packets: 0, nonIp: 0, damaged: 0, badIpHeader: 0, fragmentsJoined: 0, flowsCreated: 0, recordsEmitted: 0, evicted: 0,
  };
  private readonly maxFlows: number;
  private readonly timeouts: FlowTimeouts;
  private readonly onRecord: (rec: FlowRecord) => void;
  private readonly onAppRecord: (rec: AppRecord) => void;
  /** the flow of the last packet added (addMeta joins to it), and that packet's time */
  private lastFlow: Flow | null = null;
  private lastTs = 0;
  private readonly defaultAgent: string;
  private readonly autoAdvance: boolean;
  private readonly uidPrefix: string;
  private readonly tcpServer: ServerPortSet;
  private readonly udpServer: ServerPortSet;

  /**
   * The flow table: chains (Flow.bucketNext) hanging from slot hash & mask, doubled when there
   * are more flows than slots. A plain array indexed by the hash costs a packet less than a
   * Map lookup, and chains stay about one flow long.
   */
  private table: Array<Flow | null> = new Array<Flow | null>(INITIAL_SLOTS).fill(null);
  private mask = INITIAL_SLOTS - 1;
  /** the recent-flow index (RECENT_PER_FLOW): keys, flows, and whether the sender is endpoint A */
  private recentKeys = new Int32Array(RECENT_INITIAL * RECENT_WORDS);
  private recentFlows: Array<Flow | null> = new Array<Flow | null>(RECENT_INITIAL).fill(null);
  private recentFromA = new Uint8Array(RECENT_INITIAL);
  private recentShift = 32 - Math.log2(RECENT_INITIAL);
  private readonly recentIndex: boolean;
  private readonly tcpFastPath: boolean;
  /** the rest of the key (protocol, pseudonym flags, VLAN, agent) of the packet recentEntry last looked at */
  private recentRest = 0;
  /** the key array recentEntry last looked in */
  private recentKeysLooked = this.recentKeys;
  private flowCount = 0;
  private uidCounter = 0;
  private readonly agents = new Map<string, number>();
  private readonly agentNames: string[] = [];
  private readonly frags: FragmentIndex;
  private now = -Infinity;

  /**
   * No timer list's head is due before nextDue unless a head moved since it was computed
   * (deadlines of nodes that stay put only grow: a flow's last packet time never goes back), so
   * a packet that advances time below it needs no look at the eight lists.
   */
  private readonly heads: HeadWatch = { moved: true };
  private nextDue = -Infinity;
  private readonly tcpIdle = new ExpiryList<Flow>(this.heads);
  private readonly tcpHandshakeIdle = new ExpiryList<Flow>(this.heads);
  private readonly udpIdle = new ExpiryList<Flow>(this.heads);
  private readonly icmpIdle = new ExpiryList<Flow>(this.heads);
  private readonly otherIdle = new ExpiryList<Flow>(this.heads);
  private readonly closing = new ExpiryList<Flow>(this.heads);
  private readonly attempts = new ExpiryList<Flow>(this.heads);
  private readonly active = new ExpiryList<Flow>(this.heads);

  // scratch key of the packet being processed (no per-packet allocation)
  private kA0 = 0; private kA1 = 0; private kA2 = 0; private kA3 = 0;
  private kB0 = 0; private kB1 = 0; private kB2 = 0; private kB3 = 0;
  private kPortA = 0;
  private kPortB = 0;
  private kAnonA = false;
  private kAnonB = false;
  private kOneWay = false;
  private kFromA = true;
  private kTunnel = 0;

  constructor(opts: FlowEngineOptions) {
    this.onRecord = opts.onRecord;
    this.onAppRecord = opts.onAppRecord ?? (() => undefined);
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...(opts.timeouts ?? {}) };
    for (const [k, v] of Object.entries(this.timeouts)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        throw new RangeError(`flow timeout ${k} must be a non-negative number of microseconds, got ${String(v)}`);
      }
    }
    this.defaultAgent = opts.agentId ?? '';
    this.autoAdvance = opts.autoAdvance ?? true;
    this.uidPrefix = opts.uidPrefix ?? 'F' + Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString('base64url') + '.';
    this.maxFlows = opts.maxFlows ?? 2_000_000;
    this.recentIndex = opts.recentIndex ?? true;
    this.tcpFastPath = opts.tcpFastPath ?? true;
    if (!Number.isSafeInteger(this.maxFlows) || this.maxFlows < 1) {
      throw new RangeError(`maxFlows must be a positive integer, got ${String(opts.maxFlows)}`);
    }
    this.tcpServer = new ServerPortSet(opts.tcpServerPorts ?? DEFAULT_TCP_SERVER_PORTS);
    this.udpServer = new ServerPortSet(opts.udpServerPorts ?? DEFAULT_UDP_SERVER_PORTS);
    this.frags = new FragmentIndex(this.timeouts.fragmentUs);
    this.agentIndex(this.defaultAgent);
  }

  /** Flows currently held. */
  get activeFlows(): number {
    return this.flowCount;
  }

  /** Latest packet time seen or advanced to (µs). */
  get packetTime(): number {
    return this.now;
  }

  private agentIndex(agentId: string): number {
    let idx = this.agents.get(agentId);
    if (idx === undefined) {
      idx = this.agentNames.length;
      this.agents.set(agentId, idx);
      this.agentNames.push(agentId);
    }
    return idx;
  }

  /**
   * Feeds one packet record (may be reused by the caller afterwards). The steps: expire what
   * packet time has passed, join a later fragment to its datagram's flow, make the canonical
   * key, look the flow up (or create it, deciding who originated it), then count the packet.
   */
  add(rec: PacketRecord, agentId?: string): void {
    this.stats.packets++;
    const ipVersion = rec.ipVersion;
    if (ipVersion !== 4 && ipVersion !== 6) {
      this.stats.nonIp++;
      this.lastFlow = null;
      return;
    }
    this.lastTs = rec.tsUs;
    const flags = rec.flags;
    if ((flags & RecordFlag.BadIpHeader) !== 0) {
      // its addresses and protocol may be anything: a flow keyed by them would be bogus
      this.stats.badIpHeader++;
      return;
    }
    // A cut-off or self-contradicting header is not trusted beyond the addresses: such
    // packets are counted in a port-less flow of their addresses (Zeek drops them; an
    // attacker's malformed packets should stay visible).
    const damaged = (flags & (RecordFlag.Truncated | RecordFlag.Malformed)) !== 0;
    if (damaged) this.stats.damaged++;
    if (this.autoAdvance && rec.tsUs > this.now) {
      this.now = rec.tsUs;
      // expireDue's own first test, here: most packets advance time without anything due, and
      // the call alone cost more than the test (expireDue is not inlined into add)
      if (this.now >= this.nextDue || this.heads.moved || this.frags.size !== 0) this.expireDue();
    }
    const agentIdx = agentId === undefined ? 0 : this.agentIndex(agentId);
    const laterFragment = (flags & RecordFlag.Fragment) !== 0 && rec.fragOffset > 0;
    if (laterFragment && !damaged && this.joinFragment(agentIdx, rec)) return;
    const portless = laterFragment || damaged;
    // the recent-flow index's entry for this packet's key as sent, or -1 when it has none
    const entry = portless || !this.recentIndex ? -1 : this.recentEntry(rec, agentIdx);
    let flow: Flow | null = entry >= 0 ? this.recentFlows[entry]! : null;
    if (flow !== null && flow.alive && this.recentKeys[entry * RECENT_WORDS + 3] === this.recentRest) {
      this.kFromA = this.recentFromA[entry] === 1;
    } else {
      flow = this.lastFlow;
      if (portless || flow === null || !this.sameAsLast(flow, rec, agentIdx)) {
        const h = this.canonicalKey(rec, agentIdx, portless);
        flow = this.lookup(h, agentIdx, rec, portless);
      }
      if (entry >= 0) this.rememberRecent(entry, flow);
    }
    this.countInFlow(flow, rec, agentIdx, portless);
  }

  /**
   * Adds a TCP segment that is not a SYN, not damaged, fragmented or tunnelled, from agent index
   * 0, to a flow the caller found by a key of its own: the flow an earlier packet with that key
   * went to (lastFlowAdded and lastFromA after its add()). No canonical key, no table, no
   * recent-flow index: the import's frame memo (collector/import/frame-flow-memo.ts). The record
   * needs only what countInFlow reads: tsUs, proto, flags, ipLen, wireLen, payloadLen and the
   * TCP header fields. Returns false when the flow has ended, also by the expiry this packet's
   * time made due (which ran): the packet must then go to add(), which finds the time advanced.
   */
  addToFlow(flow: Flow, fromA: boolean, rec: PacketRecord): boolean {
    const ts = rec.tsUs;
    if (this.autoAdvance && ts > this.now) {
      this.now = ts;
      if (ts >= this.nextDue || this.heads.moved || this.frags.size !== 0) this.expireDue();
    }
    if (!flow.alive) return false;
    this.stats.packets++;
    this.lastTs = ts;
    this.kFromA = fromA;
    this.countInFlow(flow, rec, 0, false);
    return true;
  }

  /** The flow the last packet counted in a flow went to (null after a packet that was not IP). */
  get lastFlowAdded(): Flow | null {
    return this.lastFlow;
  }

  /** Whether the packet last added was sent by its flow's endpoint A (canonical order). */
  get lastFromA(): boolean {
    return this.kFromA;
  }

  /**
   * The recent-flow index's entry for the packet's key as sent (its words in place when they
   * did not match, so rememberRecent fills it), or -1 for a packet it does not take: not IPv4
   * TCP or UDP, tunnelled, a TCP SYN, a VLAN id past 12 bits or an agent index past
   * RECENT_MAX_AGENT. A match is then still checked by the caller: the entry's flow alive and
   * recentRest equal.
   */
  private recentEntry(rec: PacketRecord, agentIdx: number): number {
    const proto = rec.proto;
    const flags = rec.flags;
    const vlan = rec.vlan;
    if (rec.ipVersion !== 4 || RUN_PROTO[proto & 0xff] === 0 || (flags & RecordFlag.Inner) !== 0 || agentIdx > RECENT_MAX_AGENT ||
        vlan > 0xfff || (proto === IPPROTO_TCP && (rec.tcpFlags & TCP_SYN) !== 0)) return -1;
    const w = rec.addrWords;
    const src = w[0]!;
    const dst = w[4]!;
    const ports = (rec.sport << 16) | rec.dport;
    // protocol (TCP or UDP: 1 bit), the two pseudonym flags, VLAN (12 bits), agent (9 bits)
    const rest = (proto === IPPROTO_TCP ? 1 : 0) | ((flags & RecordFlag.SrcAnon) !== 0 ? 2 : 0) | ((flags & RecordFlag.DstAnon) !== 0 ? 4 : 0) |
      (vlan << 3) | (agentIdx << 15);
    this.recentRest = rest;
    // a multiplicative hash: the index's keys need spreading, not the table's collision guarantees
    const entry = Math.imul(src ^ Math.imul(dst ^ rest, 0x9e3779b1) ^ Math.imul(ports, 0x85ebca6b), 0xc2b2ae35) >>> this.recentShift;
    const k = entry * RECENT_WORDS;
    const keys = this.recentKeys;
    this.recentKeysLooked = keys;
    if (keys[k] !== src || keys[k + 1] !== dst || keys[k + 2] !== ports) {
      keys[k] = src; keys[k + 1] = dst; keys[k + 2] = ports;
      keys[k + 3] = ~rest; // no match until rememberRecent: a stale flow of another key is never taken
    }
    return entry;
  }

  /** Puts the flow just found or made for the packet into its recent-flow entry (the flow notes which, for finish()). */
  private rememberRecent(entry: number, flow: Flow): void {
    // a new flow that grew the index (growRecent) left `entry` pointing into the old arrays
    if (this.recentKeys !== this.recentKeysLooked) return;
    this.recentKeys[entry * RECENT_WORDS + 3] = this.recentRest;
    this.recentFlows[entry] = flow;
    this.recentFromA[entry] = this.kFromA ? 1 : 0;
    if (this.kFromA) flow.recentFromA = entry;
    else flow.recentFromB = entry;
  }

  /** Takes an ended flow out of the recent-flow index: an entry would otherwise keep it in memory until overwritten. */
  private forgetRecent(f: Flow): void {
    const flows = this.recentFlows;
    if (f.recentFromA >= 0 && f.recentFromA < flows.length && flows[f.recentFromA] === f) flows[f.recentFromA] = null;
    if (f.recentFromB >= 0 && f.recentFromB < flows.length && flows[f.recentFromB] === f) flows[f.recentFromB] = null;
  }

  /**
   * Joins an application metadata record to the flow of the packet last given to add() (the
   * packet it was extracted from). Its fields go into the flow's records; the DNS, TLS and HTTP
   * records it completes go to onAppRecord. A record after a non-IP packet is dropped.
   */
  addMeta(m: AppMeta): void {
    const f = this.lastFlow;
    if (f === null || !f.alive) return;
    (f.app ??= new AppSession()).join(m, this.lastTs, () => appRecordBase(f), this.onAppRecord);
  }

  /** A later fragment of a datagram whose first fragment was seen: counted in that flow. */
  private joinFragment(agentIdx: number, rec: PacketRecord): boolean {
    const entry = this.frags.lookup(agentIdx, rec);
    if (entry === null) return false;
    // counted as a packet of its datagram's flow; its payload was declared by the first fragment
    this.stats.fragmentsJoined++;
    this.lastFlow = entry.flow;
    this.countPacket(entry.flow, entry.fromA === entry.flow.origIsA, rec, 0);
    this.touchTimers(entry.flow, 0);
    return true;
  }

  /**
   * Whether a TCP or UDP packet belongs to the flow of the packet before it (runs of one
   * connection's packets are common): then it needs no key hash and no table lookup. Sets
   * kFromA as canonicalKey would; false sends the packet the long way (also a TCP port reuse,
   * which lookup() handles).
   */
  private sameAsLast(f: Flow, rec: PacketRecord, agentIdx: number): boolean {
    const proto = rec.proto;
    if (!f.alive || f.proto !== proto || RUN_PROTO[proto & 0xff] === 0) return false;
    const flags = rec.flags;
    const ipVersion = rec.ipVersion;
    if (f.ipVersion !== ipVersion || f.vlan !== rec.vlan || f.agentIdx !== agentIdx ||
        f.tunnel !== ((flags & RecordFlag.Inner) !== 0 ? rec.tunnel : 0)) return false;
    const src = rec.src;
    const dst = rec.dst;
    const s0 = word(src, 0);
    const d0 = word(dst, 0);
    const srcAnon = (flags & RecordFlag.SrcAnon) !== 0;
    const dstAnon = (flags & RecordFlag.DstAnon) !== 0;
    let fromA: boolean;
    // the key is canonical: the packet's endpoints equal (A, B) or (B, A), and in the first case
    // canonicalKey's order puts the sender first too (equal endpoints included)
    if (s0 === f.a0 && d0 === f.b0 && rec.sport === f.portA && rec.dport === f.portB && srcAnon === f.anonA && dstAnon === f.anonB) {
      fromA = true;
      if (ipVersion === 6 && !(word(src, 4) === f.a1 && word(src, 8) === f.a2 && word(src, 12) === f.a3 &&
          word(dst, 4) === f.b1 && word(dst, 8) === f.b2 && word(dst, 12) === f.b3)) return false;
    } else if (s0 === f.b0 && d0 === f.a0 && rec.sport === f.portB && rec.dport === f.portA && srcAnon === f.anonB && dstAnon === f.anonA) {
      fromA = false;
      if (ipVersion === 6 && !(word(src, 4) === f.b1 && word(src, 8) === f.b2 && word(src, 12) === f.b3 &&
          word(dst, 4) === f.a1 && word(dst, 8) === f.a2 && word(dst, 12) === f.a3)) return false;
    } else {
      return false;
    }
    if (proto === IPPROTO_TCP && f.tcp !== null && f.tcp.isReuse(rec)) return false;
    this.kFromA = fromA;
    return true;
  }

  /**
   * The packet's flow key in canonical endpoint order, written to the scratch fields (kA*, kB*,
   * ports, pseudonym flags, one-way, direction, tunnel); returns its hash.
   */
  private canonicalKey(rec: PacketRecord, agentIdx: number, portless: boolean): number {
    const ipVersion = rec.ipVersion;
    const proto = rec.proto;
    const flags = rec.flags;
    // inner (tunnelled) packets never share a flow with outer ones
    const tunnel = (flags & RecordFlag.Inner) !== 0 ? rec.tunnel : 0;
    let sport = 0;
    let dport = 0;
    let oneWay = false;
    if (!portless) {
      const kind = KEY_KIND[proto & 0xff]!;
      if (kind === KEY_PORTS) {
        sport = rec.sport;
        dport = rec.dport;
      } else if (kind === KEY_ICMP) {
        sport = rec.sport; // message type
        const counterpart = zeekIcmpCounterpart(proto === IPPROTO_ICMPV6, sport);
        if (counterpart < 0) {
          oneWay = true; // keyed by (type, code) in the sender's direction only
          dport = rec.dport;
        } else {
          dport = counterpart;
        }
      }
    }
    const src = rec.src;
    const dst = rec.dst;
    const s0 = word(src, 0);
    const d0 = word(dst, 0);
    let s1 = 0, s2 = 0, s3 = 0, d1 = 0, d2 = 0, d3 = 0;
    if (ipVersion === 6) {
      s1 = word(src, 4); s2 = word(src, 8); s3 = word(src, 12);
      d1 = word(dst, 4); d2 = word(dst, 8); d3 = word(dst, 12);
    }
    const srcAnon = (flags & RecordFlag.SrcAnon) !== 0;
    const dstAnon = (flags & RecordFlag.DstAnon) !== 0;
    let fromA = true;
    if (!oneWay) {
      // endpoint order: address words (unsigned), then pseudonym flag, then port
      let c = cmpWord(s0, d0);
      if (c === 0) c = cmpWord(s1, d1);
      if (c === 0) c = cmpWord(s2, d2);
      if (c === 0) c = cmpWord(s3, d3);
      if (c === 0 && srcAnon !== dstAnon) c = srcAnon ? 1 : -1;
      if (c === 0) c = sport - dport;
      fromA = c <= 0;
    }
    if (fromA) {
      this.kA0 = s0; this.kA1 = s1; this.kA2 = s2; this.kA3 = s3;
      this.kB0 = d0; this.kB1 = d1; this.kB2 = d2; this.kB3 = d3;
      this.kPortA = sport; this.kPortB = dport;
      this.kAnonA = srcAnon; this.kAnonB = dstAnon;
    } else {
      this.kA0 = d0; this.kA1 = d1; this.kA2 = d2; this.kA3 = d3;
      this.kB0 = s0; this.kB1 = s1; this.kB2 = s2; this.kB3 = s3;
      this.kPortA = dport; this.kPortB = sport;
      this.kAnonA = dstAnon; this.kAnonB = srcAnon;
    }
    this.kOneWay = oneWay;
    this.kFromA = fromA;
    this.kTunnel = tunnel;

    let h = mixWord(agentIdx * 0x10001 + ipVersion * 0x100 + tunnel, (proto << 16) | rec.vlan);
    h = mixWord(h, (this.kPortA << 16) | this.kPortB);
    h = mixWord(h, (this.kAnonA ? 1 : 0) | (this.kAnonB ? 2 : 0) | (oneWay ? 4 : 0));
    h = mixWord(h, this.kA0);
    h = mixWord(h, this.kB0);
    if (ipVersion === 6) {
      h = mixWord(h, this.kA1); h = mixWord(h, this.kA2); h = mixWord(h, this.kA3);
      h = mixWord(h, this.kB1); h = mixWord(h, this.kB2); h = mixWord(h, this.kB3);
    }
    return finalMix(h);
  }

  /** The flow of the scratch key: the one held, or a new one (a reused TCP port pair ends the old flow first). */
  private lookup(h: number, agentIdx: number, rec: PacketRecord, portless: boolean): Flow {
    const flow = this.find(h, agentIdx, rec.ipVersion, rec.proto, rec.vlan);
    if (flow !== null) {
      if (rec.proto !== IPPROTO_TCP || portless || flow.tcp === null || !flow.tcp.isReuse(rec)) return flow;
      // a new connection on the same ports: the old one is over
      this.finish(flow, 'close');
    }
    return this.create(h, agentIdx, rec.ipVersion, rec.proto, rec, portless);
  }

  /** Counts the packet in its flow: TCP state (which may swap the roles), history, counters, fragments, timers. */
  private countInFlow(flow: Flow, rec: PacketRecord, agentIdx: number, portless: boolean): void {
    const proto = rec.proto;
    let isOrig = this.kFromA === flow.origIsA;
    let action = 0;
    if (proto === IPPROTO_TCP && !portless && flow.tcp !== null) {
      action = flow.tcp.process(isOrig, rec);
      if ((action & TcpAction.Flipped) !== 0) {
        flow.flipRoles();
        isOrig = !isOrig;
      }
    } else if (proto === IPPROTO_UDP && !portless) {
      flow.history.check(HistBit.Data, isOrig, 'D', 'd');
    }
    this.countPacket(flow, isOrig, rec, portless ? 0 : rec.payloadLen);
    // stored only when it changes: a young flow stored into the engine calls the write barrier's stub
    if (this.lastFlow !== flow) this.lastFlow = flow;
    if ((rec.flags & RecordFlag.Fragment) !== 0 && !portless && (rec.fragFlags & FragFlag.MoreFragments) !== 0) {
      this.frags.remember(agentIdx, rec, flow, this.kFromA);
    }
    this.touchTimers(flow, action);
  }

  private find(h: number, agentIdx: number, ipVersion: number, proto: number, vlan: number): Flow | null {
    let f = this.table[h & this.mask] as Flow | null;
    while (f !== null) {
      if (f.hash === h && f.portA === this.kPortA && f.portB === this.kPortB && f.proto === proto &&
          f.a0 === this.kA0 && f.b0 === this.kB0 && f.vlan === vlan && f.agentIdx === agentIdx &&
          f.ipVersion === ipVersion && f.tunnel === this.kTunnel &&
          f.anonA === this.kAnonA && f.anonB === this.kAnonB && f.oneWay === this.kOneWay &&
          f.a1 === this.kA1 && f.a2 === this.kA2 && f.a3 === this.kA3 &&
          f.b1 === this.kB1 && f.b2 === this.kB2 && f.b3 === this.kB3) return f;
      f = f.bucketNext;
    }
    return null;
  }

  private create(h: number, agentIdx: number, ipVersion: number, proto: number, rec: PacketRecord,
    portless: boolean): Flow {
    if (this.flowCount >= this.maxFlows) this.evictOne();
    const f = new Flow();
    f.agentIdx = agentIdx;
    f.agentId = this.agentNames[agentIdx]!;
    f.ipVersion = ipVersion;
    f.proto = proto;
    f.vlan = rec.vlan;
    f.a0 = this.kA0; f.a1 = this.kA1; f.a2 = this.kA2; f.a3 = this.kA3;
    f.b0 = this.kB0; f.b1 = this.kB1; f.b2 = this.kB2; f.b3 = this.kB3;
    f.portA = this.kPortA;
    f.portB = this.kPortB;
    f.anonA = this.kAnonA;
    f.anonB = this.kAnonB;
    f.oneWay = this.kOneWay;
    f.tunnel = this.kTunnel;
    f.hash = h;
    f.origIsA = this.kFromA; // the sender of the first packet, until decideOriginator
    f.flowStart = rec.tsUs;
    f.lastTs = rec.tsUs;
    f.serial = this.uidCounter++;
    f.uid = this.uidPrefix + f.serial.toString(36);
    if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) f.icmpCode = rec.dport;

    if (proto === IPPROTO_TCP && !portless) f.tcp = new TcpConnection(f.history, this.tcpFastPath);
    if (!portless) this.decideOriginator(f, rec);

    const slot = h & this.mask;
    f.bucketNext = this.table[slot] as Flow | null;
    this.table[slot] = f;
    if (++this.flowCount > this.table.length) this.growTable();
    if (this.flowCount * RECENT_PER_FLOW > this.recentFlows.length) this.growRecent();
    this.stats.flowsCreated++;
    if (this.timeouts.activeUs > 0) {
      f.activeNode.deadline = rec.tsUs + this.timeouts.activeUs;
      this.active.push(f.activeNode);
    }
    return f;
  }

  /**
   * The sender of a flow's first packet originates it, unless that packet shows it is the
   * answer (Zeek's rules): a SYN-ACK comes from the responder; mid-stream TCP and UDP from a
   * likely server port to another port come from the responder (never towards broadcast).
   */
  private decideOriginator(f: Flow, rec: PacketRecord): void {
    if (f.proto === IPPROTO_TCP) {
      const tf = rec.tcpFlags;
      if ((tf & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) {
        this.flipAtStart(f);
      } else if ((tf & TCP_SYN) === 0 && this.tcpServer.has(rec.sport) && !isIpv4Broadcast(f.ipVersion, rec.dst)) {
        if (!this.tcpServer.has(rec.dport) || rec.sport < rec.dport) this.flipAtStart(f);
      }
    } else if (f.proto === IPPROTO_UDP) {
      if (this.udpServer.has(rec.sport) && !this.udpServer.has(rec.dport) && !isIpv4Broadcast(f.ipVersion, rec.dst)) {
        this.flipAtStart(f);
      }
    }
  }

  private flipAtStart(f: Flow): void {
    f.origIsA = !f.origIsA;
    f.history.add('^');
  }

  private countPacket(f: Flow, isOrig: boolean, rec: PacketRecord, payloadLen: number): void {
    const ts = rec.tsUs;
    // a damaged header's total length may be a lie: never count more than was on the wire
    let ipLen = rec.ipLen;
    if ((rec.flags & (RecordFlag.Truncated | RecordFlag.Malformed)) !== 0 && rec.wireLen > 0 && ipLen > rec.wireLen) ipLen = rec.wireLen;
    (isOrig ? f.orig : f.resp).addPacket(rec, ipLen, payloadLen);
    if (ts > f.lastTs) f.lastTs = ts;
    if (f.intervalStart < 0 || ts < f.intervalStart) f.intervalStart = ts;
    if (ts > f.intervalEnd) f.intervalEnd = ts;
  }

  private touchTimers(f: Flow, action: number): void {
    const t = this.timeouts;
    if (f.closing) return; // the close/reset deadline is fixed
    const tcp = f.tcp;
    if ((action & (TcpAction.CloseComplete | TcpAction.ResetAfterClose)) !== 0) {
      f.closing = true;
      if (f.attemptNode !== null) this.attempts.remove(f.attemptNode);
      f.idleNode.deadline = f.lastTs +
        ((action & TcpAction.CloseComplete) !== 0 ? t.tcpCloseDelayUs : t.tcpResetDelayUs);
      this.closing.push(f.idleNode);
      return;
    }
    let list: ExpiryList<Flow>;
    let timeout: number;
    switch (f.proto) {
      case IPPROTO_TCP:
        if (tcp !== null && tcp.inHandshake()) { list = this.tcpHandshakeIdle; timeout = t.tcpHandshakeIdleUs; }
        else { list = this.tcpIdle; timeout = t.tcpIdleUs; }
        break;
      case IPPROTO_UDP: list = this.udpIdle; timeout = t.udpIdleUs; break;
      case IPPROTO_ICMP:
      case IPPROTO_ICMPV6: list = this.icmpIdle; timeout = t.icmpIdleUs; break;
      default: list = this.otherIdle; timeout = t.otherIdleUs; break;
    }
    f.idleNode.deadline = f.lastTs + timeout;
    list.push(f.idleNode);
    if (tcp !== null && f.attemptNode === null && tcp.isAttempt()) {
      f.attemptNode = new TimerNode<Flow>(f);
      f.attemptNode.deadline = f.lastTs + t.tcpAttemptUs;
      this.attempts.push(f.attemptNode);
    }
  }

  /** Expires flows due at packet time `nowUs` (µs) and emits their records. */
  advance(nowUs: number): void {
    if (nowUs > this.now) this.now = nowUs;
    this.expireDue();
  }

  private expireDue(): void {
    const now = this.now;
    if (now < this.nextDue && !this.heads.moved && this.frags.size === 0) return;
    let n: TimerNode<Flow> | null;
    while ((n = this.attempts.due(now)) !== null) {
      this.attempts.remove(n);
      const f = n.owner;
      if (f.alive && !f.closing && f.tcp !== null && f.tcp.isAttempt()) this.finish(f, 'timeout');
    }
    while ((n = this.closing.due(now)) !== null) this.finish(n.owner, 'close');
    this.expireIdle(this.tcpHandshakeIdle, now);
    this.expireIdle(this.tcpIdle, now);
    this.expireIdle(this.udpIdle, now);
    this.expireIdle(this.icmpIdle, now);
    this.expireIdle(this.otherIdle, now);
    const activeUs = this.timeouts.activeUs;
    while ((n = this.active.due(now)) !== null) {
      const f = n.owner;
      if (!f.closing && f.intervalStart >= 0) this.emit(f, f.recordSeq === 0 ? 'start' : 'status');
      n.deadline += activeUs;
      if (n.deadline <= now) n.deadline = now + activeUs;
      this.active.push(n); // moves it to the tail
    }
    if (this.frags.size > 0) this.frags.expire(now);
    this.heads.moved = false;
    this.nextDue = this.earliestHead();
  }

  /** The earliest deadline at the head of a timer list (Infinity when all are empty). */
  private earliestHead(): number {
    let min = Infinity;
    min = headBefore(this.attempts, min);
    min = headBefore(this.closing, min);
    min = headBefore(this.tcpHandshakeIdle, min);
    min = headBefore(this.tcpIdle, min);
    min = headBefore(this.udpIdle, min);
    min = headBefore(this.icmpIdle, min);
    min = headBefore(this.otherIdle, min);
    return headBefore(this.active, min);
  }

  /** Ends the flow nearest to its idle deadline (handshake-only TCP and UDP first). */
  private evictOne(): void {
    const lists = [this.tcpHandshakeIdle, this.udpIdle, this.icmpIdle, this.otherIdle, this.tcpIdle, this.closing];
    let best: TimerNode<Flow> | null = null;
    for (const l of lists) {
      if (l.head !== null && (best === null || l.head.deadline < best.deadline)) best = l.head;
    }
    if (best === null) return;
    this.stats.evicted++;
    this.finish(best.owner, best.owner.closing ? 'close' : 'timeout');
  }

  private expireIdle(list: ExpiryList<Flow>, now: number): void {
    let n: TimerNode<Flow> | null;
    while ((n = list.due(now)) !== null) this.finish(n.owner, 'timeout');
  }

  private emit(f: Flow, cause: RecordCause): void {
    const rec = buildFlowRecord(f, cause);
    this.stats.recordsEmitted++;
    this.onRecord(rec);
  }

  /** Removes a flow from the table and timers and emits its final record. */
  private finish(f: Flow, cause: RecordCause): void {
    if (!f.alive) return;
    f.alive = false;
    if (f.idleNode.list !== null) f.idleNode.list.remove(f.idleNode);
    if (f.activeNode.list !== null) f.activeNode.list.remove(f.activeNode);
    if (f.attemptNode !== null && f.attemptNode.list !== null) f.attemptNode.list.remove(f.attemptNode);
    // unlink from its chain
    const slot = f.hash & this.mask;
    const head = this.table[slot] as Flow | null;
    if (head === f) {
      this.table[slot] = f.bucketNext;
    } else {
      let p = head;
      while (p !== null && p.bucketNext !== f) p = p.bucketNext;
      if (p !== null) p.bucketNext = f.bucketNext;
    }
    f.bucketNext = null;
    this.forgetRecent(f);
    this.flowCount--;
    if (f.app !== null) f.app.end(() => appRecordBase(f), this.onAppRecord);
    this.emit(f, cause);
  }

  /** Twice the slots, every chain split between its two new slots. */
  private growTable(): void {
    const old = this.table;
    const table = new Array<Flow | null>(old.length * 2).fill(null);
    const mask = table.length - 1;
    for (let i = 0; i < old.length; i++) {
      let f = old[i] as Flow | null;
      while (f !== null) {
        const next = f.bucketNext;
        const slot = f.hash & mask;
        f.bucketNext = table[slot] as Flow | null;
        table[slot] = f;
        f = next;
      }
    }
    this.table = table;
    this.mask = mask;
  }

  /** The recent-flow index with twice the entries, empty (they fill again as packets come). */
  private growRecent(): void {
    const entries = this.recentFlows.length * 2;
    this.recentKeys = new Int32Array(entries * RECENT_WORDS);
    this.recentFlows = new Array<Flow | null>(entries).fill(null);
    this.recentFromA = new Uint8Array(entries);
    this.recentShift = 32 - Math.log2(entries);
  }

  /** Every flow held, in no particular order. */
  private allFlows(): Flow[] {
    const all: Flow[] = [];
    for (const head of this.table) {
      for (let f: Flow | null = head; f !== null; f = f.bucketNext) all.push(f);
    }
    return all;
  }

  /**
   * Start time (µs) of the oldest flow still open, or null when none is: the packets a rebuilt
   * engine must see again to continue every open flow begin there (collector/scale replay).
   */
  oldestOpenStartUs(): number | null {
    let oldest: number | null = null;
    for (const f of this.allFlows()) if (oldest === null || f.flowStart < oldest) oldest = f.flowStart;
    return oldest;
  }

  /** Ends every flow (end of an import or shutdown). Closing TCP flows report 'close'. */
  flushAll(): void {
    const all = this.allFlows();
    all.sort(byStart);
    for (const f of all) this.finish(f, f.closing ? 'close' : 'flush');
    this.frags.clear();
  }
}
