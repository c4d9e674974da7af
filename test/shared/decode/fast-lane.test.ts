// The decoder's fast lane (shared/decode/fast-lane.ts) against the full decoder: on built
// Ethernet[/802.1Q]/IPv4/TCP|UDP frames with arbitrary fields, on mutated real frames and on
// random bytes, decodeFrameFast must leave every field of the record as decodeFrame does;
// frames outside the lane's shape (short, contradicting, fragments, tunnels, other protocols)
// must fall back, and the common frames must take the lane.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import fc from 'fast-check';
import { DecodedPacket, LinkType, decodeFrame, decodeFrameFast, decoderInternalErrors, type DecodeOptions } from '../../../shared/decode/index.js';
import { FAST_LANE_NEVER_FLAGS, decodeFastLane } from '../../../shared/decode/fast-lane.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { loadFrames, type TestFrame } from '../capture-file/capture-writers.js';
import { referenceCaptures } from './tshark-reference.js';
import { be16, concat, ethernet, ipv4, tcp, udp, vlanTag } from './frame-builder.js';
import { build, builtFrame } from './lane-frames.js';

const OPTIONS: (DecodeOptions | undefined)[] = [undefined, { payloadView: false }, { innerTunnels: false }, { maxTunnelDepth: 1, payloadView: true }];

/** Every field of the two records, typed arrays by content; throws naming the first difference. */
function assertSameRecord(full: DecodedPacket, fast: DecodedPacket): void {
  for (const k of Object.keys(full) as (keyof DecodedPacket)[]) {
    const a = full[k];
    const b = fast[k];
    if (a instanceof Uint8Array || a instanceof Int32Array) {
      const bb = b as Uint8Array | Int32Array;
      if (k === 'frame') {
        if (a !== bb) throw new Error('frame: not the same buffer');
        continue;
      }
      if (a.length !== bb.length || a.some((v, i) => v !== bb[i])) throw new Error(`${k}: [${String(bb)}] fast, [${String(a)}] full`);
      if (k === 'payload' && a.length > 0 && (a.buffer !== bb.buffer || a.byteOffset !== bb.byteOffset)) throw new Error('payload: not the same view');
    } else if (a !== b) {
      throw new Error(`${k}: ${String(b)} fast, ${String(a)} full`);
    }
  }
}

const full = new DecodedPacket();
const fast = new DecodedPacket();
const dirty = new Uint8Array(concat(ethernet(0x0800, ipv4({ src: '10.9.9.9', dst: '10.8.8.8', proto: 6, ttl: 3 }, tcp({ sport: 9, dport: 8, options: [2, 4, 5, 180, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8] }, new Uint8Array(9))), 'ff:ff:ff:ff:ff:ff')));

/** Every number field 7, every string 'x', the addresses 0x55: what a record left in no state at all looks like. */
function scribble(r: DecodedPacket): void {
  const o = r as unknown as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (typeof o[k] === 'number') o[k] = 7;
    else if (typeof o[k] === 'string') o[k] = 'x';
  }
  r.addrWords.fill(0x55555555);
  r.payload = dirty.subarray(3, 9);
}

/**
 * Decodes buf[at, at + capLen) both ways (the fast record first dirtied by another frame, and
 * at odd offsets scribbled over, so a field the lane forgot to set shows) and compares;
 * returns whether the lane took it.
 */
function compare(buf: Uint8Array, at: number, capLen: number, wireLen: number, opts: DecodeOptions | undefined): boolean {
  decodeFrame(LinkType.Ethernet, buf, at, capLen, wireLen, 77, full, opts);
  decodeFrame(LinkType.Ethernet, dirty, 0, dirty.length, dirty.length, 1, fast, opts);
  if (at % 2 === 1) scribble(fast);
  decodeFrameFast(LinkType.Ethernet, buf, at, capLen, wireLen, 77, fast, opts);
  assertSameRecord(full, fast);
  const before = fast.l3Off;
  const took = decodeFastLane(buf, at, capLen, wireLen, 77, fast, opts);
  if (took && (full.flags & FAST_LANE_NEVER_FLAGS) !== 0) throw new Error(`fast lane took a frame flagged ${full.flags} (${full.issue})`);
  if (!took && fast.l3Off !== before) throw new Error('fast lane wrote the record and then fell back');
  return took;
}

