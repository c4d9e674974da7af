// pcapng timestamps: a 64-bit count of if_tsresol units (10^-n or 2^-n seconds)
// plus the interface's if_tsoffset seconds, turned into microseconds since the epoch.
// Common resolutions use exact double arithmetic; rare ones fall back to BigInt.

const TWO_POW_32 = 4294967296;

const enum TsMode {
  /** 10^-n with n <= 6: multiply */
  DecimalMultiply = 0,
  /** 10^-n with 7 <= n <= 12: exact split division (divisor < 2^21) */
  DecimalDivide = 1,
  /** anything else (finer decimal, power of two): BigInt */
  Big = 2,
}

export interface TsConverter {
  mode: TsMode;
  /** DecimalMultiply: factor; DecimalDivide: divisor */
  scale: number;
  /** Big: true for 2^-exponent units, false for 10^-exponent */
  pow2: boolean;
  exponent: number;
  /** if_tsoffset, microseconds */
  offsetUs: number;
}

/** Converter for an if_tsresol byte (default 6 = microseconds) and an if_tsoffset in seconds. */
export function makeTsConverter(tsresol = 6, offsetSec = 0): TsConverter {
  const pow2 = (tsresol & 0x80) !== 0;
  const exponent = tsresol & 0x7f;
  const offsetUs = offsetSec * 1e6;
  if (!pow2 && exponent <= 6) return { mode: TsMode.DecimalMultiply, scale: 10 ** (6 - exponent), pow2, exponent, offsetUs };
  if (!pow2 && exponent <= 12) return { mode: TsMode.DecimalDivide, scale: 10 ** (exponent - 6), pow2, exponent, offsetUs };
  return { mode: TsMode.Big, scale: 1, pow2, exponent, offsetUs };
}

/** Microseconds since the epoch (floored) for timestamp words high:low. */
export function pcapngTsToUs(high: number, low: number, c: TsConverter): number {
  switch (c.mode) {
    case TsMode.DecimalMultiply:
      return (high * TWO_POW_32 + low) * c.scale + c.offsetUs;
    case TsMode.DecimalDivide: {
      const d = c.scale;
      const qh = Math.floor(high / d);
      const rh = high - qh * d;
      return qh * TWO_POW_32 + Math.floor((rh * TWO_POW_32 + low) / d) + c.offsetUs;
    }
    default: {
      const units = (BigInt(high) << 32n) | BigInt(low);
      const us = c.pow2 ? (units * 1000000n) >> BigInt(c.exponent) : c.exponent >= 6 ? units / 10n ** BigInt(c.exponent - 6) : units * 10n ** BigInt(6 - c.exponent);
      return Number(us) + c.offsetUs;
    }
  }
}
