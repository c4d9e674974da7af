// Packet rebuilding on arbitrary records (fast-check): it never throws, the captured bytes fit
// the original length and the IP header says that length, and when the whole payload was kept
// the transport checksum verifies (checked here by an independent sum over the bytes). A file of
// such packets is read by tshark frame for frame.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { PcapngWriter } from '../../../shared/capture-file/pcapng-writer.js';
import { LINKTYPE_RAW, PacketRebuilder } from '../../../shared/pcap-export/packet-rebuild.js';
import { PacketRecord, TcpOpt } from '../../../shared/packet/packet-record.js';
import { recordsArb } from '../dump/helpers/record-arbitrary.js';
import { tshark } from './export-fixtures.js';

function ones(b: Uint8Array, off: number, len: number, acc = 0): number {
  let s = acc;
  for (let i = 0; i + 1 < len; i += 2) s += (b[off + i]! << 8) | b[off + i + 1]!;
  if (len & 1) s += b[off + len - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

/** Where the transport header starts: after the IPv4 header, or IPv6 and its extension headers. */
function transportOffset(p: Uint8Array): number {
  if (p[0]! >> 4 === 4) return (p[0]! & 15) * 4;
  let next = p[6]!;
  let o = 40;
  while (next === 60 || next === 44) {
    const len = next === 44 ? 8 : (p[o + 1]! + 1) * 8;
    next = p[o]!;
    o += len;
  }
  return o;
}

describe('packet rebuild', () => {
  it('arbitrary records: no throw, lengths consistent, checksums verify when complete', () => {
    const rb = new PacketRebuilder();
    fc.assert(fc.property(recordsArb(60), (recs) => {
      for (const r of recs) {
        const p = rb.rebuild(r);
        if (r.ipVersion !== 4 && r.ipVersion !== 6) { assert.equal(p, null); continue; }
        assert.ok(p !== null);
        const d = p.data;
        assert.ok(d.length <= p.origLen && p.origLen <= 65535, `cap ${d.length} orig ${p.origLen}`);
        assert.ok(d.length >= (r.ipVersion === 4 ? 20 : 40));
        if (r.ipVersion === 4) {
          assert.equal((d[2]! << 8) | d[3]!, p.origLen);
          assert.equal(ones(d, 0, (d[0]! & 15) * 4), 0xffff, 'IPv4 header checksum');
        } else {
          assert.equal(((d[4]! << 8) | d[5]!) + 40, p.origLen);
        }
        if (p.complete && [6, 17, 58].includes(r.proto) && p.origLen === d.length) {
          const t = transportOffset(d);
          const len = d.length - t;
          const alen = r.ipVersion === 4 ? 4 : 16;
          const srcOff = r.ipVersion === 4 ? 12 : 8;
          let pseudo = ones(d, srcOff, alen) + ones(d, srcOff + alen, alen) + r.proto + (len & 0xffff) + Math.floor(len / 65536);
          pseudo = ones(d, t, len, pseudo);
          assert.equal(pseudo, 0xffff, `transport checksum of proto ${r.proto}`);
        }
      }
    }), { numRuns: 300 });
  });

  it('a TCP record keeps its header length: options rebuilt, the room of the rest filled with NOPs', () => {
    const r = new PacketRecord();
    r.ipVersion = 4;
    r.proto = 6;
    r.src.set([10, 0, 0, 1]);
    r.dst.set([10, 0, 0, 2]);
    r.tcpFlags = 0x10;
    r.tcpOptFlags = TcpOpt.Timestamps | TcpOpt.Sack;
    r.tcpTsVal = 5;
    r.payloadLen = 100;
    r.ipLen = 20 + 44 + 100; // timestamps (12 with NOPs) + one SACK block (2 + 8, aligned 12) + 20
    const p = new PacketRebuilder().rebuild(r)!;
    assert.equal(p.origLen, 164);
    assert.equal(p.data.length, 64, 'headers only');
    assert.equal(p.data[20 + 12]! >> 4, 11, 'data offset 44 bytes');
    assert.equal(p.approximate, false);
    assert.equal(p.complete, false);
  });

  it('tshark reads a file of arbitrary rebuilt packets frame for frame', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meerkat-rebuild-'));
    try {
      const rb = new PacketRebuilder();
      const w = new PcapngWriter();
      const i = w.addInterface({ linkType: LINKTYPE_RAW });
      let n = 0;
      for (const recs of fc.sample(recordsArb(50), { numRuns: 200, seed: 17 })) {
        for (const r of recs) {
          const p = rb.rebuild(r);
          if (!p) continue;
          w.addPacket({ interfaceId: i, tsUs: Number.isFinite(r.tsUs) && r.tsUs > 0 ? r.tsUs : 0, data: p.data, origLen: p.origLen });
          n++;
        }
      }
      const file = join(dir, 'fuzz.pcapng');
      writeFileSync(file, w.drain());
      const frames = (await tshark(['-r', file, '-T', 'fields', '-e', 'frame.number'])).split('\n').filter(Boolean).length;
      assert.ok(n > 100);
      assert.equal(frames, n);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
