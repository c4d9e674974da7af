// Live capture, for real: the agent's capture + pipeline runs inside namespace A (a child
// process under `ip netns exec`), real TCP/UDP/IPv6 traffic and link-local noise cross a
// veth pair to namespace B, and tcpdump records the same interface as the independent
// reference the dumps are checked against (with tshark).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { addVethLink, netnsAvailable, netnsExec, removeVethLink, withNetnsPair, type NetnsPair } from '../../helpers/netns.js';
import { startCaptureChild } from './live-child-driver.js';
import { COLLECTOR_PORT, TCP_ECHO_PORT, UDP_ECHO_PORT, runClient, startEchoServers, startTcpdump, stopProcess, udpBurst, udpPaced } from './netns-traffic.js';
import { decodeDump } from '../../../shared/dump/index.js';
import { AddressAnonymizer } from '../../../shared/anonymize/address-anonymizer.js';
import { Direction, PacketRecord, RecordFlag, TCP_ACK, TCP_SYN } from '../../../shared/packet/packet-record.js';
import { formatIp, parseIp } from '../../../shared/net/ip-address.js';
import { skipBecause } from '../../helpers/skip.js';

function toolsAvailable(): boolean {
  if (!netnsAvailable()) return false;
  try {
    execFileSync('tcpdump', ['--version'], { stdio: 'ignore' });
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function records(dir: string): PacketRecord[] {
  const out: PacketRecord[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.mkd')).sort()) {
    decodeDump(readFileSync(join(dir, f))).forEach((r) => { out.push(new PacketRecord().copyFrom(r)); });
  }
  return out;
}

/** tshark display-filter count over the reference capture. */
function refCount(pcap: string, filter: string): number {
  const out = execFileSync('tshark', ['-r', pcap, '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.split('\n').filter((l) => l.trim() !== '').length;
}

describe('agent/capture/live-capture (network namespaces, real libpcap)', function () {
  this.timeout(60_000);
  before(function () {
    if (!toolsAvailable()) skipBecause(this, 'needs root, iproute2 netns, tcpdump and tshark');
  });

  it('captures real TCP/UDP over IPv4 and IPv6 with direction, ports, counts and pseudonyms; excludes noise and collector traffic', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mk-live-'));
    try {
      await withNetnsPair(async (pair: NetnsPair) => {
        const key = randomBytes(32);
        const outDir = join(dir, 'dumps');
        execFileSync('mkdir', ['-p', outDir]);
        const refPcap = join(dir, 'ref.pcap');
        const server = await startEchoServers(pair.nsB);
        const tcpdump = await startTcpdump(pair.nsA, pair.ifA, refPcap);
        const cap = await startCaptureChild(pair.nsA, {
          interfaces: 'any',
          outDir,
          keyHex: key.toString('hex'),
          policy: 'internal',
          agentId: randomUUID(),
          collectors: [{ host: pair.ipB, port: COLLECTOR_PORT }],
        });
        assert.equal(cap.ready.sessions.length, 1);
        assert.equal(cap.ready.sessions[0]!.device, 'any');
        assert.ok(cap.ready.hostAddresses.includes(pair.ipA));
        // forget neighbours so the exchange starts with ARP / neighbour discovery
        await netnsExec(pair.nsA, 'ip', ['neigh', 'flush', 'all']);
        await netnsExec(pair.nsB, 'ip', ['neigh', 'flush', 'all']);
        const wallStart = Date.now() * 1000;
        await runClient(pair.nsA, {
          peer4: pair.ipB, peer6: pair.ip6B, self4: pair.ipA, broadcast: pair.broadcast,
          udp4: 20, udp6: 5, tcpMessages: 10, size: 200, fill: 0x41, collector: true, noise: true, closedPort: false,
        });
        await new Promise((r) => setTimeout(r, 300));
        const stats = await cap.stop();
        const wallEnd = Date.now() * 1000;
        await stopProcess(tcpdump);
        await stopProcess(server);

        const recs = records(outDir);
        assert.ok(recs.length > 0, 'dumps were written');
        assert.equal(recs.length, stats.packetsKept);

        // --- UDP over IPv4: exact counts, direction, ports, pseudonyms
        const anon = new AddressAnonymizer({ key, policy: 'internal' });
        const pseudo = (a: string): string => { const x = parseIp(a); anon.anonymize(x.version, x.bytes); return formatIp(x.version, x.bytes); };
        const udpOut = recs.filter((r) => r.ipVersion === 4 && r.proto === 17 && r.dport === UDP_ECHO_PORT);
        const udpIn = recs.filter((r) => r.ipVersion === 4 && r.proto === 17 && r.sport === UDP_ECHO_PORT);
        assert.equal(udpOut.length, 20);
        assert.equal(udpIn.length, 20);
        assert.equal(udpOut.length, refCount(refPcap, `ip.src == ${pair.ipA} && udp.dstport == ${UDP_ECHO_PORT}`));
        for (const r of udpOut) {
          assert.equal(r.direction, Direction.Out);
          assert.equal(formatIp(4, r.src), pseudo(pair.ipA));
          assert.equal(formatIp(4, r.dst), pseudo(pair.ipB));
          assert.equal(r.flags & (RecordFlag.SrcAnon | RecordFlag.DstAnon), RecordFlag.SrcAnon | RecordFlag.DstAnon);
          assert.equal(r.payloadLen, 200);
          assert.equal(r.payload.length, 0, 'snap length 0: headers only');
          assert.equal(r.wireLen, 16 + 20 + 8 + 200, 'cooked (SLL) header + IP + UDP + data');
        }
        for (const r of udpIn) {
          assert.equal(r.direction, Direction.In);
          assert.equal(formatIp(4, r.src), pseudo(pair.ipB));
        }

        // --- UDP over IPv6 (ULA addresses are internal too)
        const u6 = recs.filter((r) => r.ipVersion === 6 && r.proto === 17 && (r.dport === UDP_ECHO_PORT || r.sport === UDP_ECHO_PORT));
        assert.equal(u6.length, 10);
        assert.equal(u6.filter((r) => r.direction === Direction.Out).length, 5);
        for (const r of u6.filter((x) => x.direction === Direction.Out)) assert.equal(formatIp(6, r.src), pseudo(pair.ip6A));

        // --- TCP: same segments as tcpdump saw, handshake directions right
        const t = recs.filter((r) => r.proto === 6 && (r.dport === TCP_ECHO_PORT || r.sport === TCP_ECHO_PORT));
        assert.equal(t.length, refCount(refPcap, `tcp.port == ${TCP_ECHO_PORT}`));
        const syn = t.find((r) => (r.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN)!;
        const synAck = t.find((r) => (r.tcpFlags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK))!;
        assert.equal(syn.direction, Direction.Out);
        assert.equal(syn.dport, TCP_ECHO_PORT);
        assert.equal(synAck.direction, Direction.In);
        assert.ok(syn.tcpMss > 0, 'TCP options decoded');
        const dataOut = t.filter((r) => r.direction === Direction.Out).reduce((n, r) => n + r.payloadLen, 0);
        assert.equal(dataOut, 10 * 200);

        // --- collector traffic: on the wire, not in the dumps
        assert.ok(refCount(refPcap, `tcp.port == ${COLLECTOR_PORT}`) >= 6);
        assert.equal(recs.filter((r) => r.proto === 6 && (r.sport === COLLECTOR_PORT || r.dport === COLLECTOR_PORT)).length, 0);

        // --- noise: excluded, counted, and counted right
        assert.equal(recs.filter((r) => r.ipVersion === 0).length, 0, 'no ARP record');
        assert.equal(recs.filter((r) => [9999, 5353, 1900].includes(r.dport)).length, 0, 'no broadcast/multicast record');
        const ex = stats.excluded;
        assert.ok(ex.arp >= 2, `ARP request and reply (${ex.arp})`);
        assert.equal(ex.arp, refCount(refPcap, 'arp'));
        assert.equal(ex.ipBroadcast, refCount(refPcap, `ip.dst == 255.255.255.255 || ip.dst == ${pair.broadcast}`));
        assert.ok(ex.ipBroadcast >= 2);
        assert.equal(ex.mdns, refCount(refPcap, 'udp.port == 5353'));
        assert.equal(ex.ssdp, refCount(refPcap, 'udp.port == 1900'));
        assert.ok(ex.mdns >= 1 && ex.ssdp >= 1);
        assert.ok(ex.ndp >= 1, 'IPv6 neighbour discovery before the UDP6 exchange');
        assert.equal(stats.packetsKept + stats.excludedTotal, stats.packetsSeen);

        // --- health: no drops, the kernel's count agrees with what reached the pipeline
        assert.equal(stats.capture.kernelDrops, 0);
        assert.equal(stats.capture.kernelPackets, stats.capture.packets);
        assert.equal(stats.packetsSeen, stats.capture.packets);
        assert.equal(stats.capture.opened, 1);
        assert.equal(stats.capture.sinkErrors, 0);
        assert.equal(stats.queueDrops, 0);

        // --- timestamps: wall clock, in order per direction, inside the run
        for (const r of recs) assert.ok(r.tsUs >= wallStart - 5000 && r.tsUs <= wallEnd + 5000, `ts ${r.tsUs} in [${wallStart}, ${wallEnd}]`);
        for (let i = 1; i < recs.length; i++) assert.ok(recs[i]!.tsUs >= recs[i - 1]!.tsUs, 'monotonic');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const base = (outDir: string, key: Buffer) => ({ outDir, keyHex: key.toString('hex'), policy: 'internal' as const, agentId: randomUUID() });
  const plain = { udp4: 0, udp6: 0, tcpMessages: 0, size: 100, fill: 1, collector: false, noise: false, closedPort: false };

  it('roaming on the "any" device: a new interface is captured at once, one that vanishes does no harm', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mk-roam-'));
    try {
      await withNetnsPair(async (pair) => {
        const server = await startEchoServers(pair.nsB);
        const cap = await startCaptureChild(pair.nsA, { ...base(dir, randomBytes(32)), interfaces: 'any', rescanSeconds: 1 });
        const vpn = addVethLink(pair); // e.g. a VPN interface coming up after the agent started
        await runClient(pair.nsA, { ...plain, peer4: vpn.ipB, peer6: pair.ip6B, self4: vpn.ipA, broadcast: pair.broadcast, udp4: 7 });
        await new Promise((r) => setTimeout(r, 1500)); // let a rescan see it
        removeVethLink(pair, vpn); // ...and going away
        await runClient(pair.nsA, { ...plain, peer4: pair.ipB, peer6: pair.ip6B, self4: pair.ipA, broadcast: pair.broadcast, udp4: 3 });
        await new Promise((r) => setTimeout(r, 1500));
        const stats = await cap.stop();
        await stopProcess(server);
        assert.equal(stats.capture.opened, 1, 'one session throughout');
        const recs = records(dir).filter((r) => r.proto === 17 && (r.dport === UDP_ECHO_PORT || r.sport === UDP_ECHO_PORT));
        assert.equal(recs.length, 2 * (7 + 3), 'both exchanges captured, both directions');
        const log = cap.stderr();
        assert.ok(log.includes(`"appeared":["${vpn.ifA}"]`), 'the new interface was noticed');
        assert.ok(log.includes(`"gone":["${vpn.ifA}"]`), 'the vanished interface was noticed');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts kernel drops when the ring overflows, consistently with what was delivered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mk-drop-'));
    try {
      await withNetnsPair(async (pair) => {
        // 1 MiB ring = about 3,000 slots at the header snap length: the burst below cannot fit
        // while the agent is busy
        const cap = await startCaptureChild(pair.nsA, { ...base(dir, randomBytes(32)), interfaces: 'any', bufferBytes: 1 << 20 });
        await runClient(pair.nsB, { ...plain, peer4: pair.ipA, peer6: pair.ip6A, self4: pair.ipB, broadcast: pair.broadcast, closedPort: false }); // ARP warm-up
        const { done } = await cap.block(3000);
        await udpBurst(pair.nsB, pair.ipA, 9, 10_000);
        await done;
        await new Promise((r) => setTimeout(r, 200));
        const s = await cap.stop();
        assert.ok(s.capture.kernelDrops !== null && s.capture.kernelDrops > 3000, `kernel drops ${s.capture.kernelDrops}`);
        assert.equal(s.capture.kernelPackets! - s.capture.kernelDrops!, s.capture.packets, 'received = delivered + dropped');
        assert.equal(s.kernelDrops, s.capture.kernelDrops, 'pipeline health carries the kernel counters');
        assert.equal(s.packetsSeen, s.capture.packets);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('per-interface sessions: Ethernet frames, own-MAC filter, direction from host addresses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mk-iface-'));
    try {
      await withNetnsPair(async (pair) => {
        const server = await startEchoServers(pair.nsB);
        const cap = await startCaptureChild(pair.nsA, { ...base(dir, randomBytes(32)), interfaces: [pair.ifA] });
        assert.equal(cap.ready.sessions[0]!.linkType, 1);
        assert.match(cap.ready.sessions[0]!.filter, new RegExp(`ether host ${pair.macA}`));
        await runClient(pair.nsA, { ...plain, peer4: pair.ipB, peer6: pair.ip6B, self4: pair.ipA, broadcast: pair.broadcast, udp4: 4, tcpMessages: 2 });
        await new Promise((r) => setTimeout(r, 300));
        const s = await cap.stop();
        await stopProcess(server);
        const recs = records(dir).filter((r) => r.proto === 17 && (r.dport === UDP_ECHO_PORT || r.sport === UDP_ECHO_PORT));
        assert.equal(recs.length, 8);
        for (const r of recs) {
          assert.equal(r.direction, r.dport === UDP_ECHO_PORT ? Direction.Out : Direction.In);
          assert.equal(r.wireLen, 14 + 20 + 8 + 100, 'Ethernet header + IP + UDP + data');
        }
        assert.ok(s.excluded.arp >= 2);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('per-interface sessions survive their interface going down and resume when it is back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mk-down-'));
    try {
      await withNetnsPair(async (pair) => {
        const cap = await startCaptureChild(pair.nsA, { ...base(dir, randomBytes(32)), interfaces: [pair.ifA], rescanSeconds: 1 });
        await udpPaced(pair.nsB, pair.ipA, 9, 50, 5);
        await netnsExec(pair.nsA, 'ip', ['link', 'set', pair.ifA, 'down']);
        // the handle's error or the next rescan (whichever comes first on a loaded machine) ends the session
        let mid = await cap.stats();
        for (let i = 0; i < 50 && mid.capture.sessions.length > 0; i++) {
          await new Promise((r) => setTimeout(r, 200));
          mid = await cap.stats();
        }
        assert.equal(mid.capture.sessions.length, 0, 'the session on the downed interface ended');
        assert.equal(mid.capture.closed, 1, 'ended once (reported as failed or closed by the rescan), and the capture process lives on');
        assert.ok(mid.capture.failures <= 1);
        await netnsExec(pair.nsA, 'ip', ['link', 'set', pair.ifA, 'up']);
        for (let i = 0; i < 50 && (await cap.stats()).capture.sessions.length === 0; i++) await new Promise((r) => setTimeout(r, 200));
        await new Promise((r) => setTimeout(r, 1500)); // the link is back (veth carrier, ARP)
        await udpPaced(pair.nsB, pair.ipA, 9, 50, 5);
        await new Promise((r) => setTimeout(r, 300));
        const s = await cap.stop();
        assert.ok(s.capture.opened >= 2, 'reopened after the interface came back');
        const udp = records(dir).filter((r) => r.proto === 17 && r.dport === 9);
        assert.equal(udp.length, 100, 'both rounds captured');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('changing the snap length swaps sessions without losing or duplicating a packet', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mk-swap-'));
    try {
      await withNetnsPair(async (pair) => {
        const cap = await startCaptureChild(pair.nsA, { ...base(dir, randomBytes(32)), interfaces: 'any' });
        assert.equal(cap.ready.sessions[0]!.snapLen, 256, 'header-only capture needs only the header room');
        await runClient(pair.nsB, { ...plain, peer4: pair.ipA, peer6: pair.ip6A, self4: pair.ipB, broadcast: pair.broadcast, closedPort: false }); // ARP warm-up
        const count = 6000;
        const sending = udpPaced(pair.nsB, pair.ipA, 9, count, 3);
        const snaps: number[] = [];
        for (const n of [100, 2000, 0, 65535, 16, 0]) {
          await new Promise((r) => setTimeout(r, 300));
          snaps.push(await cap.snap(n));
        }
        await sending;
        await new Promise((r) => setTimeout(r, 2500)); // replaced sessions drain and close
        const s = await cap.stop();
        assert.deepEqual(snaps, [416, 4000, 256, 65535, 416, 256]);
        assert.equal(s.capture.swaps, 6);
        // ~2,000 datagrams/s: each cut's band (3 guards of 5 ms) holds some for the merge
        assert.ok(s.capture.handoverPackets > 0, `packets delivered by the handover merges: ${s.capture.handoverPackets}`);
        const udp = records(dir).filter((r) => r.proto === 17 && r.dport === 9);
        // a ring that overflowed while the machine was busy (the 65535 phase has 128 slots,
        // ~40 ms of this traffic) is counted by the kernel: that is not a gap of the swap
        const drops = s.capture.kernelDrops ?? 0;
        const seen = new Map<string, number>();
        for (const r of udp) seen.set(`${r.tsUs}:${r.ipId}`, (seen.get(`${r.tsUs}:${r.ipId}`) ?? 0) + 1);
        const twice = [...seen].filter(([, n]) => n > 1).map(([k]) => k);
        const cuts = cap.stderr().split('\n').filter((l) => l.includes('capture handover')).join('\n');
        assert.ok(udp.length <= count && count - udp.length <= drops, `every datagram once: ${udp.length} of ${count}, ${drops} counted as kernel drops; twice: ${twice.join(' ')}\n${cuts}`);
        assert.equal(new Set(udp.map((r) => `${r.tsUs}:${r.ipId}`)).size, udp.length, 'no datagram twice (a copy would repeat the kernel stamp and IP id)');
        const withPayload = udp.filter((r) => r.payload.length === 64).length;
        assert.ok(withPayload > 0 && withPayload < count, `payload kept while it was asked for (${withPayload})`);
        for (const r of udp) assert.ok(r.payload.length === 0 || r.payload.length === 16 || r.payload.length === 64);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('collector names resolve into the filter; the shipper\'s actual connection address is added at run time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mk-coll-'));
    try {
      await withNetnsPair(async (pair) => {
        const server = await startEchoServers(pair.nsB);
        const cap = await startCaptureChild(pair.nsA, {
          ...base(dir, randomBytes(32)), interfaces: 'any',
          collectors: [{ host: 'collector.test', port: COLLECTOR_PORT }, { host: 'unresolvable.test', port: 443 }],
          resolveMap: { 'collector.test': ['192.0.2.77', '2001:db8::77'] },
        });
        const f0 = cap.ready.sessions[0]!.filter;
        assert.ok(f0.endsWith(`not ((host 192.0.2.77 or host 2001:db8::77) and tcp port ${COLLECTOR_PORT})`), f0);
        // DNS said 192.0.2.77, but the shipper ended up talking to pair.ipB: traffic to it is on
        // the wire and must not be captured from now on
        await cap.exclude(`::ffff:${pair.ipB}`, COLLECTOR_PORT);
        await runClient(pair.nsA, { ...plain, peer4: pair.ipB, peer6: pair.ip6B, self4: pair.ipA, broadcast: pair.broadcast, collector: true, udp4: 2 });
        await new Promise((r) => setTimeout(r, 300));
        const s = await cap.stop();
        await stopProcess(server);
        assert.equal(s.capture.opened, 2, 'reopened once with the new filter');
        assert.ok(s.capture.collectorAddresses.includes(`${pair.ipB}:${COLLECTOR_PORT}`), JSON.stringify(s.capture.collectorAddresses));
        const recs = records(dir);
        assert.equal(recs.filter((r) => r.proto === 6 && (r.sport === COLLECTOR_PORT || r.dport === COLLECTOR_PORT)).length, 0);
        assert.equal(recs.filter((r) => r.proto === 17 && (r.sport === UDP_ECHO_PORT || r.dport === UDP_ECHO_PORT)).length, 4, 'other traffic still captured');
        assert.match(cap.stderr(), /cannot resolve collector/);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
