// Packet-level building blocks of the labelled scenario captures (alert-scenarios.ts): TCP
// sessions, refused and unanswered attempts, UDP exchanges and ICMP echoes between IPv4
// hosts, written as a pcap of Ethernet frames. Frames keep their headers only (snap length
// 128, the wire length as it was, as `tcpdump -s 128` writes them): flows, bytes and packet
// counts come from the IP and TCP headers, and hours of traffic fit in a few megabytes.
// Bulk transfers use 64 KB segments, as a host's own capture sees them with TSO/GRO.
import { closeSync, openSync, writeSync } from 'node:fs';

/** mulberry32: small, seeded, good enough for traffic shapes. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Exponential variate with the given mean (Poisson inter-arrival). */
export function exponential(rnd: () => number, mean: number): number {
  return -Math.log(1 - rnd()) * mean;
}

/** Log-normal size: median `median`, clipped to [min, max]. */
export function lognormal(rnd: () => number, median: number, sigma: number, min: number, max: number): number {
  const u = Math.max(1e-12, rnd());
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  return Math.round(Math.min(max, Math.max(min, median * Math.exp(sigma * z))));
}

const SNAP = 128;
const MSS = 1448;
const TSO = 65_000;
export const SYN = 0x02, ACK = 0x10, PSH = 0x08, FIN = 0x01, RST = 0x04;

interface Frame { ts: number; data: Buffer; wireLen: number }

export interface SessionOptions {
  /** bytes the client sends / receives (one request, one response) */
  up: number;
  down: number;
  rttUs?: number;
  /** transfer rate of the bulk direction (bytes/s, default 5 MB/s) */
  bps?: number;
  /** segment size of transfers (default MSS; transfers over 64 KB use 64 KB segments, as TSO/GRO shows them) */
  segment?: number;
}

/** Frames of one capture, collected in any order and written sorted by time. */
export class ScenarioCapture {
  private readonly frames: Frame[] = [];
  private ipId = 1;
  private ephemeral = 40_000;

  constructor(private readonly rnd: () => number) {}

  get packets(): number {
    return this.frames.length;
  }

  /** A client port not used recently (cycles through 40000-60999). */
  port(): number {
    this.ephemeral = this.ephemeral >= 60_999 ? 40_000 : this.ephemeral + 1;
    return this.ephemeral;
  }

  private ip(ts: number, src: string, dst: string, proto: number, l4: Buffer, payloadLen: number): void {
    const total = 20 + l4.length + payloadLen;
    const f = Buffer.alloc(14 + 20 + l4.length);
    f[0] = 2; f[5] = 1; f[6] = 2; f[11] = 2; // locally administered MACs (not part of any flow)
    f.writeUInt16BE(0x0800, 12);
    f[14] = 0x45;
    f.writeUInt16BE(total, 16);
    f.writeUInt16BE(this.ipId++ & 0xffff, 18);
    f.writeUInt16BE(0x4000, 20);
    f[22] = 64;
    f[23] = proto;
    writeIpv4(f, 26, src);
    writeIpv4(f, 30, dst);
    l4.copy(f, 34);
    this.frames.push({ ts: Math.round(ts), data: f, wireLen: 14 + total });
  }

  tcp(ts: number, src: string, sport: number, dst: string, dport: number, seq: number, ack: number, flags: number, payloadLen = 0): void {
    const syn = (flags & SYN) !== 0;
    const hl = syn ? 24 : 20;
    const t = Buffer.alloc(hl);
    t.writeUInt16BE(sport, 0);
    t.writeUInt16BE(dport, 2);
    t.writeUInt32BE(seq >>> 0, 4);
    t.writeUInt32BE(ack >>> 0, 8);
    t[12] = (hl / 4) << 4;
    t[13] = flags;
    t.writeUInt16BE(64240, 14);
    if (syn) { t[20] = 2; t[21] = 4; t.writeUInt16BE(MSS, 22); }
    this.ip(ts, src, dst, 6, t, payloadLen);
  }

  udp(ts: number, src: string, sport: number, dst: string, dport: number, payloadLen: number): void {
    const u = Buffer.alloc(8);
    u.writeUInt16BE(sport, 0);
    u.writeUInt16BE(dport, 2);
    u.writeUInt16BE(8 + payloadLen, 4);
    this.ip(ts, src, dst, 17, u, payloadLen);
  }

