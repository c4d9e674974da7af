// A long mixed capture for the intelligent-capture benchmark, generated (seeded, so every run
// replays the same packets): hours of one workstation's benign traffic - DNS before each web
// connection, TLS-like HTTPS sessions of log-normal size to ~150 servers, a push-notification
// connection with keep-alives, NTP, a large software update - and three malicious episodes whose
// peers appear nowhere else (the ground truth of the benchmark):
//   beacon  C2 callbacks every 60 s (±10 % jitter, small regular exchanges), 50 minutes;
//   exfil   a 3 MB HTTP POST to an address on the threat-intel feed;
//   scan    an inbound port scan of the workstation from one address, then an exploit attempt
//           from it on the one open service.
// Ethernet frames, IPv4, TCP with MSS 1448, payloads random (incompressible, like TLS).
import { closeSync, openSync, writeSync } from 'node:fs';

export const HOST = '192.168.10.50';
const GATEWAY = '192.168.10.1';
const HOST_MAC = [0x02, 0x00, 0x00, 0x0a, 0x32, 0x01];
const GW_MAC = [0x02, 0x00, 0x00, 0x0a, 0x01, 0x01];
const MSS = 1448;

export interface Episode {
  name: 'beacon' | 'exfil' | 'scan';
  /** the malicious peer (every packet with it belongs to the episode) */
  peer: string;
  startUs: number;
  endUs: number;
}

export interface MixedCapture {
  file: string;
  packets: number;
  /** bytes on the wire (frame lengths) */
  wireBytes: number;
  /** the pcap file (what `tcpdump -w` writes for these frames) */
  fileBytes: number;
  startUs: number;
  endUs: number;
  host: string;
  episodes: Episode[];
  /** the address on the threat-intel feed */
  listed: string;
}

interface Frame { ts: number; data: Buffer }

/** mulberry32: small, seeded, good enough for traffic shapes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ip4 = (s: string): number[] => s.split('.').map(Number);

class Builder {
  readonly frames: Frame[] = [];
  private ipId = 1;
  private x: number;

  constructor(rnd: () => number) {
    this.x = (Math.floor(rnd() * 4294967295) | 1) >>> 0;
  }

  /** n fresh pseudo-random bytes (xorshift32: every payload different, so nothing compresses across them, as TLS) */
  payload(n: number, text = ''): Buffer {
    const b = Buffer.alloc(n);
    let x = this.x;
    for (let i = 0; i < n; i += 4) {
      x ^= x << 13; x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5; x >>>= 0;
      b[i] = x & 0xff;
      if (i + 1 < n) b[i + 1] = (x >>> 8) & 0xff;
      if (i + 2 < n) b[i + 2] = (x >>> 16) & 0xff;
      if (i + 3 < n) b[i + 3] = x >>> 24;
    }
    this.x = x;
    if (text) Buffer.from(text).copy(b, 0, 0, Math.min(n, text.length));
    return b;
  }

  private ip(ts: number, src: string, dst: string, proto: number, l4: Buffer): void {
    const out = src === HOST;
    const f = Buffer.alloc(14 + 20 + l4.length);
    Buffer.from(out ? GW_MAC : HOST_MAC).copy(f, 0);
    Buffer.from(out ? HOST_MAC : GW_MAC).copy(f, 6);
    f.writeUInt16BE(0x0800, 12);
    f[14] = 0x45;
    f.writeUInt16BE(20 + l4.length, 16);
    f.writeUInt16BE(this.ipId++ & 0xffff, 18);
    f.writeUInt16BE(0x4000, 20);
    f[22] = out ? 64 : 52;
    f[23] = proto;
    Buffer.from(ip4(src)).copy(f, 26);
    Buffer.from(ip4(dst)).copy(f, 30);
    let s = 0;
    for (let i = 14; i < 34; i += 2) s += f.readUInt16BE(i);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    f.writeUInt16BE(~s & 0xffff, 24);
    l4.copy(f, 34);
    this.frames.push({ ts: Math.round(ts), data: f });
  }

  tcp(ts: number, src: string, sport: number, dst: string, dport: number, seq: number, ack: number, flags: number, data: Buffer = Buffer.alloc(0), mss = false): void {
    const hl = mss ? 24 : 20;
    const t = Buffer.alloc(hl + data.length);
    t.writeUInt16BE(sport, 0);
    t.writeUInt16BE(dport, 2);
    t.writeUInt32BE(seq >>> 0, 4);
    t.writeUInt32BE(ack >>> 0, 8);
    t[12] = (hl / 4) << 4;
    t[13] = flags;
    t.writeUInt16BE(64240, 14);
    if (mss) { t[20] = 2; t[21] = 4; t.writeUInt16BE(MSS, 22); }
    data.copy(t, hl);
    this.ip(ts, src, dst, 6, t);
  }

  udp(ts: number, src: string, sport: number, dst: string, dport: number, data: Buffer): void {
    const u = Buffer.alloc(8 + data.length);
    u.writeUInt16BE(sport, 0);
    u.writeUInt16BE(dport, 2);
    u.writeUInt16BE(8 + data.length, 4);
    data.copy(u, 8);
    this.ip(ts, src, dst, 17, u);
  }
}

