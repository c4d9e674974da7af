// Builds a browsing-like capture for the metadata benchmarks: one host visiting pages, each
// page opening connections to its site and to a shared pool of third-party domains (CDNs,
// analytics, fonts), with a DNS lookup per domain not in the client's cache (some through
// CNAME chains), TLS over TCP with a two-segment ClientHello (1,800 bytes, as browsers send
// with post-quantum key shares) and a ServerHello flight, QUIC connections whose client
// Initial is really protected (RFC 9001 keys, so the extractor can open it), some plain
// HTTP, and a heavy-tailed number of data packets per connection. Deterministic (seeded).
import { createCipheriv } from 'node:crypto';
import { closeSync, existsSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { clientInitialKeys, QUIC_V1 } from '../shared/appmeta/quic-initial.js';

/** xorshift32: a fixed stream of numbers for a fixed seed */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
}

const CLIENT = [192, 168, 1, 23];
const RESOLVER = [192, 168, 1, 1];

class PcapOut {
  private readonly chunk = Buffer.alloc(4 << 20);
  private used = 0;
  packets = 0;
  tsUs = 1_700_000_000_000_000;
  constructor(private readonly fd: number) {
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0); h.writeUInt16LE(2, 4); h.writeUInt16LE(4, 6); h.writeUInt32LE(65535, 16); h.writeUInt32LE(1, 20);
    writeSync(fd, h);
  }
  /** One Ethernet/IPv4 frame; `l4` is the TCP or UDP header + payload. */
  ip(src: number[], dst: number[], proto: number, l4: Buffer, gapUs: number): void {
    this.tsUs += gapUs;
    const len = 14 + 20 + l4.length;
    if (this.used + 16 + len > this.chunk.length) this.drain();
    const c = this.chunk;
    let o = this.used;
    c.writeUInt32LE(Math.floor(this.tsUs / 1e6), o); c.writeUInt32LE(this.tsUs % 1e6, o + 4); c.writeUInt32LE(len, o + 8); c.writeUInt32LE(len, o + 12);
    o += 16;
    c.fill(0, o, o + 12); c[o] = 2; c[o + 6] = 2; c[o + 11] = 1; c.writeUInt16BE(0x0800, o + 12);
    o += 14;
    c[o] = 0x45; c[o + 1] = 0; c.writeUInt16BE(20 + l4.length, o + 2); c.writeUInt16BE(this.packets & 0xffff, o + 4); c.writeUInt16BE(0x4000, o + 6);
    c[o + 8] = 64; c[o + 9] = proto; c.writeUInt16BE(0, o + 10);
    for (let i = 0; i < 4; i++) { c[o + 12 + i] = src[i]!; c[o + 16 + i] = dst[i]!; }
    l4.copy(c, o + 20);
    this.used = o + 20 + l4.length;
    this.packets++;
  }
  drain(): void {
    writeSync(this.fd, this.chunk, 0, this.used);
    this.used = 0;
  }
}

function udp(sport: number, dport: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b.writeUInt16BE(sport, 0); b.writeUInt16BE(dport, 2); b.writeUInt16BE(b.length, 4);
  payload.copy(b, 8);
  return b;
}

function tcp(sport: number, dport: number, seq: number, ack: number, flags: number, payload: Buffer | number): Buffer {
  const p = typeof payload === 'number' ? Buffer.alloc(payload, 0x5a) : payload;
  const b = Buffer.alloc(32 + p.length);
  b.writeUInt16BE(sport, 0); b.writeUInt16BE(dport, 2); b.writeUInt32BE(seq >>> 0, 4); b.writeUInt32BE(ack >>> 0, 8);
  b[12] = 8 << 4; b[13] = flags; b.writeUInt16BE(502, 14);
  b[20] = 1; b[21] = 1; b[22] = 8; b[23] = 10; // NOP NOP timestamps
  p.copy(b, 32);
  return b;
}

function dnsName(n: string): Buffer {
  return Buffer.concat([...n.split('.').map((l) => Buffer.concat([Buffer.of(l.length), Buffer.from(l)])), Buffer.of(0)]);
}

