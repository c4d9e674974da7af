// JA4 and JA4S against the values published in the specification (FoxIO JA4.md, JA4S.md):
// the example hello's full fingerprint, the extension hash without signature algorithms,
// the ALPN character rules, and the JA4S example.
import assert from 'node:assert/strict';
import { alpnCode, ja4, ja4s } from '../../../shared/appmeta/ja4.js';
import { parseClientHello, parseServerHello } from '../../../shared/appmeta/tls-hello.js';
import { clientHelloMessage, serverHelloMessage, SPEC_EXAMPLE } from './hello-builder.js';

describe('JA4 / JA4S fingerprints', () => {
  it('gives the specification example t13d1516h2_8daaf6152771_e5627efa2ab1 (GREASE ignored)', () => {
    const ch = parseClientHello(clientHelloMessage(SPEC_EXAMPLE))!;
    assert.equal(ja4(ch, 't'), 't13d1516h2_8daaf6152771_e5627efa2ab1');
    assert.equal(ja4(ch, 'q').slice(0, 1), 'q');
  });

  it('hashes the extensions alone when there are no signature algorithms (spec: 6d807ffa2a79)', () => {
    // the signature_algorithms extension is listed but holds none: the hash covers the extension list alone
    const withSigExt = parseClientHello(clientHelloMessage({ ...SPEC_EXAMPLE, signatureAlgorithms: [] }))!;
    assert.equal(ja4(withSigExt, 't').split('_')[2], '6d807ffa2a79');
  });

  it('marks a hello without SNI "i", without ALPN "00", and empty cipher lists 000000000000', () => {
    const ch = parseClientHello(clientHelloMessage({ ciphers: [0x0a0a], extensions: [0x002b], supportedVersions: [0x0303] }))!;
    assert.equal(ja4(ch, 't'), 't12i000100_000000000000_' + ja4(ch, 't').split('_')[2]);
    const none = parseClientHello(clientHelloMessage({ ciphers: [0x1301], extensions: [] }))!;
    assert.equal(ja4(none, 't'), 't12i010000_' + ja4(none, 't').split('_')[1] + '_000000000000');
  });

  it('follows the ALPN character rules of the specification', () => {
    assert.equal(alpnCode('h2'), 'h2');
    assert.equal(alpnCode('http/1.1'), 'h1');
    assert.equal(alpnCode('h'), 'hh');
    assert.equal(alpnCode(''), '00');
    assert.equal(alpnCode(null), '00');
    assert.equal(alpnCode('\xab'), 'ab');
    assert.equal(alpnCode('\xab\xcd'), 'ad');
    assert.equal(alpnCode('0\xab'), '3b');
    assert.equal(alpnCode('01\xab\xcd'), '3d');
    assert.equal(alpnCode('0\xab\xcd1'), '01');
  });

  it('gives the JA4S specification example t120400_c030_4e8089b08790', () => {
    const sh = parseServerHello(serverHelloMessage({ cipher: 0xc030, extensions: [0x0005, 0x0017, 0xff01, 0x0000] }))!;
    assert.equal(ja4s(sh, 't'), 't120400_c030_4e8089b08790');
    const tls13 = parseServerHello(serverHelloMessage({ cipher: 0x1301, extensions: [0x002b, 0x0033], selectedVersion: 0x0304 }))!;
    assert.match(ja4s(tls13, 'q'), /^q130200_1301_[0-9a-f]{12}$/);
  });
});