  /**
   * A TCP connection as seen at the client's end: handshake, the request (`up` bytes), the
   * response (`down` bytes, an ACK every second segment), FIN close. Returns its end time.
   */
  session(t0: number, client: string, server: string, sport: number, o: SessionOptions, cport = this.port()): number {
    const rtt = o.rttUs ?? 30_000;
    const bps = o.bps ?? 5e6;
    let cs = Math.floor(this.rnd() * 2 ** 32);
    let ss = Math.floor(this.rnd() * 2 ** 32);
    let t = t0;
    this.tcp(t, client, cport, server, sport, cs, 0, SYN);
    t += rtt;
    this.tcp(t, server, sport, client, cport, ss, cs + 1, SYN | ACK);
    cs++; ss++;
    t += 50;
    this.tcp(t, client, cport, server, sport, cs, ss, ACK);
    const transfer = (from: string, fport: number, to: string, tport: number, bytes: number, seq: () => number, ackOf: () => number, advance: (n: number) => void): void => {
      const seg = o.segment ?? (bytes > 64_000 ? TSO : MSS);
      let sent = 0;
      let segs = 0;
      while (sent < bytes) {
        const n = Math.min(seg, bytes - sent);
        t += (n / bps) * 1e6;
        this.tcp(t, from, fport, to, tport, seq(), ackOf(), ACK | PSH, n);
        advance(n);
        sent += n;
        if (++segs % 2 === 0 || sent >= bytes) this.tcp(t + 40, to, tport, from, fport, ackOf(), seq(), ACK);
      }
    };
    transfer(client, cport, server, sport, o.up, () => cs, () => ss, (n) => { cs += n; });
    t += rtt;
    transfer(server, sport, client, cport, o.down, () => ss, () => cs, (n) => { ss += n; });
    t += 200 + this.rnd() * 5_000;
    this.tcp(t, client, cport, server, sport, cs, ss, FIN | ACK);
    t += rtt;
    this.tcp(t, server, sport, client, cport, ss, cs + 1, FIN | ACK);
    t += 50;
    this.tcp(t, client, cport, server, sport, cs + 1, ss + 1, ACK);
    return t;
  }

  /** One long connection with a small exchange every `everyUs` (push notifications, chat), open from t0 to t1. */
  keepAlive(t0: number, t1: number, client: string, server: string, sport: number, everyUs: number, bytes = 60): void {
    const cport = this.port();
    let cs = 1000;
    let ss = 9000;
    this.tcp(t0, client, cport, server, sport, cs, 0, SYN);
    this.tcp(t0 + 40_000, server, sport, client, cport, ss, cs + 1, SYN | ACK);
    cs++; ss++;
    this.tcp(t0 + 40_050, client, cport, server, sport, cs, ss, ACK);
    for (let t = t0 + everyUs; t < t1; t += everyUs * (0.97 + this.rnd() * 0.06)) {
      this.tcp(t, client, cport, server, sport, cs, ss, ACK | PSH, bytes);
      cs += bytes;
      this.tcp(t + 40_000, server, sport, client, cport, ss, cs, ACK | PSH, bytes);
      ss += bytes;
      this.tcp(t + 40_050, client, cport, server, sport, cs, ss, ACK);
    }
  }

  /** A SYN refused with RST (closed port). */
  refused(t: number, client: string, server: string, sport: number, cport = this.port(), rttUs = 500): void {
    const seq = Math.floor(this.rnd() * 2 ** 32);
    this.tcp(t, client, cport, server, sport, seq, 0, SYN);
    this.tcp(t + rttUs, server, sport, client, cport, 0, seq + 1, RST | ACK);
  }

  /** A SYN nobody answers (filtered port, absent host), retransmitted once after a second. */
  unanswered(t: number, client: string, server: string, sport: number, cport = this.port()): void {
    const seq = Math.floor(this.rnd() * 2 ** 32);
    this.tcp(t, client, cport, server, sport, seq, 0, SYN);
    this.tcp(t + 1e6, client, cport, server, sport, seq, 0, SYN);
  }

  /** A UDP request and (unless `down` is null) its answer. */
  udpExchange(t: number, client: string, server: string, sport: number, up: number, down: number | null, cport = this.port(), rttUs = 20_000): void {
    this.udp(t, client, cport, server, sport, up);
    if (down !== null) this.udp(t + rttUs, server, sport, client, cport, down);
  }

  /** Writes the frames, sorted by time, as a pcap (Ethernet, snap length 128). */
  write(file: string): { packets: number; startUs: number; endUs: number } {
    this.frames.sort((a, b) => a.ts - b.ts);
    const fd = openSync(file, 'w');
    try {
      const gh = Buffer.alloc(24);
      gh.writeUInt32LE(0xa1b2c3d4, 0);
      gh.writeUInt16LE(2, 4);
      gh.writeUInt16LE(4, 6);
      gh.writeUInt32LE(SNAP, 16);
      gh.writeUInt32LE(1, 20);
      writeSync(fd, gh);
      const chunk = Buffer.alloc(1 << 22);
      let used = 0;
      for (const f of this.frames) {
        if (used + 16 + f.data.length > chunk.length) { writeSync(fd, chunk, 0, used); used = 0; }
        chunk.writeUInt32LE(Math.floor(f.ts / 1e6), used);
        chunk.writeUInt32LE(f.ts % 1e6, used + 4);
        chunk.writeUInt32LE(f.data.length, used + 8);
        chunk.writeUInt32LE(f.wireLen, used + 12);
        f.data.copy(chunk, used + 16);
        used += 16 + f.data.length;
      }
      if (used > 0) writeSync(fd, chunk, 0, used);
    } finally {
      closeSync(fd);
    }
    const n = this.frames.length;
    return { packets: n, startUs: n > 0 ? this.frames[0]!.ts : 0, endUs: n > 0 ? this.frames[n - 1]!.ts : 0 };
  }
}

function writeIpv4(b: Buffer, off: number, s: string): void {
  const p = s.split('.');
  for (let i = 0; i < 4; i++) b[off + i] = Number(p[i]);
}