function dnsMessage(id: number, response: boolean, name: string, answers: { type: number; data: Buffer }[]): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0); h.writeUInt16BE(response ? 0x8180 : 0x0100, 2); h.writeUInt16BE(1, 4); h.writeUInt16BE(answers.length, 6);
  const parts = [h, dnsName(name), Buffer.of(0, 1, 0, 1)];
  for (const a of answers) {
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); rr.writeUInt16BE(a.type, 2); rr.writeUInt16BE(1, 4); rr.writeUInt32BE(300, 6); rr.writeUInt16BE(a.data.length, 10);
    parts.push(rr, a.data);
  }
  return Buffer.concat(parts);
}

const u16 = (v: number): Buffer => Buffer.of(v >> 8, v & 0xff);
const vec16 = (b: Buffer): Buffer => Buffer.concat([u16(b.length), b]);
const ext = (type: number, body: Buffer): Buffer => Buffer.concat([u16(type), vec16(body)]);

/** A Chrome-like ClientHello (about `size` bytes with the key share padding). */
function clientHello(sni: string, alpn: string[], size: number, r: () => number): Buffer {
  const random = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) random[i] = (r() * 256) | 0;
  const name = Buffer.from(sni);
  const exts = Buffer.concat([
    ext(0x0a0a, Buffer.alloc(0)),
    ext(0x0000, vec16(Buffer.concat([Buffer.of(0), vec16(name)]))),
    ext(0x0017, Buffer.alloc(0)), ext(0xff01, Buffer.of(0)), ext(0x000a, vec16(Buffer.of(0x11, 0xec, 0, 0x1d, 0, 0x17, 0, 0x18))),
    ext(0x000b, Buffer.of(1, 0)), ext(0x0023, Buffer.alloc(0)),
    ext(0x0010, vec16(Buffer.concat(alpn.map((a) => Buffer.concat([Buffer.of(a.length), Buffer.from(a)]))))),
    ext(0x0005, Buffer.of(1, 0, 0, 0, 0)), ext(0x000d, vec16(Buffer.of(4, 3, 8, 4, 4, 1, 5, 3, 8, 5, 5, 1, 8, 6, 6, 1))),
    ext(0x0012, Buffer.alloc(0)), ext(0x002b, Buffer.of(6, 0x6a, 0x6a, 3, 4, 3, 3)), ext(0x002d, Buffer.of(1, 1)),
    ext(0x0033, vec16(Buffer.concat([u16(0x11ec), vec16(Buffer.alloc(Math.max(32, size - 400), 0x33))]))),
    ext(0x001b, Buffer.of(2, 0, 2)), ext(0x4469, Buffer.of(0, 3, 2, 0x68, 0x32)),
  ]);
  const ciphers = Buffer.from('0a0a130113021303c02bc02fc02cc030cca9cca8c013c014009c009d002f0035', 'hex');
  const body = Buffer.concat([u16(0x0303), random, Buffer.of(32), Buffer.alloc(32, 7), vec16(ciphers), Buffer.of(1, 0), vec16(exts)]);
  return Buffer.concat([Buffer.of(1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff), body]);
}

function serverHello(r: () => number): Buffer {
  const random = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) random[i] = (r() * 256) | 0;
  const body = Buffer.concat([u16(0x0303), random, Buffer.of(32), Buffer.alloc(32, 9), u16(0x1301), Buffer.of(0),
    vec16(Buffer.concat([ext(0x0033, Buffer.concat([u16(0x001d), vec16(Buffer.alloc(32, 1))])), ext(0x002b, u16(0x0304))]))]);
  return Buffer.concat([Buffer.of(2, 0, body.length >> 8, body.length & 0xff), body]);
}

const record = (msg: Buffer): Buffer => Buffer.concat([Buffer.of(22, 3, 1), u16(msg.length), msg]);

