import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { decodePacket, DecodedPacket } from '../../../shared/decode/index.js';
import { NoiseFilter, NoiseReason, NOISE_REASONS } from '../../../agent/capture/noise-filter.js';
import { openCaptureFile } from '../../../shared/capture-file/index.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { arp, ether, icmpv6, ipv4, ipv6, sll, tcp, udp, SYN } from '../../helpers/frames.js';
import { skipBecause } from '../../helpers/skip.js';

const HOST = '02:00:00:00:00:0a';
const PEER = '02:00:00:00:00:0b';
const BCAST = 'ff:ff:ff:ff:ff:ff';
const T0 = 1_700_000_000_000_000;

function decode(frame: number[], linkType = 1, tsUs = T0): DecodedPacket {
  const f = Uint8Array.from(frame);
  return decodePacket(linkType, f, f.length, tsUs, new DecodedPacket());
}

const cases: [string, number[], NoiseReason, number?][] = [
  ['ARP request (broadcast)', ether(BCAST, HOST, 0x0806, arp(1, HOST, '10.0.0.5', '00:00:00:00:00:00', '10.0.0.1')), NoiseReason.Arp],
  ['ARP reply (unicast)', ether(HOST, PEER, 0x0806, arp(2, PEER, '10.0.0.1', HOST, '10.0.0.5')), NoiseReason.Arp],
  ['DHCP discover', ether(BCAST, HOST, 0x0800, ipv4('0.0.0.0', '255.255.255.255', 17, udp(68, 67))), NoiseReason.Dhcp],
  ['DHCP renew, unicast between private addresses', ether(PEER, HOST, 0x0800, ipv4('10.0.0.5', '10.0.0.1', 17, udp(68, 67))), NoiseReason.Dhcp],
  ['DHCPv6 solicit', ether('33:33:00:01:00:02', HOST, 0x86dd, ipv6('fe80::5', 'ff02::1:2', 17, udp(546, 547))), NoiseReason.Dhcpv6],
  ['mDNS query', ether('01:00:5e:00:00:fb', HOST, 0x0800, ipv4('10.0.0.5', '224.0.0.251', 17, udp(5353, 5353))), NoiseReason.Mdns],
  ['mDNS unicast reply on the LAN', ether(HOST, PEER, 0x0800, ipv4('10.0.0.1', '10.0.0.5', 17, udp(5353, 41000))), NoiseReason.Mdns],
  ['LLMNR over IPv6', ether('33:33:00:01:00:03', HOST, 0x86dd, ipv6('fe80::5', 'ff02::1:3', 17, udp(50000, 5355))), NoiseReason.Llmnr],
  ['NetBIOS name broadcast', ether(BCAST, HOST, 0x0800, ipv4('10.0.0.5', '10.0.0.255', 17, udp(137, 137))), NoiseReason.NetBios],
  ['NetBIOS datagram', ether(BCAST, HOST, 0x0800, ipv4('10.0.0.5', '10.0.0.255', 17, udp(138, 138))), NoiseReason.NetBios],
  ['SSDP M-SEARCH', ether('01:00:5e:7f:ff:fa', HOST, 0x0800, ipv4('10.0.0.5', '239.255.255.250', 17, udp(50000, 1900))), NoiseReason.Ssdp],
  ['limited broadcast, other port', ether(BCAST, HOST, 0x0800, ipv4('10.0.0.5', '255.255.255.255', 17, udp(50000, 9999))), NoiseReason.IpBroadcast],
  ['directed broadcast sent without an L2 broadcast flag (cooked)', sll(4, 1, HOST, 0x0800, ipv4('10.0.0.5', '10.0.0.255', 17, udp(50000, 9999))), NoiseReason.IpBroadcast, 113],
  ['IPv4 multicast (IGMP-ish group)', ether('01:00:5e:00:00:16', HOST, 0x0800, ipv4('10.0.0.5', '224.0.0.22', 2, [0x22, 0, 0, 0])), NoiseReason.IpMulticast],
  ['IPv6 multicast (MLD report)', ether('33:33:00:00:00:16', HOST, 0x86dd, ipv6('fe80::5', 'ff02::16', 58, icmpv6(143, 0, [0, 0, 0, 0]))), NoiseReason.IpMulticast],
  ['IPv6 neighbour solicitation', ether('33:33:ff:00:00:01', HOST, 0x86dd, ipv6('fe80::5', 'ff02::1:ff00:1', 58, icmpv6(135, 0, new Array(20).fill(0)))), NoiseReason.Ndp],
  ['IPv6 neighbour advertisement (unicast)', ether(HOST, PEER, 0x86dd, ipv6('fe80::1', 'fe80::5', 58, icmpv6(136, 0, new Array(20).fill(0)))), NoiseReason.Ndp],
  ['unicast IP in a broadcast frame', ether(BCAST, HOST, 0x0800, ipv4('10.0.0.5', '10.0.0.1', 6, tcp(1, 2, SYN))), NoiseReason.L2Broadcast],
  ['LLDP (non-IP, L2 multicast)', ether('01:80:c2:00:00:0e', HOST, 0x88cc, [2, 7, 4, 0, 0, 0, 0, 0, 0]), NoiseReason.L2Multicast],
  ['unknown unicast non-IP', ether(PEER, HOST, 0x88b5, [1, 2, 3, 4]), NoiseReason.NonIp],
  ['cooked frame the kernel marked broadcast', sll(1, 1, PEER, 0x0800, ipv4('10.0.0.1', '10.0.0.5', 17, udp(50000, 9999))), NoiseReason.L2Broadcast, 113],
  // kept
  ['TCP 139: NetBIOS session service (SMB) is real traffic', ether(PEER, HOST, 0x0800, ipv4('10.0.0.5', '10.0.0.1', 6, tcp(50000, 139, SYN))), NoiseReason.Kept],
  ['UDP 5353 to an Internet address is not link-local', ether(PEER, HOST, 0x0800, ipv4('10.0.0.5', '198.51.100.7', 17, udp(50000, 5353))), NoiseReason.Kept],
  ['UDP 1900 from an Internet address is not link-local', ether(HOST, PEER, 0x0800, ipv4('203.0.113.9', '10.0.0.5', 17, udp(1900, 50000))), NoiseReason.Kept],
  ['ordinary HTTPS', ether(PEER, HOST, 0x0800, ipv4('10.0.0.5', '198.51.100.7', 6, tcp(50000, 443, SYN))), NoiseReason.Kept],
  ['ordinary IPv6 DNS', ether(PEER, HOST, 0x86dd, ipv6('2001:db8::5', '2001:db8::53', 17, udp(50000, 53))), NoiseReason.Kept],
  ['ICMPv6 echo', ether(PEER, HOST, 0x86dd, ipv6('2001:db8::5', '2001:db8::1', 58, icmpv6(128, 0, [0, 1, 0, 1]))), NoiseReason.Kept],
];

