// The pcap/pcapng readers: every reference capture against tshark (frame count,
// timestamps, lengths, interface), generated variants of a real capture (µs/ns,
// both byte orders; pcapng with several sections, interfaces, resolutions and
// block types), buffer refill and growth, and the errors for damaged files.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteWindow } from '../../../shared/capture-file/byte-window.js';
import { CaptureFileError, PcapReader, PcapngReader, captureReaderFromBytes, openCaptureFile, type CaptureFileReader } from '../../../shared/capture-file/index.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { epochToUs, mapLimit, referenceCaptures, referenceRows, tsharkFields } from '../decode/tshark-reference.js';
import { PcapngWriter, loadFrames, unitsFor, usFor, writePcap, type TestFrame } from './capture-writers.js';

/** Frames whose timestamps tshark prints differently for a stated reason. */
const TIMESTAMP_EXCEPTIONS: Record<string, { frames: number[]; reason: string }> = {
  'tcpdump/timestamp_invalid_micro.pcap': {
    frames: [2, 3],
    reason: 'microsecond fields >= 1,000,000 (invalid): we carry them into the seconds as Zeek does (sec + usec/1e6); tshark prints them unnormalised',
  },
};

function drain(r: CaptureFileReader): TestFrame[] {
  const out: TestFrame[] = [];
  try {
    for (let f = r.next(); f; f = r.next()) out.push({ linkType: f.linkType, data: f.data.slice(), wireLen: f.wireLen, tsUs: f.tsUs, interfaceId: f.interfaceId });
  } finally {
    r.close();
  }
  return out;
}

function sameFrames(got: TestFrame[], want: TestFrame[], what: string): void {
  assert.equal(got.length, want.length, `${what}: frame count`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    assert.equal(g.tsUs, w.tsUs, `${what} frame ${i + 1}: tsUs`);
    assert.equal(g.wireLen, w.wireLen, `${what} frame ${i + 1}: wireLen`);
    assert.equal(g.linkType, w.linkType, `${what} frame ${i + 1}: linkType`);
    assert.deepEqual(g.data, w.data, `${what} frame ${i + 1}: data`);
  }
}

function expectError(fn: () => unknown, problem: CaptureFileError['problem'], pattern: RegExp): CaptureFileError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof CaptureFileError, `expected CaptureFileError, got ${String(caught)}`);
  assert.equal(caught.problem, problem, caught.message);
  assert.match(caught.message, pattern);
  return caught;
}

/** Reads frames until the reader throws; returns the frames and the error. */
function readUntilError(r: CaptureFileReader): { frames: number; error: unknown } {
  let frames = 0;
  try {
    while (r.next()) frames++;
    return { frames, error: undefined };
  } catch (e) {
    return { frames, error: e };
  } finally {
    r.close();
  }
}

