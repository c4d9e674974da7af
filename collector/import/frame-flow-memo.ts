// The import's frame memo: the flow of a TCP segment found from its frame, without the record.
// 94 % of a typical capture's packets are segments of a connection already seen. On the
// record-at-a-time path each of them is decoded into every record field, anonymized, looked at
// by the metadata extractor and looked up in the flow engine by its pseudonymized key - but
// what it changes is only its flow's counters, TCP state and timers. Here a frame of Ethernet
// [802.1Q] / IPv4 / TCP (not a SYN) is parsed for the few fields the flow engine counts, and its
// real key as sent (addresses, ports, VLAN) is looked up in a direct-mapped table of the flow
// the last packet with that key went to. A key maps to one flow while that flow lives: the
// pseudonyms are a function of the real addresses, and a segment that is not a SYN never starts
// a flow. So the import can hand such a packet to FlowEngine.addToFlow (docs/benchmarks.md,
// "A path for the common frame"). Anything else - another frame layout, a SYN, a key not in the
// table, a flow that ended - goes the record way, and the flow it reaches is remembered.
// Holds real addresses in process memory only, as the anonymizer's memo does.
import type { DecodedPacket } from '../../shared/decode/decoded-packet.js';
import { NOP_NOP_TIMESTAMPS } from '../../shared/decode/fast-lane.js';
import { LinkType } from '../../shared/decode/link-types.js';
import { ETHERTYPE_IPV4, ETHERTYPE_VLAN } from '../../shared/decode/protocol-numbers.js';
import { IPPROTO_TCP, TCP_SYN } from '../../shared/packet/packet-record.js';
import type { Flow } from '../flow/flow.js';

/** words per entry: source, destination, ports, VLAN + 1 (0: empty) */
const KEY_WORDS = 4;
const INITIAL_ENTRIES = 4096;
const MAX_ENTRIES = 1 << 22;
/** entries per flow held: a flow's two directions, and room against collisions */
const ENTRIES_PER_FLOW = 4;
/** ended flows are let go once per this many table sizes of frames matched */
const SWEEP_EVERY = 4;

/** Whether TCP options in f[o, end) are free of what decodeTcpOptions marks malformed (a length missing, < 2, or past the header). */
function optionsWellFormed(f: Uint8Array, o: number, end: number): boolean {
  while (o < end) {
    const kind = f[o]!;
    if (kind === 0) return true;
    if (kind === 1) { o++; continue; }
    if (o + 2 > end) return false;
    const len = f[o + 1]!;
    if (len < 2 || o + len > end) return false;
    o += len;
  }
  return true;
}

export class FrameFlowMemo {
  private keys = new Int32Array(INITIAL_ENTRIES * KEY_WORDS);
  private flows: Array<Flow | null> = new Array<Flow | null>(INITIAL_ENTRIES).fill(null);
  private fromA = new Uint8Array(INITIAL_ENTRIES);
  private shift = 32 - Math.log2(INITIAL_ENTRIES);
  /** the entry of the last frame match() took (its key written), for remember(); -1: none */
  private pending = -1;
  /** frames matched since the last sweep of ended flows */
  private sinceSweep = 0;
  private viewBuf: Uint8Array | null = null;
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  /** whether the sender of the frame match() last found a flow for is the flow's endpoint A */
  matchFromA = false;