describe('agent/capture/noise-filter', () => {
  for (const [name, frame, want, lt] of cases) {
    it(`${NOISE_REASONS[want]}: ${name}`, () => {
      const nf = new NoiseFilter({ directedBroadcasts: ['10.0.0.255'] });
      const p = decode(frame, lt ?? 1);
      assert.equal(p.issue, '', `decoder issue: ${p.issue}`);
      assert.equal(NOISE_REASONS[nf.classify(p)], NOISE_REASONS[want]);
      assert.equal(nf.filter(p), want);
      const c = nf.counts();
      if (want === NoiseReason.Kept) assert.equal(nf.excludedTotal, 0);
      else assert.equal(c.excluded[NOISE_REASONS[want] as keyof typeof c.excluded], 1);
    });
  }

  it('directed broadcasts follow the host networks given at run time', () => {
    const nf = new NoiseFilter();
    const p = decode(sll(4, 1, HOST, 0x0800, ipv4('192.168.7.20', '192.168.7.255', 17, udp(50000, 9999))), 113);
    assert.equal(nf.classify(p), NoiseReason.Kept);
    nf.setDirectedBroadcasts(['192.168.7.255']);
    assert.equal(nf.classify(p), NoiseReason.IpBroadcast);
  });

  it('the sampling window lets noise through, counts it, and closes by itself (packet time)', () => {
    const nf = new NoiseFilter();
    const frame = ether(BCAST, HOST, 0x0806, arp(1, HOST, '10.0.0.5', '00:00:00:00:00:00', '10.0.0.1'));
    nf.allowNoiseFor(60, T0);
    assert.equal(nf.filter(decode(frame, 1, T0 + 1e6)), NoiseReason.Kept);
    assert.ok(nf.lastSampled);
    assert.equal(nf.filter(decode(frame, 1, T0 + 59.999e6)), NoiseReason.Kept);
    assert.ok(nf.samplingAt(T0 + 30e6));
    assert.equal(nf.filter(decode(frame, 1, T0 + 60e6)), NoiseReason.Arp);
    assert.ok(!nf.lastSampled);
    assert.equal(nf.counts().samplingUntilUs, 0, 'window closed after its end');
    assert.equal(nf.filter(decode(frame, 1, T0 + 1e6)), NoiseReason.Arp, 'a closed window stays closed');
    const c = nf.counts();
    assert.equal(c.sampled.arp, 2);
    assert.equal(c.excluded.arp, 2);
  });

  it('a window requested without a time starts at the next packet; 0 closes it; ticks expire it', () => {
    const nf = new NoiseFilter();
    const noise = ether(BCAST, HOST, 0x0806, arp(1, HOST, '10.0.0.5', '00:00:00:00:00:00', '10.0.0.1'));
    const data = ether(PEER, HOST, 0x0800, ipv4('10.0.0.5', '198.51.100.7', 6, tcp(50000, 443, SYN)));
    nf.allowNoiseFor(10);
    assert.equal(nf.filter(decode(data, 1, T0)), NoiseReason.Kept); // opens the window at T0
    assert.equal(nf.filter(decode(noise, 1, T0 + 9e6)), NoiseReason.Kept);
    assert.equal(nf.filter(decode(noise, 1, T0 + 11e6)), NoiseReason.Arp);
    nf.allowNoiseFor(10, T0 + 20e6);
    nf.expire(T0 + 25e6);
    assert.ok(nf.samplingAt(T0 + 25e6));
    nf.expire(T0 + 30e6);
    assert.equal(nf.counts().samplingUntilUs, 0);
    nf.allowNoiseFor(10, T0 + 40e6);
    nf.allowNoiseFor(0);
    assert.equal(nf.filter(decode(noise, 1, T0 + 41e6)), NoiseReason.Arp);
  });

  it('passKept (a packet known to be kept) opens a pending window and clears lastSampled, counting nothing', () => {
    const nf = new NoiseFilter();
    const noise = ether(BCAST, HOST, 0x0806, arp(1, HOST, '10.0.0.5', '00:00:00:00:00:00', '10.0.0.1'));
    const data = decode(ether(PEER, HOST, 0x0800, ipv4('10.0.0.5', '198.51.100.7', 6, tcp(50000, 443, SYN))), 1, T0);
    nf.allowNoiseFor(10);
    nf.passKept(data); // opens the window at T0, as filter() would
    assert.equal(nf.filter(decode(noise, 1, T0 + 9e6)), NoiseReason.Kept);
    assert.equal(nf.lastSampled, true);
    nf.passKept(data);
    assert.equal(nf.lastSampled, false);
    assert.equal(nf.filter(decode(noise, 1, T0 + 11e6)), NoiseReason.Arp);
    const c = nf.counts();
    assert.equal(c.sampled.arp, 1);
    assert.equal(c.excluded.arp, 1);
    assert.equal(nf.excludedTotal, 1);
  });

  it('an injected clock times the window instead of packet timestamps', () => {
    let now = 5_000_000;
    const nf = new NoiseFilter({ clock: () => now });
    const noise = decode(ether('01:00:5e:00:00:fb', HOST, 0x0800, ipv4('10.0.0.5', '224.0.0.251', 17, udp(5353, 5353))), 1, 1);
    nf.allowNoiseFor(2);
    assert.equal(nf.filter(noise), NoiseReason.Kept);
    now += 2_000_000;
    assert.equal(nf.filter(noise), NoiseReason.Mdns);
  });

  it('agrees with tshark on ARP and IPv6 neighbour discovery in reference captures', function () {
    try {
      execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    } catch {
      skipBecause(this, 'tshark, the independent reference, is not installed');
    }
    let arpSeen = 0;
    let ndpSeen = 0;
    // reference captures holding ARP or neighbour discovery on the host's own link (plain,
    // QinQ, PPPoE). ARP inside a VXLAN tunnel is not link-local for the capturing host: the
    // tunnel packet is real UDP traffic and is kept, so those captures are not compared here.
    const files = ['zeek/wikipedia.pcap', 'arkime/v6.pcap', 'ndpi/icmp-tunnel.pcap', 'zeek/pppoe.pcap', 'zeek/q-in-q.pcap'];
    {
      for (const file of files) {
        const path = `${referencePcapsDir()}/${file}`;
        const nf = new NoiseFilter();
        const p = new DecodedPacket();
        const r = openCaptureFile(path);
        for (let f = r.next(); f; f = r.next()) nf.filter(decodePacket(f.linkType, f.data, f.wireLen, f.tsUs, p));
        r.close();
        // one tshark pass: per packet, "arp" if it is ARP, the ICMPv6 type(s) otherwise
        const lines = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'arp.opcode', '-e', 'icmpv6.type'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n');
        let arpRef = 0;
        let ndpRef = 0;
        for (const line of lines) {
          const [arpOp, types] = line.split('\t');
          if (arpOp) arpRef++;
          else if (types && types.split(',').some((t) => Number(t) >= 133 && Number(t) <= 137)) ndpRef++;
        }
        const c = nf.counts().excluded;
        assert.equal(c.arp, arpRef, `${file}: ARP`);
        assert.equal(c.ndp, ndpRef, `${file}: NDP`);
        arpSeen += c.arp;
        ndpSeen += c.ndp;
      }
    }
    assert.ok(arpSeen > 0 && ndpSeen > 0, `the captures hold ARP (${arpSeen}) and NDP (${ndpSeen})`);
  });
});
