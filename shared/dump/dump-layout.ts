// Body layout, shared by writer and reader: the column order, their names (used in error
// messages) and the per-packet shape bits that say which optional columns a packet has
// values in. Version 2 is version 1 plus six metadata columns at the end (meta-columns.ts).

export const enum Col {
  Tuples = 0,
  Shape,
  TupleIdx,
  Ts,
  PayloadLen,
  IpOverhead,
  WireOverhead,
  IpId,
  Ttl,
  Flags,
  FragFlags,
  FragOffset,
  TcpFlags,
  TcpSeq,
  TcpAck,
  TcpWindow,
  TcpOptFlags,
  TcpMss,
  TcpWscale,
  TcpTsVal,
  TcpTsEcr,
  CapLen,
  Payload,
  MetaKind,
  MetaPacket,
  MetaInts,
  MetaRefs,
  MetaStrings,
  MetaAddrs,
}

/** columns of a version-1 body */
export const COLUMN_COUNT_V1 = 23;
/** columns of a version-2 body (the current one) */
export const COLUMN_COUNT = 29;

export const COLUMN_NAMES: readonly string[] = [
  'tuples', 'shape', 'tupleIdx', 'ts', 'payloadLen', 'ipOverhead', 'wireOverhead', 'ipId', 'ttl',
  'flags', 'fragFlags', 'fragOffset', 'tcpFlags', 'tcpSeq', 'tcpAck', 'tcpWindow', 'tcpOptFlags',
  'tcpMss', 'tcpWscale', 'tcpTsVal', 'tcpTsEcr', 'capLen', 'payload',
  'metaKind', 'metaPacket', 'metaInts', 'metaRefs', 'metaStrings', 'metaAddrs',
];

/** Bits of the per-packet shape byte. */
export const enum Shape {
  /** TCP group: tcpFlags, tcpSeq, tcpAck, tcpWindow, tcpOptFlags */
  Tcp = 1 << 0,
  /** fragFlags, fragOffset */
  Frag = 1 << 1,
  /** per-packet record flags (those not in the tuple) */
  Flags = 1 << 2,
  /** captured payload: capLen + bytes */
  Payload = 1 << 3,
  /** tcpMss (requires Tcp) */
  Mss = 1 << 4,
  /** tcpWscale (requires Tcp) */
  Wscale = 1 << 5,
  /** tcpTsVal + tcpTsEcr (requires Tcp) */
  TcpTs = 1 << 6,
}
export const SHAPE_KNOWN = 0x7f;
export const SHAPE_NEEDS_TCP = Shape.Mss | Shape.Wscale | Shape.TcpTs;

/** Tuple entry form byte. */
export const enum TupleForm {
  /** addresses stored as 16 bytes each (else 4: IPv4 with bytes 4..15 zero) */
  Addr16 = 1 << 0,
}

/**
 * Codes of the 'tupleIdx' column: the packet's tuple is the next not-yet-used
 * tuple, the previous packet's tuple, or the reverse of the previous packet's
 * tuple; otherwise TUPLE_EXPLICIT + index.
 */
export const TUPLE_NEW = 0;
export const TUPLE_SAME = 1;
export const TUPLE_REVERSE = 2;
export const TUPLE_EXPLICIT = 3;

/** Column value 0 in 'ts' means: an absolute float64 follows (else zigzag(delta) + 1). */
export const TS_ESCAPE = 0;
