// Text <-> bytes for IP addresses and CIDR prefixes, in the 16-byte layout
// PacketRecord uses (IPv4 in bytes 0..3). Not on the per-packet path.
import { InputError } from '../errors.js';

export interface IpAddress {
  version: 4 | 6;
  /** 16 bytes; IPv4 uses 0..3 */
  bytes: Uint8Array;
}

export interface Cidr {
  version: 4 | 6;
  bytes: Uint8Array;
  prefixLen: number;
}

export class AddressParseError extends InputError {
  readonly code = 'MEERKAT_ERR_ADDRESS';
  constructor(input: string, expected: string) {
    super(`not a valid ${expected}: ${JSON.stringify(input)}`);
    this.name = 'AddressParseError';
  }
}

export function formatIpv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952 text form (lower case, longest zero run compressed). */
export function formatIpv6(b: Uint8Array, off = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  // IPv4-mapped ::ffff:a.b.c.d keeps its dotted tail, as inet_ntop prints it
  if (bestStart === 0 && bestLen === 5 && words[5] === 0xffff) {
    return `::ffff:${b[off + 12]}.${b[off + 13]}.${b[off + 14]}.${b[off + 15]}`;
  }
  const parts: string[] = [];
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) { parts.push(i === 0 ? ':' : ''); i += bestLen - 1; if (i === 7) parts.push(''); continue; }
    parts.push(words[i]!.toString(16));
  }
  return parts.join(':');
}

export function formatIp(version: number, b: Uint8Array): string {
  if (version === 4) return formatIpv4(b);
  if (version === 6) return formatIpv6(b);
  return '';
}

function parseIpv4Into(s: string, out: Uint8Array, off: number): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return false;
    const n = Number(p);
    if (n > 255) return false;
    out[off + i] = n;
  }
  return true;
}

function parseIpv6Into(s: string, out: Uint8Array): boolean {
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) return false;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const tail = dbl >= 0 ? s.slice(dbl + 2) : '';
  const toWords = (part: string): number[] | null => {
    if (part === '') return [];
    const out2: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (i === items.length - 1 && it.includes('.')) {
        const v4 = new Uint8Array(4);
        if (!parseIpv4Into(it, v4, 0)) return null;
        out2.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return null;
        out2.push(parseInt(it, 16));
      }
    }
    return out2;
  };
  const h = toWords(head);
  const t = toWords(dbl >= 0 ? tail : '');
  if (!h || !t) return false;
  if (dbl < 0 && h.length !== 8) return false;
  if (dbl >= 0 && h.length + t.length > 7) return false;
  const words = new Array<number>(8).fill(0);
  h.forEach((w, i) => { words[i] = w; });
  t.forEach((w, i) => { words[8 - t.length + i] = w; });
  for (let i = 0; i < 8; i++) { out[2 * i] = words[i]! >> 8; out[2 * i + 1] = words[i]! & 0xff; }
  return true;
}

export function parseIp(s: string): IpAddress {
  const bytes = new Uint8Array(16);
  const t = s.trim();
  if (t.includes(':')) {
    if (parseIpv6Into(t, bytes)) return { version: 6, bytes };
  } else if (parseIpv4Into(t, bytes, 0)) {
    return { version: 4, bytes };
  }
  throw new AddressParseError(s, 'IPv4 or IPv6 address');
}

/** "10.0.0.0/8", "fe80::/10", or a bare address (full-length prefix). Host bits are cleared. */
export function parseCidr(s: string): Cidr {
  const t = s.trim();
  const slash = t.indexOf('/');
  const addr = parseIp(slash >= 0 ? t.slice(0, slash) : t);
  const max = addr.version === 4 ? 32 : 128;
  let prefixLen = max;
  if (slash >= 0) {
    const p = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) throw new AddressParseError(s, `CIDR prefix (length 0..${max})`);
    prefixLen = Number(p);
  }
  const bytes = addr.bytes;
  for (let bit = prefixLen; bit < max; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { version: addr.version, bytes, prefixLen };
}

export function cidrContains(c: Cidr, version: number, b: Uint8Array): boolean {
  if (c.version !== version) return false;
  const full = c.prefixLen >> 3;
  for (let i = 0; i < full; i++) if (b[i] !== c.bytes[i]) return false;
  const rem = c.prefixLen & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return (b[full]! & mask) === c.bytes[full];
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.version, c.bytes)}/${c.prefixLen}`;
}

/** Bytes 0..3 as an unsigned 32-bit number. */
export function ipv4ToUint32(b: Uint8Array, off = 0): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

export function uint32ToIpv4(n: number, out: Uint8Array, off = 0): void {
  out[off] = n >>> 24;
  out[off + 1] = (n >>> 16) & 0xff;
  out[off + 2] = (n >>> 8) & 0xff;
  out[off + 3] = n & 0xff;
}
