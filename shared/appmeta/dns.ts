// A small DNS message parser: question names, answer owner names and the names/addresses
// answers point to (CNAME, NS, PTR, MX, SRV, DNAME, A, AAAA). Two users: the agent's
// metadata extraction (shared/appmeta/app-meta-extractor.ts, every DNS packet it sees) and
// the collector analyzers' DNS-name hook (payload captured by hybrid capture). It sees
// hostile bytes: every read is bounds-checked, name compression pointers may only point
// backwards and at most MAX_POINTERS times, names are limited to 255 bytes, and record
// counts to what the message can hold.
//
// parseDnsMessage() throws DnsParseError (naming what was expected where);
// readDnsMessage() and analyzeDnsPayload() never throw and return null for anything that
// is not DNS.
import { formatIpv4, formatIpv6 } from '../net/ip-address.js';
import { MeerkatError } from '../errors.js';

export class DnsParseError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_DNS_PARSE';
  constructor(readonly offset: number, expected: string, length: number) {
    super(`DNS message (${length} bytes): expected ${expected} at offset ${offset}`);
    this.name = 'DnsParseError';
  }
}

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export interface DnsAnswer {
  /** owner name */
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** the name or address the record carries (CNAME/NS/PTR/MX/SRV/DNAME target, A/AAAA address), null otherwise */
  data: string | null;
  /** A/AAAA: the address bytes (4 or 16, a copy), null otherwise */
  address: Uint8Array | null;
}

export interface DnsMessage {
  id: number;
  response: boolean;
  opcode: number;
  rcode: number;
  truncated: boolean;
  /** the 16 header flag bits as sent (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode) */
  flags: number;
  questions: DnsQuestion[];
  /** answer section, then authority and additional sections */
  answers: DnsAnswer[];
  /** how many of `answers` come from the answer section (the first ones) */
  answerCount: number;
  /** false when the message ended early (a lenient read stopped at the damage or the cut) */
  complete: boolean;
}

export const DnsType = { A: 1, NS: 2, CNAME: 5, PTR: 12, MX: 15, AAAA: 28, SRV: 33, DNAME: 39 } as const;

const MAX_POINTERS = 32;
const MAX_NAME = 255;
const MAX_RECORDS = 512;

/** Parse state: the error (if any) instead of exceptions inside the loops. */
class Cursor {
  err = '';
  errAt = 0;
  constructor(readonly b: Uint8Array) {}
  fail(at: number, what: string): -1 {
    if (this.err === '') { this.err = what; this.errAt = at; }
    return -1;
  }
}

function labelText(b: Uint8Array, from: number, len: number): string {
  let s = '';
  for (let i = from; i < from + len; i++) {
    let c = b[i]!;
    if (c >= 65 && c <= 90) c += 32; // names compare case-insensitively: keep them lower case
    if (c === 46 || c === 92) s += '\\' + String.fromCharCode(c);
    else if (c > 32 && c < 127) s += String.fromCharCode(c);
    else s += '\\' + String(c).padStart(3, '0');
  }
  return s;
}

/** Reads a (possibly compressed) name at off; returns the offset after it in the record, or -1. */
function readName(cur: Cursor, off: number, out: { name: string }): number {
  const b = cur.b;
  let pos = off;
  let end = -1;
  let jumps = 0;
  let wire = 0;
  let name = '';
  for (;;) {
    if (pos >= b.length) return cur.fail(pos, 'a name label');
    const len = b[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= b.length) return cur.fail(pos, 'a 2-byte compression pointer');
      const target = ((len & 0x3f) << 8) | b[pos + 1]!;
      // only backwards, so a pointer chain always ends
      if (target >= pos || ++jumps > MAX_POINTERS) return cur.fail(pos, 'a compression pointer to an earlier name');
      if (end < 0) end = pos + 2;
      pos = target;
      continue;
    }
    if (kind !== 0) return cur.fail(pos, 'a label length (0..63) or a compression pointer');
    if (pos + 1 + len > b.length) return cur.fail(pos, `a ${len}-byte label`);
    wire += len + 1;
    if (wire + 1 > MAX_NAME) return cur.fail(pos, 'a name of at most 255 bytes');
    name += (name.length > 0 ? '.' : '') + labelText(b, pos + 1, len);
    pos += 1 + len;
  }
  out.name = name;
  return end;
}

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/**
 * Parses the message or returns the Cursor with its error. `lenient`: records after the
 * questions that cannot be read (message cut by a snap length, damaged) end the message
 * (complete = false) instead of failing it.
 */
