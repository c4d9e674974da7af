// Address-range arithmetic for firewalls that only have BLOCK-wins semantics (Windows Firewall):
// "block everything except X" becomes "block the complement of X", a list of start-end ranges.
// IPv4 and IPv6 addresses as bigint; ranges are inclusive, sorted, merged. Pure.
import { formatIp, parseCidr } from '../../shared/net/ip-address.js';

export interface AddressRange {
  version: 4 | 6;
  start: bigint;
  end: bigint;
}

function bitsOf(version: 4 | 6): number {
  return version === 4 ? 32 : 128;
}

function toBigint(version: 4 | 6, bytes: Uint8Array): bigint {
  let v = 0n;
  const n = version === 4 ? 4 : 16;
  for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

function fromBigint(version: 4 | 6, v: bigint): string {
  const n = version === 4 ? 4 : 16;
  const bytes = new Uint8Array(16);
  for (let i = n - 1; i >= 0; i--) { bytes[i] = Number(v & 0xffn); v >>= 8n; }
  return formatIp(version, bytes);
}

/** "10.0.0.0/8" or a bare address -> its inclusive range. @throws AddressParseError */
export function cidrToRange(text: string): AddressRange {
  const c = parseCidr(text);
  const bits = bitsOf(c.version);
  const start = toBigint(c.version, c.bytes);
  const size = 1n << BigInt(bits - c.prefixLen);
  return { version: c.version, start, end: start + size - 1n };
}

/** Sorted by family then start, overlapping or touching ranges merged. */
export function normalizeRanges(ranges: readonly AddressRange[]): AddressRange[] {
  const sorted = [...ranges].sort((a, b) => (a.version !== b.version ? a.version - b.version : a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: AddressRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && last.version === r.version && r.start <= last.end + 1n) {
      if (r.end > last.end) last.end = r.end;
    } else {
      out.push({ ...r });
    }
  }
  return out;
}

/** `from` minus every range in `minus` (both any mix of families). */
export function subtractRanges(from: readonly AddressRange[], minus: readonly AddressRange[]): AddressRange[] {
  let cur = normalizeRanges(from);
  for (const m of normalizeRanges(minus)) {
    const next: AddressRange[] = [];
    for (const r of cur) {
      if (r.version !== m.version || m.end < r.start || m.start > r.end) { next.push(r); continue; }
      if (m.start > r.start) next.push({ version: r.version, start: r.start, end: m.start - 1n });
      if (m.end < r.end) next.push({ version: r.version, start: m.end + 1n, end: r.end });
    }
    cur = next;
  }
  return cur;
}

/** The whole address space of both families minus `exclude`. */
export function complementRanges(exclude: readonly AddressRange[]): AddressRange[] {
  const all: AddressRange[] = [
    { version: 4, start: 0n, end: (1n << 32n) - 1n },
    { version: 6, start: 0n, end: (1n << 128n) - 1n },
  ];
  return subtractRanges(all, exclude);
}

/** "1.2.3.4" for a single address, else "start-end" (the form Windows Firewall accepts). */
export function formatRange(r: AddressRange): string {
  return r.start === r.end ? fromBigint(r.version, r.start) : `${fromBigint(r.version, r.start)}-${fromBigint(r.version, r.end)}`;
}

/** Port list minus some ports, as Windows port-range text ("1-442,444-65535"); '' when nothing is left. */
export function complementPorts(ports: readonly number[]): string {
  const sorted = [...new Set(ports)].filter((p) => p >= 1 && p <= 65535).sort((a, b) => a - b);
  const parts: string[] = [];
  let next = 1;
  for (const p of sorted) {
    if (p > next) parts.push(p - 1 === next ? String(next) : `${next}-${p - 1}`);
    next = p + 1;
  }
  if (next <= 65535) parts.push(next === 65535 ? '65535' : `${next}-65535`);
  return parts.join(',');
}
