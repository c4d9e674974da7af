// One capture built here with every encapsulation the decoder knows (encap-cases.ts;
// each header written from its specification by encap-builders.ts), written as
// pcapng with one interface per link type, then decoded frame by frame and compared
// with tshark run on the same file. Each frame must also decode to the packet that
// was built inside it, so a comparison where neither side decoded anything cannot pass.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecodedPacket, decodeOuter, decodePacket, decoderInternalErrors } from '../../../shared/decode/index.js';
import { PcapngWriter, unitsFor } from '../capture-file/capture-writers.js';
import { BAD_IP, CASES, INNER, NON_IP, buildEncapsulationCorpus } from './encap-cases.js';
import { compareWithTshark, type TsharkFileResult } from './tshark-compare.js';
import { expectedIp, referenceRows } from './tshark-reference.js';

describe('decoder against tshark on a capture of every encapsulation (built here)', function () {
  this.timeout(120_000);
  const built = buildEncapsulationCorpus();
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-encap-'));
  const file = join(dir, 'encapsulations.pcapng');
  let result: TsharkFileResult;
  const errorsBefore = decoderInternalErrors();

  before(async () => {
    const w = new PcapngWriter().section(true, 'meerkat encapsulation corpus');
    const ifaces = new Map<number, number>();
    for (const b of built) {
      if (!ifaces.has(b.linkType)) {
        ifaces.set(b.linkType, ifaces.size);
        w.idb({ linkType: b.linkType, name: `lt${b.linkType}` });
      }
    }
    built.forEach((b, i) => w.epb(ifaces.get(b.linkType)!, unitsFor(1_700_000_000_000_000 + i * 1000), b.data, b.data.length, b.label));
    writeFileSync(file, w.result());
    result = await compareWithTshark(file, 'encapsulations.pcapng');
  });

  after(() => {
    // keep the capture for a look with MEERKAT_KEEP_ENCAP_CAPTURE=1
    if (process.env.MEERKAT_KEEP_ENCAP_CAPTURE === '1') console.log(`      capture kept: ${file}`);
    else rmSync(dir, { recursive: true, force: true });
    assert.equal(decoderInternalErrors(), errorsBefore, 'internal decoder errors');
  });

  it(`builds ${CASES.length} encapsulations, ${NON_IP.length} non-IP frames and ${BAD_IP.length} malformed IP headers; tshark reads every frame`, () => {
    assert.ok(CASES.length >= 60);
    assert.equal(result.frames, built.length);
    assert.equal(result.tsharkFrames, built.length);
  });

  it('decodes the packet that was built inside every encapsulation (and the outer packet of tunnels)', () => {
    const out = new DecodedPacket();
    const outer = new DecodedPacket();
    for (const b of built) {
      decodePacket(b.linkType, b.data, b.data.length, 0, out);
      decodeOuter(b.linkType, b.data, b.data.length, 0, outer);
      b.check(out, outer);
    }
  });

  it('tshark finds the same inner packet in every frame that carries one', async () => {
    const rows = await referenceRows(file);
    const missed: string[] = [];
    built.forEach((b, i) => {
      const inner = INNER.find((p) => b.label.endsWith(`/ ${p.name}`));
      if (!inner || b.tsharkMisses) return;
      const e = expectedIp(rows[i]!, 'inner');
      if (e.src !== inner.src || e.dst !== inner.dst) missed.push(`${b.label}: tshark ${rows[i]!.at('frame.protocols')} ${e.src} > ${e.dst}`);
    });
    assert.deepEqual(missed, []);
  });

  it('agrees with tshark frame by frame (addresses, protocol, ports, header details) apart from policy differences', () => {
    const label = (m: string): string => { const n = Number(/^frame (\d+)/.exec(m)?.[1] ?? 0); return `${built[n - 1]?.label ?? '?'}: ${m}`; };
    console.log(`      agreement: 5-tuple ${result.tupleMatched}/${result.tupleCompared} decodes (${result.frames} frames, inner+outer); ` +
      `header details ${result.detailMatched}/${result.detailCompared}; policy differences ${JSON.stringify(result.byReason)}`);
    assert.deepEqual(result.mismatches.map(label), []);
  });
});
