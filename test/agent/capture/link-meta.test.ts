import assert from 'node:assert/strict';
import { linkTypeFromCapName, linuxDeviceType, linuxPacketType } from '../../../agent/capture/link-meta.js';
import { sll } from '../../helpers/frames.js';
import { LinkType } from '../../../shared/decode/link-types.js';

describe('agent/capture/link-meta', () => {
  it('maps the cap binding link type names to LINKTYPE numbers', () => {
    assert.equal(linkTypeFromCapName('ETHERNET'), 1);
    assert.equal(linkTypeFromCapName('LINKTYPE_LINUX_SLL'), 113);
    assert.equal(linkTypeFromCapName('RAW'), 101);
    assert.equal(linkTypeFromCapName('NULL'), 0);
    assert.equal(linkTypeFromCapName('IEEE802_11_RADIO'), 127);
    assert.equal(linkTypeFromCapName('Unknown linktype 276'), 276);
    assert.equal(linkTypeFromCapName('Unknown linktype 12'), 101);
    assert.equal(linkTypeFromCapName('Unknown linktype 9'), 9);
    assert.equal(linkTypeFromCapName('garbage'), -1);
  });

  it('reads packet type and device type from SLL and SLL2 headers, -1 otherwise', () => {
    const f = Uint8Array.from(sll(4, 772, '00:00:00:00:00:00', 0x0800, [0x45]));
    assert.equal(linuxPacketType(LinkType.LinuxSll, f, f.length), 4);
    assert.equal(linuxDeviceType(LinkType.LinuxSll, f, f.length), 772);
    assert.equal(linuxPacketType(LinkType.LinuxSll, f, 10), -1);
    assert.equal(linuxPacketType(1, f, f.length), -1);
    const f2 = new Uint8Array(20);
    f2[8] = 0x03; f2[9] = 0x04; f2[10] = 3;
    assert.equal(linuxPacketType(LinkType.LinuxSll2, f2, 20), 3);
    assert.equal(linuxDeviceType(LinkType.LinuxSll2, f2, 20), 772);
  });
});
