// One flow's mutable state inside the engine: its key (canonical endpoint order A < B,
// addresses as four int32 words each), which endpoint is the originator, cumulative
// per-direction counters with a snapshot taken at the last emitted record (records
// carry the difference), inter-arrival statistics, TCP state, and its timer nodes.
// Allocated once per flow (its application state only when metadata joins it).
import type { PacketRecord } from '../../shared/packet/packet-record.js';
import { ConnHistory } from './conn-history.js';
import { TimerNode } from './expiry-list.js';
import type { TcpConnection } from './tcp-connection.js';
import type { AppSession } from './app-session.js';

/** Per-direction cumulative counters and timing. */
class DirStats {
  pkts = 0;
  ipBytes = 0;
  payloadBytes = 0;
  /** counters at the last emitted record */
  reportedPkts = 0;
  reportedIpBytes = 0;
  reportedPayloadBytes = 0;
  reportedRetransmits = 0;
  reportedZeroWindows = 0;
  firstTs = -1;
  lastTs = -1;
  // Welford's running mean / M2 of inter-arrival times (µs)
  iatCount = 0;
  iatMean = 0;
  iatM2 = 0;

  /** Counts one packet (the time is read from the record: no double crosses a call). */
  addPacket(rec: PacketRecord, ipLen: number, payloadLen: number): void {
    const tsUs = rec.tsUs;
    this.pkts++;
    this.ipBytes += ipLen;
    this.payloadBytes += payloadLen;
    if (this.lastTs < 0) {
      this.firstTs = tsUs;
      this.lastTs = tsUs;
      return;
    }
    // out-of-order packets count as a zero gap and do not move time backwards
    let iat = tsUs - this.lastTs;
    if (iat < 0) iat = 0;
    else this.lastTs = tsUs;
    const n = ++this.iatCount;
    const d = iat - this.iatMean;
    this.iatMean += d / n;
    this.iatM2 += d * (iat - this.iatMean);
  }

  iatStddev(): number {
    return this.iatCount > 1 ? Math.sqrt(this.iatM2 / (this.iatCount - 1)) : 0;
  }
}

export class Flow {
  // ---- key (canonical: endpoint A sorts before B, except one-way ICMP where A sent) ----
  agentIdx = 0;
  agentId = '';
  ipVersion = 0;
  proto = 0;
  vlan = 0;
  // addresses as big-endian int32 words (IPv4: a0 only)
  a0 = 0; a1 = 0; a2 = 0; a3 = 0;
  b0 = 0; b1 = 0; b2 = 0; b3 = 0;
  portA = 0;
  portB = 0;
  anonA = false;
  anonB = false;
  oneWay = false;
  /** ICMP code of the first packet (Community ID needs it for one-way types) */
  icmpCode = 0;
  hash = 0;
  /** next flow in the same hash bucket */
  bucketNext: Flow | null = null;
  /** the engine's recent-flow index entries of this flow's packets from A and from B (-1: none; may since hold another flow) */
  recentFromA = -1;
  recentFromB = -1;

  /** true when endpoint A is the originator */
  origIsA = true;
  orig = new DirStats();
  resp = new DirStats();
  readonly history = new ConnHistory();
  tcp: TcpConnection | null = null;
  tunnel = 0;

  flowStart = 0;
  lastTs = 0;
  /** first / last packet time since the last emitted record (-1: none yet) */
  intervalStart = -1;
  intervalEnd = -1;
  /** the engine removed this flow; fragment references to it are stale */
  alive = true;
  /** TCP close (or reset) completed: waiting out the close delay */
  closing = false;
  uid = '';
  /** creation order in its engine (the uid's counter) */
  serial = 0;
  recordSeq = 0;
  communityId = '';
  /** application state from metadata records (null for the flows that have none) */
  app: AppSession | null = null;

  readonly idleNode: TimerNode<Flow> = new TimerNode<Flow>(this);
  readonly activeNode: TimerNode<Flow> = new TimerNode<Flow>(this);
  attemptNode: TimerNode<Flow> | null = null;

  /** Endpoint A's (or B's) address bytes in the PacketRecord layout. */
  addressBytes(b: boolean, out: Uint8Array): Uint8Array {
    const w = b ? [this.b0, this.b1, this.b2, this.b3] : [this.a0, this.a1, this.a2, this.a3];
    out.fill(0);
    const words = this.ipVersion === 6 ? 4 : 1;
    for (let i = 0; i < words; i++) {
      out[4 * i] = w[i]! >>> 24;
      out[4 * i + 1] = (w[i]! >>> 16) & 0xff;
      out[4 * i + 2] = (w[i]! >>> 8) & 0xff;
      out[4 * i + 3] = w[i]! & 0xff;
    }
    return out;
  }

  /** Swaps originator and responder (counters, timing, TCP endpoints). */
  flipRoles(): void {
    this.origIsA = !this.origIsA;
    const t = this.orig;
    this.orig = this.resp;
    this.resp = t;
  }
}
