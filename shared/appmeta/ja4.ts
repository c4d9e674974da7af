// JA4 (client) and JA4S (server) TLS fingerprints, as specified by FoxIO
// (github.com/FoxIO-LLC/ja4, technical_details/JA4.md and JA4S.md; JA4 is BSD-3 licensed):
//   JA4  = <t|q><version><d|i><ciphers 2><extensions 2><alpn 2>_<sha256(sorted ciphers)[:12]>_
//          <sha256(sorted extensions without SNI/ALPN "_" signature algorithms in order)[:12]>
//   JA4S = <t|q><version><extensions 2><alpn 2>_<cipher hex>_<sha256(extensions in order)[:12]>
// GREASE values are ignored everywhere. Pure.
import { hash } from 'node:crypto';
import { isGrease, TlsExt, type ClientHello, type ServerHello } from './tls-hello.js';

/** 't' TLS over TCP, 'q' QUIC, 'd' DTLS */
export type Ja4Transport = 't' | 'q' | 'd';

const VERSION_CODES: Record<number, string> = {
  0x0304: '13', 0x0303: '12', 0x0302: '11', 0x0301: '10', 0x0300: 's3', 0x0002: 's2',
  0xfeff: 'd1', 0xfefd: 'd2', 0xfefc: 'd3',
};

function hex4(v: number): string {
  return v.toString(16).padStart(4, '0');
}

/** The first 12 hex digits of SHA-256 (one-shot crypto.hash: a third of createHash's cost for these short inputs). */
function hash12(text: string): string {
  return hash('sha256', text, 'hex').slice(0, 12);
}

function count2(n: number): string {
  return n > 99 ? '99' : String(n).padStart(2, '0');
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** First and last character of an ALPN value ("00" when absent or empty; hex when not alphanumeric). */
export function alpnCode(alpn: string | null | undefined): string {
  if (!alpn) return '00';
  const first = alpn.charCodeAt(0);
  const last = alpn.charCodeAt(alpn.length - 1);
  if (isAlnum(first) && isAlnum(last)) return String.fromCharCode(first) + String.fromCharCode(last);
  let h = '';
  for (let i = 0; i < alpn.length; i++) h += (alpn.charCodeAt(i) & 0xff).toString(16).padStart(2, '0');
  return h[0]! + h[h.length - 1]!;
}

/** The version JA4 reports: the highest supported_versions entry, else the hello's own. */
export function ja4Version(ch: Pick<ClientHello, 'legacyVersion' | 'supportedVersions'>): number {
  let best = -1;
  for (const v of ch.supportedVersions) if (!isGrease(v) && v > best) best = v;
  return best >= 0 ? best : ch.legacyVersion;
}

function versionCode(v: number): string {
  return VERSION_CODES[v] ?? '00';
}

/** JA4 of a ClientHello. */
export function ja4(ch: ClientHello, transport: Ja4Transport): string {
  const ciphers = ch.ciphers.filter((c) => !isGrease(c));
  const exts = ch.extensions.filter((e) => !isGrease(e));
  const sigs = ch.signatureAlgorithms.filter((s) => !isGrease(s));
  const a = transport + versionCode(ja4Version(ch)) + (exts.includes(TlsExt.ServerName) ? 'd' : 'i') +
    count2(ciphers.length) + count2(exts.length) + alpnCode(ch.alpn[0]);
  const b = ciphers.length === 0 ? '000000000000' : hash12(ciphers.map(hex4).sort().join(','));
  const sortedExts = exts.filter((e) => e !== TlsExt.ServerName && e !== TlsExt.Alpn).map(hex4).sort().join(',');
  let c: string;
  if (sortedExts === '') c = '000000000000';
  else c = hash12(sigs.length === 0 ? sortedExts : `${sortedExts}_${sigs.map(hex4).join(',')}`);
  return `${a}_${b}_${c}`;
}

/** JA4S of a ServerHello. */
export function ja4s(sh: ServerHello, transport: Ja4Transport): string {
  const exts = sh.extensions.filter((e) => !isGrease(e));
  const version = sh.selectedVersion !== null && !isGrease(sh.selectedVersion) ? sh.selectedVersion : sh.legacyVersion;
  const a = transport + versionCode(version) + count2(exts.length) + alpnCode(sh.alpn);
  const c = exts.length === 0 ? '000000000000' : hash12(exts.map(hex4).join(','));
  return `${a}_${hex4(sh.cipher)}_${c}`;
}
