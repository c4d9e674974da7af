import assert from 'node:assert/strict';
import { brotliCompressSync, brotliDecompressSync, deflateRawSync, crc32 } from 'node:zlib';
import fc from 'fast-check';
import { DumpFormatError, DumpValueError, DumpWriter, decodeDump, readDumpHeader } from '../../../shared/dump/index.js';
import { CompressionKind, encodeHeader, isDumpTime, keyIdToBytes, uuidToBytes } from '../../../shared/dump/dump-header.js';
import { columnStart, poisonFirstTimestamp } from './helpers/poisoned-dump.js';
import { Col } from '../../../shared/dump/dump-layout.js';
import { recordsFromPcap } from './helpers/pcap-records.js';
import { snapshot } from './helpers/record-arbitrary.js';
import type { PacketRecord } from '../../../shared/packet/packet-record.js';

const AGENT = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
const KEY = '00ff10ee20dd30cc';

/** Decoding must either fail with DumpFormatError or succeed; any other exception fails the test. */
function outcome(bytes: Uint8Array): 'rejected' | Array<Record<string, unknown>> {
  try {
    const d = decodeDump(bytes);
    const out: Array<Record<string, unknown>> = [];
    d.forEach((r) => out.push(snapshot(r)));
    return out;
  } catch (e) {
    if (e instanceof DumpFormatError) return 'rejected';
    throw new Error(`decoder threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
}

function rejects(bytes: Uint8Array, re: RegExp): void {
  assert.throws(() => decodeDump(bytes), (e: unknown) => e instanceof DumpFormatError && re.test(e.message));
}

function rejects_(bytes: Uint8Array, opts: { maxPackets?: number; maxUncompressed?: number }, re: RegExp): void {
  assert.throws(() => decodeDump(bytes, opts), (e: unknown) => e instanceof DumpFormatError && re.test(e.message));
}

/** A dump whose header is valid for an arbitrary body (checksums recomputed). */
function craft(body: Uint8Array, o: { packets: number; tuples: number; kind?: CompressionKind; usize?: number; first?: number; last?: number; flags?: number }): Uint8Array {
  const kind = o.kind ?? CompressionKind.None;
  const packed = kind === CompressionKind.None ? body : kind === CompressionKind.Brotli ? brotliCompressSync(body) : deflateRawSync(body);
  const out = new Uint8Array(96 + packed.length);
  out.set(packed, 96);
  encodeHeader(out, {
    agentId: uuidToBytes(AGENT), anonKeyId: keyIdToBytes(KEY), sequence: 1, firstTsUs: o.first ?? 0, lastTsUs: o.last ?? 0,
    packetCount: o.packets, tupleCount: o.tuples, linkType: 1, snapLen: 0, compression: kind, compressionLevel: 0,
    flags: o.flags ?? 0, uncompressedSize: o.usize ?? body.length, compressedSize: packed.length, bodyCrc32: crc32(packed),
  });
  return out;
}

describe('dump reader on hostile input', () => {
  let ssh: PacketRecord[];
  let dump: Uint8Array;
  let withPayload: Uint8Array;
  let original: Array<Record<string, unknown>>;

  before(() => {
    ssh = recordsFromPcap('zeek/ssh_ssh.pcap', 400);
    const w = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 0 });
    for (const r of ssh) w.add(r);
    dump = w.finish(7);
    const got = outcome(dump);
    assert.notEqual(got, 'rejected');
    original = got as Array<Record<string, unknown>>;
    const wp = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 32 });
    for (const r of ssh) {
      r.payload = new Uint8Array(Math.min(32, r.payloadLen)).fill(0x41);
      wp.add(r);
    }
    withPayload = wp.finish(8);
  });

  it('rejects every single-bit flip of a real dump (property over positions)', () => {
    for (const base of [dump, withPayload]) {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: base.length * 8 - 1 }), (bit) => {
          const b = base.slice();
          b[bit >> 3]! ^= 1 << (bit & 7);
          assert.equal(outcome(b), 'rejected');
        }),
        { numRuns: 400 },
      );
    }
  });

  it('never accepts multi-byte damage with different content', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
        const b = dump.slice();
        for (const [pos, x] of edits) b[pos % b.length]! ^= x;
        const got = outcome(b);
        if (got !== 'rejected') assert.deepStrictEqual(got, original);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects every truncation and any trailing bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: dump.length - 1 }), (len) => {
        assert.equal(outcome(dump.subarray(0, len)), 'rejected');
      }),
      { numRuns: 300 },
    );
    for (const len of [0, 1, 4, 95, 96, 97, dump.length - 1]) assert.equal(outcome(dump.subarray(0, len)), 'rejected');
    const longer = new Uint8Array(dump.length + 1);
    longer.set(dump);
    rejects(longer, /trailing bytes/);
    rejects(dump.subarray(0, dump.length - 3), /truncated body/);
    rejects(dump.subarray(0, 50), /truncated header/);
  });

  it('rejects random bytes, with or without a valid-looking magic', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 400 }), fc.boolean(), (b, magic) => {
        if (magic && b.length >= 4) b.set([0x4d, 0x4b, 0x44, 0x50]);
        assert.equal(outcome(b), 'rejected');
      }),
      { numRuns: 500 },
    );
  });

  it('names the problem: bad magic, version, header checksum, body checksum', () => {
    const b1 = dump.slice(); b1[0] = 0x58;
    rejects(b1, /bad magic/);
    const b2 = dump.slice(); b2[4] = 3;
    rejects(b2, /unsupported dump version 3/);
    const b3 = dump.slice(); b3[30]! ^= 1;
    rejects(b3, /header checksum mismatch/);
    const b4 = dump.slice(); b4[dump.length - 10]! ^= 0x10;
    rejects(b4, /body checksum mismatch/);
    assert.throws(() => readDumpHeader(b1), DumpFormatError);
  });

  it('survives arbitrary body damage behind valid checksums (structural validation)', () => {
    const h = readDumpHeader(dump);
    const body = brotliDecompressSync(dump.subarray(96));
    const opts = { packets: h.packetCount, tuples: h.tupleCount, first: h.firstTsUs, last: h.lastTsUs };
    // sanity: the unchanged body, re-wrapped, decodes to the same records
    assert.deepStrictEqual(outcome(craft(body, opts)), original);
    let rejected = 0;
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const b = new Uint8Array(body);
        for (const [pos, x] of edits) b[pos % b.length] = x;
        if (outcome(craft(b, opts)) === 'rejected') rejected++;
        else accepted++;
      }),
      { numRuns: 600 },
    );
    assert.ok(rejected > 0, 'damage must be detected by structure checks too');
    // (accepted = the edit produced another valid dump, e.g. a different TTL value)
    assert.ok(accepted + rejected === 600);
    console.log(`      body damage behind valid checksums: ${rejected} rejected, ${accepted} decoded as other valid dumps`);
  });

  it('reports a truncated column with its name and record', () => {
    const h = readDumpHeader(dump);
    const body = new Uint8Array(brotliDecompressSync(dump.subarray(96)));
    // the header declares one packet (or tuple) more than the columns hold
    rejects(craft(body, { packets: h.packetCount + 1, tuples: h.tupleCount, first: h.firstTsUs, last: h.lastTsUs }), /column 'shape' has \d+ bytes, expected one per packet/);
    rejects(craft(body, { packets: h.packetCount, tuples: h.tupleCount + 1, first: h.firstTsUs, last: h.lastTsUs }), /column 'tuples'/);
    rejects(craft(body, { packets: h.packetCount, tuples: h.tupleCount, first: h.firstTsUs + 1, last: h.lastTsUs }), /firstTsUs/);
    rejects(craft(body, { packets: h.packetCount, tuples: h.tupleCount, first: h.firstTsUs, last: h.lastTsUs, flags: 1 }), /payload flag/);
  });

  it('refuses a zip bomb before inflating past the declared size', () => {
    const huge = new Uint8Array(16 * 1024 * 1024); // 16 MiB of zeros (4096x the declared size), a few KB compressed
    for (const kind of [CompressionKind.DeflateRaw, CompressionKind.Brotli]) {
      const bomb = craft(huge, { packets: 1, tuples: 1, kind, usize: 4096 });
      const t0 = Date.now();
      rejects(bomb, /inflates past its declared size of 4096/);
      assert.ok(Date.now() - t0 < 2000, 'refused quickly');
    }
    rejects(craft(new Uint8Array(16), { packets: 1, tuples: 1, kind: CompressionKind.DeflateRaw, usize: 512 * 1024 * 1024 }), /limit is 67108864/);
    rejects(craft(new Uint8Array(16), { packets: 1, tuples: 1, kind: CompressionKind.DeflateRaw, usize: 10 }), /(does not decompress|decompressed to|inflates past)/);
  });

  it('enforces caller limits on packets and body size', () => {
    assert.doesNotThrow(() => decodeDump(dump, { maxPackets: 400 }));
    rejects_(dump, { maxPackets: 399 }, /declares 400 packets, limit is 399/);
    const usize = readDumpHeader(dump).uncompressedSize;
    rejects_(dump, { maxUncompressed: usize - 1 }, new RegExp(`${usize}-byte body, limit is ${usize - 1}`));
  });
});

function rejectsValue(bytes: Uint8Array, re: RegExp): void {
  assert.throws(() => decodeDump(bytes), (e: unknown) => e instanceof DumpValueError && re.test(e.message));
}

describe('dump reader on well-formed dumps with values outside their domain', () => {
  /** A valid body of `n` packets and its header facts: the first record's timestamp is written as an escape (float64). */
  function wellFormed(firstTs: number, n = 3): { body: Uint8Array; opts: { packets: number; tuples: number; first: number; last: number } } {
    const recs = recordsFromPcap('zeek/ssh_ssh.pcap', n);
    const w = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 0, compression: 'none' });
    recs.forEach((r, i) => { r.tsUs = firstTs + i; w.add(r); });
    const d = w.finish(3);
    const h = readDumpHeader(d);
    return { body: new Uint8Array(d.subarray(96)), opts: { packets: h.packetCount, tuples: h.tupleCount, first: h.firstTsUs, last: h.lastTsUs } };
  }

  it('refuses NaN, infinite, negative, fractional and > 2^53 timestamps with a DumpValueError naming the record', () => {
    const recs = recordsFromPcap('zeek/ssh_ssh.pcap', 50);
    const w = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 0 });
    for (const r of recs) w.add(r);
    const good = w.finish(9);
    for (const bad of [NaN, Infinity, -Infinity, 1e300, -1e300, -1, 0.5, 2 ** 53, 2 ** 60]) {
      // a positive or NaN first time: the header can name it (0, 2^53-1), the record check refuses it;
      // a negative one already fails the header's range
      rejectsValue(poisonFirstTimestamp(good, bad), bad >= 0 || Number.isNaN(bad)
        ? /column 'ts' at record 0: timestamp .* (not a whole number|outside)/
        : /header times -\d+, -?\d+ out of range/);
    }
    // the same rewrite with the true first time decodes to the same records (the value is what fails)
    assert.deepStrictEqual(outcome(poisonFirstTimestamp(good, recs[0]!.tsUs)), outcome(good));
  });

  it('refuses a timestamp that a delta carries below 0', () => {
    // first record at 1 µs: written as the delta +1 from 0 (zigzag 2, +1 = byte 3); byte 2 means -1
    const { body, opts } = wellFormed(1, 2);
    const ts = columnStart(body, Col.Ts);
    assert.equal(body[ts], 3);
    const b = body.slice();
    b[ts] = 2;
    rejectsValue(craft(b, opts), /column 'ts' at record 0: timestamp -1 is outside 0\.\.2\^53-1/);
  });

  it('refuses header times outside 0..2^53-1', () => {
    const { body, opts } = wellFormed(1_700_000_000_000_000);
    assert.throws(() => readDumpHeader(craft(body, { ...opts, first: -5 })), (e: unknown) => e instanceof DumpValueError && /header times -5/.test((e as Error).message));
  });

  it('never yields a record time outside the domain, whatever float64 the escape holds (property)', () => {
    const { body, opts } = wellFormed(1_700_000_000_000_000, 1);
    const ts = columnStart(body, Col.Ts);
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e300, -1e300, 2 ** 53 - 1, 2 ** 53)), (v) => {
        const b = body.slice();
        new DataView(b.buffer).setFloat64(ts + 1, v, true);
        // the header names the same time when it is one a header can hold, so only the value check can refuse
        const first = Number.isSafeInteger(v) && v >= 0 ? v : opts.first;
        const got = outcome(craft(b, { ...opts, first, last: first }));
        if (got === 'rejected') return;
        accepted++;
        assert.ok(isDumpTime(got[0]!.tsUs as number), `accepted time ${String(got[0]!.tsUs)}`);
      }),
      { numRuns: 500 },
    );
    assert.ok(accepted > 0, 'in-range times still decode');
  });
});
