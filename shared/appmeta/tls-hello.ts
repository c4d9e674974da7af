// TLS ClientHello and ServerHello: finding the handshake message in the first bytes of a
// TCP stream (record layer, RFC 8446 section 5.1: the message may span records, and the
// records TCP segments), and reading the fields Meerkat ships (server name, ALPN, versions,
// ciphers, extension types, signature algorithms) - what JA4/JA4S (ja4.ts) are made of.
// QUIC carries the same handshake messages without records (quic-initial.ts).
// Pure and total: hostile bytes give 'no' or null, never an exception; work is linear in
// the bytes given and every list is capped.
import { ByteReader, ShortInput } from './byte-reader.js';

export const HANDSHAKE_CLIENT_HELLO = 1;
export const HANDSHAKE_SERVER_HELLO = 2;
const RECORD_CHANGE_CIPHER_SPEC = 20;
const RECORD_ALERT = 21;
const RECORD_HANDSHAKE = 22;
/** alert / change_cipher_spec records skipped before the handshake record (seen in the wild: an alert ahead of a ServerHello) */
const MAX_SKIPPED_RECORDS = 2;
/** a record's fragment is at most 2^14 bytes (+ 2048 for compressed/protected forms) */
const MAX_RECORD = 16384 + 2048;
/** hellos larger than this are not read (real ones are below 4 KB; the cap bounds buffering) */
export const MAX_HELLO_BYTES = 16384;
/** list caps: more than any real hello has */
const MAX_LIST = 512;
const MAX_ALPN = 16;
const MAX_NAME = 255;

export const TlsExt = {
  ServerName: 0x0000,
  SignatureAlgorithms: 0x000d,
  Alpn: 0x0010,
  SupportedVersions: 0x002b,
  QuicTransportParameters: 0x0039,
} as const;

export interface ClientHello {
  /** legacy_version of the hello body */
  legacyVersion: number;
  /** cipher suites in wire order, GREASE included */
  ciphers: number[];
  /** extension types in wire order, GREASE included */
  extensions: number[];
  /** first host_name of the server_name extension, lower case; null without one */
  serverName: string | null;
  /** ALPN protocol names in order, one character per byte (latin1) */
  alpn: string[];
  /** supported_versions entries in order, GREASE included (empty without the extension) */
  supportedVersions: number[];
  /** signature_algorithms entries in order, GREASE included */
  signatureAlgorithms: number[];
}

export interface ServerHello {
  legacyVersion: number;
  cipher: number;
  /** extension types in wire order */
  extensions: number[];
  /** supported_versions (the version TLS 1.3 selects), null without the extension */
  selectedVersion: number | null;
  /** the ALPN protocol selected in the hello (TLS 1.2; TLS 1.3 sends it encrypted), or null */
  alpn: string | null;
  /** the "ServerHello" is a HelloRetryRequest (RFC 8446 section 4.1.3) */
  helloRetryRequest: boolean;
}

/** RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa. */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && (v >> 8) === (v & 0xff);
}

export const enum ScanStatus {
  /** not a TLS hello (or one too large to read) */
  No = -1,
  /** could be one: more stream bytes are needed */
  More = 0,
  /** `message` holds the whole handshake message */
  Done = 1,
}

export interface HandshakeScan {
  status: ScanStatus;
  /** with Done: the handshake message (4-byte header + body); may be a view into the input */
  message: Uint8Array | null;
}

const NO: HandshakeScan = { status: ScanStatus.No, message: null };
const MORE: HandshakeScan = { status: ScanStatus.More, message: null };

/** Whether a TCP payload's first bytes could start the record stream scanTlsHandshake reads (a cheap test). */
export function mayStartTlsRecords(b: Uint8Array, off: number, len: number): boolean {
  const t = b[off]!;
  return len >= 6 && t >= RECORD_CHANGE_CIPHER_SPEC && t <= RECORD_HANDSHAKE && b[off + 1] === 3;
}

/**
 * The first handshake message (a ClientHello or ServerHello) at the start of a TLS stream,
 * from the first `len` bytes of that stream. Reads handshake records (a message that spans
 * records is joined), after at most two alert or change_cipher_spec records.
 */
export function scanTlsHandshake(s: Uint8Array, len = s.length): HandshakeScan {
  if (len > s.length) len = s.length;
  let off = 0;
  let joined: Uint8Array | null = null;
  let have = 0;
  let skipped = 0;
  while (off + 5 <= len) {
    const type = s[off]!;
    if (s[off + 1] !== 3 || s[off + 2]! > 4) return NO;
    const rlen = (s[off + 3]! << 8) | s[off + 4]!;
    if (rlen === 0 || rlen > MAX_RECORD) return NO;
    if (type !== RECORD_HANDSHAKE) {
      if (joined !== null || (type !== RECORD_ALERT && type !== RECORD_CHANGE_CIPHER_SPEC) || ++skipped > MAX_SKIPPED_RECORDS || rlen > 64) return NO;
      off += 5 + rlen;
      continue;
    }
    const from = off + 5;
    const to = Math.min(from + rlen, len);
    if (joined === null && to - from >= 4) {
      // the common case: the message lies in the first record
      const t = s[from]!;
      const mlen = (s[from + 1]! << 16) | (s[from + 2]! << 8) | s[from + 3]!;
      if ((t !== HANDSHAKE_CLIENT_HELLO && t !== HANDSHAKE_SERVER_HELLO) || mlen > MAX_HELLO_BYTES || mlen < 38) return NO;
      if (4 + mlen <= rlen) return to - from >= 4 + mlen ? { status: ScanStatus.Done, message: s.subarray(from, from + 4 + mlen) } : MORE;
    }
    if (joined === null) joined = new Uint8Array(MAX_HELLO_BYTES + 4);
    const n = Math.min(to - from, joined.length - have);
    joined.set(s.subarray(from, from + n), have);
    have += n;
    if (have >= 4) {
      const t = joined[0]!;
      const mlen = (joined[1]! << 16) | (joined[2]! << 8) | joined[3]!;
      if ((t !== HANDSHAKE_CLIENT_HELLO && t !== HANDSHAKE_SERVER_HELLO) || mlen > MAX_HELLO_BYTES || mlen < 38) return NO;
      if (have >= 4 + mlen) return { status: ScanStatus.Done, message: joined.subarray(0, 4 + mlen) };
    }
    if (to < from + rlen) return MORE;
    off = from + rlen;
  }
  return MORE;
}

