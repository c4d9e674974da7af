// fast-check arbitraries for PacketRecords: every field over its whole domain
// (extremes included), IPv4/IPv6/non-IP, payload bytes, drawn from a small pool
// of conversations so that per-tuple prediction paths are exercised too.
import fc from 'fast-check';
import { PacketRecord } from '../../../../shared/packet/packet-record.js';

const u8 = fc.oneof(fc.constantFrom(0, 1, 255), fc.integer({ min: 0, max: 255 }));
const u16 = fc.oneof(fc.constantFrom(0, 1, 0xffff), fc.integer({ min: 0, max: 0xffff }));
const u32 = fc.oneof(fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff }));
const small = fc.integer({ min: 0, max: 40 });

/**
 * Timestamps: mostly realistic µs, sometimes extreme, outside the dump's domain (the writer
 * reduces those: negative, NaN, infinite, past 2^53) or not an integer at all.
 */
const tsUs = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1_600_000_000_000_000, max: 1_600_000_100_000_000 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(0, 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53, 2 ** 60, NaN, Infinity, -Infinity,
      1e300, -1e300, -1, 0.5, 1.6e15 + 0.25),
  },
  { weight: 1, arbitrary: fc.double() },
);

interface Tuple {
  direction: number; ipVersion: number; src: Uint8Array; dst: Uint8Array; proto: number; sport: number; dport: number;
  vlan: number; tunnel: number; tupleFlags: number;
}

const addr = (ver: number): fc.Arbitrary<Uint8Array> =>
  ver === 4
    ? fc.oneof(
        fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => { const a = new Uint8Array(16); a.set(b); return a; }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }), // IPv4 with junk in bytes 4..15 must survive too
      )
    : fc.uint8Array({ minLength: 16, maxLength: 16 });

const tuple: fc.Arbitrary<Tuple> = fc.constantFrom(4, 6, 0, 4, 6, 9).chain((ipVersion) =>
  fc.record({
    direction: fc.constantFrom(0, 1, 2, 255),
    ipVersion: fc.constant(ipVersion),
    src: addr(ipVersion),
    dst: addr(ipVersion),
    proto: fc.oneof(fc.constantFrom(6, 17, 1, 58, 132), u8),
    sport: u16,
    dport: u16,
    vlan: fc.oneof(fc.constant(0), u16),
    tunnel: fc.oneof(fc.constant(0), u8),
    tupleFlags: fc.integer({ min: 0, max: 7 }).map((b) => b << 3), // SrcAnon | DstAnon | Inner
  }),
);

interface PacketFields {
  tsUs: number; wireLen: number; ipLen: number; ipId: number; ttl: number; fragFlags: number; fragOffset: number;
  tcpFlags: number; tcpSeq: number; tcpAck: number; tcpWindow: number; tcpOptFlags: number; tcpMss: number;
  tcpWscale: number; tcpTsVal: number; tcpTsEcr: number; payloadLen: number; payload: Uint8Array; pktFlags: number;
}

const maybeZero = <T>(a: fc.Arbitrary<T>, zero: T): fc.Arbitrary<T> => fc.oneof(fc.constant(zero), a);

const packet: fc.Arbitrary<PacketFields> = fc.record({
  tsUs,
  wireLen: fc.oneof(small.map((x) => x + 54), u32),
  ipLen: fc.oneof(small.map((x) => x + 40), u32),
  ipId: maybeZero(u32, 0),
  ttl: u8,
  fragFlags: maybeZero(fc.integer({ min: 0, max: 3 }), 0),
  fragOffset: maybeZero(fc.oneof(fc.integer({ min: 0, max: 8191 }).map((x) => x * 8), u32), 0),
  tcpFlags: maybeZero(fc.oneof(u8, fc.integer({ min: 0, max: 0xfff })), 0),
  tcpSeq: maybeZero(u32, 0),
  tcpAck: maybeZero(u32, 0),
  tcpWindow: maybeZero(u16, 0),
  tcpOptFlags: maybeZero(fc.integer({ min: 0, max: 31 }), 0),
  tcpMss: maybeZero(u16, 0),
  tcpWscale: maybeZero(u8, 0),
  tcpTsVal: maybeZero(u32, 0),
  tcpTsEcr: maybeZero(u32, 0),
  payloadLen: fc.oneof(small, u32),
  payload: fc.oneof({ weight: 3, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  pktFlags: maybeZero(fc.oneof(fc.constantFrom(1, 2, 4, 7), fc.integer({ min: 0, max: 0xffffffff }).map((x) => (x & ~(7 << 3)) >>> 0)), 0),
});

/** 0..maxLen records over a pool of 1..8 tuples. */
export function recordsArb(maxLen = 120): fc.Arbitrary<PacketRecord[]> {
  return fc
    .record({
      tuples: fc.array(tuple, { minLength: 1, maxLength: 8 }),
      packets: fc.array(fc.tuple(fc.nat(), packet), { minLength: 0, maxLength: maxLen }),
    })
    .map(({ tuples, packets }) =>
      packets.map(([ti, p]) => {
        const t = tuples[ti % tuples.length]!;
        const r = new PacketRecord();
        r.tsUs = p.tsUs;
        r.direction = t.direction;
        r.ipVersion = t.ipVersion;
        r.src.set(t.src);
        r.dst.set(t.dst);
        r.proto = t.proto;
        r.sport = t.sport;
        r.dport = t.dport;
        r.vlan = t.vlan;
        r.tunnel = t.tunnel;
        r.flags = (t.tupleFlags | p.pktFlags) >>> 0;
        r.wireLen = p.wireLen;
        r.ipLen = p.ipLen;
        r.ipId = p.ipId;
        r.ttl = p.ttl;
        r.fragFlags = p.fragFlags;
        r.fragOffset = p.fragOffset;
        r.tcpFlags = p.tcpFlags;
        r.tcpSeq = p.tcpSeq;
        r.tcpAck = p.tcpAck;
        r.tcpWindow = p.tcpWindow;
        r.tcpOptFlags = p.tcpOptFlags;
        r.tcpMss = p.tcpMss;
        r.tcpWscale = p.tcpWscale;
        r.tcpTsVal = p.tcpTsVal;
        r.tcpTsEcr = p.tcpTsEcr;
        r.payloadLen = p.payloadLen;
        r.payload = p.payload;
        return r;
      }),
    );
}

/** Every field of a record as a plain object (addresses and payload as arrays) for deepStrictEqual. */
export function snapshot(r: PacketRecord): Record<string, unknown> {
  return {
    tsUs: r.tsUs, direction: r.direction, ipVersion: r.ipVersion, src: Array.from(r.src), dst: Array.from(r.dst),
    proto: r.proto, sport: r.sport, dport: r.dport, vlan: r.vlan, wireLen: r.wireLen, ipLen: r.ipLen, ipId: r.ipId,
    ttl: r.ttl, fragFlags: r.fragFlags, fragOffset: r.fragOffset, tcpFlags: r.tcpFlags, tcpSeq: r.tcpSeq, tcpAck: r.tcpAck,
    tcpWindow: r.tcpWindow, tcpOptFlags: r.tcpOptFlags, tcpMss: r.tcpMss, tcpWscale: r.tcpWscale, tcpTsVal: r.tcpTsVal,
    tcpTsEcr: r.tcpTsEcr, payloadLen: r.payloadLen, payload: Array.from(r.payload), flags: r.flags, tunnel: r.tunnel,
  };
}
