// Property tests (fast-check): random and mutated capture files through
// captureReaderFromBytes may only ever throw CaptureFileError (never a
// RangeError/TypeError), and every frame they do return is self-consistent.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { CaptureFileError, captureReaderFromBytes } from '../../../shared/capture-file/index.js';
import { MAX_RECORD_BYTES } from '../../../shared/capture-file/byte-window.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { PcapngWriter, loadFrames, unitsFor, writePcap } from './capture-writers.js';

const MAX_FRAMES = 5000;

/** Reads everything; returns normally or with a CaptureFileError; anything else fails the property. */
function readAll(bytes: Uint8Array): void {
  let r;
  try {
    r = captureReaderFromBytes(bytes);
  } catch (e) {
    if (e instanceof CaptureFileError) return;
    throw e;
  }
  try {
    for (let n = 0; n < MAX_FRAMES; n++) {
      const f = r.next();
      if (!f) break;
      if (f.data.length !== f.capLen || f.capLen > MAX_RECORD_BYTES) throw new Error(`frame ${n}: capLen ${f.capLen}, data ${f.data.length}`);
      if (!Number.isFinite(f.tsUs) || !Number.isInteger(f.interfaceId) || !Number.isInteger(f.linkType) || f.wireLen < 0) throw new Error(`frame ${n}: bad fields`);
      if (f.data.byteOffset + f.data.length > f.data.buffer.byteLength) throw new Error('view outside buffer');
    }
    if (r.bytesRead > r.fileSize) throw new Error(`bytesRead ${r.bytesRead} > fileSize ${r.fileSize}`);
  } catch (e) {
    if (!(e instanceof CaptureFileError)) throw e;
    assert.ok(e.message.startsWith('<memory>: '), e.message);
  } finally {
    r.close();
  }
}

describe('capture-file fuzzing', function () {
  this.timeout(60_000);
  const seeds: Uint8Array[] = [];

  before(() => {
    const dir = referencePcapsDir();
    for (const rel of ['zeek/http_get.pcap', 'zeek/pcapng-multi-interface.pcapng', 'tcpdump/tcp-handshake-nano.pcap', 'zeek/tcp_http-on-irc-port-missing-syn.pcapng', 'tcpdump/nflog.pcap']) {
      seeds.push(readFileSync(join(dir, rel)));
    }
    // big-endian variants: a pcap and a two-section pcapng with several resolutions
    const frames = loadFrames(join(dir, 'zeek/http_get.pcap')).slice(0, 6);
    seeds.push(writePcap(frames, { littleEndian: false, nanosecond: true, linkType: 1 }));
    const w = new PcapngWriter().section(false).idb({ linkType: 1, tsresol: 9 }).idb({ linkType: 101, tsresol: 0x94, tsoffset: 5n });
    frames.forEach((f, i) => (i % 3 === 2 ? w.spb(f.data, f.wireLen) : w.epb(i % 2, unitsFor(f.tsUs, i % 2 ? 0x94 : 9), f.data, f.wireLen)));
    w.section(true).idb({ linkType: 1 }).opb(0, 5n, frames[0]!.data, frames[0]!.wireLen);
    seeds.push(w.result());
  });

  it('reads the unmutated seeds without error', () => {
    for (const s of seeds) readAll(s);
  });

  it('random bytes after each magic number', () => {
    const magics = [[0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d], [0x0a, 0x0d, 0x0d, 0x0a], [1, 2, 3, 4]];
    fc.assert(
      fc.property(fc.constantFrom(...magics), fc.uint8Array({ maxLength: 300 }), (magic, tail) => {
        const b = new Uint8Array(4 + tail.length);
        b.set(magic);
        b.set(tail, 4);
        readAll(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated real captures: byte overwrites, bit flips, cuts, inserted and removed chunks', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(fc.tuple(fc.constantFrom('set', 'flip', 'cut', 'insert', 'remove', 'len32'), fc.nat(), fc.nat(255), fc.nat()), { minLength: 1, maxLength: 6 }),
        (pick, edits) => {
          let b = seeds[pick % seeds.length]!.slice();
          for (const [op, pos, value, extra] of edits) {
            if (b.length === 0) break;
            // bias towards the headers: most damage lands in the first 200 bytes
            const p = extra % 4 === 0 ? pos % b.length : pos % Math.min(b.length, 200);
            if (op === 'set') b[p] = value;
            else if (op === 'flip') b[p]! ^= 1 << (value & 7);
            else if (op === 'cut') b = b.slice(0, p);
            else if (op === 'insert') b = Uint8Array.from([...b.subarray(0, p), ...new Uint8Array(value % 17).fill(value), ...b.subarray(p)]);
            else if (op === 'remove') b = Uint8Array.from([...b.subarray(0, p), ...b.subarray(p + (value % 17) + 1)]);
            else if (p + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(p - (p % 4), extra, (value & 1) === 1); // an aligned length-like word
          }
          readAll(b);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
