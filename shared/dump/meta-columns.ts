// The metadata columns of dump format version 2 (docs/dump-format.md section 8): encoding
// AppMeta records into six columns (kind, packet, ints, string refs, strings, addresses) on
// the writer side, and decoding + validating them on the reader side. Strings (names, ALPN,
// JA4, user agents) are stored once per dump and referred to, so a name seen in DNS, then
// in the TLS hello and the HTTP Host costs its bytes once.
import { formatIp } from '../net/ip-address.js';
import { parseIp } from '../net/ip-address.js';
import type { AppMeta, DnsAnswerMeta, DumpMeta, MetaName } from '../appmeta/meta-record.js';
import { MAX_META_STRING } from '../appmeta/meta-record.js';
import { ByteColumn, type ColumnCursor } from './byte-column.js';

export const enum MetaKind { Dns = 1, TlsClient = 2, TlsServer = 3, Http = 4 }
const enum AnswerForm { None = 0, Name = 1, V4 = 2, V4Anon = 3, V6 = 4, V6Anon = 5 }
/** string reference: 0 = the next new table entry, k >= 1 = entry k - 1 */
const REF_NEW = 0;

function utf8Cut(s: string): Uint8Array {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= MAX_META_STRING) return b;
  // cut on a character boundary
  let n = MAX_META_STRING;
  while (n > 0 && (b[n]! & 0xc0) === 0x80) n--;
  return b.subarray(0, n);
}

/** Writer side: encodes records into the columns; the string table lives for one dump. */
export class MetaEncoder {
  readonly kind = new ByteColumn(256);
  readonly packet = new ByteColumn(256);
  readonly ints = new ByteColumn(1024);
  readonly refs = new ByteColumn(512);
  readonly strings = new ByteColumn(2048);
  readonly addrs = new ByteColumn(256);
  private table = new Map<string, number>();
  private prevPacket = 0;
  count = 0;

  clear(): void {
    for (const c of [this.kind, this.packet, this.ints, this.refs, this.strings, this.addrs]) c.clear();
    this.table = new Map();
    this.prevPacket = 0;
    this.count = 0;
  }

  private str(text: string, pseudonym: boolean): void {
    const key = (pseudonym ? '1' : '0') + text;
    const i = this.table.get(key);
    if (i !== undefined) {
      this.refs.u32(i + 1);
      return;
    }
    this.table.set(key, this.table.size);
    this.refs.u32(REF_NEW);
    const b = utf8Cut(text);
    this.strings.u32(((b.length << 1) | (pseudonym ? 1 : 0)) >>> 0);
    this.strings.bytes(b, 0, b.length);
  }

  private name(n: MetaName): void {
    this.str(n.name, n.pseudonym);
  }

  /** Appends one record belonging to packet `packet` (packets in nondecreasing order). */
  add(packet: number, m: AppMeta): void {
    this.count++;
    this.packet.u32(packet - this.prevPacket);
    this.prevPacket = packet;
    const I = this.ints;
    switch (m.kind) {
      case 'dns': {
        this.kind.byte(MetaKind.Dns);
        I.u32((m.response ? 1 : 0) | (m.tcp ? 2 : 0) | (m.authoritative ? 4 : 0) | (m.truncated ? 8 : 0) | (m.recursionDesired ? 16 : 0) |
          (m.recursionAvailable ? 32 : 0) | (m.complete ? 0 : 64) | (m.query !== null ? 128 : 0));
        I.u32(m.id & 0xffff);
        I.u32(m.opcode & 0xf);
        I.u32(m.rcode & 0xfff);
        I.u32(m.qtype & 0xffff);
        I.u32(m.qclass & 0xffff);
        I.u32(m.answers.length);
        if (m.query !== null) this.name(m.query);
        for (const a of m.answers) this.answer(a);
        break;
      }
      case 'tls-client': {
        this.kind.byte(MetaKind.TlsClient);
        const quic = m.transport === 'quic';
        I.u32((quic ? 1 : 0) | (m.serverName !== null ? 2 : 0));
        if (quic) I.u32(m.quicVersion >>> 0);
        I.u32(m.version & 0xffff);
        I.u32(m.alpn.length);
        if (m.serverName !== null) this.name(m.serverName);
        for (const a of m.alpn) this.str(a, false);
        this.str(m.ja4, false);
        break;
      }
      case 'tls-server': {
        this.kind.byte(MetaKind.TlsServer);
        const quic = m.transport === 'quic';
        I.u32((quic ? 1 : 0) | (m.alpn !== null ? 2 : 0));
        if (quic) I.u32(m.quicVersion >>> 0);
        I.u32(m.version & 0xffff);
        I.u32(m.cipher & 0xffff);
        if (m.alpn !== null) this.str(m.alpn, false);
        this.str(m.ja4s, false);
        break;
      }
      case 'http': {
        this.kind.byte(MetaKind.Http);
        I.u32((m.host !== null ? 1 : 0) | (m.userAgent !== null ? 2 : 0));
        I.u32(m.minorVersion & 0xff);
        this.str(m.method, false);
        if (m.host !== null) this.name(m.host);
        if (m.userAgent !== null) this.str(m.userAgent, false);
        break;
      }
    }
  }

