import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DumpWriter, decodeDump, readDumpHeader, DumpFlag, DUMP_VERSION } from '../../../shared/dump/index.js';
import { dumpTime, isDumpTime } from '../../../shared/dump/dump-header.js';
import { DecodedPacket, decodePacket } from '../../../shared/decode/index.js';
import { PacketRecord, RecordFlag, TunnelKind } from '../../../shared/packet/packet-record.js';
import { buildEncapsulationCorpus } from '../decode/encap-cases.js';
import { recordsArb, snapshot } from './helpers/record-arbitrary.js';
import { recordsFromPcap } from './helpers/pcap-records.js';
import { recordsFromDecoder } from './helpers/decoder-records.js';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';

const AGENT = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
const KEY = '00ff10ee20dd30cc';

function roundTrip(records: PacketRecord[], compression: 'none' | 'deflate-raw' | 'brotli' = 'brotli', level?: number): void {
  const w = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 64, linkType: 113, compression, level });
  // the caller reuses ONE record: the writer must copy what it needs at add()
  const reused = new PacketRecord();
  for (const r of records) {
    reused.copyFrom(r);
    w.add(reused);
    reused.reset();
  }
  assert.equal(w.count, records.length);
  const bytes = w.finish(42);
  assert.equal(w.count, 0, 'finish() leaves the writer empty');
  const d = decodeDump(bytes);
  assert.equal(d.packetCount, records.length);
  assert.equal(d.header.tupleCount <= records.length, true);
  let i = 0;
  d.forEach((rec, index) => {
    assert.equal(index, i);
    // timestamps outside the dump's domain are reduced to it at add(), everything else is exact
    assert.ok(isDumpTime(rec.tsUs), `record ${i}: ${rec.tsUs} is a dump time`);
    assert.deepStrictEqual(snapshot(rec), { ...snapshot(records[i]!), tsUs: dumpTime(records[i]!.tsUs) }, `record ${i}`);
    i++;
  });
  assert.equal(i, records.length);
}

