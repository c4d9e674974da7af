// The import's frame scan (collector/import/frame-scanner.ts, frame-scan.c in WebAssembly):
// the module is the one its C source builds; it walks pcap records as the reader does (lengths,
// times in either byte order and resolution, stopping at a record not whole or too long); and
// it takes exactly the frames the frame memo takes - those the decoder's fast lane decodes as
// IPv4 TCP without SYN and unmarked - with the fields the lane gives them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  E_ACK, E_CAPLEN, E_FLAGS, E_FRAME, E_HIT, E_IPLEN, E_PAYLEN, E_PAYOFF, E_PORTS, E_SEQ, E_SLOT, E_WINDOW, E_WIRELEN,
  ENTRY_WORDS, FrameScanner,
} from '../../../collector/import/frame-scanner.js';
import { FRAME_SCAN_SOURCE_SHA256 } from '../../../collector/import/frame-scan-module.js';
import { Flow } from '../../../collector/flow/flow.js';
import { captureReaderFromBytes } from '../../../shared/capture-file/index.js';
import { DecodedPacket, LinkType } from '../../../shared/decode/index.js';
import { decodeFastLane } from '../../../shared/decode/fast-lane.js';
import { IPPROTO_TCP, TCP_ACK, TCP_SYN } from '../../../shared/packet/packet-record.js';
import { repoRoot } from '../../../shared/util/repo-paths.js';
import { build, builtFrame } from '../../shared/decode/lane-frames.js';
import { writePcap, type TestFrame } from '../../shared/capture-file/capture-writers.js';

const TS = 1_700_000_000_123_456;
const FILE_HEADER = 24;
const BIG = 256 * 1024 * 1024;

interface Entry { frame: number; capLen: number; wireLen: number; tsUs: number; slot: number; hit: number }

/** Scans the records of a pcap file's bytes (after its header) and returns the entries and where the scan stopped, relative to the records. */
function scanFile(sc: FrameScanner, file: Uint8Array, ethernet: boolean, le: boolean, ns: boolean, maxRecord = BIG): { entries: Entry[]; stop: number } {
  const len = file.length - FILE_HEADER;
  sc.load(file, FILE_HEADER, len);
  const n = sc.scan(sc.chunkAt, sc.chunkAt + len, ethernet, le, ns, maxRecord);
  const entries: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const w = i * ENTRY_WORDS;
    entries.push({
      frame: sc.words[w + E_FRAME]! - sc.chunkAt, capLen: sc.words[w + E_CAPLEN]!, wireLen: sc.words[w + E_WIRELEN]! >>> 0,
      tsUs: sc.times[i * (ENTRY_WORDS / 2)]!, slot: sc.words[w + E_SLOT]!, hit: sc.words[w + E_HIT]!,
    });
  }
  return { entries, stop: sc.consumed() - sc.chunkAt };
}