/** A client Initial carrying `hello`, protected with the RFC 9001 Initial keys of `dcid`. */
function quicInitial(dcid: Buffer, hello: Buffer): Buffer {
  const keys = clientInitialKeys(QUIC_V1, dcid)!;
  const frame = Buffer.concat([Buffer.of(0x06, 0x00, 0x40 | (hello.length >> 8), hello.length & 0xff), hello]);
  // datagram = header (6 + DCID + 2 + 2-byte length + 4-byte packet number) + payload + 16-byte tag >= 1200
  const headerLen = 6 + dcid.length + 2 + 2 + 4;
  const payload = Buffer.concat([frame, Buffer.alloc(Math.max(0, 1200 - headerLen - 16 - frame.length))]);
  const len = 4 + payload.length + 16;
  const header = Buffer.concat([Buffer.of(0xc3, 0, 0, 0, 1, dcid.length), dcid, Buffer.of(0, 0), Buffer.of(0x40 | (len >> 8), len & 0xff), Buffer.of(0, 0, 0, 0)]);
  const nonce = Buffer.from(keys.iv);
  const gcm = createCipheriv('aes-128-gcm', keys.key, nonce);
  gcm.setAAD(header);
  const ct = Buffer.concat([gcm.update(payload), gcm.final(), gcm.getAuthTag()]);
  const pnOff = header.length - 4;
  const mask = createCipheriv('aes-128-ecb', keys.hp, null).update(ct.subarray(0, 16));
  header[0]! ^= mask[0]! & 0x0f;
  for (let i = 0; i < 4; i++) header[pnOff + i]! ^= mask[1 + i]!;
  return Buffer.concat([header, ct]);
}

export interface BrowsingCapture { file: string; packets: number; pages: number }

const THIRD_PARTY = ['cdn.jsdelivr.net', 'fonts.gstatic.com', 'www.google-analytics.com', 'static.cloudflareinsights.com', 'cdnjs.cloudflare.com',
  'connect.facebook.net', 'www.googletagmanager.com', 'fonts.googleapis.com', 'images.ctfassets.net', 'platform.twitter.com', 'js.stripe.com',
  'cdn.segment.com', 'static.hotjar.com', 'stats.wp.com', 'i.ytimg.com', 'ajax.googleapis.com', 'unpkg.com', 'use.typekit.net',
  'assets.adobedtm.com', 'cdn.shopify.com', 'www.gstatic.com', 'apis.google.com', 'accounts.google.com', 'sb.scorecardresearch.com'];

