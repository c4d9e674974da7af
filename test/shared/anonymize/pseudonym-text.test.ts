import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { anonymizeCidrText, anonymizeText, deanonymizeCidrText, deanonymizeText } from '../../../shared/anonymize/pseudonym-text.js';
import { AddressAnonymizer } from '../../../shared/anonymize/address-anonymizer.js';
import { AddressParseError, cidrContains, formatIp, parseCidr, parseIp } from '../../../shared/net/ip-address.js';

const keys = { anonKey: Uint8Array.from(randomBytes(32)) };

describe('pseudonym text (console)', () => {
  it('round-trips IPv4, IPv6 and IPv4-mapped text', () => {
    const v4 = fc.ipV4();
    const v6 = fc.ipV6();
    fc.assert(fc.property(fc.oneof(v4, v6), (t) => {
      const canon = formatIp(parseIp(t).version, parseIp(t).bytes);
      const p = anonymizeText(keys, t);
      assert.equal(deanonymizeText(keys, p), canon);
    }), { numRuns: 300 });
    const m = anonymizeText(keys, '::ffff:10.1.2.3');
    assert.equal(m, `::ffff:${anonymizeText(keys, '10.1.2.3')}`);
    assert.equal(deanonymizeText(keys, m), '::ffff:10.1.2.3');
  });

  it('gives exactly what the agent writes for an anonymized address', () => {
    const an = new AddressAnonymizer({ key: keys.anonKey, policy: 'all' });
    for (const t of ['10.9.8.7', 'fd00::1', '::ffff:192.168.0.1', '2001:db8::42']) {
      const a = parseIp(t);
      an.anonymize(a.version, a.bytes);
      assert.equal(anonymizeText(keys, t), formatIp(a.version, a.bytes));
    }
  });

  it('maps a prefix to the pseudonym prefix that holds the pseudonyms of all its addresses', () => {
    const p = anonymizeCidrText(keys, '10.20.0.0/16');
    const c = parseCidr(p);
    assert.equal(c.prefixLen, 16);
    for (let i = 0; i < 200; i++) {
      const a = `10.20.${i}.${(i * 37) % 256}`;
      assert.ok(cidrContains(c, 4, parseIp(anonymizeText(keys, a)).bytes), a);
    }
    assert.ok(!cidrContains(c, 4, parseIp(anonymizeText(keys, '10.21.0.1')).bytes));
    assert.equal(deanonymizeCidrText(keys, p), '10.20.0.0/16');
    const p6 = anonymizeCidrText(keys, 'fd12:3456::/32');
    assert.ok(cidrContains(parseCidr(p6), 6, parseIp(anonymizeText(keys, 'fd12:3456:ffff::9')).bytes));
    assert.equal(deanonymizeCidrText(keys, p6), 'fd12:3456::/32');
  });

  it('rejects bad text with AddressParseError naming it', () => {
    assert.throws(() => anonymizeText(keys, '10.1.2'), (e: unknown) => e instanceof AddressParseError && e.message.includes('10.1.2'));
    assert.throws(() => deanonymizeText(keys, 'zz::1'), AddressParseError);
  });
});