  private answer(a: DnsAnswerMeta): void {
    const I = this.ints;
    I.u32(a.type & 0xffff);
    I.u32(a.ttl >>> 0);
    if (a.address !== undefined) {
      // the extractor's bytes when it gave them (no text to parse back), else the text's
      const given = a.address.bytes;
      let bytes: Uint8Array;
      let v4: boolean;
      if (given !== undefined && (given.length === 4 || given.length === 16)) {
        bytes = given;
        v4 = given.length === 4;
      } else {
        const ip = parseIp(a.address.address);
        bytes = ip.bytes;
        v4 = ip.version === 4;
      }
      I.u32(v4 ? (a.address.pseudonym ? AnswerForm.V4Anon : AnswerForm.V4) : (a.address.pseudonym ? AnswerForm.V6Anon : AnswerForm.V6));
      this.addrs.bytes(bytes, 0, v4 ? 4 : 16);
    } else if (a.name !== undefined) {
      I.u32(AnswerForm.Name);
      this.name(a.name);
    } else {
      I.u32(AnswerForm.None);
    }
  }
}

/** Reader side: the six column cursors of a version-2 body. */
export interface MetaCursors {
  kind: ColumnCursor;
  packet: ColumnCursor;
  ints: ColumnCursor;
  refs: ColumnCursor;
  strings: ColumnCursor;
  addrs: ColumnCursor;
}

interface TableEntry { text: string; pseudonym: boolean }