export function makeBrowsingCapture(outDir: string, pages = 400, seed = 18): BrowsingCapture {
  const file = join(outDir, `browsing-${pages}-${seed}.pcap`);
  if (existsSync(file)) return { file, packets: -1, pages };
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const fd = openSync(file + '.tmp', 'w');
  const out = new PcapOut(fd);
  const cache = new Map<string, number>();
  const sites = Array.from({ length: 120 }, (_, i) => `www.site${i}.${pick(['com', 'org', 'net', 'de', 'co.uk', 'io'])}`);
  let port = 40000;
  let dnsId = 1;
  const serverOf = (name: string): number[] => {
    let h = 0;
    for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return [23 + (h % 180), (h >> 8) & 0xff, (h >> 16) & 0xff, 1 + ((h >> 24) % 250)];
  };
  const lookup = (name: string): void => {
    const until = cache.get(name);
    if (until !== undefined && until > out.tsUs) return;
    cache.set(name, out.tsUs + 300e6);
    const sp = 50000 + (dnsId % 10000);
    const id = dnsId++ & 0xffff;
    const answers = r() < 0.3
      ? [{ type: 5, data: dnsName(`${name.split('.')[0]}.edge${Math.floor(r() * 9)}.cdnprovider.net`) }, { type: 1, data: Buffer.from(serverOf(name)) }]
      : [{ type: 1, data: Buffer.from(serverOf(name)) }];
    out.ip(CLIENT, RESOLVER, 17, udp(sp, 53, dnsMessage(id, false, name, [])), 2000);
    out.ip(RESOLVER, CLIENT, 17, udp(53, sp, dnsMessage(id, true, name, answers)), 15000);
  };
  const dataPackets = (): number => Math.min(3000, Math.round(Math.exp(Math.log(25) + 1.2 * gauss())));
  const gauss = (): number => Math.sqrt(-2 * Math.log(r() || 1e-9)) * Math.cos(2 * Math.PI * r());
  const tcpConnection = (name: string, tls: boolean): void => {
    const srv = serverOf(name);
    const sp = port++ > 60000 ? (port = 40000) : port;
    const dp = tls ? 443 : 80;
    let cs = Math.floor(r() * 2 ** 32), ss = Math.floor(r() * 2 ** 32);
    const c2s = (flags: number, p: Buffer | number, gap: number): void => {
      const n = typeof p === 'number' ? p : p.length;
      out.ip(CLIENT, srv, 6, tcp(sp, dp, cs, ss, flags, p), gap);
      cs = (cs + n + (flags & 3 ? 1 : 0)) >>> 0;
    };
    const s2c = (flags: number, p: Buffer | number, gap: number): void => {
      const n = typeof p === 'number' ? p : p.length;
      out.ip(srv, CLIENT, 6, tcp(dp, sp, ss, cs, flags, p), gap);
      ss = (ss + n + (flags & 3 ? 1 : 0)) >>> 0;
    };
    c2s(0x02, 0, 1000); s2c(0x12, 0, 20000); c2s(0x10, 0, 200);
    if (tls) {
      const hello = record(clientHello(name, ['h2', 'http/1.1'], 1800, r));
      c2s(0x10, hello.subarray(0, 1448), 100); c2s(0x18, hello.subarray(1448), 50);
      s2c(0x10, 0, 20000);
      const flight = Buffer.concat([record(serverHello(r)), Buffer.alloc(4200, 0x17)]);
      for (let o = 0; o < flight.length; o += 1448) s2c(0x10, flight.subarray(o, Math.min(flight.length, o + 1448)), 300);
      c2s(0x18, 80, 2000);
    } else {
      c2s(0x18, Buffer.from(`GET /index.html HTTP/1.1\r\nHost: ${name}\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\nAccept: */*\r\n\r\n`), 100);
    }
    const n = dataPackets();
    for (let i = 0; i < n; i++) {
      if (i % 12 === 0) c2s(0x18, 90 + Math.floor(r() * 400), 3000);
      s2c(0x10, 1448, 150 + Math.floor(r() * 400));
      if (i % 2 === 1) c2s(0x10, 0, 100);
    }
    c2s(0x11, 0, 100000); s2c(0x11, 0, 20000); c2s(0x10, 0, 200);
  };
  const quicConnection = (name: string): void => {
    const srv = serverOf(name);
    const sp = port++ > 60000 ? (port = 40000) : port;
    const dcid = Buffer.alloc(8);
    for (let i = 0; i < 8; i++) dcid[i] = (r() * 256) | 0;
    out.ip(CLIENT, srv, 17, udp(sp, 443, quicInitial(dcid, clientHello(name, ['h3'], 1100, r))), 1000);
    const n = dataPackets();
    for (let i = 0; i < n; i++) {
      out.ip(srv, CLIENT, 17, udp(443, sp, Buffer.alloc(1250, 0x40)), 200 + Math.floor(r() * 300));
      if (i % 3 === 2) out.ip(CLIENT, srv, 17, udp(sp, 443, Buffer.alloc(40, 0x41)), 100);
    }
  };
  for (let p = 0; p < pages; p++) {
    const site = pick(sites);
    const domains = [site, ...Array.from({ length: 2 + Math.floor(r() * 6) }, () => pick(THIRD_PARTY))];
    for (const d of domains) {
      lookup(d);
      const k = r();
      if (k < 0.8) tcpConnection(d, true);
      else if (k < 0.95) quicConnection(d);
      else tcpConnection(d, false);
    }
    out.tsUs += 2_000_000 + Math.floor(r() * 20_000_000); // reading the page
  }
  out.drain();
  closeSync(fd);
  renameSync(file + '.tmp', file);
  return { file, packets: out.packets, pages };
}