function sampleFrames(): TestFrame[] {
  const picked: TestFrame[] = [];
  for (const rel of referenceCaptures()) {
    let n = 0;
    for (const f of loadFrames(join(referencePcapsDir(), rel))) {
      if (f.linkType !== LinkType.Ethernet || f.data.length > 2000) continue;
      picked.push(f);
      if (++n === 40) break;
    }
  }
  return picked;
}

describe('decoder fast lane', function () {
  this.timeout(60_000);
  let samples: TestFrame[] = [];
  const errorsBefore = decoderInternalErrors();

  before(() => {
    samples = sampleFrames();
  });
  after(() => assert.equal(decoderInternalErrors(), errorsBefore, 'decodeFrame caught internal errors'));

  it('takes the common frames: Ethernet, 802.1Q, IPv4, TCP with options, UDP', () => {
    const payload = new Uint8Array([1, 2, 3, 4, 5]);
    const t = tcp({ sport: 40000, dport: 443, seq: 0xfffffff0, ack: 7, flags: 0x18, options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2] }, payload);
    const frames = [
      ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '93.184.216.34', proto: 6, df: true }, t)),
      ethernet(0x8100, concat(vlanTag(42, 0x0800), ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6 }, t))),
      ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '8.8.8.8', proto: 17 }, udp(5353, 53, payload))),
      // padded to the Ethernet minimum: the IP total length, not the frame, ends the payload
      concat(ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6 }, tcp({ sport: 1, dport: 2 }))), new Uint8Array(6)),
    ];
    for (const f of frames) {
      for (const o of OPTIONS) assert.equal(compare(f, 0, f.length, f.length, o), true, `frame of ${f.length} bytes, options ${JSON.stringify(o)}`);
    }
    decodeFrameFast(LinkType.Ethernet, frames[1]!, 0, frames[1]!.length, frames[1]!.length, 5, fast);
    assert.equal(fast.vlan, 42);
    assert.equal(fast.tcpSeq, 0xfffffff0);
    assert.equal(fast.tcpTsEcr, 2);
    assert.deepEqual([...fast.payload], [1, 2, 3, 4, 5]);
  });

  it('falls back for what it does not decode itself, with the full decoder\'s result', () => {
    const t = tcp({ sport: 1, dport: 2 }, new Uint8Array(30));
    const ip = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6 }, t);
    const cases: [string, Uint8Array, number][] = [
      ['cut inside the TCP header (snapped)', ethernet(0x0800, ip).subarray(0, 14 + 20 + 10), 14 + ip.length],
      ['cut inside the IPv4 header', ethernet(0x0800, ip).subarray(0, 14 + 12), 14 + ip.length],
      ['total length beyond the frame', ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, totalLength: 400 }, t)), 0],
      ['total length below the header', ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, totalLength: 12 }, t)), 0],
      ['total length 0 (TSO)', ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, totalLength: 0 }, t)), 0],
      ['version 6 under the IPv4 label', ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, version: 6 }, t)), 0],
      ['first fragment', ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, mf: true }, t)), 0],
      ['later fragment', ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, fragOffset: 64 }, t)), 0],
      ['TCP data offset < 5', ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6 }, tcp({ sport: 1, dport: 2, dataOffset: 3 }))), 0],
      ['TCP options past the segment', ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6 }, tcp({ sport: 1, dport: 2, dataOffset: 15 }))), 0],
      ['UDP length < 8', ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, udp(1, 2, new Uint8Array(4), 3))), 0],
      ['UDP length past the packet', ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, udp(1, 2, new Uint8Array(4), 90))), 0],
      ['VXLAN (a UDP tunnel port)', ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, udp(1, 4789, new Uint8Array(8)))), 0],
      ['ICMP', ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1 }, new Uint8Array([8, 0, 0, 0, 0, 1, 0, 1]))), 0],
      ['two VLAN tags', ethernet(0x8100, concat(vlanTag(5, 0x8100), vlanTag(6, 0x0800), ip)), 0],
      ['IPv6', ethernet(0x86dd, new Uint8Array(60).fill(0x60, 0, 1)), 0],
      ['ARP', ethernet(0x0806, new Uint8Array(28)), 0],
      ['802.3 length field', ethernet(0x0040, new Uint8Array(64)), 0],
      ['runt', new Uint8Array(10), 0],
    ];
    for (const [name, f, wire] of cases) {
      for (const o of OPTIONS) {
        if (name.startsWith('VXLAN') && o?.innerTunnels === false) continue; // no tunnel decoded: the lane's (below)
        assert.equal(compare(f, 0, f.length, wire || f.length, o), false, name);
      }
    }
    // a caller that says the frame is longer than its buffer: the lane (whose 16- and 32-bit
    // reads would throw past the buffer) declines, and the full decoder takes it without throwing
    const whole = ethernet(0x0800, ip);
    const cut = whole.subarray(0, 14 + 20 + 13); // ends inside the TCP header, after its data offset
    const viaLane = new DecodedPacket();
    assert.equal(decodeFastLane(cut, 0, whole.length, whole.length, 1, viaLane, undefined), false);
    assert.doesNotThrow(() => decodeFrameFast(LinkType.Ethernet, cut, 0, whole.length, whole.length, 1, viaLane));
    assert.equal(compare(cut, 0, whole.length, whole.length, undefined), false);
    // the VXLAN frame takes the lane when tunnels are not decoded anyway
    const vx = cases.find((c) => c[0].startsWith('VXLAN'))![1];
    assert.equal(compare(vx, 0, vx.length, vx.length, { innerTunnels: false }), true);
  });

  it('agrees with the full decoder on arbitrary built frames, snapped and at offsets', () => {
    let took = 0;
    fc.assert(
      fc.property(builtFrame, fc.nat(40), fc.nat(), fc.nat(3000), fc.constantFrom(...OPTIONS), (b, at, cut, extra, opts) => {
        const frame = build(b);
        const cap = cut % 3 === 0 ? cut % (frame.length + 1) : frame.length;
        const wire = cut % 5 === 0 ? cap + extra : cut % 7 === 0 ? frame.length : cap;
        const buf = new Uint8Array(at + cap + 16).fill(0xee);
        buf.set(frame.subarray(0, cap), at);
        if (compare(buf, at, cap, wire, opts)) took++;
      }),
      { numRuns: 6000 },
    );
    assert.ok(took > 2000, `the fast lane took only ${took} of 6000 built frames`);
  });

  it('agrees with the full decoder on mutated real frames', () => {
    assert.ok(samples.length >= 200, `only ${samples.length} real Ethernet frames`);
    let took = 0;
    for (const f of samples) if (compare(f.data, 0, f.data.length, f.wireLen, undefined)) took++;
    assert.ok(took >= samples.length / 4, `the fast lane took ${took} of ${samples.length} real frames`);
    fc.assert(
      fc.property(fc.nat(), fc.array(fc.tuple(fc.nat(), fc.nat(7), fc.boolean(), fc.nat(255)), { minLength: 1, maxLength: 6 }), fc.nat(), fc.constantFrom(...OPTIONS), (pick, edits, cut, opts) => {
        const f = samples[pick % samples.length]!;
        const data = f.data.slice();
        for (const [pos, bit, overwrite, value] of edits) {
          const p = pos % Math.min(data.length, 80); // the headers, where both decoders look
          if (overwrite) data[p] = value;
          else data[p]! ^= 1 << bit;
        }
        const cap = cut % 4 === 0 ? cut % (data.length + 1) : data.length;
        compare(data, 0, cap, cut % 4 === 0 ? f.wireLen : Math.max(cap, f.wireLen), opts);
      }),
      { numRuns: 8000 },
    );
  });

  it('agrees with the full decoder on random bytes behind an Ethernet/IPv4 type field', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 120 }), fc.boolean(), fc.nat(100), (tail, tagged, extra) => {
        const f = concat(new Uint8Array(12).fill(2), tagged ? concat(be16(0x8100), be16(7), be16(0x0800)) : be16(0x0800), tail.length > 0 ? [0x45, ...tail] : []);
        compare(f, 0, f.length, f.length + (extra % 3 === 0 ? extra : 0), undefined);
      }),
      { numRuns: 6000 },
    );
  });
});