describe('FrameScanner', () => {
  it('holds the module its C source builds (run npm run build:wasm after changing collector/import/frame-scan.c)', () => {
    const src = readFileSync(join(repoRoot(), 'collector', 'import', 'frame-scan.c'));
    assert.equal(createHash('sha256').update(src).digest('hex'), FRAME_SCAN_SOURCE_SHA256);
  });

  it('walks records as the reader does: lengths, times in either byte order and resolution, a cut record, a record too long (fast-check)', () => {
    const sc = new FrameScanner();
    const arb = fc.record({
      frames: fc.array(fc.record({ len: fc.nat(120), extraWire: fc.constantFrom(0, 0, 3, 0xfffff000), ts: fc.integer({ min: 0, max: 2 ** 31 * 1e6 }) }), { maxLength: 12 }),
      le: fc.boolean(), ns: fc.boolean(), extraNs: fc.nat(999), cut: fc.nat(2000), maxRecord: fc.constantFrom(BIG, 60),
    });
    fc.assert(fc.property(arb, ({ frames, le, ns, extraNs, cut, maxRecord }) => {
      const tf: TestFrame[] = frames.map((f, i) => ({
        linkType: LinkType.Ethernet, data: new Uint8Array(f.len).fill(i), wireLen: f.len + f.extraWire, tsUs: Math.floor(f.ts), interfaceId: 0,
      }));
      const file = writePcap(tf, { littleEndian: le, nanosecond: ns, linkType: LinkType.Ethernet, extraNs: ns ? extraNs : 0 });
      const reader = captureReaderFromBytes(file);
      const want: Entry[] = [];
      let at = 0;
      for (let fr = reader.next(); fr !== null; fr = reader.next()) {
        want.push({ frame: at + 16, capLen: fr.capLen, wireLen: fr.wireLen, tsUs: fr.tsUs, slot: -1, hit: 0 });
        at += 16 + fr.capLen;
      }
      // link type not Ethernet: every entry without a memo entry
      const all = scanFile(sc, file, false, le, ns);
      assert.deepEqual(all.entries.map((e) => ({ ...e, hit: 0 })), want);
      assert.equal(all.stop, file.length - FILE_HEADER);
      // cut inside the records: the whole records before the cut
      const cutAt = FILE_HEADER + Math.min(cut, file.length - FILE_HEADER);
      const part = scanFile(sc, file.subarray(0, cutAt), false, le, ns);
      const whole = want.filter((e) => FILE_HEADER + e.frame + e.capLen <= cutAt);
      assert.deepEqual(part.entries.map((e) => ({ ...e, hit: 0 })), whole);
      assert.equal(part.stop, whole.length === 0 ? 0 : whole[whole.length - 1]!.frame + whole[whole.length - 1]!.capLen);
      // a record longer than the most a record may be: the scan stops before it
      const short = scanFile(sc, file, false, le, ns, maxRecord);
      const first = want.findIndex((e) => e.capLen > maxRecord);
      assert.equal(short.entries.length, first < 0 ? want.length : first);
    }), { numRuns: 400 });
  });

  it('takes exactly the frames the fast lane decodes as clean TCP without SYN, fields as the lane sets them (fast-check)', () => {
    let hits = 0;
    let runs = 0;
    const lane = new DecodedPacket();
    const arb = fc.record({
      b: builtFrame,
      mutate: fc.option(fc.tuple(fc.nat(120), fc.nat(255)), { nil: undefined, freq: 3 }),
      cut: fc.option(fc.nat(140), { nil: undefined, freq: 3 }),
      extraWire: fc.constantFrom(0, 0, 0, 1, 200),
      flags: fc.constantFrom(TCP_ACK, TCP_ACK | 0x08, TCP_SYN, TCP_SYN | TCP_ACK, 0x11, 0x04, 0),
      le: fc.boolean(),
    });
    fc.assert(fc.property(arb, ({ b, mutate, cut, extraWire, flags, le }) => {
      runs++;
      const built = build({ ...b, flags: b.udp ? b.flags : flags });
      if (mutate !== undefined && mutate[0] < built.length) built[mutate[0]] = mutate[1];
      const capLen = cut !== undefined && cut < built.length ? cut : built.length;
      const frame = built.slice(0, capLen);
      const wireLen = built.length + extraWire;
      const file = writePcap([{ linkType: LinkType.Ethernet, data: frame, wireLen, tsUs: TS, interfaceId: 0 }], { littleEndian: le, nanosecond: false, linkType: LinkType.Ethernet });
      const sc = new FrameScanner();
      const took = decodeFastLane(frame, 0, capLen, wireLen, TS, lane, { payloadView: false });
      const expected = took && lane.proto === IPPROTO_TCP && (lane.tcpFlags & TCP_SYN) === 0 && lane.flags === 0;
      const first = scanFile(sc, file, true, le, false).entries[0]!;
      assert.equal(first.slot >= 0, expected, `lane took it: ${took}, proto ${lane.proto}, TCP flags ${lane.tcpFlags}, record flags ${lane.flags}`);
      if (!expected) return;
      assert.equal(first.hit, 0, 'nothing in the table yet');
      const memo = sc.memo;
      const flow = new Flow();
      assert.equal(memo.scanned(first.slot, false), null);
      memo.remember(flow, true, 1);
      const again = scanFile(sc, file, true, le, false).entries[0]!;
      assert.equal(again.slot, first.slot);
      assert.equal(again.hit, 1);
      assert.equal(memo.scanned(again.slot, true), flow);
      assert.equal(memo.matchFromA, true);
      hits++;
      const w = sc.words;
      const base = sc.chunkAt + 16;
      assert.equal(w[E_WIRELEN], lane.wireLen);
      assert.equal(w[E_IPLEN], lane.ipLen);
      assert.equal(w[E_PORTS]! >>> 16, lane.sport);
      assert.equal(w[E_PORTS]! & 0xffff, lane.dport);
      assert.equal(w[E_FLAGS], lane.tcpFlags);
      assert.equal(w[E_SEQ]! >>> 0, lane.tcpSeq);
      assert.equal(w[E_ACK]! >>> 0, lane.tcpAck);
      assert.equal(w[E_WINDOW], lane.tcpWindow);
      assert.equal(w[E_PAYOFF]! - base, lane.payloadOff);
      assert.equal(w[E_PAYLEN], lane.payloadLen);
    }), { numRuns: 4000 });
    assert.ok(hits > runs / 10 && hits < runs, `frames taken: ${hits} of ${runs}`);
  });

  it('finds a key again in the same entry, writes another key over it, and looks up a grown table afresh', () => {
    const seg = (src: number, flags = TCP_ACK, sport = 40000): Uint8Array => build({
      dstMac: '02:00:00:00:00:0b', vlan: undefined, src: [10, 0, 0, src], dst: [10, 0, 0, 99], id: 1, ttl: 64, df: true, ipOptions: [],
      udp: false, sport, dport: 443, seq: 1, ack: 2, flags, window: 100, tcpOptions: [], payload: new Uint8Array(4),
    });
    const file = (...frames: Uint8Array[]): Uint8Array =>
      writePcap(frames.map((data) => ({ linkType: LinkType.Ethernet, data, wireLen: data.length, tsUs: TS, interfaceId: 0 })), { littleEndian: true, nanosecond: false, linkType: LinkType.Ethernet });
    const sc = new FrameScanner();
    const [a1, a2, syn] = scanFile(sc, file(seg(1), seg(1), seg(1, TCP_SYN)), true, true, false).entries;
    assert.deepEqual([a1!.hit, a2!.hit, syn!.slot], [0, 1, -1], 'the second segment of a key finds it; a SYN is not taken');
    // find a key that falls in a1's entry: it takes the entry, and a1's key is then new again
    let other = -1;
    for (let port = 1; port < 65536 && other < 0; port++) {
      const e = scanFile(sc, file(seg(2, TCP_ACK, port)), true, true, false).entries[0]!;
      if (e.slot === a1!.slot) other = port;
    }
    assert.ok(other > 0, 'some port of 65,535 shares an entry of 4,096');
    assert.equal(scanFile(sc, file(seg(1)), true, true, false).entries[0]!.hit, 0);
    // growing: the table is new (every key misses), and it may lie in grown memory
    const before = sc.memo.capacity;
    const gen = sc.memo.generation;
    sc.memo.scanned(a1!.slot, true);
    sc.memo.remember(new Flow(), true, before);
    assert.equal(sc.memo.capacity, before * 2);
    assert.equal(sc.memo.generation, gen + 1);
    const [b1, b2] = scanFile(sc, file(seg(1), seg(1)), true, true, false).entries;
    assert.deepEqual([b1!.hit, b2!.hit], [0, 1]);
  });
});
