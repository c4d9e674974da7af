// Application metadata from the packets the agent sees: DNS (UDP and TCP), TLS
// ClientHello/ServerHello (JA4/JA4S), HTTP/1.x request heads and QUIC client Initials
// (docs/capture.md, "Application metadata"). Shared: the agent's pipeline runs it on every
// kept packet, the collector's import of capture files on every frame it reads. The payload is read in memory, in the capture
// buffer; only the records (AppMeta, under the name privacy policy) go into the dump, queued
// for the packet that completed them. Parsing is shared/appmeta's; this module owns the
// per-stream state.
//
// Cost: a packet is looked at only when its first payload bytes could start one of these
// (a TLS record 0x14..0x16 0x03, an HTTP method, port 53, a QUIC long header of a known
// version with >= 1200 bytes) or when its stream is being reassembled; most packets cost a
// few comparisons. A hello or head that does not fit one segment is reassembled by
// sequence number, per direction, in a bounded table (MAX_STREAMS streams of at most
// STREAM_CAP bytes, least recently used evicted, idle ones expired). QUIC key derivations
// are rate-limited, so a flood of fake Initials costs bounded CPU.
import { readDnsMessage, DnsType, type DnsMessage } from './dns.js';
import { ByteReassembler } from './byte-reassembler.js';
import { mayStartTlsRecords, scanTlsHandshake, parseClientHello, parseServerHello, ScanStatus, MAX_HELLO_BYTES, HANDSHAKE_CLIENT_HELLO, type ClientHello } from './tls-hello.js';
import { ja4, ja4s, ja4Version } from './ja4.js';
import { httpMethodAt, scanHttpRequest, MAX_HTTP_HEAD } from './http-request.js';
import { clientInitialKeys, looksLikeClientInitial, readClientInitials, type InitialKeys } from './quic-initial.js';
import { MAX_ALPN, MAX_DNS_ANSWERS, type AppMeta, type DnsAnswerMeta, type MetaName } from './meta-record.js';
import type { AddressAnonymizer } from '../anonymize/address-anonymizer.js';
import { NamePseudonymizer, parseReverseName, type NamePolicy } from '../anonymize/name-pseudonymizer.js';
import { formatIp } from '../net/ip-address.js';
import { IPPROTO_TCP, IPPROTO_UDP, RecordFlag } from '../packet/packet-record.js';
import type { DecodedPacket } from '../decode/decoded-packet.js';

/** Where records go: the dump writer (each record belongs to the next packet it is given). */
export interface MetaSink {
  queueMeta(m: AppMeta): void;
}

export const MAX_STREAMS = 256;
/** bytes kept per stream direction: a hello, an HTTP head, a DNS message over TCP */
export const STREAM_CAP = MAX_HELLO_BYTES + 5 * 4;
const STREAM_IDLE_US = 10_000_000;
const MAX_QUIC_CONNECTIONS = 256;
/** QUIC Initial key derivations allowed per second of packet time (and in a burst) */
const QUIC_KEYS_PER_SECOND = 500;
const RECENT = 1024;
const DNS_PORT = 53;

const enum StreamKind { Tls = 1, Http = 2, DnsTcp = 3 }

interface Stream {
  hash: number;
  /** the direction's tuple, to tell hash collisions apart */
  words: Int32Array;
  ports: number;
  kind: StreamKind;
  /** sequence number of the first stream byte */
  isn: number;
  buf: ByteReassembler;
  lastUs: number;
}

interface QuicConn {
  keys: InitialKeys | null;
  buf: ByteReassembler | null;
  done: boolean;
  lastUs: number;
}

export interface AppMetaStats {
  dns: number;
  tlsClient: number;
  tlsServer: number;
  http: number;
  /** of tlsClient, from QUIC Initials */
  quic: number;
  /** streams being reassembled now, and since start: evicted (table full), expired, given up (holes, capture cut) */
  streams: number;
  streamsEvicted: number;
  streamsExpired: number;
  streamsGivenUp: number;
  /** QUIC Initials not opened because the key derivation budget was spent */
  quicBudgetSkips: number;
  /** names the policy pseudonymized */
  namesPseudonymized: number;
}