function parse(b: Uint8Array, lenient = false): DnsMessage | Cursor {
  const cur = new Cursor(b);
  if (b.length < 12) { cur.fail(0, 'a 12-byte header'); return cur; }
  const flags = u16(b, 2);
  const qd = u16(b, 4);
  const an = u16(b, 6);
  const ns = u16(b, 8);
  const ar = u16(b, 10);
  // a question needs >= 5 bytes and a record >= 11: counts beyond that are lies (authority and
  // additional counts are not checked: a snap length may cut those sections off)
  if (qd * 5 + (lenient ? 0 : an * 11) > b.length - 12) { cur.fail(4, 'question/answer counts that fit the message'); return cur; }
  const msg: DnsMessage = {
    id: u16(b, 0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    truncated: (flags & 0x0200) !== 0,
    flags,
    questions: [],
    answers: [],
    answerCount: 0,
    complete: true,
  };
  const tmp = { name: '' };
  let off = 12;
  for (let i = 0; i < qd; i++) {
    off = readName(cur, off, tmp);
    if (off < 0) return cur;
    if (off + 4 > b.length) { cur.fail(off, 'question type and class'); return cur; }
    msg.questions.push({ name: tmp.name, type: u16(b, off), class: u16(b, off + 2) });
    off += 4;
  }
  const records = Math.min(an + ns + ar, MAX_RECORDS);
  const stop = (): DnsMessage | Cursor => {
    if (!lenient) return cur;
    msg.complete = false;
    return msg;
  };
  for (let i = 0; i < records; i++) {
    if (i >= an && off >= b.length) break; // authority/additional cut off by the snap length
    off = readName(cur, off, tmp);
    if (off < 0) return stop();
    const owner = tmp.name;
    if (off + 10 > b.length) { cur.fail(off, 'record type, class, TTL and length'); return stop(); }
    const type = u16(b, off);
    const klass = u16(b, off + 2);
    const ttl = ((b[off + 4]! << 24) | (b[off + 5]! << 16) | (b[off + 6]! << 8) | b[off + 7]!) >>> 0;
    const rdlen = u16(b, off + 8);
    const rd = off + 10;
    if (rd + rdlen > b.length) { cur.fail(rd, `${rdlen} bytes of record data`); return stop(); }
    let data: string | null = null;
    let address: Uint8Array | null = null;
    if (type === DnsType.A && rdlen === 4) {
      data = formatIpv4(b, rd);
      address = b.slice(rd, rd + 4);
    } else if (type === DnsType.AAAA && rdlen === 16) {
      data = formatIpv6(b, rd);
      address = b.slice(rd, rd + 16);
    } else if (type === DnsType.CNAME || type === DnsType.NS || type === DnsType.PTR || type === DnsType.DNAME ||
      type === DnsType.MX || type === DnsType.SRV) {
      const skip = type === DnsType.MX ? 2 : type === DnsType.SRV ? 6 : 0;
      if (rdlen > skip) {
        const after = readName(cur, rd + skip, tmp);
        if (after < 0 || after > rd + rdlen) { if (after >= 0) cur.fail(rd, 'a name inside the record data'); return stop(); }
        data = tmp.name;
      }
    }
    msg.answers.push({ name: owner, type, class: klass, ttl, data, address });
    if (i < an) msg.answerCount++;
    off = rd + rdlen;
  }
  return msg;
}

/**
 * Reads one DNS message leniently (see parse): null when not even the header and the
 * questions can be read, else the message with `complete` telling whether all of it was.
 */
export function readDnsMessage(bytes: Uint8Array): DnsMessage | null {
  const r = parse(bytes, true);
  return r instanceof Cursor ? null : r;
}

/** Parses one DNS message (UDP payload, or TCP payload after the 2-byte length). */
export function parseDnsMessage(bytes: Uint8Array): DnsMessage {
  const r = parse(bytes);
  if (r instanceof Cursor) throw new DnsParseError(r.errAt, r.err, bytes.length);
  return r;
}

export interface DnsPayloadSummary {
  response: boolean;
  rcode: number;
  /** question names, answer owner names and name targets, each once, lower case, no trailing dot */
  names: string[];
  /** the first questionNames entries of names are the questions */
  questionNames: number;
  /** A/AAAA addresses in the answers */
  addresses: string[];
}

/**
 * What the DNS-name hook needs from a payload: the names and addresses it mentions, or
 * null when the bytes are not a DNS query/response. `tcp`: the payload starts with the
 * 2-byte message length (DNS over TCP).
 */
export function analyzeDnsPayload(bytes: Uint8Array, opts: { tcp?: boolean } = {}): DnsPayloadSummary | null {
  let b = bytes;
  if (opts.tcp) {
    if (b.length < 14) return null;
    const len = u16(b, 0);
    b = b.subarray(2, 2 + Math.min(len, b.length - 2));
  }
  const r = parse(b);
  if (r instanceof Cursor) return null;
  if (r.opcode !== 0 || r.questions.length === 0) return null;
  const names: string[] = [];
  const seen = new Set<string>();
  const add = (n: string | null): void => {
    if (n !== null && n !== '' && !seen.has(n)) { seen.add(n); names.push(n); }
  };
  const addresses: string[] = [];
  for (const q of r.questions) add(q.name);
  const questionNames = names.length;
  for (const a of r.answers) {
    add(a.name);
    if (a.type === DnsType.A || a.type === DnsType.AAAA) { if (a.data !== null) addresses.push(a.data); } else add(a.data);
  }
  return { response: r.response, rcode: r.rcode, names, questionNames, addresses };
}
