// Certificate serial numbers: 128 random bits, positive, minimal DER (first byte non-zero),
// because OpenSSL 3 rejects negative or zero-padded serials.
import { randomBytes } from 'node:crypto';

/** 16 random bytes as lower-case hex; top bit clear (positive), first byte never 0. */
export function randomSerialHex(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

/** Canonical form for comparing serials from forge (lower hex) and Node (upper hex, maybe zero-padded). */
export function normalizeSerial(hex: string): string {
  const s = hex.toLowerCase().replace(/^(00)+/, '');
  return s === '' ? '0' : s;
}