export interface AppMetaExtractorOptions {
  names: NamePseudonymizer;
  /** the pipeline's address anonymizer: DNS answer addresses follow the address policy */
  addresses: AddressAnonymizer;
  maxStreams?: number;
}

function mixHash(h: number, k: number): number {
  h = Math.imul(h ^ k, -1640531535);
  return h ^ (h >>> 15);
}

export class AppMetaExtractor {
  private readonly names: NamePseudonymizer;
  private readonly addresses: AddressAnonymizer;
  private readonly maxStreams: number;
  private readonly streams = new Map<number, Stream>();
  /** streams per (sport + dport) & 0xffff: a packet of no stream skips the map */
  private readonly portMark = new Uint16Array(65536);
  /** hash -> sequence number of hellos/heads already reported (retransmissions) */
  private readonly recent = new Map<number, number>();
  private readonly quic = new Map<string, QuicConn>();
  /** until the first packet with payload is inspected (see inspect) */
  private fresh = true;
  private quicTokens = QUIC_KEYS_PER_SECOND;
  private quicTokensAtUs = 0;
  private readonly addr = new Uint8Array(16);
  private readonly st: AppMetaStats = {
    dns: 0, tlsClient: 0, tlsServer: 0, http: 0, quic: 0, streams: 0, streamsEvicted: 0, streamsExpired: 0, streamsGivenUp: 0,
    quicBudgetSkips: 0, namesPseudonymized: 0,
  };

  constructor(opts: AppMetaExtractorOptions) {
    this.names = opts.names;
    this.addresses = opts.addresses;
    this.maxStreams = opts.maxStreams ?? MAX_STREAMS;
  }

  stats(): AppMetaStats {
    return { ...this.st, streams: this.streams.size, namesPseudonymized: this.names.pseudonymized };
  }

  /** Looks at one kept packet (addresses already anonymized; payload in d.frame); queues what it finds into sink. */
  inspect(d: DecodedPacket, sink: MetaSink): void {
    const off = d.payloadOff;
    if (off < 0 || d.ipVersion === 0 || (d.flags & RecordFlag.Fragment) !== 0) return;
    let len = d.payloadLen;
    const avail = d.frameOff + d.capLen - off;
    if (avail < len) len = avail;
    if (len <= 0) return;
    // UDP is tested first, so that this compare runs on every packet; and the extractor's first
    // packet makes the udp() call whatever it is, with nothing to read (0 bytes: no effect).
    // Both then have type feedback when V8 optimizes this function (and the pipeline's, which
    // inlines it): the first UDP datagram, after thousands of TCP segments, deoptimized them.
    const proto = d.proto;
    const udp = proto === IPPROTO_UDP;
    if (udp || this.fresh) {
      this.fresh = false;
      this.udp(d, off, udp ? len : 0, sink);
      if (udp) return;
    }
    if (proto === IPPROTO_TCP) this.tcp(d, off, len, sink);
  }

  /**
   * Whether inspect() would find nothing in this TCP segment (an unfragmented IPv4 or IPv6 one)
   * and change no state: it has no payload captured, or the extractor has seen payload before,
   * reassembles no stream on the segment's port pair, and the payload cannot start a TLS
   * record, an HTTP request or DNS. The same tests inspect's TCP path makes before it returns
   * with nothing done; a caller may skip inspect() for such a segment (the import's frame memo).
   */
  ignoresTcpSegment(d: DecodedPacket): boolean {
    const off = d.payloadOff;
    let len = d.payloadLen;
    const avail = d.frameOff + d.capLen - off;
    if (avail < len) len = avail;
    if (len <= 0) return true;
    if (this.fresh || this.portMark[(d.sport + d.dport) & 0xffff] !== 0) return false;
    const f = d.frame;
    const b0 = f[off]!;
    return !(b0 >= 0x14 && b0 <= 0x16) && d.sport !== DNS_PORT && d.dport !== DNS_PORT && httpMethodAt(f, off, len) === null;
  }

  /** Drops stream and QUIC state idle since before nowUs - 10 s (the pipeline's tick). */
  expire(nowUs: number): void {
    for (const [h, s] of this.streams) {
      if (nowUs - s.lastUs > STREAM_IDLE_US) {
        this.dropStream(h, s);
        this.st.streamsExpired++;
      }
    }
    for (const [k, q] of this.quic) if (nowUs - q.lastUs > STREAM_IDLE_US) this.quic.delete(k);
  }

