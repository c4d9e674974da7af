import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DumpRotator, DumpWriter, decodeDump, type DumpHeader } from '../../../shared/dump/index.js';
import { PacketRecord } from '../../../shared/packet/packet-record.js';
import type { AppMeta } from '../../../shared/appmeta/meta-record.js';

const AGENT = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
const KEY = '00ff10ee20dd30cc';
const T0 = 1_700_000_000_000_000;
const META: AppMeta = { kind: 'http', method: 'GET', minorVersion: 1, host: { name: 'example.com', pseudonym: false }, userAgent: null };

function setup(maxPackets: number, maxSeconds: number) {
  const dumps: Array<{ bytes: Uint8Array; header: DumpHeader }> = [];
  let seq = 100;
  const writer = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 0 });
  const rot = new DumpRotator({
    maxPackets,
    maxSeconds,
    writer,
    onDump: (bytes, header) => dumps.push({ bytes, header }),
    nextSequence: () => seq++,
  });
  const rec = new PacketRecord();
  rec.ipVersion = 4;
  rec.proto = 17;
  rec.src.set([10, 0, 0, 1]);
  rec.dst.set([10, 0, 0, 2]);
  const add = (tsUs: number, id = 0): void => {
    rec.tsUs = tsUs;
    rec.ipId = id;
    rot.add(rec);
  };
  return { rot, writer, dumps, add };
}

describe('dump rotator', () => {
  it('rotates by packet count, with consecutive sequences', () => {
    const { rot, dumps, add } = setup(1000, 120);
    for (let i = 0; i < 2500; i++) add(T0 + i, i);
    assert.equal(dumps.length, 2);
    assert.deepEqual(dumps.map((d) => d.header.packetCount), [1000, 1000]);
    assert.deepEqual(dumps.map((d) => d.header.sequence), [100, 101]);
    assert.equal(rot.pending, 500);
    // content is the packets in order
    const ids: number[] = [];
    decodeDump(dumps[1]!.bytes).forEach((r) => ids.push(r.ipId));
    assert.deepEqual(ids, Array.from({ length: 1000 }, (_, i) => 1000 + i));
    rot.flush();
    assert.equal(dumps.length, 3);
    assert.equal(dumps[2]!.header.packetCount, 500);
    rot.flush(); // nothing pending: no empty dump
    assert.equal(dumps.length, 3);
  });

  it('rotates by time span: the packet past the window opens the next dump', () => {
    const { dumps, add } = setup(20000, 120);
    add(T0);
    add(T0 + 119_999_999);
    assert.equal(dumps.length, 0);
    add(T0 + 120_000_000);
    assert.equal(dumps.length, 1);
    assert.equal(dumps[0]!.header.packetCount, 2);
    assert.equal(dumps[0]!.header.lastTsUs, T0 + 119_999_999);
  });

  it('a time rotation keeps the metadata queued for the packet that opens the next dump', () => {
    const { rot, writer, dumps, add } = setup(20000, 120);
    add(T0, 1);
    // the pipeline queues what it extracted from a packet, then adds the packet; this packet
    // is past the window, so the rotator closes the open dump before adding it
    writer.queueMeta(META);
    add(T0 + 120_000_000, 2);
    assert.equal(dumps.length, 1);
    assert.deepEqual(decodeDump(dumps[0]!.bytes).meta, []);
    rot.flush();
    const next = decodeDump(dumps[1]!.bytes);
    assert.deepEqual(next.meta, JSON.parse(JSON.stringify([{ packet: 0, meta: META }])));
    const ids: number[] = [];
    next.forEach((r) => ids.push(r.ipId));
    assert.deepEqual(ids, [2]);
  });

  it('rotates on tick() when no packets arrive', () => {
    const { rot, dumps, add } = setup(20000, 120);
    rot.tick(T0 + 500e6); // nothing pending
    assert.equal(dumps.length, 0);
    add(T0);
    rot.tick(T0 + 60e6);
    assert.equal(dumps.length, 0);
    rot.tick(T0 + 120e6);
    assert.equal(dumps.length, 1);
    assert.equal(rot.pending, 0);
  });

  it('applies setLimits at run time', () => {
    const { rot, dumps, add } = setup(20000, 120);
    for (let i = 0; i < 300; i++) add(T0 + i);
    rot.setLimits(200, 120); // already past the new count: emitted at once
    assert.equal(dumps.length, 1);
    assert.equal(dumps[0]!.header.packetCount, 300);
    for (let i = 0; i < 450; i++) add(T0 + 1000 + i);
    assert.deepEqual(dumps.map((d) => d.header.packetCount), [300, 200, 200]);
    rot.setLimits(20000, 1); // shorter window applies to the open dump
    add(T0 + 1000 + 449 + 1); // same window
    assert.equal(dumps.length, 3);
    rot.tick(T0 + 1000 + 400 + 999_999); // open dump starts at the 401st packet of that run
    assert.equal(dumps.length, 3);
    rot.tick(T0 + 1000 + 400 + 1_000_000);
    assert.equal(dumps.length, 4);
    assert.deepEqual(dumps.map((d) => d.header.sequence), [100, 101, 102, 103]);
  });

  it('emits at the packet count in force, whatever the limits and their changes (model check)', () => {
    // add() checks the count against a threshold that starts at 1 (the first packet runs the
    // rotation check once, for V8's type feedback) and is maxPackets afterwards: no dump may
    // come out earlier or later than the plain rule "count >= maxPackets" says
    const op = fc.oneof(
      fc.record({ add: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ limit: fc.integer({ min: 1, max: 30 }) }),
    );
    fc.assert(fc.property(fc.integer({ min: 1, max: 30 }), fc.array(op, { maxLength: 12 }), (max0, ops) => {
      const { rot, dumps, add } = setup(max0, 120);
      const model: number[] = [];
      let max = max0;
      let open = 0;
      let t = T0;
      for (const o of ops) {
        if ('add' in o) {
          for (let i = 0; i < o.add; i++) {
            add(t++);
            open++;
            if (open >= max) { model.push(open); open = 0; }
          }
        } else {
          rot.setLimits(o.limit, 120);
          max = o.limit;
          if (open >= max) { model.push(open); open = 0; }
        }
      }
      assert.deepEqual(dumps.map((d) => d.header.packetCount), model);
      assert.equal(rot.pending, open);
    }), { numRuns: 300 });
  });

  it('rejects nonsense limits', () => {
    const { rot } = setup(10, 1);
    assert.throws(() => rot.setLimits(0, 1), /maxPackets/);
    assert.throws(() => rot.setLimits(10, 0), /maxSeconds/);
    assert.throws(() => rot.setLimits(10, NaN), /maxSeconds/);
  });
});
