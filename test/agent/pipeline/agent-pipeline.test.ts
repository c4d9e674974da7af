import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { AgentPipeline, type AgentPipelineOptions } from '../../../agent/pipeline/agent-pipeline.js';
import { AddressAnonymizer } from '../../../shared/anonymize/address-anonymizer.js';
import { decodeDump, type DumpHeader } from '../../../shared/dump/index.js';
import { Direction, PacketRecord, RecordFlag } from '../../../shared/packet/packet-record.js';
import { formatIp, parseIp } from '../../../shared/net/ip-address.js';
import { openCaptureFile } from '../../../shared/capture-file/index.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { arp, ether, ipv4, sll, tcp, udp, ACK, PSH, SYN } from '../../helpers/frames.js';

const H = '02:00:00:00:00:0a';
const P = '02:00:00:00:00:0b';
const T0 = 1_700_000_000_000_000;
const KEY = randomBytes(32);

interface Harness {
  p: AgentPipeline;
  dumps: { bytes: Uint8Array; header: DumpHeader }[];
  records(): PacketRecord[];
}

function harness(over: Partial<AgentPipelineOptions> = {}): Harness {
  const dumps: Harness['dumps'] = [];
  let seq = 1;
  const p = new AgentPipeline({
    agentId: randomUUID(),
    anonymizer: new AddressAnonymizer({ key: KEY, policy: 'internal' }),
    nextSequence: () => seq++,
    onDump: (bytes, header) => dumps.push({ bytes, header }),
    ...over,
  });
  return {
    p,
    dumps,
    records: () => {
      const out: PacketRecord[] = [];
      for (const d of dumps) decodeDump(d.bytes).forEach((r) => { out.push(new PacketRecord().copyFrom(r)); });
      return out;
    },
  };
}

function feed(p: AgentPipeline, frame: number[], tsUs = T0, linkType = 1): void {
  const f = Uint8Array.from(frame);
  p.handleFrame(linkType, f, 0, f.length, f.length, tsUs);
}

const pseudo = (addr: string): string => {
  const a = parseIp(addr);
  new AddressAnonymizer({ key: KEY, policy: 'internal' }).anonymize(a.version, a.bytes);
  return formatIp(a.version, a.bytes);
};

