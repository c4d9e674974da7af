// Exports checked by tshark: dumps made by the agent's replay pipeline from reference captures
// (header-only and full payload), flows built from the same dumps by the collector's engine into
// SQLite, and the exported pcapng read back by tshark: no malformed frame, true lengths,
// checksums that verify where the payload is complete, conversations that agree with our flows,
// and - with the owner key - the very packets of the original capture, field by field.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initOwnerKeys, loadAnonKey } from '../../../shared/keys/owner-keys.js';
import { DirectoryDumpCatalog } from '../../../shared/pcap-export/dump-catalog.js';
import { runExport } from '../../../shared/pcap-export/run-export.js';
import { RecordDeanonymizer } from '../../../shared/pcap-export/record-deanonymizer.js';
import { flowScope, SelectionError, type PacketSelection } from '../../../shared/pcap-export/packet-selection.js';
import { decodeDump, DumpWriter } from '../../../shared/dump/index.js';
import { formatIp } from '../../../shared/net/ip-address.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import {
  countFrames, flowConversations, importDumps, makeDumps, refPcap, tshark, tsharkConversations, tsharkFrameSums,
} from './export-fixtures.js';

const CHECKSUMS = ['-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];
const ALL_TIME = { sinceUs: 0, untilUs: Number.MAX_SAFE_INTEGER };
// clean captures (tshark finds nothing malformed in the originals), IPv4 and IPv6, TCP and UDP
const CAPTURES = ['zeek/http_get.pcap', 'zeek/ssh_ssh.pcap', 'ndpi/netflix.pcap', 'zeek/ftp_ipv6.pcap', 'ndpi/http_ipv6.pcap', 'flowtest/icmp.pcap'];

async function exportTo(dir: string, file: string, sel: PacketSelection, o: Parameters<typeof runExport>[4] = {}, limits: Parameters<typeof runExport>[3] = {}) {
  const catalog = new DirectoryDumpCatalog(dir);
  try {
    const run = runExport(catalog, sel, 'pcapng', limits, o);
    const parts: Uint8Array[] = [];
    for await (const c of run.chunks) parts.push(c);
    writeFileSync(file, Buffer.concat(parts));
    return run.summary;
  } finally {
    catalog.close();
  }
}

describe('pcapng export, read back by tshark', function () {
  this.timeout(120_000);
  let dir: string;
  let keyFile: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-pcap-export-'));
    initOwnerKeys(join(dir, 'owner'));
    keyFile = join(dir, 'owner', 'anon.key');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const cap of CAPTURES) {
    it(`${cap}: header-only packets parse, keep their wire length, and tshark's conversations are our flows`, async () => {
      const d = join(dir, cap.replace(/\W/g, '_') + '-hdr');
      const rep = await makeDumps(refPcap(cap), d, { keyFile, snapLen: 0 });
      const flows = importDumps(join(d, 'flows.db'), rep.dumps.map((x) => x.path));
      const out = join(d, 'out.pcapng');
      const s = await exportTo(d, out, { agentId: rep.agentId, ...ALL_TIME });
      assert.equal(s.packets, rep.stats.packetsKept, 'every kept record became a packet');
      assert.equal(await countFrames(out, 'frame'), s.packets);
      assert.equal(await countFrames(out, '_ws.malformed'), 0, 'no malformed frame');
      assert.equal(await countFrames(out, 'ip.checksum.status == "Bad"', CHECKSUMS), 0, 'IPv4 header checksums are right');
      // the original length is the IP length the record carries
      let ipBytes = 0;
      for (const x of rep.dumps) decodeDump(readFileSync(x.path)).forEach((r) => { ipBytes += r.ipLen; });
      const lens = (await tshark(['-r', out, '-T', 'fields', '-e', 'frame.len'])).split('\n').filter(Boolean).reduce((a, l) => a + Number(l), 0);
      assert.equal(lens, ipBytes);
      for (const proto of ['tcp', 'udp'] as const) {
        const ours = flowConversations(flows, proto);
        const conv = await tsharkConversations(out, proto);
        const exact = await tsharkFrameSums(out, proto);
        assert.equal(conv.size, ours.size, `${proto}: as many conversations as flow tuples`);
        for (const [k, c] of ours) {
          const t = conv.get(k);
          assert.ok(t, `${proto} conversation ${k} is in tshark's table`);
          assert.deepEqual(t.frames, c.frames, `${proto} ${k}: frames per direction`);
          for (const i of [0, 1]) assert.ok(Math.abs(t.bytes[i]! - c.bytes[i]!) <= t.bytesUnit[i]!, `${proto} ${k}: bytes ${t.bytes[i]} (as tshark rounds) vs ${c.bytes[i]}`);
          assert.deepEqual(exact.get(k), c, `${proto} ${k}: exact frames and bytes`);
        }
      }
    });
  }

  it('full payload: every TCP/UDP/ICMP checksum verifies, and with the owner key the packets are the original ones, field by field', async () => {
    for (const cap of ['zeek/http_get.pcap', 'zeek/ssh_ssh.pcap', 'zeek/ftp_ipv6.pcap', 'flowtest/icmp.pcap']) {
      const d = join(dir, cap.replace(/\W/g, '_') + '-full');
      const rep = await makeDumps(refPcap(cap), d, { keyFile, snapLen: 65535 });
      const out = join(d, 'out.pcapng');
      const s = await exportTo(d, out, { agentId: rep.agentId, ...ALL_TIME }, { deanonymize: new RecordDeanonymizer(loadAnonKey(keyFile)) });
      assert.equal(s.pcapng!.complete, s.packets, `${cap}: every packet complete`);
      assert.equal(await countFrames(out, '_ws.malformed'), 0);
      const bad = 'ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || udp.checksum.status == "Bad" || icmp.checksum.status == "Bad" || icmpv6.checksum.status == "Bad"';
      assert.equal(await countFrames(out, bad, CHECKSUMS), 0, `${cap}: no bad checksum`);
      assert.equal(await countFrames(out, 'tcp.checksum.status == "Good" || udp.checksum.status == "Good" || icmp.checksum.status == "Good" || icmpv6.checksum.status == "Good"', CHECKSUMS), s.packets, `${cap}: every transport checksum verified`);
      const fields = ['frame.time_epoch', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'ip.len', 'ipv6.plen', 'ip.id', 'ip.ttl', 'ipv6.hlim', 'ip.flags.df',
        'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.flags', 'tcp.window_size_value', 'tcp.len',
        'tcp.options.mss_val', 'tcp.options.wscale.shift', 'tcp.options.timestamp.tsval', 'tcp.options.timestamp.tsecr', 'icmp.type', 'icmp.code', 'tcp.payload', 'udp.payload', 'data.data'];
      const args = (f: string) => ['-r', f, '-o', 'tcp.desegment_tcp_streams:FALSE', '-T', 'fields', '-E', 'separator=/t', ...fields.flatMap((x) => ['-e', x])];
      const ours = (await tshark(args(out))).split('\n').filter(Boolean);
      // the agent drops link-local noise (a directed broadcast in ssh_ssh.pcap): compare the packets it kept
      const times = new Set(ours.map((l) => l.split('\t')[0]));
      const all = (await tshark(args(refPcap(cap)))).split('\n').filter(Boolean);
      const orig = all.filter((l) => times.has(l.split('\t')[0]));
      assert.equal(ours.length, orig.length, `${cap}: the same packets as the original`);
      assert.ok(orig.length >= all.length - 1, `${cap}: ${all.length - orig.length} packets were noise`);
      for (let i = 0; i < orig.length; i++) assert.equal(ours[i], orig[i], `${cap} packet ${i + 1}`);
    }
  });

  it('retro dumps and header-only dumps of the same packets: each packet once, with its payload, marked retro', async () => {
    const d = join(dir, 'retro');
    const agentId = '5d9a1c7e-2b3f-4a6d-8e9f-0a1b2c3d4e5f';
    const hdr = await makeDumps(refPcap('ndpi/netflix.pcap'), d, { keyFile, snapLen: 0, agentId });
    const full = await makeDumps(refPcap('ndpi/netflix.pcap'), join(dir, 'retro-full'), { keyFile, snapLen: 65535, agentId });
    // the agent's ring answers a pull for one peer: that peer's packets, full payload, flagged retro
    const flows = importDumps(join(dir, 'retro-flows.db'), hdr.dumps.map((x) => x.path));
    const peer = flows.filter((f) => f.proto === 'tcp').sort((a, b) => b.resp_ip_bytes - a.resp_ip_bytes)[0]!.resp_addr;
    const w = new DumpWriter({ agentId, anonKeyId: full.anonKeyId, snapLen: 65535, retro: true });
    let peerPackets = 0;
    for (const x of full.dumps) decodeDump(readFileSync(x.path)).forEach((r) => {
      if (formatIp(r.ipVersion, r.src) === peer || formatIp(r.ipVersion, r.dst) === peer) { w.add(r); peerPackets++; }
    });
    writeFileSync(join(d, 'retro-0001.mkd'), w.finish(9001));
    const out = join(d, 'out.pcapng');
    const s = await exportTo(d, out, { agentId, ...ALL_TIME });
    assert.equal(s.packets, hdr.stats.packetsKept, 'no packet twice');
    assert.equal(s.selection.duplicatesDropped, peerPackets, 'each header-only copy of a retro packet dropped');
    assert.equal(s.retro, peerPackets);
    assert.equal(await countFrames(out, '_ws.malformed'), 0);
    assert.equal(await countFrames(out, `frame.comment contains "retro capture"`), peerPackets);
    assert.equal(await countFrames(out, `(ip.addr == ${peer}) && frame.len == frame.cap_len`), peerPackets, 'the peer\'s packets are whole');
    // and the conversation sums still equal the flows (built from the header-only dumps)
    const ours = flowConversations(flows, 'tcp');
    const exact = await tsharkFrameSums(out, 'tcp');
    for (const [k, c] of ours) assert.deepEqual(exact.get(k), c, k);
  });

  it('selections: a peer, a port, one flow (tshark sees exactly that flow), limits', async () => {
    const d = join(dir, 'select');
    const rep = await makeDumps(refPcap('ndpi/netflix.pcap'), d, { keyFile, snapLen: 0 });
    const flows = importDumps(join(dir, 'select.db'), rep.dumps.map((x) => x.path));
    const tcp = flows.filter((f) => f.proto === 'tcp');
    const server = tcp[0]!.resp_addr;
    const out = join(d, 'peer.pcapng');
    const sp = await exportTo(d, out, { agentId: rep.agentId, ...ALL_TIME, peer: server });
    assert.ok(sp.packets > 0);
    assert.equal(await countFrames(out, `!(ip.addr == ${server})`), 0, 'only the peer\'s packets');
    assert.equal(await countFrames(out, 'frame'), flows.filter((f) => f.orig_addr === server || f.resp_addr === server).reduce((a, f) => a + f.orig_pkts + f.resp_pkts, 0));
    const sport = await exportTo(d, join(d, 'port.pcapng'), { agentId: rep.agentId, ...ALL_TIME, port: 53 });
    assert.equal(sport.packets, flows.filter((f) => f.resp_port === 53 || f.orig_port === 53).reduce((a, f) => a + f.orig_pkts + f.resp_pkts, 0));
    // one flow: its records' tuple and time span
    const uid = tcp[3]!.uid;
    const scope = flowScope(flows.filter((f: FlowRecord) => f.uid === uid), `flow ${uid}`);
    const fo = join(d, 'flow.pcapng');
    const sf = await exportTo(d, fo, { agentId: scope.agentId, sinceUs: scope.sinceUs, untilUs: scope.untilUs, flows: scope.flows });
    const conv = await tsharkFrameSums(fo, 'tcp');
    assert.equal(conv.size, 1);
    const mine = flowConversations(flows.filter((f) => f.uid === uid), 'tcp');
    assert.deepEqual([...conv.values()][0], [...mine.values()][0]);
    assert.equal(sf.packets, [...mine.values()][0]!.frames[0] + [...mine.values()][0]!.frames[1]);
    // bounds
    const cut = await exportTo(d, join(d, 'cut.pcapng'), { agentId: rep.agentId, ...ALL_TIME }, {}, { maxPackets: 100 });
    assert.equal(cut.packets, 100);
    assert.equal(cut.truncated, 'packets');
    assert.equal(await countFrames(join(d, 'cut.pcapng'), 'frame'), 100);
    await assert.rejects(exportTo(d, join(d, 'x.pcapng'), { agentId: rep.agentId, ...ALL_TIME }, {}, { maxDumps: 1 }), SelectionError);
    // an unreadable dump is skipped and named; the rest is exported
    const victim = readdirSync(d).filter((f) => f.endsWith('.mkd')).sort()[0]!;
    const bytes = readFileSync(join(d, victim));
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(join(d, victim), bytes);
    const part = await exportTo(d, join(d, 'part.pcapng'), { agentId: rep.agentId, ...ALL_TIME });
    assert.equal(part.selection.dumpsFailed.length, 1);
    assert.match(part.selection.dumpsFailed[0]!.error, /checksum/);
    assert.ok(part.packets > 0 && part.packets < rep.stats.packetsKept);
  });
});
