// The shifted copy of a capture (bench/shift-capture.ts) that --split imports after the original:
// the same frames, each the given seconds later, in both byte orders; what it cannot copy, refused.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeShiftedPcap } from '../../bench/shift-capture.js';
import { loadFrames, writePcap } from '../shared/capture-file/capture-writers.js';
import { referencePcapsDir } from '../../shared/util/repo-paths.js';

describe('shifted capture copy', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'meerkat-shift-test-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copies every frame unchanged, each moved later by the seconds given', () => {
    const src = join(referencePcapsDir(), 'zeek', 'http_get.pcap');
    const dst = join(dir, 'later.pcap');
    const before = loadFrames(src);
    assert.equal(writeShiftedPcap(src, dst, 86_400), before.length);
    const after = loadFrames(dst);
    assert.equal(after.length, before.length);
    after.forEach((f, i) => {
      assert.equal(f.tsUs, before[i]!.tsUs + 86_400e6);
      assert.deepEqual(f.data, before[i]!.data);
      assert.equal(f.wireLen, before[i]!.wireLen);
    });
  });

  it('keeps a big-endian nanosecond file big-endian and nanosecond', () => {
    const frames = loadFrames(join(referencePcapsDir(), 'zeek', 'http_get.pcap'));
    const src = join(dir, 'be.pcap');
    writeFileSync(src, writePcap(frames, { littleEndian: false, nanosecond: true, linkType: 1 }));
    const dst = join(dir, 'be-later.pcap');
    writeShiftedPcap(src, dst, 10);
    assert.deepEqual(readFileSync(dst).subarray(0, 24), readFileSync(src).subarray(0, 24));
    assert.deepEqual(loadFrames(dst).map((f) => f.tsUs), frames.map((f) => f.tsUs + 10e6));
  });

  it('refuses pcapng and a file cut inside a record, naming the file', () => {
    const ng = join(dir, 'x.pcapng');
    writeFileSync(ng, Buffer.from('0a0d0d0a1c0000004d3c2b1a01000000ffffffffffffffff1c000000', 'hex'));
    assert.throws(() => writeShiftedPcap(ng, join(dir, 'o1'), 1), /x\.pcapng: not a classic pcap file/);
    const cut = join(dir, 'cut.pcap');
    const whole = readFileSync(join(referencePcapsDir(), 'zeek', 'http_get.pcap'));
    writeFileSync(cut, whole.subarray(0, whole.length - 5));
    assert.throws(() => writeShiftedPcap(cut, join(dir, 'o2'), 1), /cut\.pcap: \d+ bytes of a cut-off record at the end/);
  });
});
