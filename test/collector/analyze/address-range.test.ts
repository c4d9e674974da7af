// The swept range of a sweep alert: the smallest prefix covering the addresses seen (checked
// against a brute-force answer on random IPv4 sets), named no narrower than a /24 or /64
// when coarse, other families and non-addresses ignored.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AddressRange } from '../../../collector/analyze/address-range.js';
import { cidrContains, parseCidr, parseIp } from '../../../shared/net/ip-address.js';

describe('address range', () => {
  it('common prefix of IPv4 and IPv6 addresses; coarse names a /24 or /64 at the narrowest', () => {
    const r = new AddressRange();
    assert.equal(r.text(false), '');
    r.add('10.0.1.5');
    assert.equal(r.text(false), '10.0.1.5/32');
    assert.equal(r.text(true), '10.0.1.0/24');
    r.add('10.0.1.9');
    assert.equal(r.text(false), '10.0.1.0/28');
    r.add('10.0.3.200');
    assert.equal(r.text(false), '10.0.0.0/22');
    assert.equal(r.text(true), '10.0.0.0/22');
    r.add('fe80::1');
    r.add('not an address');
    assert.equal(r.otherFamily, 1);
    assert.equal(r.text(false), '10.0.0.0/22');
    const v6 = new AddressRange();
    v6.add('2001:db8::1');
    v6.add('2001:db8::ff');
    assert.equal(v6.text(false), '2001:db8::/120');
    assert.equal(v6.text(true), '2001:db8::/64');
  });

  it('is the longest prefix that holds every address (random sets)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)), { minLength: 1, maxLength: 40 }), (addrs) => {
      const text = addrs.map((a) => a.join('.'));
      const r = new AddressRange();
      for (const t of text) r.add(t);
      const c = parseCidr(r.text(false));
      for (const t of text) assert.ok(cidrContains(c, 4, parseIp(t).bytes), `${t} in ${r.text(false)}`);
      if (c.prefixLen < 32) {
        // one bit longer no longer holds them all
        const longer = parseCidr(`${text[0]}/${c.prefixLen + 1}`);
        assert.ok(text.some((t) => !cidrContains(longer, 4, parseIp(t).bytes)));
      }
    }), { numRuns: 300 });
  });
});