describe('capture-file readers', function () {
  this.timeout(120_000);
  let dir: string;
  const realPcap = join(referencePcapsDir(), 'tcpdump', 'mptcp-v0.pcap');
  let frames: TestFrame[];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-capfile-'));
    frames = loadFrames(realPcap);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('reference captures against tshark', () => {
    it('reads every capture with the frame count, timestamps, lengths and interfaces tshark reports', async () => {
      const used = new Set<string>();
      const results = await mapLimit(referenceCaptures(), 4, async (rel) => {
        const file = join(referencePcapsDir(), rel);
        const rows = await referenceRows(file);
        const r = openCaptureFile(file);
        const problems: string[] = [];
        let n = 0;
        try {
          for (let f = r.next(); f; f = r.next()) {
            const row = rows[n++];
            if (!row) continue;
            const ex = TIMESTAMP_EXCEPTIONS[rel];
            if (f.tsUs !== epochToUs(row.at('frame.time_epoch'))) {
              if (ex?.frames.includes(n)) used.add(rel);
              else problems.push(`frame ${n}: tsUs ${f.tsUs} vs tshark ${row.at('frame.time_epoch')}`);
            }
            if (f.wireLen !== Number(row.at('frame.len')) || f.capLen !== Number(row.at('frame.cap_len')) || f.data.length !== f.capLen) {
              problems.push(`frame ${n}: lengths ${f.capLen}/${f.wireLen} vs tshark ${row.at('frame.cap_len')}/${row.at('frame.len')}`);
            }
            if (r.format === 'pcapng' && f.interfaceId !== Number(row.at('frame.interface_id'))) problems.push(`frame ${n}: interface ${f.interfaceId}`);
          }
          if (n !== rows.length) problems.push(`${n} frames, tshark ${rows.length}`);
          if (r.bytesRead !== r.fileSize) problems.push(`stopped at byte ${r.bytesRead} of ${r.fileSize}`);
          if (r.framesRead !== n) problems.push(`framesRead ${r.framesRead} != ${n}`);
        } finally {
          r.close();
        }
        return { rel, n, problems };
      });
      assert.deepEqual(results.flatMap((x) => x.problems.slice(0, 3).map((p) => `${x.rel}: ${p}`)), []);
      assert.deepEqual([...used].sort(), Object.keys(TIMESTAMP_EXCEPTIONS).sort(), 'every timestamp exception is needed');
      assert.ok(results.length >= 50);
      console.log(`      ${results.length} captures, ${results.reduce((a, x) => a + x.n, 0)} frames matched tshark`);
    });

    it('reads the pcapng multi-interface capture with per-interface link type and resolution', () => {
      const got = drain(openCaptureFile(join(referencePcapsDir(), 'zeek', 'pcapng-multi-interface.pcapng')));
      assert.deepEqual(got.map((f) => f.interfaceId), [0, 0, 1, 1, 1, 1]);
      // interface 0 has nanosecond resolution: the reader floors to the microsecond
      assert.equal(got[0]!.tsUs, 1767663089500330);
    });
  });

  describe('generated pcap variants of a real capture', () => {
    const variants = [
      { name: 'µs little-endian', littleEndian: true, nanosecond: false },
      { name: 'µs big-endian', littleEndian: false, nanosecond: false },
      { name: 'ns little-endian', littleEndian: true, nanosecond: true },
      { name: 'ns big-endian', littleEndian: false, nanosecond: true },
    ];
    for (const v of variants) {
      it(`reads ${v.name} pcap identically, and tshark agrees on the file`, async () => {
        const bytes = writePcap(frames, { ...v, linkType: frames[0]!.linkType, extraNs: 999 });
        const path = join(dir, `variant-${v.littleEndian ? 'le' : 'be'}-${v.nanosecond ? 'ns' : 'us'}.pcap`);
        writeFileSync(path, bytes);
        const r = openCaptureFile(path);
        assert.equal(r.format, 'pcap');
        assert.ok(r instanceof PcapReader && r.nanosecond === v.nanosecond && r.littleEndian === v.littleEndian);
        sameFrames(drain(r), frames, v.name);
        sameFrames(drain(captureReaderFromBytes(bytes)), frames, `${v.name} (in memory)`);
        const rows = await tsharkFields(path, ['frame.time_epoch', 'frame.len']);
        assert.equal(rows.length, frames.length);
        rows.forEach((row, i) => assert.equal(epochToUs(row[0]!), frames[i]!.tsUs, `tshark frame ${i + 1}`));
      });
    }
  });

  describe('generated pcapng', () => {
    // Interfaces with different resolutions: µs (default), ns, 2^-20 s, ms with a +100 s offset.
    const IFACES = [{ tsresol: 6 }, { tsresol: 9 }, { tsresol: 0x94 }, { tsresol: 3, tsoffset: 100n }] as const;

    function build(firstLittleEndian: boolean): { bytes: Uint8Array; expected: TestFrame[]; hasTs: boolean[] } {
      const w = new PcapngWriter();
      const expected: TestFrame[] = [];
      const hasTs: boolean[] = [];
      let lastTs = 0;
      const put = (f: TestFrame, iface: number, kind: 'epb' | 'opb' | 'spb'): void => {
        const spec = IFACES[iface]!;
        const off = 'tsoffset' in spec ? spec.tsoffset : 0n;
        // stored units carry sub-microsecond digits where the resolution allows, to check flooring
        const units = unitsFor(f.tsUs - Number(off) * 1e6, spec.tsresol) + (spec.tsresol === 9 ? 789n : 0n);
        if (kind === 'epb') w.epb(iface, units, f.data, f.wireLen, iface === 1 ? 'a comment' : undefined);
        else if (kind === 'opb') w.opb(iface, units, f.data, f.wireLen);
        else w.spb(f.data, f.wireLen);
        const ts = kind === 'spb' ? lastTs : usFor(units, spec.tsresol, off);
        lastTs = ts;
        expected.push({ ...f, tsUs: ts, interfaceId: kind === 'spb' ? 0 : iface });
        hasTs.push(kind !== 'spb');
      };
      const sectionStart = (le: boolean): void => {
        w.section(le, le ? 'little' : 'big');
        for (const spec of IFACES) w.idb({ linkType: frames[0]!.linkType, name: `if${spec.tsresol}`, ...spec });
      };
      sectionStart(firstLittleEndian);
      frames.slice(0, 40).forEach((f, i) => {
        put(f, i % IFACES.length, i % 10 === 3 ? 'spb' : i % 10 === 7 ? 'opb' : 'epb');
        if (i === 5) w.raw(4, Uint8Array.of(0, 0, 0, 0)); // name resolution block (end of records only)
        if (i === 9) w.raw(5, new Uint8Array(12)); // interface statistics
        if (i === 13) w.raw(0x7fff1234, new Uint8Array(8)); // a block type nobody defined
      });
      sectionStart(!firstLittleEndian); // second section: other byte order, interfaces renumbered from 0
      frames.slice(40, 80).forEach((f, i) => put(f, (i + 1) % IFACES.length, 'epb'));
      return { bytes: w.result(), expected, hasTs };
    }

    for (const le of [true, false]) {
      it(`reads a ${le ? 'little' : 'big'}-endian-first two-section pcapng (EPB, SPB, OPB, 4 resolutions, skipped blocks), and tshark agrees`, async () => {
        const { bytes, expected, hasTs } = build(le);
        const path = join(dir, `gen-${le ? 'le' : 'be'}.pcapng`);
        writeFileSync(path, bytes);
        const r = openCaptureFile(path);
        assert.equal(r.format, 'pcapng');
        const got = drain(r);
        sameFrames(got, expected, 'pcapng');
        assert.deepEqual(got.map((f) => f.interfaceId), expected.map((f) => f.interfaceId));
        assert.ok(r instanceof PcapngReader && r.sectionCount === 2);
        const rows = await tsharkFields(path, ['frame.time_epoch', 'frame.interface_id', 'frame.len']);
        assert.equal(rows.length, expected.length, 'tshark frame count');
        rows.forEach((row, i) => {
          if (hasTs[i]) assert.equal(epochToUs(row[0]!), expected[i]!.tsUs, `tshark time, frame ${i + 1}`);
          assert.equal(Number(row[1]), expected[i]!.interfaceId, `tshark interface, frame ${i + 1}`);
          assert.equal(Number(row[2]), expected[i]!.wireLen);
        });
      });
    }

    it('skips custom blocks and honours the SPB snap length of interface 0', () => {
      const f = frames[0]!;
      const bytes = new PcapngWriter().section(true).idb({ linkType: 1, snapLen: 20 })
        .raw(0x00000bad, new Uint8Array(8)).raw(0x40000bad, new Uint8Array(8))
        .spb(f.data, f.wireLen).result();
      const got = drain(captureReaderFromBytes(bytes));
      assert.equal(got.length, 1);
      assert.deepEqual(got[0]!.data, f.data.subarray(0, 20));
      assert.equal(got[0]!.wireLen, f.wireLen);
    });

    it('reads an empty pcapng (section header only)', () => {
      const r = openCaptureFile(join(referencePcapsDir(), 'tcpdump', 'empty.pcapng'));
      assert.equal(r.next(), null);
      assert.equal(r.next(), null);
      assert.equal(r.bytesRead, r.fileSize);
      r.close();
      r.close(); // idempotent
    });
  });

  describe('buffering', () => {
    it('gives the same frames with a 64-byte read chunk as from memory (refills across records)', () => {
      const bytes = writePcap(frames, { littleEndian: true, nanosecond: false, linkType: 1 });
      const path = join(dir, 'chunks.pcap');
      writeFileSync(path, bytes);
      sameFrames(drain(new PcapReader(ByteWindow.fromFile(path, 64))), frames, 'pcap, 64-byte chunks');
      const ng = new PcapngWriter().section(false).idb({ linkType: 1 });
      for (const f of frames) ng.epb(0, unitsFor(f.tsUs), f.data, f.wireLen);
      const ngPath = join(dir, 'chunks.pcapng');
      writeFileSync(ngPath, ng.result());
      sameFrames(drain(new PcapngReader(ByteWindow.fromFile(ngPath, 64))), frames.map((f) => ({ ...f, interfaceId: 0 })), 'pcapng, 64-byte chunks');
    });

    it('grows the buffer for a record larger than the read chunk', () => {
      const big = new Uint8Array(5 * 1024 * 1024 + 3);
      for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;
      const set: TestFrame[] = [frames[0]!, { ...frames[1]!, data: big, wireLen: big.length }, frames[2]!];
      const path = join(dir, 'big.pcap');
      writeFileSync(path, writePcap(set, { littleEndian: true, nanosecond: false, linkType: 1 }));
      sameFrames(drain(openCaptureFile(path)), set, 'big record');
    });
  });

  describe('errors', () => {
    it('names a file that is not a capture and its magic', () => {
      const path = join(dir, 'notes.txt');
      writeFileSync(path, 'hello, this is text\n');
      const e = expectError(() => openCaptureFile(path), 'not-capture', /not a pcap or pcapng file \(magic 0x68656c6c\)/);
      assert.ok(e.message.startsWith(path + ': '));
      expectError(() => captureReaderFromBytes(new Uint8Array(0)), 'not-capture', /empty/);
      expectError(() => captureReaderFromBytes(Uint8Array.of(0xd4, 0xc3)), 'not-capture', /only 2 bytes/);
      expectError(() => openCaptureFile(join(dir, 'missing.pcap')), 'io', /cannot open/);
    });

    it('returns every whole frame of a cut-off pcap, then reports the truncated record and its offset', () => {
      const bytes = writePcap(frames.slice(0, 5), { littleEndian: true, nanosecond: false, linkType: 1 });
      const lastStart = bytes.length - 16 - frames[4]!.data.length;
      for (const cut of [lastStart + 10, lastStart + 16 + 5]) {
        const res = readUntilError(captureReaderFromBytes(bytes.subarray(0, cut)));
        assert.equal(res.frames, 4);
        assert.ok(res.error instanceof CaptureFileError && res.error.problem === 'truncated', String(res.error));
        assert.equal(res.error.offset, lastStart);
        assert.match(res.error.message, /truncated dump file/);
      }
      expectError(() => captureReaderFromBytes(bytes.subarray(0, 20)), 'truncated', /file header/);
    });

    it('rejects absurd record lengths and unknown versions as corrupt', () => {
      const bytes = writePcap(frames.slice(0, 2), { littleEndian: true, nanosecond: false, linkType: 1 });
      const bad = bytes.slice();
      new DataView(bad.buffer).setUint32(24 + 8, 0x7fffffff, true); // first record's caplen
      const res = readUntilError(captureReaderFromBytes(bad));
      assert.ok(res.error instanceof CaptureFileError && res.error.problem === 'corrupt' && /exceeds/.test(res.error.message));
      const v = bytes.slice();
      new DataView(v.buffer).setUint16(4, 3, true);
      expectError(() => captureReaderFromBytes(v), 'corrupt', /version 3/);
    });

    it('rejects damaged pcapng blocks with the block offset', () => {
      const f = frames[0]!;
      const good = new PcapngWriter().section(true).idb({ linkType: 1 }).epb(0, 1n, f.data, f.wireLen).result();
      const idbLen = new DataView(good.buffer).getUint32(28 + 4, true);
      const epbAt = 28 + idbLen;
      const cases: { mutate: (b: Uint8Array, v: DataView) => void; problem: CaptureFileError['problem']; re: RegExp }[] = [
        { mutate: (_b, v) => v.setUint32(epbAt + 4, 13, true), problem: 'corrupt', re: /bad block length 13/ },
        { mutate: (b, v) => v.setUint32(b.length - 4, 12, true), problem: 'corrupt', re: /trailing length 12/ },
        { mutate: (_b, v) => v.setUint32(epbAt + 8, 3, true), problem: 'corrupt', re: /interface 3 but the section defines 1/ },
        { mutate: (_b, v) => v.setUint32(epbAt + 20, 5000, true), problem: 'corrupt', re: /captured length 5000/ },
        { mutate: (_b, v) => v.setUint32(epbAt + 4, 0x20000000, true), problem: 'corrupt', re: /bad block length/ },
        { mutate: (_b, v) => v.setUint32(8, 0x11223344, true), problem: 'corrupt', re: /byte-order magic/ },
        { mutate: (_b, v) => v.setUint16(12, 2, true), problem: 'corrupt', re: /version 2/ },
      ];
      for (const c of cases) {
        const b = good.slice();
        c.mutate(b, new DataView(b.buffer));
        let err: unknown;
        try {
          err = readUntilError(captureReaderFromBytes(b)).error;
        } catch (e) {
          err = e; // section header problems surface when the reader is created
        }
        assert.ok(err instanceof CaptureFileError, `${c.re}: ${String(err)}`);
        assert.equal(err.problem, c.problem, err.message);
        assert.match(err.message, c.re);
      }
      const cut = readUntilError(captureReaderFromBytes(good.subarray(0, good.length - 6)));
      assert.ok(cut.error instanceof CaptureFileError && cut.error.problem === 'truncated' && cut.error.offset === epbAt, String(cut.error));
    });
  });
});
