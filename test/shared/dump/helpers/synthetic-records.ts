// Test fixture: realistic synthetic traffic for size and speed tests - a host
// with a few concurrent TCP conversations (handshake, data with growing
// seq/ack, timestamps option, per-connection IP id) plus some DNS over UDP.
// Deterministic (seeded) so sizes are reproducible.
import { Direction, FragFlag, IPPROTO_TCP, IPPROTO_UDP, PacketRecord, RecordFlag, TCP_ACK, TCP_PSH, TCP_SYN, TcpOpt } from '../../../../shared/packet/packet-record.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

interface Conn {
  peer: number;
  sport: number;
  dport: number;
  seqOut: number;
  seqIn: number;
  ipIdOut: number;
  ipIdIn: number;
  tsOut: number;
  tsIn: number;
  started: boolean;
}

export function syntheticRecords(count: number, seed = 1, payloadSnap = 0): PacketRecord[] {
  const rand = rng(seed);
  const out: PacketRecord[] = [];
  let ts = 1_700_000_000_000_000;
  const conns: Conn[] = [];
  const newConn = (): Conn => ({
    peer: 0x5db8d800 + Math.floor(rand() * 64), sport: 40000 + Math.floor(rand() * 20000), dport: rand() < 0.8 ? 443 : 22,
    seqOut: Math.floor(rand() * 2 ** 32), seqIn: Math.floor(rand() * 2 ** 32), ipIdOut: Math.floor(rand() * 65536),
    ipIdIn: Math.floor(rand() * 65536), tsOut: Math.floor(rand() * 2 ** 32), tsIn: Math.floor(rand() * 2 ** 32), started: false,
  });
  for (let i = 0; i < 6; i++) conns.push(newConn());
  const fill = (r: PacketRecord, c: Conn, outbound: boolean): void => {
    r.tsUs = ts;
    r.direction = outbound ? Direction.Out : Direction.In;
    r.ipVersion = 4;
    const local = [192, 168, 1, 79];
    const peer = [c.peer >>> 24, (c.peer >>> 16) & 255, (c.peer >>> 8) & 255, c.peer & 255];
    r.src.set(outbound ? local : peer);
    r.dst.set(outbound ? peer : local);
    r.flags = outbound ? RecordFlag.SrcAnon : RecordFlag.DstAnon;
    r.proto = IPPROTO_TCP;
    r.sport = outbound ? c.sport : c.dport;
    r.dport = outbound ? c.dport : c.sport;
    r.ttl = outbound ? 64 : 52;
    r.fragFlags = FragFlag.DontFragment;
    r.ipId = (outbound ? c.ipIdOut++ : c.ipIdIn++) & 0xffff;
    r.tcpOptFlags = TcpOpt.Timestamps;
    r.tcpTsVal = (outbound ? (c.tsOut += Math.floor(rand() * 3)) : (c.tsIn += Math.floor(rand() * 3))) >>> 0;
    r.tcpTsEcr = (outbound ? c.tsIn : c.tsOut) >>> 0;
  };
  while (out.length < count) {
    ts += Math.floor(rand() * rand() * 4000) + 1;
    if (rand() < 0.03) {
      // DNS query/response pair
      for (const outbound of [true, false]) {
        const r = new PacketRecord();
        r.tsUs = ts;
        ts += 300 + Math.floor(rand() * 20000);
        r.direction = outbound ? Direction.Out : Direction.In;
        r.ipVersion = 4;
        r.src.set(outbound ? [192, 168, 1, 79] : [192, 168, 1, 1]);
        r.dst.set(outbound ? [192, 168, 1, 1] : [192, 168, 1, 79]);
        r.flags = RecordFlag.SrcAnon | RecordFlag.DstAnon;
        r.proto = IPPROTO_UDP;
        const port = 30000 + Math.floor(rand() * 30000);
        r.sport = outbound ? port : 53;
        r.dport = outbound ? 53 : port;
        r.payloadLen = outbound ? 30 + Math.floor(rand() * 20) : 80 + Math.floor(rand() * 100);
        r.ipLen = r.payloadLen + 28;
        r.wireLen = r.ipLen + 14;
        r.ttl = 64;
        r.ipId = Math.floor(rand() * 65536);
        r.fragFlags = FragFlag.DontFragment;
        out.push(r);
      }
      continue;
    }
    let ci = Math.floor(rand() * conns.length);
    if (rand() < 0.002) conns[ci] = newConn();
    const c = conns[ci]!;
    const r = new PacketRecord();
    if (!c.started) {
      c.started = true;
      fill(r, c, true);
      r.tcpFlags = TCP_SYN;
      r.tcpSeq = c.seqOut >>> 0;
      r.tcpOptFlags |= TcpOpt.Mss | TcpOpt.WindowScale | TcpOpt.SackPermitted;
      r.tcpMss = 1460;
      r.tcpWscale = 7;
      r.tcpWindow = 64240;
      r.ipLen = 60;
      r.wireLen = 74;
      out.push(r);
      c.seqOut++;
      continue;
    }
    // mostly downloads: server data, client acks
    const outbound = rand() < 0.4;
    fill(r, c, outbound);
    const len = outbound ? (rand() < 0.7 ? 0 : Math.floor(rand() * 600)) : rand() < 0.8 ? 1448 : Math.floor(rand() * 1448);
    r.tcpFlags = TCP_ACK | (len > 0 && rand() < 0.3 ? TCP_PSH : 0);
    r.tcpSeq = (outbound ? c.seqOut : c.seqIn) >>> 0;
    r.tcpAck = (outbound ? c.seqIn : c.seqOut) >>> 0;
    if (outbound) c.seqOut += len; else c.seqIn += len;
    r.tcpWindow = outbound ? 501 + Math.floor(rand() * 8) : 83;
    r.payloadLen = len;
    r.ipLen = 52 + len;
    r.wireLen = Math.max(60, r.ipLen + 14);
    if (payloadSnap > 0 && len > 0) {
      const n = Math.min(len, payloadSnap);
      const p = new Uint8Array(n);
      for (let k = 0; k < n; k++) p[k] = Math.floor(rand() * 256);
      r.payload = p;
    }
    out.push(r);
  }
  out.length = count;
  return out;
}
