// Test helper: builds PacketRecords for scripted conversations (TCP segments with
// consistent sequence numbers, UDP datagrams, ICMP messages) and feeds them to a
// real FlowEngine, collecting the emitted records.
import { PacketRecord } from '../../../shared/packet/packet-record.js';
import { parseIp } from '../../../shared/net/ip-address.js';
import { FlowEngine, type FlowEngineOptions } from '../../../collector/flow/flow-engine.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';

export interface PacketSpec {
  tsUs: number;
  src: string;
  dst: string;
  proto: number;
  sport?: number;
  dport?: number;
  tcpFlags?: number;
  seq?: number;
  ack?: number;
  window?: number;
  payloadLen?: number;
  ipLen?: number;
  vlan?: number;
  flags?: number;
  fragFlags?: number;
  fragOffset?: number;
  ipId?: number;
  wireLen?: number;
  tunnel?: number;
}

const rec = new PacketRecord();

/** Fills the shared (reused) record, as a real producer would. */
export function makePacket(p: PacketSpec): PacketRecord {
  rec.reset();
  const s = parseIp(p.src);
  const d = parseIp(p.dst);
  rec.tsUs = p.tsUs;
  rec.ipVersion = s.version;
  rec.src.set(s.bytes);
  rec.dst.set(d.bytes);
  rec.proto = p.proto;
  rec.sport = p.sport ?? 0;
  rec.dport = p.dport ?? 0;
  rec.tcpFlags = p.tcpFlags ?? 0;
  rec.tcpSeq = (p.seq ?? 0) >>> 0;
  rec.tcpAck = (p.ack ?? 0) >>> 0;
  rec.tcpWindow = p.window ?? 65535;
  rec.payloadLen = p.payloadLen ?? 0;
  const hdr = (s.version === 6 ? 40 : 20) + (p.proto === 6 ? 20 : p.proto === 17 ? 8 : p.proto === 1 || p.proto === 58 ? 8 : 0);
  rec.ipLen = p.ipLen ?? hdr + rec.payloadLen;
  rec.vlan = p.vlan ?? 0;
  rec.flags = p.flags ?? 0;
  rec.fragFlags = p.fragFlags ?? 0;
  rec.fragOffset = p.fragOffset ?? 0;
  rec.ipId = p.ipId ?? 0;
  rec.wireLen = p.wireLen ?? rec.ipLen + 14;
  rec.tunnel = p.tunnel ?? 0;
  return rec;
}

export const F = 0x01, S = 0x02, R = 0x04, P = 0x08, A = 0x10;

export class Harness {
  readonly records: FlowRecord[] = [];
  readonly engine: FlowEngine;

  constructor(opts: Partial<FlowEngineOptions> = {}) {
    this.engine = new FlowEngine({ ...opts, onRecord: (r) => this.records.push(r) });
  }

  add(p: PacketSpec, agentId?: string): void {
    this.engine.add(makePacket(p), agentId);
  }

  finish(): FlowRecord[] {
    this.engine.flushAll();
    return this.records;
  }
}

interface Side {
  addr: string;
  port: number;
  seq: number;
}

/** A TCP conversation between a (client) and b (server) with tracked sequence numbers. */
export class TcpScript {
  private readonly a: Side;
  private readonly b: Side;
  t: number;

  constructor(private readonly h: Harness, a: string, b: string, t0Us = 1_700_000_000_000_000,
    private readonly stepUs = 1000) {
    const [aa, ap] = splitHostPort(a);
    const [ba, bp] = splitHostPort(b);
    this.a = { addr: aa, port: ap, seq: 1000 };
    this.b = { addr: ba, port: bp, seq: 500000 };
    this.t = t0Us;
  }

  /** Sends a segment; SYN and FIN consume a sequence number, data consumes its length. */
  send(from: 'a' | 'b', flags: number, len = 0, opts: { window?: number; seq?: number; ack?: number; dtUs?: number } = {}): void {
    const me = from === 'a' ? this.a : this.b;
    const peer = from === 'a' ? this.b : this.a;
    this.t += opts.dtUs ?? this.stepUs;
    const seq = opts.seq ?? me.seq;
    this.h.add({
      tsUs: this.t, src: me.addr, dst: peer.addr, proto: 6, sport: me.port, dport: peer.port,
      tcpFlags: flags, seq, ack: opts.ack ?? ((flags & A) !== 0 ? peer.seq : 0), window: opts.window ?? 65535, payloadLen: len,
    });
    if (opts.seq === undefined) {
      me.seq = (me.seq + len + ((flags & S) !== 0 ? 1 : 0) + ((flags & F) !== 0 ? 1 : 0)) >>> 0;
    }
  }

  handshake(): void {
    this.send('a', S);
    this.send('b', S | A);
    this.send('a', A);
  }
}

function splitHostPort(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  const host = s.slice(0, i).replace(/^\[|\]$/g, '');
  return [host, Number(s.slice(i + 1))];
}
