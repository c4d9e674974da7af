// The pcapng writer: what it writes reads back through our own reader (timestamps, lengths,
// interfaces) and through tshark (interface names, packet comments, direction flags); bad
// arguments are refused with a clear error before anything is written.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureReaderFromBytes } from '../../../shared/capture-file/index.js';
import { EpbDirection, PcapngWriter } from '../../../shared/capture-file/pcapng-writer.js';
import { tshark } from '../pcap-export/export-fixtures.js';

function packet(n: number): Uint8Array {
  // an IPv4/UDP packet of n payload bytes (checksums 0: not checked)
  const b = new Uint8Array(28 + n);
  b[0] = 0x45;
  b[2] = (28 + n) >> 8;
  b[3] = (28 + n) & 0xff;
  b[8] = 64;
  b[9] = 17;
  b.set([192, 0, 2, 1], 12);
  b.set([198, 51, 100, 7], 16);
  b[21] = 9; // discard: no dissector reads the payload
  b[23] = 9;
  b[25] = 8 + n;
  return b;
}

describe('pcapng writer', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'meerkat-pcapng-writer-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back through our reader: interfaces, timestamps, captured and original lengths', () => {
    const w = new PcapngWriter({ application: 'test', comment: 'section' });
    const a = w.addInterface({ linkType: 101, name: 'agent-a' });
    const b = w.addInterface({ linkType: 101, snapLen: 64, name: 'agent-b', description: 'second' });
    const chunks: Uint8Array[] = [];
    const times = [1_700_000_000_123_456, 1_700_000_001_000_001, 2 ** 40 + 7];
    for (let i = 0; i < 3; i++) {
      const p = packet(10 * i);
      w.addPacket({ interfaceId: i === 1 ? b : a, tsUs: times[i]!, data: p.subarray(0, 28 + i), origLen: p.length + 5, comment: i === 2 ? 'x'.repeat(70_000) : undefined });
      if (i === 1) chunks.push(w.drain());
    }
    chunks.push(w.drain());
    assert.equal(w.pendingBytes, 0);
    const r = captureReaderFromBytes(Buffer.concat(chunks));
    for (let i = 0; i < 3; i++) {
      const f = r.next()!;
      assert.equal(f.tsUs, times[i]);
      assert.equal(f.capLen, 28 + i);
      assert.equal(f.wireLen, 28 + 10 * i + 5);
      assert.equal(f.interfaceId, i === 1 ? 1 : 0);
      assert.equal(f.linkType, 101);
    }
    assert.equal(r.next(), null);
  });

  it('tshark reads interface names, comments and the direction flags', async () => {
    const w = new PcapngWriter({ application: 'Meerkat test' });
    const i = w.addInterface({ linkType: 101, name: 'meerkat-agent-x', description: 'rebuilt' });
    w.addPacket({ interfaceId: i, tsUs: 1_700_000_000_000_000, data: packet(4), origLen: 32, direction: EpbDirection.Inbound, comment: 'meerkat: retro capture' });
    w.addPacket({ interfaceId: i, tsUs: 1_700_000_000_000_010, data: packet(4), origLen: 32, direction: EpbDirection.Outbound });
    w.addPacket({ interfaceId: i, tsUs: 1_700_000_000_000_020, data: packet(0), origLen: 1500 });
    const file = join(dir, 'w.pcapng');
    writeFileSync(file, w.drain());
    const rows = (await tshark(['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.interface_name', '-e', 'frame.comment', '-e', 'frame.packet_flags_direction', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'udp.srcport']))
      .split('\n').filter(Boolean);
    assert.deepEqual(rows, [
      'meerkat-agent-x|meerkat: retro capture|0x00000001|32|32|9',
      'meerkat-agent-x||0x00000002|32|32|9',
      'meerkat-agent-x|||1500|28|9',
    ]);
  });

  it('refuses a packet of an unknown interface or with an original length below its captured length', () => {
    const w = new PcapngWriter();
    assert.throws(() => w.addPacket({ interfaceId: 0, tsUs: 0, data: packet(1), origLen: 29 }), /interface 0, but 0 interface/);
    w.addInterface({ linkType: 101 });
    assert.throws(() => w.addPacket({ interfaceId: 0, tsUs: 0, data: packet(10), origLen: 20 }), /original length 20 is below the captured length 38/);
    // nothing half-written: the section header and the interface only
    const r = captureReaderFromBytes(w.drain());
    assert.equal(r.next(), null);
  });
});
