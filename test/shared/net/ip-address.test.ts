import assert from 'node:assert/strict';
import { formatIpv6, parseCidr, parseIp, cidrContains, formatIp } from '../../../shared/net/ip-address.js';

describe('ip-address', () => {
  it('round-trips IPv6 text in RFC 5952 form', () => {
    for (const s of ['::', '::1', 'fe80::1', '2001:db8::ff00:42:8329', '2001:db8:0:1:1:1:1:1', '1::', '::ffff:10.1.2.3', '2001:0:0:1::1']) {
      const a = parseIp(s);
      assert.equal(formatIpv6(a.bytes), s);
    }
  });
  it('parses and matches CIDRs', () => {
    const c = parseCidr('192.168.0.0/16');
    assert.ok(cidrContains(c, 4, parseIp('192.168.44.3').bytes));
    assert.ok(!cidrContains(c, 4, parseIp('192.169.0.1').bytes));
    assert.ok(!cidrContains(c, 6, parseIp('::1').bytes));
    assert.equal(formatIp(4, parseCidr('10.9.9.9/8').bytes), '10.0.0.0');
  });
  it('rejects bad input with a message naming it', () => {
    assert.throws(() => parseIp('300.1.1.1'), /300\.1\.1\.1/);
    assert.throws(() => parseIp('1::2::3'), /not a valid/);
    assert.throws(() => parseCidr('10.0.0.0/33'), /prefix/);
  });
});