/** Decodes and validates every metadata record; packet indexes must be < packetCount. */
export function decodeMeta(c: MetaCursors, packetCount: number, at: { record: number }): DumpMeta[] {
  const out: DumpMeta[] = [];
  const table: TableEntry[] = [];
  const seen = new Set<string>();
  const n = c.kind.end - c.kind.pos;
  let packet = 0;
  const str = (): TableEntry => {
    const r = c.refs.u32();
    if (r !== REF_NEW) {
      if (r - 1 >= table.length) c.refs.fail(`string reference ${r - 1} out of range (${table.length} strings so far)`);
      return table[r - 1]!;
    }
    const h = c.strings.u32();
    const len = h >>> 1;
    if (len > MAX_META_STRING) c.strings.fail(`string of ${len} bytes exceeds ${MAX_META_STRING}`);
    const p = c.strings.skip(len);
    const text = Buffer.from(c.strings.b.buffer, c.strings.b.byteOffset + p, len).toString('utf8');
    const e = { text, pseudonym: (h & 1) === 1 };
    const key = (e.pseudonym ? '1' : '0') + text;
    if (seen.has(key)) c.strings.fail('string stored twice (the table holds each string once)');
    seen.add(key);
    table.push(e);
    return e;
  };
  const name = (): MetaName => {
    const e = str();
    return { name: e.text, pseudonym: e.pseudonym };
  };
  const plain = (): string => {
    const e = str();
    if (e.pseudonym) c.refs.fail('a pseudonym where plain text is expected');
    return e.text;
  };
  for (let i = 0; i < n; i++) {
    at.record = i;
    packet += c.packet.u32();
    if (packet >= packetCount) c.packet.fail(`metadata record refers to packet ${packet}, the dump has ${packetCount}`);
    const kind = c.kind.byte();
    const I = c.ints;
    let m: AppMeta;
    if (kind === MetaKind.Dns) {
      const f = I.u32();
      if (f > 0xff) I.fail(`DNS flags 0x${f.toString(16)} out of range`);
      const id = I.u32(), opcode = I.u32(), rcode = I.u32(), qtype = I.u32(), qclass = I.u32(), na = I.u32();
      if (id > 0xffff || opcode > 0xf || rcode > 0xfff || qtype > 0xffff || qclass > 0xffff) I.fail('DNS header field out of range');
      if (na > 256) I.fail(`${na} DNS answers in one record`);
      const query = (f & 128) !== 0 ? name() : null;
      const answers: DnsAnswerMeta[] = [];
      for (let k = 0; k < na; k++) {
        const type = I.u32(), ttl = I.u32(), form = I.u32();
        if (type > 0xffff) I.fail('DNS answer type out of range');
        const a: DnsAnswerMeta = { type, ttl };
        if (form === AnswerForm.Name) a.name = name();
        else if (form >= AnswerForm.V4 && form <= AnswerForm.V6Anon) {
          const v4 = form <= AnswerForm.V4Anon;
          const p = c.addrs.skip(v4 ? 4 : 16);
          const bytes = new Uint8Array(16);
          bytes.set(c.addrs.b.subarray(p, p + (v4 ? 4 : 16)));
          a.address = { address: formatIp(v4 ? 4 : 6, bytes), pseudonym: form === AnswerForm.V4Anon || form === AnswerForm.V6Anon };
        } else if (form !== AnswerForm.None) I.fail(`unknown DNS answer form ${form}`);
        answers.push(a);
      }
      m = {
        kind: 'dns', response: (f & 1) !== 0, tcp: (f & 2) !== 0, id, opcode, authoritative: (f & 4) !== 0, truncated: (f & 8) !== 0,
        recursionDesired: (f & 16) !== 0, recursionAvailable: (f & 32) !== 0, rcode, query, qtype, qclass, answers, complete: (f & 64) === 0,
      };
    } else if (kind === MetaKind.TlsClient) {
      const f = I.u32();
      if (f > 3) I.fail(`TLS client flags 0x${f.toString(16)} out of range`);
      const quicVersion = (f & 1) !== 0 ? I.u32() : 0;
      const version = I.u32(), nAlpn = I.u32();
      if (version > 0xffff || nAlpn > 255) I.fail('TLS client field out of range');
      const serverName = (f & 2) !== 0 ? name() : null;
      const alpn: string[] = [];
      for (let k = 0; k < nAlpn; k++) alpn.push(plain());
      m = { kind: 'tls-client', transport: (f & 1) !== 0 ? 'quic' : 'tcp', quicVersion, version, serverName, alpn, ja4: plain() };
    } else if (kind === MetaKind.TlsServer) {
      const f = I.u32();
      if (f > 3) I.fail(`TLS server flags 0x${f.toString(16)} out of range`);
      const quicVersion = (f & 1) !== 0 ? I.u32() : 0;
      const version = I.u32(), cipher = I.u32();
      if (version > 0xffff || cipher > 0xffff) I.fail('TLS server field out of range');
      const alpn = (f & 2) !== 0 ? plain() : null;
      m = { kind: 'tls-server', transport: (f & 1) !== 0 ? 'quic' : 'tcp', quicVersion, version, cipher, alpn, ja4s: plain() };
    } else if (kind === MetaKind.Http) {
      const f = I.u32();
      if (f > 3) I.fail(`HTTP flags 0x${f.toString(16)} out of range`);
      const minorVersion = I.u32();
      if (minorVersion > 0xff) I.fail('HTTP minor version out of range');
      const method = plain();
      const host = (f & 1) !== 0 ? name() : null;
      const userAgent = (f & 2) !== 0 ? plain() : null;
      m = { kind: 'http', method, minorVersion, host, userAgent };
    } else {
      c.kind.fail(`unknown metadata kind ${kind}`);
    }
    out.push({ packet, meta: m });
  }
  return out;
}
