import assert from 'node:assert/strict';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { HostAddressTable, hostFactsFromInterfaces } from '../../../agent/pipeline/host-addresses.js';
import { Direction, PacketRecord } from '../../../shared/packet/packet-record.js';
import { parseIp } from '../../../shared/net/ip-address.js';

function rec(src: string, dst: string): PacketRecord {
  const r = new PacketRecord();
  const s = parseIp(src);
  r.ipVersion = s.version;
  r.src.set(s.bytes);
  r.dst.set(parseIp(dst).bytes);
  return r;
}

const v4 = (address: string, cidr: string, mac = '02:00:00:00:00:01', internal = false): NetworkInterfaceInfo =>
  ({ address, netmask: '', family: 'IPv4', mac, internal, cidr });
const v6 = (address: string, cidr: string, mac = '02:00:00:00:00:01'): NetworkInterfaceInfo =>
  ({ address, netmask: '', family: 'IPv6', mac, internal: false, cidr, scopeid: 0 });

describe('agent/pipeline/host-addresses', () => {
  it('gives Out for packets from the host, In for packets to it, else Unknown', () => {
    const t = new HostAddressTable(['192.168.1.20', '2001:db8::20', 'fe80::1%eth0']);
    assert.equal(t.directionOf(rec('192.168.1.20', '198.51.100.7')), Direction.Out);
    assert.equal(t.directionOf(rec('198.51.100.7', '192.168.1.20')), Direction.In);
    assert.equal(t.directionOf(rec('198.51.100.7', '192.168.1.21')), Direction.Unknown);
    assert.equal(t.directionOf(rec('2001:db8::5', '2001:db8::20')), Direction.In);
    assert.equal(t.directionOf(rec('fe80::1', 'fe80::2')), Direction.Out);
    // an IPv4 address does not match the IPv6 address that starts with the same bytes
    assert.equal(t.isHost(6, rec('c0a8:114::', '::1').src), false);
    t.set([]);
    assert.equal(t.directionOf(rec('192.168.1.20', '198.51.100.7')), Direction.Unknown);
  });

  it('extracts addresses, directed broadcasts and MACs from os.networkInterfaces() output', () => {
    const f = hostFactsFromInterfaces({
      lo: [v4('127.0.0.1', '127.0.0.1/8', '00:00:00:00:00:00', true)],
      eth0: [v4('192.168.1.20', '192.168.1.20/24', '02:00:00:00:00:0e'), v6('fe80::1%eth0', 'fe80::1/64', '02:00:00:00:00:0e')],
      wg0: [v4('10.7.0.2', '10.7.0.2/32', '00:00:00:00:00:00')],
      wlan0: [v4('172.20.9.3', '172.20.8.0/22', '02:00:00:00:00:0f')],
      gone: undefined,
    });
    assert.deepEqual(f.addresses.sort(), ['10.7.0.2', '172.20.9.3', '192.168.1.20', 'fe80::1'].sort());
    assert.deepEqual(f.directedBroadcasts.sort(), ['172.20.11.255', '192.168.1.255']);
    assert.deepEqual(f.macs, { eth0: '02:00:00:00:00:0e', wlan0: '02:00:00:00:00:0f' });
  });

  it('reads this machine\'s interfaces without error', () => {
    const f = hostFactsFromInterfaces(networkInterfaces());
    assert.ok(!f.addresses.includes('127.0.0.1'));
    new HostAddressTable(f.addresses); // every address parses
  });
});