/** Reads extensions (type, body) from r until its end; calls on() for each. */
function readExtensions(r: ByteReader, on: (type: number, body: ByteReader) => void): number[] {
  const types: number[] = [];
  if (r.left === 0) return types; // hellos without extensions (SSL 3.0 style) end here
  const all = r.sub(r.u16());
  while (all.left > 0 && types.length < MAX_LIST) {
    const type = all.u16();
    const body = all.sub(all.u16());
    types.push(type);
    on(type, body);
  }
  return types;
}

function u16List(r: ByteReader, out: number[]): void {
  while (r.left >= 2 && out.length < MAX_LIST) out.push(r.u16());
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function hostName(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length && i < MAX_NAME; i++) {
    let c = b[i]!;
    if (c >= 65 && c <= 90) c += 32;
    // the names are DNS names; anything else is escaped as in DNS text (dns.ts)
    if (c > 32 && c < 127 && c !== 92) s += String.fromCharCode(c);
    else s += '\\' + String(c).padStart(3, '0');
  }
  if (s.endsWith('.')) s = s.slice(0, -1);
  return s;
}

function readAlpnList(body: ByteReader, out: string[]): void {
  const list = body.sub(body.u16());
  while (list.left > 0 && out.length < MAX_ALPN) out.push(latin1(list.bytes(list.u8())));
}

/** The ClientHello in a handshake message (4-byte header + body), or null. */
export function parseClientHello(msg: Uint8Array): ClientHello | null {
  try {
    const r = new ByteReader(msg);
    if (r.u8() !== HANDSHAKE_CLIENT_HELLO) return null;
    const body = r.sub(r.u24());
    const ch: ClientHello = {
      legacyVersion: body.u16(), ciphers: [], extensions: [], serverName: null, alpn: [], supportedVersions: [], signatureAlgorithms: [],
    };
    body.skip(32); // random
    const sid = body.u8();
    if (sid > 32) return null;
    body.skip(sid);
    const cs = body.u16();
    if (cs === 0 || (cs & 1) !== 0) return null;
    u16List(body.sub(cs), ch.ciphers);
    const comp = body.u8();
    if (comp === 0) return null;
    body.skip(comp);
    ch.extensions = readExtensions(body, (type, e) => {
      if (type === TlsExt.ServerName && ch.serverName === null) {
        const list = e.sub(e.u16());
        while (list.left > 0) {
          const kind = list.u8();
          const name = list.bytes(list.u16());
          if (kind === 0) { ch.serverName = hostName(name); break; }
        }
      } else if (type === TlsExt.Alpn) {
        readAlpnList(e, ch.alpn);
      } else if (type === TlsExt.SupportedVersions) {
        u16List(e.sub(e.u8()), ch.supportedVersions);
      } else if (type === TlsExt.SignatureAlgorithms) {
        u16List(e.sub(e.u16()), ch.signatureAlgorithms);
      }
    });
    return ch;
  } catch (e) {
    if (e instanceof ShortInput) return null;
    throw e;
  }
}

/** SHA-256("HelloRetryRequest"), the random of a HelloRetryRequest. */
const HRR_RANDOM = Uint8Array.from(Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex'));

/** The ServerHello in a handshake message (4-byte header + body), or null. */
export function parseServerHello(msg: Uint8Array): ServerHello | null {
  try {
    const r = new ByteReader(msg);
    if (r.u8() !== HANDSHAKE_SERVER_HELLO) return null;
    const body = r.sub(r.u24());
    const legacyVersion = body.u16();
    const random = body.bytes(32);
    let hrr = true;
    for (let i = 0; i < 32; i++) if (random[i] !== HRR_RANDOM[i]) { hrr = false; break; }
    const sid = body.u8();
    if (sid > 32) return null;
    body.skip(sid);
    const sh: ServerHello = { legacyVersion, cipher: body.u16(), extensions: [], selectedVersion: null, alpn: null, helloRetryRequest: hrr };
    body.u8(); // compression method
    sh.extensions = readExtensions(body, (type, e) => {
      if (type === TlsExt.SupportedVersions && e.left >= 2) sh.selectedVersion = e.u16();
      else if (type === TlsExt.Alpn) {
        const names: string[] = [];
        readAlpnList(e, names);
        sh.alpn = names[0] ?? null;
      }
    });
    return sh;
  } catch (e) {
    if (e instanceof ShortInput) return null;
    throw e;
  }
}
