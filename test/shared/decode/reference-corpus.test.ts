// Every reference capture, read and decoded frame by frame, checked against
// tshark run in the test (no stored results): frame counts, IP version,
// addresses, protocol and ports of the innermost IP layer (decodePacket) and of
// the outermost one (decodeOuter), plus IP/TCP header details, VLAN id and ARP.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openCaptureFile } from '../../../shared/capture-file/index.js';
import { DecodedPacket, decodePacket, decoderInternalErrors } from '../../../shared/decode/index.js';
import { RecordFlag } from '../../../shared/packet/packet-record.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { compareWithTshark, type TsharkException, type TsharkFileResult } from './tshark-compare.js';
import { mapLimit, referenceCaptures } from './tshark-reference.js';

/**
 * Known, explained disagreements with tshark that no policy rule of tshark-compare.ts
 * covers. `frames` are 1-based frame numbers ('all' for every frame); only the listed
 * comparison keys are excused. Each entry must actually be needed (a stale exception
 * fails the test). Today every difference on the reference set follows a policy rule.
 */
const EXCEPTIONS: Record<string, TsharkException[]> = {};

async function checkFile(rel: string): Promise<TsharkFileResult> {
  return compareWithTshark(join(referencePcapsDir(), rel), rel, EXCEPTIONS[rel] ?? []);
}

describe('decoder against tshark on every reference capture', function () {
  this.timeout(240_000);
  const captures = referenceCaptures();
  let results: TsharkFileResult[] = [];
  const errorsBefore = decoderInternalErrors();

  before(async () => {
    results = await mapLimit(captures, 4, checkFile);
  });

  it('finds reference captures in every source folder', () => {
    assert.ok(captures.length >= 50, `only ${captures.length} captures under ${referencePcapsDir()}`);
    for (const dir of ['zeek/', 'tcpdump/', 'ndpi/', 'flowtest/', 'arkime/', 'suricata-verify/']) {
      assert.ok(captures.some((c) => c.startsWith(dir)), `no capture in ${dir}`);
    }
  });

  it('reads as many frames as tshark from every capture', () => {
    for (const r of results) assert.equal(r.frames, r.tsharkFrames, `${r.file}: read ${r.frames} frames, tshark ${r.tsharkFrames}`);
  });

  it('agrees with tshark on IP version, addresses, protocol and ports (inner and outer layer)', () => {
    const compared = results.reduce((a, r) => a + r.tupleCompared, 0);
    const matched = results.reduce((a, r) => a + r.tupleMatched, 0);
    const dCompared = results.reduce((a, r) => a + r.detailCompared, 0);
    const dMatched = results.reduce((a, r) => a + r.detailMatched, 0);
    const explained = results.reduce((a, r) => a + r.explained, 0);
    const byReason: Record<string, number> = {};
    for (const r of results) for (const [k, v] of Object.entries(r.byReason)) byReason[k] = (byReason[k] ?? 0) + v;
    console.log(`      agreement: 5-tuple ${matched}/${compared} decodes (${results.length} captures, ${results.reduce((a, r) => a + r.frames, 0)} frames, inner+outer); ` +
      `header details ${dMatched}/${dCompared} checks; differing values: ${explained} by per-file exceptions, by policy ${JSON.stringify(byReason)}`);
    assert.deepEqual(results.flatMap((r) => r.mismatches.slice(0, 5).map((m) => `${r.file}: ${m}`)), []);
  });

  it('needs every documented exception', () => {
    assert.deepEqual(results.flatMap((r) => r.unusedExceptions.map((u) => `${r.file}: ${u}`)), []);
    for (const f of Object.keys(EXCEPTIONS)) assert.ok(captures.includes(f), `exception for missing capture ${f}`);
  });

  it('never hit an internal decoder error', () => {
    assert.equal(decoderInternalErrors(), errorsBefore);
  });

  it('decapsulates the tunnel captures (inner layer differs from outer)', () => {
    // guard against a comparison that passes because nothing was decapsulated
    const tunnels = ['zeek/tunnels_vxlan.pcap', 'tcpdump/geneve.pcap', 'zeek/tunnels_gre-sample.pcap', 'arkime/gtp-iphone.pcap', 'ndpi/6in4tunnel.pcap'];
    for (const t of tunnels) {
      const r = openCaptureFile(join(referencePcapsDir(), t));
      const out = new DecodedPacket();
      let inner = 0;
      try {
        for (let f = r.next(); f; f = r.next()) if (decodePacket(f.linkType, f.data, f.wireLen, f.tsUs, out).flags & RecordFlag.Inner) inner++;
      } finally {
        r.close();
      }
      assert.ok(inner > 0, `${t}: no packet decoded inside its tunnel`);
    }
  });
});
