import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ByteColumn, ColumnCursor } from '../../../shared/dump/byte-column.js';
import { BlockForm, FormCursor, ValueKind, writeByteBlock, writeSintDiffBlock, writeU32Block } from '../../../shared/dump/column-forms.js';
import { DumpFormatError, DumpWriter, decodeDump, readDumpHeader } from '../../../shared/dump/index.js';
import { CompressionKind, encodeHeader, keyIdToBytes, uuidToBytes } from '../../../shared/dump/dump-header.js';
import { BLOCK_PACKETS } from '../../../shared/dump/packet-block.js';
import { Col } from '../../../shared/dump/dump-layout.js';
import { PacketRecord } from '../../../shared/packet/packet-record.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { columnStart } from './helpers/poisoned-dump.js';
import { recordsFromDecoder } from './helpers/decoder-records.js';
import { snapshot } from './helpers/record-arbitrary.js';

const AGENT = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
const KEY = '00ff10ee20dd30cc';

/** Values with few distinct ones, so plain, constant and run blocks all come up. */
const blockValues = (max: number): fc.Arbitrary<number[]> =>
  fc.oneof(
    fc.array(fc.integer({ min: 0, max }), { minLength: 1, maxLength: 300 }),
    fc.tuple(fc.array(fc.constantFrom(0, 1, max), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 50 }))
      .map(([vals, rep]) => vals.flatMap((v) => new Array<number>(rep).fill(v))),
  );

function readBack(col: ByteColumn, kind: ValueKind, n: number): number[] {
  const at = { record: 0 };
  const r = new FormCursor(new ColumnCursor(col.buf, 0, col.pos, 'test', at), kind, true);
  r.startBlock();
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(r.next());
  r.end();
  r.c.expectEnd();
  return out;
}

function expectForm(col: ByteColumn, vals: number[]): void {
  const distinct = new Set(vals).size;
  if (distinct === 1) assert.equal(col.buf[0], BlockForm.Const);
  else assert.notEqual(col.buf[0], BlockForm.Const);
}

/** A dump file of `records` (uncompressed body, version `version`). */
function dumpOf(records: PacketRecord[], version: 2 | 3, compression: 'none' | 'brotli' = 'none'): Uint8Array {
  const w = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 0, compression, formatVersion: version });
  for (const r of records) w.add(r);
  return w.finish(1);
}

/** `dump` (uncompressed) with `body` in place of its body, checksums recomputed. */
function rewrap(dump: Uint8Array, body: Uint8Array): Uint8Array {
  const h = readDumpHeader(dump);
  const out = new Uint8Array(96 + body.length);
  out.set(body, 96);
  encodeHeader(out, {
    agentId: uuidToBytes(h.agentId), anonKeyId: keyIdToBytes(h.anonKeyId), sequence: h.sequence, firstTsUs: h.firstTsUs,
    lastTsUs: h.lastTsUs, packetCount: h.packetCount, tupleCount: h.tupleCount, linkType: h.linkType, snapLen: h.snapLen,
    compression: CompressionKind.None, compressionLevel: 0, flags: h.flags, uncompressedSize: body.length,
    compressedSize: body.length, bodyCrc32: crc32(body), version: h.version,
  });
  return out;
}

function decoded(bytes: Uint8Array): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  decodeDump(bytes).forEach((r) => out.push(snapshot(r)));
  return out;
}

/** UDP records of one tuple whose TTLs are `ttls` (one record each). */
function udpRecords(ttls: number[]): PacketRecord[] {
  return ttls.map((ttl, i) => {
    const r = new PacketRecord();
    r.tsUs = 1_700_000_000_000_000 + i;
    r.ipVersion = 4;
    r.proto = 17;
    r.src.set([192, 0, 2, 1]);
    r.dst.set([198, 51, 100, 7]);
    r.sport = 5353;
    r.dport = 53;
    r.payloadLen = 20;
    r.ipLen = 48;
    r.wireLen = 62;
    r.ttl = ttl;
    return r;
  });
}