  // --- TCP ---

  private hashOf(d: DecodedPacket): number {
    const w = d.addrWords;
    let h = mixHash(0x2545f491, (d.sport << 16) | d.dport);
    for (let i = 0; i < 8; i++) h = mixHash(h, w[i]!);
    return h;
  }

  private tcp(d: DecodedPacket, off: number, len: number, sink: MetaSink): void {
    const f = d.frame;
    const mark = (d.sport + d.dport) & 0xffff;
    if (this.portMark[mark] !== 0) {
      const h = this.hashOf(d);
      const s = this.streams.get(h);
      if (s !== undefined && s.ports === ((d.sport << 16) | d.dport) && sameWords(s.words, d.addrWords)) {
        this.continueStream(h, s, d, off, len, sink);
        return;
      }
    }
    const b0 = f[off]!;
    let kind: StreamKind;
    if (b0 >= 0x14 && b0 <= 0x16) {
      if (!mayStartTlsRecords(f, off, len)) return;
      kind = StreamKind.Tls;
    } else if (d.sport === DNS_PORT || d.dport === DNS_PORT) {
      if (len < 2) return;
      kind = StreamKind.DnsTcp;
    } else if (httpMethodAt(f, off, len) !== null) {
      kind = StreamKind.Http;
    } else {
      return;
    }
    const h = this.hashOf(d);
    if (this.recent.get(h) === d.tcpSeq) return; // a retransmission of what was reported
    const bytes = f.subarray(off, off + len);
    const r = this.tryParse(kind, bytes, len, false, sink);
    if (r !== 0) {
      if (r === 1) this.remember(h, d.tcpSeq);
      return;
    }
    if (len < d.payloadLen) { this.st.streamsGivenUp++; return; } // the capture cut the segment: its rest is lost
    this.startStream(h, kind, d, bytes);
  }

  private startStream(h: number, kind: StreamKind, d: DecodedPacket, bytes: Uint8Array): void {
    if (this.streams.size >= this.maxStreams) {
      const [oh, os] = this.streams.entries().next().value as [number, Stream];
      this.dropStream(oh, os);
      this.st.streamsEvicted++;
    }
    const cap = kind === StreamKind.Http ? MAX_HTTP_HEAD : STREAM_CAP;
    const buf = new ByteReassembler(cap, Math.min(cap, 4096));
    buf.add(0, bytes);
    this.streams.set(h, {
      hash: h, words: Int32Array.from(d.addrWords), ports: (d.sport << 16) | d.dport, kind, isn: d.tcpSeq, buf, lastUs: d.tsUs,
    });
    this.portMark[(d.sport + d.dport) & 0xffff]++;
  }

  private dropStream(h: number, s: Stream): void {
    if (this.streams.delete(h)) this.portMark[((s.ports >>> 16) + (s.ports & 0xffff)) & 0xffff]--;
  }

  private continueStream(h: number, s: Stream, d: DecodedPacket, off: number, len: number, sink: MetaSink): void {
    if (len < d.payloadLen) { this.dropStream(h, s); this.st.streamsGivenUp++; return; }
    const at = (d.tcpSeq - s.isn) >>> 0;
    if (at >= s.buf.cap) return; // beyond what is kept (or an old retransmission wrapping around)
    if (!s.buf.add(at, d.frame, off, off + len)) { this.dropStream(h, s); this.st.streamsGivenUp++; return; }
    s.lastUs = d.tsUs;
    // least recently used last in the map's order
    this.streams.delete(h);
    this.streams.set(h, s);
    const have = s.buf.contiguous;
    if (have === 0) return;
    const r = this.tryParse(s.kind, s.buf.bytes, have, have >= s.buf.cap, sink);
    if (r !== 0) {
      this.dropStream(h, s);
      if (r === 1) this.remember(h, s.isn);
    }
  }

  private remember(h: number, seq: number): void {
    if (this.recent.size >= RECENT) this.recent.delete(this.recent.keys().next().value as number);
    this.recent.set(h, seq);
  }

