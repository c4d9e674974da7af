// Address text (as flow records carry it) -> 32-bit words, without allocating: the
// analyzers look addresses up per flow, and parseIp() builds strings and arrays.
// IPv4 fills word 0; IPv6 fills words 0..3 (big-endian). Returns 4, 6, or 0 when the
// text is not an address (the caller skips it; no exception on the hot path).

const groups = new Uint16Array(8);

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Dotted quad in s[from, to) -> unsigned 32-bit number, or -1. */
function parseV4(s: string, from: number, to: number): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

function parseV6(s: string, out: Uint32Array): 0 | 6 {
  const len = s.length;
  let n = 0;
  let gap = -1;
  let i = 0;
  if (len >= 2 && s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return 0;
    gap = 0;
    i = 2;
  }
  while (i < len) {
    const start = i;
    let v = 0;
    while (i < len) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      v = v * 16 + h;
      i++;
    }
    if (i < len && s.charCodeAt(i) === 46) {
      // embedded IPv4 tail (::ffff:1.2.3.4): the rest of the text up to a zone id
      let end = s.indexOf('%', start);
      if (end < 0) end = len;
      const v4 = parseV4(s, start, end);
      if (v4 < 0 || n > 6) return 0;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      i = len;
      break;
    }
    if (i === start || i - start > 4 || n >= 8) return 0;
    groups[n++] = v;
    if (i >= len) break;
    const c = s.charCodeAt(i);
    if (c === 37) break; // %zone
    if (c !== 58) return 0;
    i++;
    if (i < len && s.charCodeAt(i) === 58) {
      if (gap >= 0) return 0;
      gap = n;
      i++;
    } else if (i >= len) {
      return 0;
    }
  }
  if (gap < 0 ? n !== 8 : n > 7) return 0;
  // expand the "::" gap with zero groups
  const missing = 8 - n;
  for (let w = 0; w < 4; w++) out[w] = 0;
  for (let g = 0, src = 0; g < 8; g++) {
    let value = 0;
    if (gap >= 0 && g >= gap && g < gap + missing) value = 0;
    else value = groups[src++]!;
    if ((g & 1) === 0) out[g >> 1] = (value << 16) >>> 0;
    else out[g >> 1] = (out[g >> 1]! | value) >>> 0;
  }
  return 6;
}

/** Parses IPv4/IPv6 text into out (length >= 4); 4, 6 or 0 (not an address). */
export function parseAddressWords(s: string, out: Uint32Array): 0 | 4 | 6 {
  if (s.indexOf(':') >= 0) return parseV6(s, out);
  const v = parseV4(s, 0, s.length);
  if (v < 0) return 0;
  out[0] = v >>> 0;
  out[1] = 0;
  out[2] = 0;
  out[3] = 0;
  return 4;
}
