// Threat-intelligence feed text -> entries (pure). Formats:
//   plain            one IP, CIDR or domain per line; comment lines start with # ; // or !;
//                    text after the entry following ';' or '#' is its label
//                    (covers emerging-threats compromised-ips.txt and Spamhaus DROP/EDROP
//                    "1.10.16.0/20 ; SBL256894")
//   spamhaus-drop    alias of plain
//   spamhaus-drop-json  Spamhaus DROP v4/v6 JSON lines {"cidr":"...","sblid":"SBL..."}
//   hosts            hosts-file blocklists "0.0.0.0 bad.example" (domains)
//   csv              a column chosen by header name or 1-based number, optional label column;
//                    the header may sit in a comment line ("# id,dateadded,url,...")
//   feodo-csv        abuse.ch Feodo Tracker ipblocklist.csv (dst_ip, label malware)
//   urlhaus-csv      abuse.ch URLhaus csv (host of the url column, label threat)
//   misp-csv         MISP attribute CSV export (value column, label category; ip-dst, domain,
//                    hostname, url and ja4 attributes: whatever parses)
// Entries are IPs/CIDRs, domains (a listed domain also covers the names under it) and TLS
// fingerprints (JA4 "t13d1516h2_8daaf6152771_b186095e22b6", JA4S "t130200_1301_a56c5b993250").
// Lines that are none of these are counted as invalid, never thrown on.
import { parseAddressWords } from '../address-words.js';

export const FEED_FORMATS = ['plain', 'spamhaus-drop', 'spamhaus-drop-json', 'hosts', 'csv', 'feodo-csv', 'urlhaus-csv', 'misp-csv'] as const;
export type FeedFormat = (typeof FEED_FORMATS)[number];

export interface FeedSpec {
  format: FeedFormat;
  /** csv: header name or 1-based column number of the entry */
  column?: string | number;
  /** csv: header name or 1-based column number of the label */
  labelColumn?: string | number;
  /** csv field delimiter (default ',') */
  delimiter?: string;
  /** only take IPs, only domains, only JA4/JA4S fingerprints, or all (default auto: whatever parses) */
  kind?: 'auto' | 'ip' | 'domain' | 'ja4';
}

export interface FeedSink {
  /** words: address words masked or not (the trie masks), version 4/6 */
  cidr(version: 4 | 6, words: Uint32Array, prefixLen: number, label: string): void;
  domain(name: string, label: string): void;
  /** a JA4 or JA4S fingerprint (lower case) */
  ja4?(fingerprint: string, label: string): void;
}

export interface FeedParseStats {
  lines: number;
  ips: number;
  domains: number;
  ja4: number;
  invalid: number;
  /** first few invalid lines (line number: text) for the log */
  invalidSamples: string[];
}

const words = new Uint32Array(4);

/** "1.2.3.0/24", "1.2.3.4", "2001:db8::/32" -> sink; false when it is not an address/prefix. */
export function addCidrText(text: string, label: string, sink: FeedSink): boolean {
  const slash = text.indexOf('/');
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  const v = parseAddressWords(addr, words);
  if (v === 0) return false;
  const max = v === 4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return false;
    len = Number(p);
    if (len > max) return false;
  }
  sink.cidr(v, words, len, label);
  return true;
}

// the top-level label has a letter, so "300.1.1.1" is not a domain
const DOMAIN_RE = /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+(?=[a-z0-9-]{0,62}[a-z])[a-z0-9-]{1,63}$/;

/** Lower-cased domain without a trailing dot or leading "*." / ".", or '' when it is not one. */
export function normalizeDomain(text: string): string {
  let d = text.trim().toLowerCase();
  if (d.startsWith('*.')) d = d.slice(2);
  else if (d.startsWith('.')) d = d.slice(1);
  if (d.endsWith('.')) d = d.slice(0, -1);
  return DOMAIN_RE.test(d) ? d : '';
}