const SYN = 0x02, ACK = 0x10, PSH = 0x08, FIN = 0x01, RST = 0x04;

/**
 * One TCP connection seen at the client (the workstation, or - inbound - at the server): the
 * handshake, exchanges of `up` bytes then `down` bytes (segments at `bps`, an ACK every second
 * segment), and a FIN close. Returns the time it ends.
 */
function session(b: Builder, rnd: () => number, t0: number, c: string, cport: number, s: string, sport: number, exchanges: { up: number; down: number; upText?: string }[], rttUs: number, bps: number): number {
  let cs = Math.floor(rnd() * 2 ** 32);
  let ss = Math.floor(rnd() * 2 ** 32);
  const atHostIsClient = c === HOST;
  // times at the capture point: the host sends at t, receives what the other side sent rtt later
  const half = atHostIsClient ? rttUs : 0;
  let t = t0;
  b.tcp(t, c, cport, s, sport, cs, 0, SYN, undefined, true);
  t += atHostIsClient ? rttUs : 60;
  b.tcp(t, s, sport, c, cport, ss, cs + 1, SYN | ACK, undefined, true);
  cs++; ss++;
  t += atHostIsClient ? 60 : rttUs;
  b.tcp(t, c, cport, s, sport, cs, ss, ACK);
  for (const x of exchanges) {
    let sent = 0;
    const upGap = Math.max(40, (MSS / bps) * 1e6);
    while (sent < x.up) {
      const n = Math.min(MSS, x.up - sent);
      t += upGap;
      b.tcp(t, c, cport, s, sport, cs, ss, ACK | PSH, b.payload(n, sent === 0 ? x.upText ?? '' : ''));
      cs += n; sent += n;
      if (x.up > 20 * MSS && (sent / MSS) % 2 === 0) b.tcp(t + (atHostIsClient ? rttUs : 30), s, sport, c, cport, ss, cs, ACK);
    }
    t += half + 200; // request travels, server thinks
    let got = 0;
    let segs = 0;
    const gap = (MSS / bps) * 1e6;
    while (got < x.down) {
      const n = Math.min(MSS, x.down - got);
      t += gap;
      b.tcp(t, s, sport, c, cport, ss, cs, ACK | PSH, b.payload(n));
      ss += n; got += n; segs++;
      if (segs % 2 === 0 || got >= x.down) b.tcp(t + 30, c, cport, s, sport, cs, ss, ACK);
    }
    t += 1000 + rnd() * 20_000;
  }
  b.tcp(t, c, cport, s, sport, cs, ss, FIN | ACK);
  t += atHostIsClient ? rttUs : 50;
  b.tcp(t, s, sport, c, cport, ss, cs + 1, FIN | ACK);
  t += atHostIsClient ? 50 : rttUs;
  b.tcp(t, c, cport, s, sport, cs + 1, ss + 1, ACK);
  return Math.round(t);
}