  /** 1 found (queued), 0 more bytes needed, -1 nothing here. */
  private tryParse(kind: StreamKind, b: Uint8Array, len: number, final: boolean, sink: MetaSink): -1 | 0 | 1 {
    if (kind === StreamKind.Tls) {
      const s = scanTlsHandshake(b, len);
      if (s.status === ScanStatus.More) return final ? -1 : 0;
      if (s.status === ScanStatus.No) return -1;
      return this.hello(s.message!, 'tcp', 0, sink) ? 1 : -1;
    }
    if (kind === StreamKind.Http) {
      const s = scanHttpRequest(b, len, final);
      if (s.status !== 1) return s.status;
      const q = s.request!;
      this.st.http++;
      sink.queueMeta({
        kind: 'http', method: q.method, minorVersion: q.minorVersion, host: q.host ? this.names.apply(q.host) : null, userAgent: q.userAgent,
      });
      return 1;
    }
    // DNS over TCP: a 2-byte length, then the message
    if (len < 2) return 0;
    const mlen = (b[0]! << 8) | b[1]!;
    if (mlen < 12) return -1;
    if (len < 2 + mlen && !final) return 0;
    const m = readDnsMessage(b.subarray(2, Math.min(len, 2 + mlen)));
    if (m === null || m.opcode !== 0 || m.questions.length === 0) return -1;
    this.dns(m, true, sink);
    return 1;
  }

  private hello(msg: Uint8Array, transport: 'tcp' | 'quic', quicVersion: number, sink: MetaSink): boolean {
    const t = transport === 'quic' ? 'q' : 't';
    if (msg[0] === HANDSHAKE_CLIENT_HELLO) {
      const ch = parseClientHello(msg);
      if (ch === null) return false;
      this.clientHello(ch, transport, quicVersion, sink);
      return true;
    }
    const sh = parseServerHello(msg);
    if (sh === null) return false;
    this.st.tlsServer++;
    sink.queueMeta({
      kind: 'tls-server', transport, quicVersion,
      version: sh.selectedVersion ?? sh.legacyVersion, cipher: sh.cipher, alpn: sh.alpn === null ? null : sh.alpn.slice(0, 64), ja4s: ja4s(sh, t),
    });
    return true;
  }

  private clientHello(ch: ClientHello, transport: 'tcp' | 'quic', quicVersion: number, sink: MetaSink): void {
    this.st.tlsClient++;
    if (transport === 'quic') this.st.quic++;
    sink.queueMeta({
      kind: 'tls-client', transport, quicVersion, version: ja4Version(ch),
      serverName: ch.serverName ? this.names.apply(ch.serverName) : null,
      alpn: ch.alpn.slice(0, MAX_ALPN).map((a) => a.slice(0, 64)),
      ja4: ja4(ch, transport === 'quic' ? 'q' : 't'),
    });
  }

  // --- UDP ---

  private udp(d: DecodedPacket, off: number, len: number, sink: MetaSink): void {
    if (len === 0) return; // inspect's first call
    const f = d.frame;
    if (d.sport === DNS_PORT || d.dport === DNS_PORT) {
      if (len < 12) return;
      const m = readDnsMessage(f.subarray(off, off + len));
      if (m !== null && m.opcode === 0 && m.questions.length > 0) this.dns(m, false, sink);
      return;
    }
    if ((f[off]! & 0x80) !== 0 && looksLikeClientInitial(f, off, len)) this.quicInitial(d, f.subarray(off, off + len), sink);
  }