describe('dump round trip', () => {
  it('is exact for every field of random records, timestamps reduced to whole µs in 0..2^53-1 (property)', () => {
    fc.assert(fc.property(recordsArb(), (recs) => roundTrip(recs)), { numRuns: 300 });
  });

  it('is exact with every compression kind', () => {
    for (const c of ['none', 'deflate-raw', 'brotli'] as const) {
      fc.assert(fc.property(recordsArb(40), (recs) => roundTrip(recs, c)), { numRuns: 40 });
    }
  });

  it('is exact at brotli qualities 0 to 2 for a body past the 64 KiB window of qualities 0 and 1', () => {
    const recs = recordsFromPcap('zeek/ftp_cwd-navigation.pcap');
    for (const level of [0, 1, 2]) {
      const w = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 0, compression: 'brotli', level });
      for (const r of recs) w.add(r);
      const bytes = w.finish(1);
      const h = readDumpHeader(bytes);
      assert.ok(h.uncompressedSize > 65536, `${h.uncompressedSize} bytes of body`);
      assert.equal(bytes[77], level, 'header byte 77: compressionLevel (docs/dump-format.md)');
      roundTrip(recs, 'brotli', level);
    }
  });

  it('is exact for a real capture (ssh, 1797 packets incl. handshakes and options)', () => {
    const recs = recordsFromPcap('zeek/ssh_ssh.pcap');
    assert.equal(recs.length, 1797);
    roundTrip(recs);
  });

  it('is exact for IPv6 traffic from a real capture', () => {
    const recs = recordsFromPcap('zeek/ftp_ipv6.pcap');
    assert.ok(recs.some((r) => r.ipVersion === 6));
    roundTrip(recs);
  });

  it('is exact for every reference capture through the project decoder (tunnels, fragments, VLANs, malformed; 64-byte payload snap)', () => {
    let files = 0;
    let packets = 0;
    for (const sub of readdirSync(referencePcapsDir(), { withFileTypes: true })) {
      if (!sub.isDirectory()) continue;
      for (const f of readdirSync(join(referencePcapsDir(), sub.name))) {
        if (!/\.pcap(ng)?$/.test(f)) continue;
        const recs = recordsFromDecoder(`${sub.name}/${f}`, 3000, 64);
        roundTrip(recs);
        files++;
        packets += recs.length;
      }
    }
    assert.ok(files >= 30 && packets > 10000, `${files} captures, ${packets} packets`);
  });

  it('is exact for every encapsulation the decoder knows, malformed IP headers (BadIpHeader) and every tunnel kind included', () => {
    const out = new DecodedPacket();
    const recs = buildEncapsulationCorpus().map((b) => new PacketRecord().copyFrom(decodePacket(b.linkType, b.data, b.data.length, 1_700_000_000_000_000, out)));
    assert.ok(recs.filter((r) => (r.flags & RecordFlag.BadIpHeader) !== 0).length >= 5, 'BadIpHeader records');
    for (const k of [TunnelKind.Ayiya, TunnelKind.Mpls, TunnelKind.VxlanGpe, TunnelKind.EtherIp]) assert.ok(recs.some((r) => r.tunnel === k), `tunnel kind ${k}`);
    roundTrip(recs);
  });

  it('writes a header that describes the dump', () => {
    const recs = recordsFromPcap('zeek/ssh_ssh.pcap', 100);
    const w = new DumpWriter({ agentId: AGENT.toUpperCase(), anonKeyId: KEY, snapLen: 0 });
    for (const r of recs) w.add(r);
    assert.equal(w.firstTsUs, recs[0]!.tsUs);
    w.snapLen = 512; // raised while the dump is open: the header keeps the largest
    w.snapLen = 0;
    const bytes = w.finish(2 ** 40 + 7);
    const h = readDumpHeader(bytes);
    assert.equal(h.version, DUMP_VERSION);
    assert.equal(h.agentId, AGENT);
    assert.equal(h.anonKeyId, KEY);
    assert.equal(h.sequence, 2 ** 40 + 7);
    assert.equal(h.packetCount, 100);
    assert.equal(h.firstTsUs, recs[0]!.tsUs);
    assert.equal(h.lastTsUs, recs[99]!.tsUs);
    assert.equal(h.linkType, 1);
    assert.equal(h.snapLen, 512);
    assert.equal(h.compression, 'brotli');
    assert.equal(h.flags & DumpFlag.HasPayload, 0);
    assert.equal(bytes.length, 96 + h.compressedSize);
    // the next dump starts from the current snap length
    w.add(recs[0]!);
    assert.equal(readDumpHeader(w.finish(1)).snapLen, 0);
  });

  it('encodes an empty dump', () => {
    const w = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 0 });
    const d = decodeDump(w.finish(0));
    assert.equal(d.packetCount, 0);
    assert.equal(d.header.firstTsUs, 0);
    let calls = 0;
    d.forEach(() => calls++);
    assert.equal(calls, 0);
  });

  it('reset() drops pending packets', () => {
    const w = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 0 });
    for (const r of recordsFromPcap('zeek/ssh_ssh.pcap', 10)) w.add(r);
    w.reset();
    assert.equal(w.count, 0);
    assert.equal(decodeDump(w.finish(1)).packetCount, 0);
  });

  it('rejects bad writer options with a message naming them', () => {
    assert.throws(() => new DumpWriter({ agentId: 'host-1', anonKeyId: KEY, snapLen: 0 }), /agent id must be a UUID/);
    assert.throws(() => new DumpWriter({ agentId: AGENT, anonKeyId: 'xyz', snapLen: 0 }), /16 hex digits/);
    assert.throws(() => new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: -1 }), /snapLen/);
    const w = new DumpWriter({ agentId: AGENT, anonKeyId: KEY, snapLen: 0 });
    assert.throws(() => w.finish(-1), /sequence/);
  });
});