// JA4: t|q|d, version, d|i, cipher count, extension count, ALPN code, two 12-hex hashes;
// JA4S: t|q|d, version, extension count, ALPN code, the cipher (4 hex), one 12-hex hash
const JA4_RE = /^[tqd][0-9a-z]{2}[di]\d{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$/;
const JA4S_RE = /^[tqd][0-9a-z]{2}\d{2}[0-9a-z]{2}_[0-9a-f]{4}_[0-9a-f]{12}$/;

/** A JA4 or JA4S fingerprint in lower case, or '' when the text is neither. */
export function normalizeJa4(text: string): string {
  const t = text.trim().toLowerCase();
  return JA4_RE.test(t) || JA4S_RE.test(t) ? t : '';
}

function addEntry(text: string, label: string, kind: FeedSpec['kind'], sink: FeedSink, st: FeedParseStats): boolean {
  if (kind === 'auto' || kind === 'ja4' || kind === undefined) {
    const fp = normalizeJa4(text);
    if (fp !== '') {
      sink.ja4?.(fp, label);
      st.ja4++;
      return true;
    }
    if (kind === 'ja4') return false;
  }
  if (kind !== 'domain' && addCidrText(text, label, sink)) {
    st.ips++;
    return true;
  }
  if (kind !== 'ip') {
    const d = normalizeDomain(text);
    if (d !== '') {
      sink.domain(d, label);
      st.domains++;
      return true;
    }
  }
  return false;
}

/** Splits one CSV line (RFC 4180 quotes, doubled quotes inside). */
export function splitCsvLine(line: string, delimiter = ','): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"') {
        if (line[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else field += c;
    } else if (c === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (line.startsWith(delimiter, i)) {
      out.push(field.trim());
      field = '';
      i += delimiter.length - 1;
    } else field += c;
  }
  out.push(field.trim());
  return out;
}

/** Host part of a URL ("http://evil.example:8080/x" -> "evil.example", "[2001:db8::1]" -> "2001:db8::1"). */
export function urlHost(url: string): string {
  let s = url.trim();
  const scheme = s.indexOf('://');
  if (scheme >= 0) s = s.slice(scheme + 3);
  const end = s.search(/[/?#]/);
  if (end >= 0) s = s.slice(0, end);
  const at = s.lastIndexOf('@');
  if (at >= 0) s = s.slice(at + 1);
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    return close > 0 ? s.slice(1, close) : '';
  }
  const colon = s.lastIndexOf(':');
  if (colon >= 0 && s.indexOf(':') === colon) s = s.slice(0, colon);
  return s;
}

function forEachLine(text: string, fn: (line: string, n: number) => void): void {
  let start = 0;
  let n = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    n++;
    let line = text.slice(start, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    fn(line, n);
    start = end + 1;
  }
}

function invalid(st: FeedParseStats, n: number, line: string): void {
  st.invalid++;
  if (st.invalidSamples.length < 5) st.invalidSamples.push(`${n}: ${line.slice(0, 120)}`);
}

function parsePlain(text: string, spec: FeedSpec, sink: FeedSink, st: FeedParseStats, hosts: boolean): void {
  forEachLine(text, (raw, n) => {
    const line = raw.trim();
    if (line === '' || line[0] === '#' || line[0] === ';' || line[0] === '!' || line.startsWith('//')) return;
    st.lines++;
    let m = /^(\S+?)(?:\s*[;#]\s*(.*))?$/.exec(line);
    let entry = '';
    let label = '';
    if (hosts) {
      // "0.0.0.0 bad.example  # comment"
      const body = line.split('#')[0]!.trim().split(/\s+/);
      if (body.length < 2) { invalid(st, n, line); return; }
      entry = body[1]!;
      if (entry === 'localhost' || entry.startsWith('localhost.') || entry === 'broadcasthost') return;
      if (!addEntry(entry, '', 'domain', sink, st)) invalid(st, n, line);
      return;
    }
    if (m === null) {
      // entry followed by free text without a separator: take the first token
      m = /^(\S+)\s+(.*)$/.exec(line);
    }
    entry = m ? m[1]! : line;
    label = m && m[2] ? m[2].trim() : '';
    if (!addEntry(entry, label, spec.kind, sink, st)) invalid(st, n, line);
  });
}

function parseDropJson(text: string, sink: FeedSink, st: FeedParseStats): void {
  forEachLine(text, (raw, n) => {
    const line = raw.trim();
    if (line === '') return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      st.lines++;
      invalid(st, n, line);
      return;
    }
    if (typeof obj !== 'object' || obj === null) { st.lines++; invalid(st, n, line); return; }
    const o = obj as Record<string, unknown>;
    if (o.type === 'metadata') return;
    st.lines++;
    if (typeof o.cidr !== 'string' || !addCidrText(o.cidr, typeof o.sblid === 'string' ? o.sblid : '', sink)) invalid(st, n, line);
    else st.ips++;
  });
}

function columnIndex(col: string | number | undefined, header: string[] | null, fallback: number): number {
  if (col === undefined) return fallback;
  if (typeof col === 'number') return col - 1;
  if (header === null) return -1;
  return header.findIndex((h) => h.toLowerCase() === col.toLowerCase());
}

function parseCsv(text: string, spec: FeedSpec, sink: FeedSink, st: FeedParseStats, urls: boolean, maybeUrls = false): void {
  const delim = spec.delimiter ?? ',';
  const wantHeader = typeof spec.column === 'string' || typeof spec.labelColumn === 'string';
  let header: string[] | null = null;
  let col = wantHeader ? -1 : columnIndex(spec.column, null, 0);
  let labelCol = wantHeader ? -1 : columnIndex(spec.labelColumn, null, -1);
  forEachLine(text, (raw, n) => {
    let line = raw.trim();
    if (line === '') return;
    const comment = line[0] === '#';
    if (comment) line = line.replace(/^#+\s*/, '');
    if (wantHeader && header === null) {
      const fields = splitCsvLine(line, delim);
      const name = typeof spec.column === 'string' ? spec.column.toLowerCase() : null;
      if (name !== null && fields.some((f) => f.toLowerCase() === name)) {
        header = fields;
        col = columnIndex(spec.column, header, 0);
        labelCol = columnIndex(spec.labelColumn, header, -1);
      }
      return; // comments and lines before the header are skipped
    }
    if (comment) return;
    st.lines++;
    const fields = splitCsvLine(line, delim);
    if (col < 0 || col >= fields.length) { invalid(st, n, line); return; }
    let entry = fields[col]!;
    if (urls || (maybeUrls && entry.includes('://'))) entry = urlHost(entry);
    const label = labelCol >= 0 && labelCol < fields.length ? fields[labelCol]! : '';
    if (!addEntry(entry, label, spec.kind, sink, st)) invalid(st, n, line);
  });
  if (wantHeader && header === null && st.lines === 0) {
    st.invalid++;
    if (st.invalidSamples.length < 5) st.invalidSamples.push(`no header line names column ${JSON.stringify(spec.column)}`);
  }
}

/** Parses a whole feed file's text into the sink. */
export function parseFeed(text: string, spec: FeedSpec, sink: FeedSink): FeedParseStats {
  const st: FeedParseStats = { lines: 0, ips: 0, domains: 0, ja4: 0, invalid: 0, invalidSamples: [] };
  switch (spec.format) {
    case 'plain':
    case 'spamhaus-drop':
      parsePlain(text, spec, sink, st, false);
      break;
    case 'hosts':
      parsePlain(text, spec, sink, st, true);
      break;
    case 'spamhaus-drop-json':
      parseDropJson(text, sink, st);
      break;
    case 'csv':
      parseCsv(text, spec, sink, st, false);
      break;
    case 'feodo-csv':
      parseCsv(text, { column: 'dst_ip', labelColumn: 'malware', ...spec, format: 'csv' }, sink, st, false);
      break;
    case 'urlhaus-csv':
      parseCsv(text, { column: 'url', labelColumn: 'threat', ...spec, format: 'csv' }, sink, st, true);
      break;
    case 'misp-csv':
      // value may be a URL (attribute type url): its host is the entry
      parseCsv(text, { column: 'value', labelColumn: 'category', ...spec, format: 'csv' }, sink, st, false, true);
      break;
  }
  return st;
}