describe('dump/column-forms (version 3 block forms)', () => {
  it('writes each block in the form that fits and reads back exactly the values (u32, byte, zigzag53 differences)', () => {
    fc.assert(
      fc.property(blockValues(0xffffffff), (vals) => {
        const col = new ByteColumn(16);
        writeU32Block(col, Uint32Array.from(vals), vals.length);
        expectForm(col, vals);
        assert.deepStrictEqual(readBack(col, ValueKind.U32, vals.length), vals);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(blockValues(255), (vals) => {
        const col = new ByteColumn(16);
        writeByteBlock(col, Uint8Array.from(vals), vals.length);
        expectForm(col, vals);
        assert.deepStrictEqual(readBack(col, ValueKind.Byte, vals.length), vals);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(blockValues(0xffffffff), blockValues(0xffffffff), (a, b) => {
        const n = Math.min(a.length, b.length);
        const col = new ByteColumn(16);
        writeSintDiffBlock(col, Uint32Array.from(a), Uint32Array.from(b), n);
        const diffs = a.slice(0, n).map((v, i) => v - b[i]!);
        expectForm(col, diffs);
        assert.deepStrictEqual(readBack(col, ValueKind.Sint, n), diffs);
      }),
      { numRuns: 300 },
    );
  });

  it('a block with no values writes nothing', () => {
    const col = new ByteColumn(16);
    writeU32Block(col, new Uint32Array(4), 0);
    writeByteBlock(col, new Uint8Array(4), 0);
    writeSintDiffBlock(col, new Uint32Array(4), new Uint32Array(4), 0);
    assert.equal(col.pos, 0);
  });

  it('version 3 decodes to exactly the records of version 2 for every reference capture, and is smaller raw', () => {
    let files = 0;
    let packets = 0;
    let raw2 = 0;
    let raw3 = 0;
    for (const sub of readdirSync(referencePcapsDir(), { withFileTypes: true })) {
      if (!sub.isDirectory()) continue;
      for (const f of readdirSync(join(referencePcapsDir(), sub.name))) {
        if (!/\.pcap(ng)?$/.test(f)) continue;
        // up to three blocks per capture, so blocks after the first and a short last block are covered
        const recs = recordsFromDecoder(`${sub.name}/${f}`, 3 * BLOCK_PACKETS - 5, 64);
        if (recs.length === 0) continue;
        const v2 = dumpOf(recs, 2);
        const v3 = dumpOf(recs, 3);
        assert.equal(readDumpHeader(v2).version, 2);
        assert.equal(readDumpHeader(v3).version, 3);
        assert.deepStrictEqual(decoded(v3), decoded(v2), `${sub.name}/${f}`);
        assert.deepStrictEqual(decoded(v3), recs.map(snapshot), `${sub.name}/${f}`);
        raw2 += v2.length;
        raw3 += v3.length;
        files++;
        packets += recs.length;
      }
    }
    assert.ok(files >= 30 && packets > 20000, `${files} captures, ${packets} packets`);
    assert.ok(raw3 < raw2, `version 3 raw bodies ${raw3} bytes, version 2 ${raw2}`);
  });

  it('refuses hostile version-3 dumps with a DumpFormatError, never another exception (damage behind valid checksums)', () => {
    const recs = recordsFromDecoder('zeek/ssh_ssh.pcap', BLOCK_PACKETS + 300);
    const dump = dumpOf(recs, 3);
    const body = dump.subarray(96);
    const original = decoded(dump);
    let rejected = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
        const b = new Uint8Array(body);
        for (const [pos, x] of edits) b[pos % b.length] = x;
        try {
          decoded(rewrap(dump, b));
        } catch (e) {
          if (!(e instanceof DumpFormatError)) throw new Error(`decoder threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
          rejected++;
        }
      }),
      { numRuns: 500 },
    );
    assert.ok(rejected > 0, 'damage must be detected by the structure checks');
    assert.deepStrictEqual(decoded(rewrap(dump, new Uint8Array(body))), original);
  });

  it('names what is wrong: an unknown form, a run of length 0, a run past its block or past the last packet', () => {
    // ttl 64 x5 then 128 x5: the ttl column is [Runs, 5, 64, 5, 128]
    const small = dumpOf(udpRecords([64, 64, 64, 64, 64, 128, 128, 128, 128, 128]), 3);
    const body = small.subarray(96);
    const ttl = columnStart(body, Col.Ttl);
    assert.deepStrictEqual([...body.subarray(ttl, ttl + 5)], [BlockForm.Runs, 5, 64, 5, 128]);
    const edit = (pos: number, v: number): Uint8Array => {
      const b = new Uint8Array(body);
      b[pos] = v;
      return rewrap(small, b);
    };
    const rejects = (bytes: Uint8Array, re: RegExp): void => {
      assert.throws(() => decoded(bytes), (e: unknown) => e instanceof DumpFormatError && re.test(e.message));
    };
    rejects(edit(ttl, 7), /column 'ttl' at record 0: unknown block form 7/);
    rejects(edit(ttl + 1, 0), /column 'ttl' at record 0: run of length 0/);
    rejects(edit(ttl + 1, 6), /column 'ttl' .*a run of 1 more values continues past the last packet/);
    rejects(edit(ttl + 1, 4), /column 'ttl'/);

    // a first block of 64 x2048, 128 x2048 and a second block of four 128s: [Runs, 2048, 64, 2048, 128] [Const, 128]
    const ttls = [...new Array<number>(BLOCK_PACKETS / 2).fill(64), ...new Array<number>(BLOCK_PACKETS / 2 + 4).fill(128)];
    const two = dumpOf(udpRecords(ttls), 3);
    const body2 = new Uint8Array(two.subarray(96));
    const t2 = columnStart(body2, Col.Ttl);
    assert.deepStrictEqual([...body2.subarray(t2, t2 + 9)], [BlockForm.Runs, 0x80, 0x10, 64, 0x80, 0x10, 128, BlockForm.Const, 128]);
    body2[t2 + 4] = 0x81; // second run 2049 long: one value past the block's end
    rejects(rewrap(two, body2), new RegExp(`column 'ttl' at record ${BLOCK_PACKETS}: a run of 1 more values continues past the end of its block`));
  });
});