  /**
   * The live flow of this frame's key when the frame is Ethernet [802.1Q] / IPv4 / TCP without
   * SYN, shaped as the decoder's fast lane takes it (shared/decode/fast-lane.ts, same tests),
   * and its key is in the table; then `out` holds the fields FlowEngine.addToFlow and
   * AppMetaExtractor.ignoresTcpSegment read but the time, which the caller stores (a double
   * handed to a call V8 does not inline is boxed, a heap number per frame), the other fields
   * are left as they were, and matchFromA is the sender's side. Null otherwise (`out` untouched): the frame goes the record
   * way, and remember() after it stores its flow when the frame was of this shape.
   */
  match(linkType: number, f: Uint8Array, offset: number, capLen: number, wireLen: number, out: DecodedPacket): Flow | null {
    this.pending = -1;
    const end = offset + capLen;
    let l3 = offset + 14;
    if (linkType !== LinkType.Ethernet || l3 + 20 > end || end > f.length) return null;
    // words read through a DataView: one load and bounds check for up to four bytes
    const dv = this.viewOf(f);
    let type = dv.getUint16(offset + 12);
    let vlan = 0;
    if (type === ETHERTYPE_VLAN) {
      const tag = dv.getUint32(l3);
      vlan = (tag >>> 16) & 0x0fff;
      type = tag & 0xffff;
      l3 += 4;
      if (l3 + 20 > end) return null;
    }
    if (type !== ETHERTYPE_IPV4) return null;
    const ip0 = dv.getUint32(l3);
    const vihl = ip0 >>> 24;
    const hl = (vihl & 0x0f) << 2;
    if (vihl >> 4 !== 4 || hl < 20 || f[l3 + 9] !== IPPROTO_TCP) return null;
    const total = ip0 & 0xffff;
    if (total < hl) return null;
    const declEnd = l3 + total;
    const capShort = capLen < wireLen;
    if (declEnd > offset + (capShort ? wireLen : capLen) || (declEnd > end && !capShort)) return null;
    const l4 = l3 + hl;
    if ((dv.getUint16(l3 + 6) & 0xbfff) !== 0) return null;
    const segEnd = declEnd < end ? declEnd : end;
    if (segEnd - l4 < 20) return null;
    // data offset, flags and window
    const tcp3 = dv.getUint32(l4 + 12);
    const tcpHl = (tcp3 >>> 28) << 2;
    const tcpFlags = (tcp3 >>> 16) & 0xff;
    if (tcpHl < 20 || l4 + tcpHl > segEnd || (tcpFlags & TCP_SYN) !== 0) return null;
    // options the decoder would mark malformed make the record damaged: the flow engine counts
    // it in a port-less flow, not this one
    if (tcpHl > 20 && !(tcpHl === 32 && dv.getUint32(l4 + 20) === NOP_NOP_TIMESTAMPS) && !optionsWellFormed(f, l4 + 20, l4 + tcpHl)) return null;

    const src = dv.getInt32(l3 + 12);
    const dst = dv.getInt32(l3 + 16);
    const ports = dv.getInt32(l4);
    const rest = vlan + 1;
    const e = Math.imul(src ^ Math.imul(dst ^ rest, 0x9e3779b1) ^ Math.imul(ports, 0x85ebca6b), 0xc2b2ae35) >>> this.shift;
    const k = e * KEY_WORDS;
    const keys = this.keys;
    this.pending = e;
    this.sinceSweep++;
    const flow = this.flows[e]!;
    if (keys[k] !== src || keys[k + 1] !== dst || keys[k + 2] !== ports || keys[k + 3] !== rest) {
      keys[k] = src; keys[k + 1] = dst; keys[k + 2] = ports; keys[k + 3] = rest;
      this.flows[e] = null;
      return null;
    }
    if (flow === null || !flow.alive) return null;
    this.matchFromA = this.fromA[e] === 1;
    const payOff = l4 + tcpHl;
    out.proto = IPPROTO_TCP;
    out.flags = 0;
    out.wireLen = wireLen;
    out.ipLen = total;
    out.sport = ports >>> 16;
    out.dport = ports & 0xffff;
    out.tcpFlags = tcpFlags;
    out.tcpSeq = dv.getUint32(l4 + 4);
    out.tcpAck = dv.getUint32(l4 + 8);
    out.tcpWindow = tcp3 & 0xffff;
    out.frame = f;
    out.frameOff = offset;
    out.capLen = capLen;
    out.payloadOff = payOff;
    out.payloadLen = declEnd > payOff ? declEnd - payOff : 0;
    return flow;
  }

  /**
   * After a frame match() took went the record way: stores the flow it reached (the engine's
   * lastFlowAdded, lastFromA) under its key. `activeFlows`: the engine's flows held, which the
   * table grows with.
   */
  remember(flow: Flow | null, fromA: boolean, activeFlows: number): void {
    const e = this.pending;
    if (e < 0 || flow === null) return;
    this.pending = -1;
    // here, not in match(): a call there that runs once in thousands of frames has no type
    // feedback when match() is optimized, and its first run threw the optimized code away
    if (this.sinceSweep > SWEEP_EVERY * this.flows.length) this.sweep();
    if (activeFlows * ENTRIES_PER_FLOW > this.flows.length && this.flows.length < MAX_ENTRIES) {
      this.grow();
      return; // the key's entry went with the old table: the next packet of the key stores it
    }
    this.flows[e] = flow;
    this.fromA[e] = fromA ? 1 : 0;
  }

  /** A DataView over `f`, made again only when the reader hands over another buffer. */
  private viewOf(f: Uint8Array): DataView<ArrayBufferLike> {
    if (f !== this.viewBuf) {
      this.view = new DataView(f.buffer, f.byteOffset, f.byteLength);
      this.viewBuf = f;
    }
    return this.view;
  }

  /** Entries held (tests). */
  get capacity(): number {
    return this.flows.length;
  }

  private grow(): void {
    const n = this.flows.length * 2;
    this.keys = new Int32Array(n * KEY_WORDS);
    this.flows = new Array<Flow | null>(n).fill(null);
    this.fromA = new Uint8Array(n);
    this.shift = 32 - Math.log2(n);
  }

  /**
   * Lets go of ended flows (entries keep a flow until their key comes again or is overwritten):
   * at most once per SWEEP_EVERY table sizes of frames matched, a quarter of a look per frame.
   */
  private sweep(): void {
    this.sinceSweep = 0;
    const flows = this.flows;
    for (let i = 0; i < flows.length; i++) {
      const f = flows[i]!;
      if (f !== null && !f.alive) flows[i] = null;
    }
  }
}
