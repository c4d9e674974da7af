// Property tests (fast-check): random bytes for every link type, and mutated real
// and built frames (every encapsulation of the corpus: bit flips, byte overwrites,
// random tails, truncation at every length) never make the decoder throw, and every
// field of the record stays within its range.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import fc from 'fast-check';
import { DecodedPacket, L2Flag, LinkType, decodeFrame, decodeOuter, decodePacket, decoderInternalErrors } from '../../../shared/decode/index.js';
import { RecordFlag, TunnelKind } from '../../../shared/packet/packet-record.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { loadFrames, type TestFrame } from '../capture-file/capture-writers.js';
import { buildEncapsulationCorpus } from './encap-cases.js';
import { referenceCaptures } from './tshark-reference.js';

const LINK_TYPES = [...Object.values(LinkType), 2, 3, 1000];
const U32 = 0xffffffff;

function inRange(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} = ${v} outside ${min}..${max}`);
}

/** Every invariant of a decoded record; throws naming the first broken one. */
function checkRecord(o: DecodedPacket, linkType: number, frame: Uint8Array, wireLen: number, outerOnly: boolean): void {
  const cap = frame.length;
  if (o.linkType !== linkType || o.frame !== frame || o.capLen !== cap || o.wireLen !== wireLen) throw new Error('frame facts not copied');
  if (o.ipVersion !== 0 && o.ipVersion !== 4 && o.ipVersion !== 6) throw new Error(`ipVersion ${o.ipVersion}`);
  inRange('proto', o.proto, 0, 255);
  inRange('sport', o.sport, 0, 65535);
  inRange('dport', o.dport, 0, 65535);
  inRange('vlan', o.vlan, 0, 4095);
  inRange('ttl', o.ttl, 0, 255);
  inRange('ipId', o.ipId, 0, U32);
  inRange('fragFlags', o.fragFlags, 0, 3);
  inRange('fragOffset', o.fragOffset, 0, 65528);
  if (o.fragOffset % 8 !== 0) throw new Error(`fragOffset ${o.fragOffset} not a multiple of 8`);
  inRange('tcpFlags', o.tcpFlags, 0, 255);
  inRange('tcpSeq', o.tcpSeq, 0, U32);
  inRange('tcpAck', o.tcpAck, 0, U32);
  inRange('tcpWindow', o.tcpWindow, 0, 65535);
  inRange('tcpOptFlags', o.tcpOptFlags, 0, 31);
  inRange('tcpMss', o.tcpMss, 0, 65535);
  inRange('tcpWscale', o.tcpWscale, 0, 255);
  inRange('tcpTsVal', o.tcpTsVal, 0, U32);
  inRange('tcpTsEcr', o.tcpTsEcr, 0, U32);
  const lenMax = Math.max(cap, wireLen) + 65575;
  inRange('ipLen', o.ipLen, 0, lenMax);
  inRange('payloadLen', o.payloadLen, 0, lenMax);
  inRange('etherType', o.etherType, 0, 65535);
  inRange('arpOp', o.arpOp, 0, 65535);
  inRange('vlanDepth', o.vlanDepth, 0, 64);
  inRange('mplsDepth', o.mplsDepth, 0, 64);
  inRange('l2Flags', o.l2Flags, 0, 3);
  if ((o.l2Flags & L2Flag.Broadcast) !== 0 && (o.l2Flags & L2Flag.Multicast) === 0) throw new Error('broadcast without multicast');
  inRange('flags', o.flags, 0, 127);
  for (const [name, off, need] of [['l3Off', o.l3Off, 1], ['l4Off', o.l4Off, 0], ['payloadOff', o.payloadOff, 0], ['srcMacOff', o.srcMacOff, 6], ['dstMacOff', o.dstMacOff, 6]] as const) {
    if (off !== -1) inRange(name, off, 0, cap - need);
  }
  if (o.l3Off >= 0 && o.l4Off >= 0 && o.l4Off <= o.l3Off) throw new Error('l4Off before l3Off');
  if (o.l4Off >= 0 && o.payloadOff >= 0 && o.payloadOff < o.l4Off) throw new Error('payloadOff before l4Off');
  if (o.payload.length > o.payloadLen) throw new Error(`payload ${o.payload.length} > payloadLen ${o.payloadLen}`);
  if (o.payload.length > 0) {
    if (o.payload.buffer !== frame.buffer) throw new Error('payload is not a view of the frame');
    if (o.payload.byteOffset < frame.byteOffset || o.payload.byteOffset + o.payload.length > frame.byteOffset + cap) throw new Error('payload view outside the frame');
    if (o.payload.byteOffset - frame.byteOffset !== o.payloadOff) throw new Error('payload does not start at payloadOff');
  }
  const bad = (o.flags & (RecordFlag.Truncated | RecordFlag.Malformed)) !== 0;
  if (bad !== (o.issue !== '')) throw new Error(`flags ${o.flags} vs issue '${o.issue}'`);
  if ((o.flags & RecordFlag.Truncated) !== 0 && !(cap < wireLen || (o.flags & RecordFlag.Fragment) !== 0)) {
    throw new Error(`Truncated although capLen ${cap} >= wireLen ${wireLen}: ${o.issue}`);
  }
  const inner = (o.flags & RecordFlag.Inner) !== 0;
  if (inner !== (o.tunnel !== TunnelKind.None)) throw new Error(`Inner flag ${inner} vs tunnel ${o.tunnel}`);
  if (inner && (outerOnly || o.ipVersion === 0)) throw new Error('Inner without an inner IP packet, or with innerTunnels off');
  if (o.ipVersion === 4) for (let i = 4; i < 16; i++) if (o.src[i] !== 0 || o.dst[i] !== 0) throw new Error('IPv4 address bytes 4..15 not zero');
  if ((o.flags & RecordFlag.BadIpHeader) !== 0) {
    if (!bad) throw new Error('BadIpHeader without Truncated or Malformed');
    if (o.ipVersion === 0 || inner) throw new Error('BadIpHeader on a non-IP or inner record');
    if (o.l4Off !== -1 || o.sport !== 0 || o.dport !== 0 || o.payloadLen !== 0) throw new Error('BadIpHeader record with transport facts');
  }
}

function decodeBoth(linkType: number, frame: Uint8Array, wireLen: number, out: DecodedPacket): void {
  decodePacket(linkType, frame, wireLen, 123, out);
  checkRecord(out, linkType, frame, wireLen, false);
  decodeOuter(linkType, frame, wireLen, 123, out);
  checkRecord(out, linkType, frame, wireLen, true);
}

const OFFSET_FIELDS = ['srcMacOff', 'dstMacOff', 'l3Off', 'l4Off', 'payloadOff'] as const;

/**
 * decodeFrame on a frame lying at `at` in a larger buffer gives what decodePacket gives on the
 * frame alone: the same fields, offsets moved by `at`, the same payload bytes (none when the
 * payload view is off). Throws naming the first difference.
 */
function checkAtOffset(a: DecodedPacket, b: DecodedPacket, at: number, payloadView: boolean): void {
  for (const k of Object.keys(a) as (keyof DecodedPacket)[]) {
    if (k === 'frame' || k === 'frameOff' || k === 'payload' || k === 'src' || k === 'dst' || k === 'addrWords') continue;
    const moved = (OFFSET_FIELDS as readonly string[]).includes(k) && (a[k] as number) >= 0;
    const expected = moved ? (a[k] as number) + at : a[k];
    if (b[k] !== expected) throw new Error(`${k}: ${String(b[k])} at offset ${at}, ${String(a[k])} alone`);
  }
  if (b.frameOff !== at) throw new Error(`frameOff ${b.frameOff}, expected ${at}`);
  if (Buffer.compare(a.src, b.src) !== 0 || Buffer.compare(a.dst, b.dst) !== 0) throw new Error('addresses differ');
  const want = payloadView ? a.payload : new Uint8Array(0);
  if (Buffer.compare(want, b.payload) !== 0) throw new Error(`payload differs (${b.payload.length} bytes, expected ${want.length})`);
}

/**
 * A few real frames of each kind the decoder distinguishes, from every reference capture,
 * and every frame of the built encapsulation corpus (the encapsulations real captures lack).
 */
function sampleFrames(): TestFrame[] {
  const out = new DecodedPacket();
  const picked: TestFrame[] = [];
  for (const rel of referenceCaptures()) {
    const seen = new Set<string>();
    for (const f of loadFrames(join(referencePcapsDir(), rel))) {
      decodePacket(f.linkType, f.data, f.wireLen, f.tsUs, out);
      const kind = `${out.ipVersion}/${out.proto}/${out.tunnel}/${out.flags}/${out.vlanDepth}/${out.mplsDepth}/${out.etherType}/${out.tcpOptFlags}/${out.issue}`;
      if (seen.has(kind) || f.data.length > 2000) continue;
      seen.add(kind);
      picked.push(f);
    }
  }
  for (const b of buildEncapsulationCorpus()) picked.push({ linkType: b.linkType, data: b.data, wireLen: b.data.length, tsUs: 0, interfaceId: 0 });
  return picked;
}

describe('decoder fuzzing', function () {
  this.timeout(60_000);
  const out = new DecodedPacket();
  let samples: TestFrame[] = [];
  const errorsBefore = decoderInternalErrors();

  before(() => {
    samples = sampleFrames();
  });
  after(() => assert.equal(decoderInternalErrors(), errorsBefore, 'decodePacket caught internal errors'));

  it('has a varied sample of real frames', () => {
    assert.ok(samples.length >= 100, `only ${samples.length} sample frames`);
    assert.ok(new Set(samples.map((s) => s.linkType)).size >= 8, 'link types in the sample');
  });

  it('random bytes under every link type', () => {
    fc.assert(
      fc.property(fc.constantFrom(...LINK_TYPES), fc.uint8Array({ maxLength: 160 }), fc.nat(2000), fc.boolean(), (lt, data, extra, snapped) => {
        decodeBoth(lt, data, snapped ? data.length + extra : data.length, out);
      }),
      { numRuns: 8000 },
    );
  });

  it('random bytes behind valid link, IP and tunnel headers', () => {
    // the sample frames' headers, with everything after a random point replaced by random bytes
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 120 }), fc.boolean(), (pick, at, tail, snapped) => {
        const f = samples[pick % samples.length]!;
        const keep = at % (Math.min(f.data.length, 256) + 1);
        const data = new Uint8Array(keep + tail.length);
        data.set(f.data.subarray(0, keep));
        data.set(tail, keep);
        decodeBoth(f.linkType, data, snapped ? Math.max(f.wireLen, data.length + 1) : data.length, out);
      }),
      { numRuns: 8000 },
    );
  });

  it('bit flips and byte overwrites in real frames', () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(fc.tuple(fc.nat(), fc.nat(7), fc.boolean(), fc.nat(255)), { minLength: 1, maxLength: 8 }), (pick, edits) => {
        const f = samples[pick % samples.length]!;
        const data = f.data.slice();
        if (data.length === 0) return;
        for (const [pos, bit, overwrite, value] of edits) {
          // mostly in the headers, where the decoder looks
          const p = pos % Math.min(data.length, 256);
          if (overwrite) data[p] = value;
          else data[p]! ^= 1 << bit;
        }
        decodeBoth(f.linkType, data, f.wireLen, out);
      }),
      { numRuns: 8000 },
    );
  });

  it('decodeFrame at an offset in a larger buffer equals decodePacket on the frame alone', () => {
    const alone = new DecodedPacket();
    fc.assert(
      fc.property(fc.nat(), fc.nat(300), fc.nat(), fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.boolean(), fc.boolean(), (pick, at, cutAt, junk, snapped, view) => {
        const f = samples[pick % samples.length]!;
        const cap = snapped ? cutAt % (f.data.length + 1) : f.data.length;
        const frame = f.data.subarray(0, cap);
        // junk before and after the frame: the decoder must read neither
        const buf = new Uint8Array(at + cap + junk.length);
        for (let i = 0; i < at; i++) buf[i] = junk[i % junk.length]!;
        buf.set(frame, at);
        buf.set(junk, at + cap);
        decodePacket(f.linkType, frame, f.wireLen, 123, alone);
        decodeFrame(f.linkType, buf, at, cap, f.wireLen, 123, out, { payloadView: view });
        checkAtOffset(alone, out, at, view);
      }),
      { numRuns: 8000 },
    );
  });

  it('truncation at every length of every sample frame (snapped and not)', () => {
    let cases = 0;
    for (const f of samples) {
      const n = Math.min(f.data.length, 320);
      for (let cut = 0; cut <= n; cut++) {
        const data = f.data.subarray(0, cut);
        decodeBoth(f.linkType, data, f.wireLen, out);
        decodeBoth(f.linkType, data, cut, out);
        cases += 2;
      }
    }
    assert.ok(cases > 10_000, `${cases} cases`);
  });
});