/** A DNS query for an A record and its answer (well-formed, so tshark decodes them). */
function dns(b: Builder, rnd: () => number, t: number): number {
  const port = 30000 + Math.floor(rnd() * 30000);
  const id = Math.floor(rnd() * 65536);
  const name = Buffer.concat([Buffer.from([3]), Buffer.from('www'), Buffer.from([7 + 0]), Buffer.from(`site${String(Math.floor(rnd() * 1000)).padStart(3, '0')}`), Buffer.from([7]), Buffer.from('example'), Buffer.from([3]), Buffer.from('com'), Buffer.from([0])]);
  const q = Buffer.concat([Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), name, Buffer.from([0, 1, 0, 1])]);
  b.udp(t, HOST, port, GATEWAY, 53, q);
  const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 93, 184, Math.floor(rnd() * 256), 1 + Math.floor(rnd() * 250)]);
  const r = Buffer.concat([Buffer.from([id >> 8, id & 0xff, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]), name, Buffer.from([0, 1, 0, 1]), answer]);
  b.udp(t + 8000 + rnd() * 20000, GATEWAY, 53, HOST, port, r);
  return t + 30_000;
}

/** Log-normal response size: median `median` bytes, clipped to [min, max]. */
function lognormal(rnd: () => number, median: number, sigma: number, min: number, max: number): number {
  const u = Math.max(1e-9, rnd());
  const v = rnd();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return Math.round(Math.min(max, Math.max(min, median * Math.exp(sigma * z))));
}

