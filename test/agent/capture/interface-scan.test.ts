import assert from 'node:assert/strict';
import { readLinuxInterfaces, selectCaptureInterfaces, type InterfaceInfo } from '../../../agent/capture/interface-scan.js';
import { skipBecause } from '../../helpers/skip.js';

const i = (name: string, o: Partial<InterfaceInfo> = {}): InterfaceInfo =>
  ({ name, up: true, running: true, loopback: false, arpType: 1, mac: '02:00:00:00:00:01', enslaved: false, ...o });

const fixture: InterfaceInfo[] = [
  i('lo', { loopback: true, arpType: 772, mac: '' }),
  i('eth0'),
  i('eth1', { running: false }), // cable out
  i('wlan0'),
  i('wlan1', { up: false, running: false }),
  i('tun0', { arpType: 65534, mac: '' }),
  i('wg0', { arpType: 65534, mac: '' }),
  i('ppp0', { arpType: 512, mac: '' }),
  i('docker0'),
  i('veth12ab', { enslaved: true }),
  i('mon0', { arpType: 803 }),
  i('can0', { arpType: 280, mac: '' }),
];

describe('agent/capture/interface-scan', () => {
  it("'all' opens every up and running IP interface, tunnels included, no loopback or bridge members", () => {
    assert.deepEqual(selectCaptureInterfaces(fixture, 'all'), ['eth0', 'wlan0', 'tun0', 'wg0', 'ppp0', 'docker0']);
    assert.deepEqual(selectCaptureInterfaces(fixture, 'all', true), ['lo', 'eth0', 'wlan0', 'tun0', 'wg0', 'ppp0', 'docker0']);
  });

  it('a list opens the named interfaces that exist and are up, in order', () => {
    assert.deepEqual(selectCaptureInterfaces(fixture, ['wg0', 'eth1', 'nope', 'wlan1', 'eth0']), ['wg0', 'eth1', 'eth0']);
  });

  it('reads /sys/class/net of this namespace', function () {
    if (process.platform !== 'linux') skipBecause(this, '/sys/class/net is Linux only');
    const list = readLinuxInterfaces();
    const lo = list.find((x) => x.name === 'lo');
    assert.ok(lo, 'lo is listed');
    assert.equal(lo.loopback, true);
    assert.equal(lo.arpType, 772);
    assert.deepEqual(readLinuxInterfaces('/nonexistent'), []);
  });
});