  private quicInitial(d: DecodedPacket, dgram: Uint8Array, sink: MetaSink): void {
    // connection key: version + DCID, read straight off the long header
    const dl = dgram[5]!;
    if (dl > 20 || 6 + dl > dgram.length) return;
    const key = Buffer.from(dgram.subarray(1, 6 + dl)).toString('hex');
    let c = this.quic.get(key);
    if (c !== undefined && c.done) return; // reported (or refused) already: retransmissions
    if (c === undefined) {
      if (!this.takeQuicToken(d.tsUs)) { this.st.quicBudgetSkips++; return; }
      if (this.quic.size >= MAX_QUIC_CONNECTIONS) this.quic.delete(this.quic.keys().next().value as string);
      const version = ((dgram[1]! << 24) | (dgram[2]! << 16) | (dgram[3]! << 8) | dgram[4]!) >>> 0;
      c = { keys: clientInitialKeys(version, dgram.subarray(6, 6 + dl)), buf: null, done: false, lastUs: d.tsUs };
      this.quic.set(key, c);
    }
    const conn = c;
    conn.lastUs = d.tsUs;
    const ci = readClientInitials(dgram, () => conn.keys);
    if (ci === null) {
      if (conn.buf === null) conn.done = true; // never opened: not a client Initial of this DCID
      return;
    }
    if (conn.buf === null) conn.buf = new ByteReassembler(MAX_HELLO_BYTES + 4, 2048);
    for (const fr of ci.crypto) conn.buf.add(fr.offset, fr.data);
    const have = conn.buf.contiguous;
    if (have < 4) return;
    const b = conn.buf.bytes;
    const need = 4 + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);
    if (b[0] !== HANDSHAKE_CLIENT_HELLO || need > conn.buf.cap) { conn.done = true; return; }
    if (have < need) return;
    conn.done = true;
    conn.buf = null;
    const ch = parseClientHello(b.subarray(0, need));
    if (ch !== null) this.clientHello(ch, 'quic', ci.version, sink);
  }

  private takeQuicToken(nowUs: number): boolean {
    const elapsed = nowUs - this.quicTokensAtUs;
    if (elapsed > 0) {
      this.quicTokens = Math.min(QUIC_KEYS_PER_SECOND, this.quicTokens + (elapsed / 1e6) * QUIC_KEYS_PER_SECOND);
      this.quicTokensAtUs = nowUs;
    }
    if (this.quicTokens < 1) return false;
    this.quicTokens -= 1;
    return true;
  }

  // --- DNS ---

  private dns(m: DnsMessage, tcp: boolean, sink: MetaSink): void {
    this.st.dns++;
    const q = m.questions[0]!;
    const query = this.names.apply(q.name);
    // the host name a reverse lookup of a pseudonymized address returns is that host's name
    const sealTargets = query.pseudonym && parseReverseName(q.name) !== null;
    const answers: DnsAnswerMeta[] = [];
    const n = Math.min(m.answerCount, MAX_DNS_ANSWERS);
    for (let i = 0; i < n; i++) {
      const a = m.answers[i]!;
      const out: DnsAnswerMeta = { type: a.type, ttl: a.ttl };
      if (a.address !== null) {
        const v = a.address.length === 4 ? 4 : 6;
        const b = this.addr;
        b.fill(0);
        b.set(a.address);
        const anon = this.addresses.anonymize(v, b);
        out.address = { address: formatIp(v, b), pseudonym: anon, bytes: b.slice(0, v === 4 ? 4 : 16) };
      } else if (a.data !== null && a.type !== DnsType.A && a.type !== DnsType.AAAA) {
        out.name = this.nameOf(a.data, sealTargets && a.type === DnsType.PTR);
      }
      answers.push(out);
    }
    sink.queueMeta({
      kind: 'dns', response: m.response, tcp, id: m.id, opcode: m.opcode,
      authoritative: (m.flags & 0x0400) !== 0, truncated: m.truncated, recursionDesired: (m.flags & 0x0100) !== 0, recursionAvailable: (m.flags & 0x0080) !== 0,
      rcode: m.response ? m.rcode : 0, query, qtype: q.type, qclass: q.class, answers, complete: m.complete,
    });
  }

  private nameOf(name: string, seal: boolean): MetaName {
    return seal ? this.names.seal(name) : this.names.apply(name);
  }
}

/** An extractor with its name policy, from the owner's key and the pipeline's address anonymizer. */
export function createAppMetaExtractor(opts: {
  key: Uint8Array;
  addresses: AddressAnonymizer;
  names: NamePolicy;
  internalSuffixes?: readonly string[];
  hostNames?: readonly string[];
}): AppMetaExtractor {
  const names = new NamePseudonymizer({ key: opts.key, policy: opts.names, internalSuffixes: opts.internalSuffixes, hostNames: opts.hostNames, addresses: opts.addresses });
  return new AppMetaExtractor({ names, addresses: opts.addresses });
}

function sameWords(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < 8; i++) if (a[i] !== b[i]) return false;
  return true;
}