export function makeMixedCapture(file: string, opts: { hours?: number; seed?: number; startUs?: number } = {}): MixedCapture {
  const hours = opts.hours ?? 4;
  const rnd = prng(opts.seed ?? 0x4d4b);
  const b = new Builder(rnd);
  const start = opts.startUs ?? 1_893_456_000_000_000; // 2030-01-01
  const end = start + hours * 3_600e6;
  const servers = Array.from({ length: 150 }, (_, i) => `${[151, 142, 104, 93, 185][i % 5]}.${16 + Math.floor(rnd() * 200)}.${Math.floor(rnd() * 250)}.${1 + Math.floor(rnd() * 250)}`);
  let ephemeral = 40000;
  const port = (): number => (ephemeral = ephemeral >= 60999 ? 40000 : ephemeral + 1);

  // benign: web sessions (Poisson, one every ~25 s on average), each after a DNS lookup
  for (let t = start + 5e6; t < end;) {
    t += -Math.log(1 - rnd()) * 25e6;
    const srv = servers[Math.floor(rnd() * servers.length)]!;
    const td = dns(b, rnd, t);
    const n = 1 + Math.floor(rnd() * 3);
    session(b, rnd, td, HOST, port(), srv, 443, Array.from({ length: n }, () => ({ up: 300 + Math.floor(rnd() * 500), down: lognormal(rnd, 25_000, 1.2, 800, 3_000_000) })), 15_000 + rnd() * 60_000, 2e6 + rnd() * 8e6);
  }
  // benign: a push-notification connection, a keep-alive every 4 min (one long flow)
  {
    const srv = '17.57.146.20';
    let t = start + 2e6;
    let cs = 1000, ss = 5000;
    const cport = port();
    b.tcp(t, HOST, cport, srv, 5223, cs, 0, SYN, undefined, true);
    b.tcp(t + 40_000, srv, 5223, HOST, cport, ss, cs + 1, SYN | ACK, undefined, true);
    cs++; ss++;
    b.tcp(t + 40_100, HOST, cport, srv, 5223, cs, ss, ACK);
    for (t += 240e6; t < end; t += 240e6 + rnd() * 5e6) {
      const p = b.payload(37);
      b.tcp(t, HOST, cport, srv, 5223, cs, ss, ACK | PSH, p);
      cs += 37;
      const q = b.payload(37);
      b.tcp(t + 41_000, srv, 5223, HOST, cport, ss, cs, ACK | PSH, q);
      ss += 37;
      b.tcp(t + 41_100, HOST, cport, srv, 5223, cs, ss, ACK);
    }
  }
  // benign: NTP every 1024 s
  for (let t = start + 30e6; t < end; t += 1024e6) {
    const p = port();
    b.udp(t, HOST, p, '162.159.200.1', 123, b.payload(48, '\x23'));
    b.udp(t + 25_000, '162.159.200.1', 123, HOST, p, b.payload(48, '\x24'));
  }
  // benign: a 60 MB software update after 30 minutes
  {
    const t = dns(b, rnd, start + 1_800e6);
    session(b, rnd, t, HOST, port(), '151.101.2.132', 443, [{ up: 600, down: 60_000_000 }], 20_000, 12e6);
  }

  const episodes: Episode[] = [];
  // malicious: beacon, from 1 h on, every 60 s +- 10 %, 50 minutes
  {
    const peer = '203.0.113.66';
    const s0 = start + 3_600e6;
    let t = s0;
    let last = t;
    while (t < s0 + 3_000e6) {
      last = session(b, rnd, t, HOST, port(), peer, 443, [{ up: 220 + Math.floor(rnd() * 20), down: 180 + Math.floor(rnd() * 20) }], 35_000, 5e6);
      t += 60e6 * (0.9 + rnd() * 0.2);
    }
    episodes.push({ name: 'beacon', peer, startUs: s0, endUs: last });
  }
  // malicious: exfiltration to a listed address at 2 h
  const listed = '198.51.100.23';
  {
    const s0 = start + 7_200e6;
    const e = session(b, rnd, s0, HOST, port(), listed, 8080, [{ up: 3_000_000, down: 300, upText: 'POST /upload HTTP/1.1\r\nHost: 198.51.100.23:8080\r\nContent-Type: application/octet-stream\r\n\r\n' }], 90_000, 3e6);
    episodes.push({ name: 'exfil', peer: listed, startUs: s0, endUs: e });
  }
  // malicious: inbound port scan at 3 h (40 ports, 2 open), then an exploit attempt on the open service
  {
    const scanner = '45.33.32.156';
    const s0 = start + 10_800e6;
    let t = s0;
    const open = new Set([22, 8443]);
    const ports = [21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1433, 1521, 1723, 2049, 3306, 3389, 5432, 5900, 5985, 6379, 8000, 8080, 8443, 8888, 9000, 9090, 9200, 10000, 11211, 27017, 50000, 5060, 161, 389, 636];
    for (const p of ports) {
      const sp = 50000 + Math.floor(rnd() * 10000);
      const seq = Math.floor(rnd() * 2 ** 32);
      b.tcp(t, scanner, sp, HOST, p, seq, 0, SYN, undefined, true);
      if (open.has(p)) {
        b.tcp(t + 80, HOST, p, scanner, sp, Math.floor(rnd() * 2 ** 32), seq + 1, SYN | ACK, undefined, true);
        b.tcp(t + 60_000, scanner, sp, HOST, p, seq + 1, 0, RST);
      } else {
        b.tcp(t + 80, HOST, p, scanner, sp, 0, seq + 1, RST | ACK);
      }
      t += 250_000 + rnd() * 250_000;
    }
    const e = session(b, rnd, t + 60e6, scanner, 51515, HOST, 8443, [{ up: 2000, down: 1100, upText: 'POST /cgi-bin/.%2e/.%2e/bin/sh HTTP/1.1\r\n' }], 120_000, 2e6);
    episodes.push({ name: 'scan', peer: scanner, startUs: s0, endUs: e });
  }

  b.frames.sort((x, y) => x.ts - y.ts);
  const fd = openSync(file, 'w');
  let fileBytes = 0;
  let wireBytes = 0;
  try {
    const gh = Buffer.alloc(24);
    gh.writeUInt32LE(0xa1b2c3d4, 0);
    gh.writeUInt16LE(2, 4);
    gh.writeUInt16LE(4, 6);
    gh.writeUInt32LE(262144, 16);
    gh.writeUInt32LE(1, 20);
    fileBytes += writeSync(fd, gh);
    const batch: Buffer[] = [];
    let pending = 0;
    for (const f of b.frames) {
      const rh = Buffer.alloc(16);
      rh.writeUInt32LE(Math.floor(f.ts / 1e6), 0);
      rh.writeUInt32LE(f.ts % 1e6, 4);
      rh.writeUInt32LE(f.data.length, 8);
      rh.writeUInt32LE(f.data.length, 12);
      batch.push(rh, f.data);
      pending += 16 + f.data.length;
      wireBytes += f.data.length;
      if (pending > 4 << 20) { fileBytes += writeSync(fd, Buffer.concat(batch)); batch.length = 0; pending = 0; }
    }
    if (batch.length) fileBytes += writeSync(fd, Buffer.concat(batch));
  } finally {
    closeSync(fd);
  }
  return {
    file, packets: b.frames.length, wireBytes, fileBytes, startUs: b.frames[0]!.ts, endUs: b.frames[b.frames.length - 1]!.ts,
    host: HOST, episodes, listed,
  };
}
