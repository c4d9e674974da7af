// Big-endian field readers for the decoders (small enough for V8 to inline).
// Callers check bounds first: reading past the end would yield NaN, not throw.

export function u16(f: Uint8Array, o: number): number {
  return (f[o]! << 8) | f[o + 1]!;
}

export function u32(f: Uint8Array, o: number): number {
  return ((f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!) >>> 0;
}

/** Copies n bytes of f at o into dst[0..n) (n is 4 or 16: cheaper than set(subarray)). */
export function copyAddress(f: Uint8Array, o: number, dst: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) dst[i] = f[o + i]!;
}
