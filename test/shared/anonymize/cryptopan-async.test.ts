// The browser's Crypto-PAn (async AES through WebCrypto) against the agent's (node:crypto):
// the same pseudonyms forward, the real addresses back, for IPv4, IPv6 and IPv4-mapped IPv6.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { anonymizeText, deanonymizeText } from '../../../shared/anonymize/pseudonym-text.js';
import { webCryptoPan } from '../../../shared/anonymize/webcrypto-aes.js';
import { formatIp } from '../../../shared/net/ip-address.js';

describe('Crypto-PAn over WebCrypto (owner view in the browser)', function () {
  const key = new Uint8Array(randomBytes(32));

  it('maps addresses exactly as the agent does, both ways', async () => {
    const pan = await webCryptoPan(key);
    for (const a of ['10.1.2.3', '192.168.0.1', '0.0.0.0', '255.255.255.255', 'fd00::1', '2001:db8::42', '::ffff:10.9.8.7']) {
      const p = anonymizeText({ anonKey: key }, a);
      assert.equal(await pan.anonymize(a), p, `forward ${a}`);
      assert.equal(await pan.deanonymize(p), deanonymizeText({ anonKey: key }, p), `inverse ${a}`);
      assert.equal(await pan.deanonymize(p), formatIp(a.includes(':') ? 6 : 4, (await import('../../../shared/net/ip-address.js')).parseIp(a).bytes));
    }
  });

  it('inverts random IPv4 and IPv6 pseudonyms of the shared implementation', async () => {
    const pan = await webCryptoPan(key);
    await fc.assert(fc.asyncProperty(fc.oneof(fc.ipV4(), fc.ipV6()), async (a) => {
      const p = anonymizeText({ anonKey: key }, a);
      assert.equal(await pan.deanonymize(p), deanonymizeText({ anonKey: key }, p));
    }), { numRuns: 60 });
  });

  it('refuses a key of the wrong size and text that is no address', async () => {
    await assert.rejects(webCryptoPan(new Uint8Array(16)), /32 bytes/);
    const pan = await webCryptoPan(key);
    await assert.rejects(pan.deanonymize('not-an-address'), /address/i);
  });
});
