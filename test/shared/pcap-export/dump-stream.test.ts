// The dump stream of an export: records go out as dumps (retro ones in dumps flagged Retro) and
// come back in order with their flag; the splitter refuses a stream cut inside a dump, an
// oversized dump, and damage (the dump reader's checksums), with an error naming the problem.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DumpFormatError, DumpFlag, readDumpHeader } from '../../../shared/dump/index.js';
import { exportDumpStream, newDumpStreamSummary, recordsFromDumpStream, splitDumpStream } from '../../../shared/pcap-export/dump-stream.js';
import type { SelectedRecord } from '../../../shared/pcap-export/select-records.js';
import type { DumpHeader } from '../../../shared/dump/dump-header.js';
import { PacketRecord } from '../../../shared/packet/packet-record.js';
import { recordsArb, snapshot } from '../dump/helpers/record-arbitrary.js';

const HEADER = { agentId: '11111111-2222-4333-8444-555555555555', anonKeyId: '0123456789abcdef', snapLen: 65535, linkType: 1 } as DumpHeader;

async function* from<T>(xs: readonly T[]): AsyncGenerator<T> { for (const x of xs) yield x; }
async function all<T>(it: AsyncIterable<T>): Promise<T[]> { const out: T[] = []; for await (const x of it) out.push(x); return out; }

/** Chunks of arbitrary sizes, as a network delivers them. */
function rechunk(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let o = 0;
  for (let i = 0; o < bytes.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]!);
    out.push(bytes.subarray(o, o + n));
    o += n;
  }
  return out;
}

describe('export dump stream', () => {
  it('records and their retro flag survive the stream in order, whatever the chunking', async () => {
    await fc.assert(fc.asyncProperty(recordsArb(80), fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 6 }), async (recs, retroPattern, sizes) => {
      const sel: SelectedRecord[] = recs.map((rec, i) => ({ rec, retro: retroPattern[i % retroPattern.length]!, dump: HEADER }));
      const s = newDumpStreamSummary();
      const bytes = Buffer.concat(await all(exportDumpStream(from(sel), s)));
      assert.equal(s.packets, recs.length);
      const back = await all(recordsFromDumpStream(splitDumpStream(from(rechunk(bytes, sizes)))));
      assert.equal(back.length, recs.length);
      for (let i = 0; i < recs.length; i++) {
        const want = new PacketRecord().copyFrom(recs[i]!);
        // the dump format's domains (docs/dump-format.md section 4)
        assert.equal(back[i]!.retro, sel[i]!.retro);
        assert.equal(back[i]!.dump.agentId, HEADER.agentId);
        assert.deepEqual(snapshot(back[i]!.rec).src, snapshot(want).src);
        assert.equal(back[i]!.rec.sport, want.sport & 0xffff);
        assert.deepEqual(Array.from(back[i]!.rec.payload), Array.from(want.payload));
      }
    }), { numRuns: 60 });
  });

  it('retro records travel in dumps flagged Retro', async () => {
    const r = new PacketRecord();
    r.ipVersion = 4;
    r.tsUs = 1;
    const s = newDumpStreamSummary();
    const dumps = await all(splitDumpStream(exportDumpStream(from([{ rec: r, retro: false, dump: HEADER }, { rec: r, retro: true, dump: HEADER }]), s)));
    assert.equal(dumps.length, 2);
    assert.equal(readDumpHeader(dumps[0]!).flags & DumpFlag.Retro, 0);
    assert.equal(readDumpHeader(dumps[1]!).flags & DumpFlag.Retro, DumpFlag.Retro);
    assert.equal(s.retro, 1);
  });

  it('refuses a stream cut inside a dump, an oversized dump, and a damaged one', async () => {
    const r = new PacketRecord();
    r.ipVersion = 4;
    r.payload = new Uint8Array(3000).fill(7);
    r.payloadLen = 3000;
    const bytes = Buffer.concat(await all(exportDumpStream(from([{ rec: r, retro: false, dump: HEADER }]), newDumpStreamSummary())));
    await assert.rejects(all(splitDumpStream(from([bytes.subarray(0, bytes.length - 1)]))), (e: unknown) => e instanceof DumpFormatError && /ends inside a dump/.test(e.message));
    await assert.rejects(all(splitDumpStream(from([bytes]), 100)), (e: unknown) => e instanceof DumpFormatError && /limit is 100/.test(e.message));
    const bad = Buffer.from(bytes);
    bad[bad.length - 2]! ^= 1;
    await assert.rejects(all(recordsFromDumpStream(splitDumpStream(from([bad])))), (e: unknown) => e instanceof DumpFormatError && /checksum/.test(e.message));
  });

  it('arbitrary bytes: the reader fails with DumpFormatError only', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), async (b) => {
      try {
        await all(recordsFromDumpStream(splitDumpStream(from([b]), 1 << 20)));
      } catch (e) {
        assert.ok(e instanceof DumpFormatError, String(e));
      }
    }), { numRuns: 400 });
  });
});