describe('agent/pipeline/agent-pipeline', () => {
  it('decodes exactly capLen bytes of a longer reused buffer; recovers wireLen from the IP header', () => {
    const h = harness({ wireLenFromIp: true, hostAddresses: ['10.0.0.5'] });
    const buf = new Uint8Array(65535).fill(0xee);
    const frame = ether(P, H, 0x0800, ipv4('10.0.0.5', '198.51.100.7', 6, tcp(50000, 443, ACK | PSH, new Array(1000).fill(1))));
    buf.set(frame);
    const capLen = 14 + 20 + 20 + 100; // the capture kept only part of the frame
    h.p.handleFrame(1, buf, 0, capLen, capLen, T0);
    h.p.flush();
    const [r] = h.records();
    assert.equal(r!.wireLen, frame.length, 'wire length from the IP total length');
    assert.equal(r!.payloadLen, 1000);
    assert.equal(r!.direction, Direction.Out);
    const s = h.p.stats();
    assert.equal(s.truncated, 0, 'a short capture of payload is not a truncated header');
    assert.equal(s.packetsKept, 1);
  });

  it('live scope on cooked frames: kernel packet type gives direction; loopback and other hosts are dropped', () => {
    const h = harness({ liveLinkScope: true });
    const out = ipv4('192.168.1.20', '198.51.100.7', 17, udp(40000, 53));
    const back = ipv4('198.51.100.7', '192.168.1.20', 17, udp(53, 40000));
    feed(h.p, sll(4, 1, H, 0x0800, out), T0, 113); // outgoing
    feed(h.p, sll(0, 1, P, 0x0800, back), T0 + 1, 113); // to us
    feed(h.p, sll(3, 1, P, 0x0800, ipv4('192.168.1.30', '192.168.1.40', 6, tcp(1, 2, SYN))), T0 + 2, 113); // other host
    feed(h.p, sll(4, 772, '00:00:00:00:00:00', 0x0800, ipv4('192.168.1.20', '192.168.1.20', 6, tcp(3, 4, SYN))), T0 + 3, 113);
    feed(h.p, sll(0, 772, '00:00:00:00:00:00', 0x0800, ipv4('192.168.1.20', '192.168.1.20', 6, tcp(3, 4, SYN))), T0 + 4, 113);
    h.p.flush();
    const recs = h.records();
    assert.deepEqual(recs.map((r) => r.direction), [Direction.Out, Direction.In]);
    assert.equal(formatIp(4, recs[0]!.src), pseudo('192.168.1.20'));
    assert.equal(formatIp(4, recs[0]!.dst), '198.51.100.7');
    const s = h.p.stats();
    assert.equal(s.excluded.otherHost, 1);
    assert.equal(s.excluded.loopback, 2);
    assert.equal(s.packetsSeen, 5);
    assert.equal(s.packetsKept + s.excludedTotal, s.packetsSeen);
    const lo = harness({ liveLinkScope: true, includeLoopback: true });
    feed(lo.p, sll(4, 772, '00:00:00:00:00:00', 0x0800, ipv4('127.0.0.1', '127.0.0.1', 6, tcp(3, 4, SYN))), T0, 113);
    assert.equal(lo.p.stats().packetsKept, 1);
  });

  it('sampled noise reaches the dump without payload, and ARP addresses are pseudonymized', () => {
    const h = harness({ noiseSampleSeconds: 60, snapLen: 1500 });
    feed(h.p, ether('ff:ff:ff:ff:ff:ff', H, 0x0806, arp(1, H, '192.168.1.20', '00:00:00:00:00:00', '192.168.1.1')));
    const hostname = [...Buffer.from('alice-laptop 192.168.1.20 02:00:00:00:00:0a')];
    feed(h.p, ether('01:00:5e:00:00:fb', H, 0x0800, ipv4('192.168.1.20', '224.0.0.251', 17, udp(5353, 5353, hostname))), T0 + 1);
    feed(h.p, ether(P, H, 0x0800, ipv4('192.168.1.20', '198.51.100.7', 17, udp(40000, 53, [1, 2, 3]))), T0 + 2);
    feed(h.p, ether('ff:ff:ff:ff:ff:ff', H, 0x0806, arp(1, H, '192.168.1.20', '00:00:00:00:00:00', '192.168.1.1')), T0 + 61e6);
    h.p.flush();
    const recs = h.records();
    assert.equal(recs.length, 3);
    const [a, m, d] = recs;
    assert.equal(a!.ipVersion, 0);
    assert.equal(formatIp(4, a!.src), pseudo('192.168.1.20'));
    assert.equal(formatIp(4, a!.dst), pseudo('192.168.1.1'));
    assert.equal(a!.flags & (RecordFlag.SrcAnon | RecordFlag.DstAnon), RecordFlag.SrcAnon | RecordFlag.DstAnon);
    assert.equal(m!.payload.length, 0, 'sampled mDNS keeps no payload');
    assert.equal(m!.payloadLen, hostname.length);
    assert.deepEqual([...d!.payload], [1, 2, 3], 'ordinary traffic keeps its payload');
    const s = h.p.stats();
    assert.equal(s.noiseSampled.arp, 1);
    assert.equal(s.noiseSampled.mdns, 1);
    assert.equal(s.excluded.arp, 1, 'after the window');
  });

  it('TCP frames through the pair memo open a pending noise window and end a sampled run, as others do', () => {
    const h = harness({ snapLen: 1500 });
    const data = (ts: number, bytes: number[]): void =>
      feed(h.p, ether(P, H, 0x0800, ipv4('192.168.1.20', '198.51.100.7', 6, tcp(40000, 443, ACK | PSH, bytes))), ts);
    const mdns = (ts: number): void =>
      feed(h.p, ether('01:00:5e:00:00:fb', H, 0x0800, ipv4('192.168.1.20', '224.0.0.251', 17, udp(5353, 5353, [7, 7]))), ts);
    data(T0, [1]);
    data(T0 + 1, [2]); // the pair memo has this address pair now
    h.p.allowNoiseFor(10); // no start time: the window opens at the next packet, a memo hit
    data(T0 + 1e6, [3]);
    mdns(T0 + 2e6); // in the window (until T0 + 11 s): sampled
    data(T0 + 3e6, [4, 4]); // a memo hit after sampled noise: its payload is kept
    mdns(T0 + 11.5e6); // the window opened at T0 + 1 s closed at T0 + 11 s: excluded (opened by the mDNS frame, it would not have)
    h.p.flush();
    const recs = h.records();
    assert.deepEqual(recs.map((r) => [...r.payload]), [[1], [2], [3], [], [4, 4]]);
    const s = h.p.stats();
    assert.equal(s.noiseSampled.mdns, 1);
    assert.equal(s.excluded.mdns, 1);
  });

  it('snap length, dump limits and time rotation change at run time', () => {
    const h = harness({ packetsPerDump: 1000, dumpSeconds: 120 });
    const pkt = (i: number): number[] => ether(P, H, 0x0800, ipv4('10.0.0.5', '198.51.100.7', 6, tcp(50000, 443, ACK | PSH, new Array(100).fill(i))));
    feed(h.p, pkt(1), T0);
    h.p.setSnapLen(10);
    feed(h.p, pkt(2), T0 + 1);
    h.p.setDumpLimits(3, 120);
    feed(h.p, pkt(3), T0 + 2); // third packet: dump complete
    assert.equal(h.dumps.length, 1);
    assert.equal(h.dumps[0]!.header.packetCount, 3);
    assert.equal(h.dumps[0]!.header.snapLen, 10);
    assert.deepEqual(h.records().map((r) => r.payload.length), [0, 10, 10]);
    feed(h.p, pkt(4), T0 + 10);
    h.p.tick(T0 + 10 + 119e6);
    assert.equal(h.dumps.length, 1);
    h.p.tick(T0 + 10 + 120e6);
    assert.equal(h.dumps.length, 2, 'time-based rotation while idle');
    h.p.setSnapLen(0);
    h.p.addPeerRule({ address: '198.51.100.7', snapLen: 50, untilUs: T0 + 200e6 });
    feed(h.p, pkt(5), T0 + 130e6);
    h.p.tick(T0 + 300e6);
    assert.equal(h.p.stats().peerRules, 0, 'expired by tick');
    h.p.flush();
    assert.equal(h.records().at(-1)!.payload.length, 50);
    assert.throws(() => h.p.setSnapLen(1e6), /snap length/);
    assert.throws(() => h.p.setDumpLimits(0, 1), /maxPackets/);
    const s = h.p.stats();
    assert.equal(s.dumps, h.dumps.length);
    assert.equal(s.dumpBytes, h.dumps.reduce((n, d) => n + d.bytes.length, 0));
  });

  it('host addresses can change at run time (roaming)', () => {
    const h = harness({ hostAddresses: ['10.0.0.5'] });
    const f = ether(P, H, 0x0800, ipv4('172.16.9.9', '198.51.100.7', 17, udp(40000, 53)));
    feed(h.p, f);
    h.p.setHostAddresses(['172.16.9.9'], ['172.16.9.255']);
    feed(h.p, f, T0 + 1);
    feed(h.p, ether(P, H, 0x0800, ipv4('172.16.9.9', '172.16.9.255', 17, udp(40000, 9999))), T0 + 2);
    h.p.flush();
    assert.deepEqual(h.records().map((r) => r.direction), [Direction.Unknown, Direction.Out]);
    assert.equal(h.p.stats().excluded.ipBroadcast, 1);
    assert.deepEqual(h.p.hostAddresses, ['172.16.9.9']);
  });

  it('a frame at an offset inside a larger buffer gives the record the frame alone gives (Ethernet, SLL)', () => {
    const cases: { lt: number; frame: number[] }[] = [
      { lt: 1, frame: ether(P, H, 0x0800, ipv4('10.0.0.5', '198.51.100.7', 17, udp(50000, 53, [1, 2, 3, 4, 5, 6, 7, 8]))) },
      { lt: 1, frame: ether(P, H, 0x0800, ipv4('10.0.0.5', '198.51.100.7', 6, tcp(50000, 443, ACK | PSH, new Array(300).fill(7)))) },
      // SLL: outgoing, then a broadcast (noise) and a frame from another host (live scope)
      { lt: 113, frame: sll(4, 1, H, 0x0800, ipv4('10.0.0.5', '198.51.100.7', 6, tcp(50001, 443, SYN))) },
      { lt: 113, frame: sll(1, 1, P, 0x0800, ipv4('10.0.0.9', '10.0.0.255', 17, udp(5000, 5000, [9]))) },
      { lt: 113, frame: sll(3, 1, P, 0x0800, ipv4('10.0.0.9', '10.0.0.7', 6, tcp(50002, 22, SYN))) },
    ];
    const opts: Partial<AgentPipelineOptions> = { snapLen: 64, wireLenFromIp: true, liveLinkScope: true, hostAddresses: ['10.0.0.5'] };
    const alone = harness(opts);
    const inBatch = harness(opts);
    // the batch: frames after a junk prefix whose first bytes read as an SLL broadcast (type 1)
    const batch = new Uint8Array(4096).fill(0x01);
    batch[0] = 0;
    let off = 37;
    for (const { lt, frame } of cases) {
      const capLen = frame.length - 2; // a snapped capture: wireLen comes back from the IP header
      const f = Uint8Array.from(frame);
      alone.p.handleFrame(lt, f, 0, capLen, capLen, T0);
      batch.set(f, off);
      inBatch.p.handleFrame(lt, batch, off, capLen, capLen, T0);
      off += f.length + 3;
    }
    alone.p.flush();
    inBatch.p.flush();
    const a = alone.records();
    assert.equal(a.length, 3, 'two Ethernet frames and the outgoing SLL frame are kept');
    assert.deepEqual(inBatch.records(), a);
    assert.deepEqual(inBatch.p.stats(), alone.p.stats());
    assert.equal(a[1]!.payload.length, 64, 'payload bytes picked at the frame\'s offset');
    assert.ok(a[1]!.payload.every((b) => b === 7));
  });

  it('handleFrameAt (a reader\'s frame object) writes the dumps handleFrame writes from the same frames', () => {
    const opts: Partial<AgentPipelineOptions> = { hostAddresses: ['192.168.1.20'], packetsPerDump: 100, snapLen: 40 };
    const agentId = randomUUID();
    const byArgs = harness({ ...opts, agentId });
    const byFrame = harness({ ...opts, agentId });
    let frames = 0;
    // Ethernet with TCP, UDP, IPv6, VLAN and MPLS; DNS over TCP
    for (const f of ['zeek/wikipedia.pcap', 'zeek/ftp_ipv6.pcap', 'zeek/mixed-vlan-mpls.pcap', 'tcpdump/dns_tcp.pcap']) {
      const a = openCaptureFile(`${referencePcapsDir()}/${f}`);
      for (let x = a.next(); x; x = a.next()) byArgs.p.handleFrame(x.linkType, x.buf, x.offset, x.capLen, x.wireLen, x.tsUs);
      a.close();
      const b = openCaptureFile(`${referencePcapsDir()}/${f}`);
      for (let x = b.next(); x; x = b.next(), frames++) byFrame.p.handleFrameAt(x);
      b.close();
    }
    byArgs.p.flush();
    byFrame.p.flush();
    assert.ok(frames > 300 && byFrame.dumps.length > 1, `${frames} frames, ${byFrame.dumps.length} dumps`);
    assert.equal(byFrame.dumps.length, byArgs.dumps.length);
    byFrame.dumps.forEach((d, i) => assert.ok(Buffer.from(d.bytes).equals(byArgs.dumps[i]!.bytes), `dump ${i} differs`));
    assert.deepEqual(byFrame.p.stats(), byArgs.p.stats());
    assert.ok(byFrame.records().every((r) => r.tsUs > T0 / 2), 'every record has its frame\'s time');
  });

  it('throughput: reference traffic through decode, exclude, anonymize, encode, compress', function () {
    const frames: { lt: number; data: Uint8Array; wl: number }[] = [];
    for (const f of ['zeek/ssh_ssh.pcap', 'zeek/ftp_cwd-navigation.pcap', 'ndpi/ocs.pcap', 'zeek/wikipedia.pcap']) {
      const r = openCaptureFile(`${referencePcapsDir()}/${f}`);
      for (let x = r.next(); x; x = r.next()) frames.push({ lt: x.linkType, data: x.data.slice(), wl: x.wireLen });
      r.close();
    }
    const h = harness({ hostAddresses: ['192.168.1.20'] });
    const n = 600_000;
    let ts = T0;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const f = frames[i % frames.length]!;
      h.p.handleFrame(f.lt, f.data, 0, f.data.length, f.wl, (ts += 3));
    }
    h.p.flush();
    const ms = performance.now() - t0;
    const rate = Math.round(n / (ms / 1000));
    const s = h.p.stats();
    console.log(`      pipeline: ${n} frames in ${ms.toFixed(0)} ms = ${rate} frames/s (${s.dumps} dumps)`);
    assert.equal(s.packetsKept + s.excludedTotal, n);
    // loose floor: the machine is shared; docs/capture.md has the measured numbers
    assert.ok(rate > 100_000, `${rate} frames/s`);
  });
});
