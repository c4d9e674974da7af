// QUIC Initial decryption with the test vectors of RFC 9001 Appendix A (v1) and RFC 9369
// Appendix A (v2): the derived keys, the decrypted CRYPTO frame, the ClientHello in it;
// damaged packets are refused (GCM tag) and hostile datagrams never throw.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { clientInitialKeys, looksLikeClientInitial, readClientInitials, QUIC_V1, QUIC_V2 } from '../../../shared/appmeta/quic-initial.js';
import { parseClientHello } from '../../../shared/appmeta/tls-hello.js';
import { ja4 } from '../../../shared/appmeta/ja4.js';
import { CLIENT_CRYPTO_FRAME, DCID, V1_CLIENT_INITIAL, V1_KEYS, V2_CLIENT_INITIAL, V2_KEYS } from './fixtures/quic-vectors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('QUIC Initial packets', () => {
  it('derives the RFC 9001 A.1 and RFC 9369 A.1 client keys', () => {
    const v1 = clientInitialKeys(QUIC_V1, DCID)!;
    assert.deepEqual({ key: hex(v1.key), iv: hex(v1.iv), hp: hex(v1.hp) }, V1_KEYS);
    const v2 = clientInitialKeys(QUIC_V2, DCID)!;
    assert.deepEqual({ key: hex(v2.key), iv: hex(v2.iv), hp: hex(v2.hp) }, V2_KEYS);
    assert.equal(clientInitialKeys(0xff00001d, DCID), null, 'a draft version has no keys here');
  });

  for (const [name, packet, version] of [['v1 (RFC 9001 A.2)', V1_CLIENT_INITIAL, QUIC_V1], ['v2 (RFC 9369 A.2)', V2_CLIENT_INITIAL, QUIC_V2]] as const) {
    it(`opens the ${name} client Initial: the CRYPTO frame and the ClientHello for example.com`, () => {
      assert.equal(packet.length, 1200);
      assert.ok(looksLikeClientInitial(packet, 0, packet.length));
      const ci = readClientInitials(packet)!;
      assert.equal(ci.version, version);
      assert.equal(hex(ci.dcid), hex(DCID));
      assert.equal(ci.crypto.length, 1);
      assert.equal(ci.crypto[0]!.offset, 0);
      // frame: type 06, offset 00, length 40f1, then the 241 data bytes
      assert.equal(hex(ci.crypto[0]!.data), hex(CLIENT_CRYPTO_FRAME.subarray(4)));
      const ch = parseClientHello(ci.crypto[0]!.data)!;
      assert.equal(ch.serverName, 'example.com');
      assert.deepEqual(ch.alpn, ['alpn']);
      // read off the RFC's hex: ciphers 1301 1302; extensions 0000 ff01 000a 0010 0005 0033 002b 000d 002d 001c 0039;
      // signature algorithms 0403 0503 0603 0203 0804 0805 0806; ALPN "alpn"
      const h = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12);
      assert.equal(ja4(ch, 'q'), `q13d0211an_${h('1301,1302')}_${h('0005,000a,000d,001c,002b,002d,0033,0039,ff01_0403,0503,0603,0203,0804,0805,0806')}`);
    });
  }

  it('refuses a packet whose ciphertext or header was changed (tag check), and other versions', () => {
    for (const at of [30, 500, 1199, 5]) {
      const p = V1_CLIENT_INITIAL.slice();
      p[at]! ^= 0x01;
      assert.equal(readClientInitials(p), null, `byte ${at} flipped`);
    }
    const draft = V1_CLIENT_INITIAL.slice();
    draft.set([0xff, 0, 0, 0x1d], 1);
    assert.equal(looksLikeClientInitial(draft, 0, draft.length), false);
    assert.equal(readClientInitials(draft), null);
    assert.equal(looksLikeClientInitial(V1_CLIENT_INITIAL, 0, 1199), false, 'client Initial datagrams are >= 1200 bytes');
  });

  it('never throws on hostile datagrams, whatever the keys', () => {
    const mutated = fc.tuple(fc.constantFrom(V1_CLIENT_INITIAL, V2_CLIENT_INITIAL), fc.array(fc.tuple(fc.nat(60), fc.nat(255)), { maxLength: 4 }), fc.nat(1300))
      .map(([m, edits, cut]) => {
        const b = m.slice(0, Math.max(0, m.length - cut));
        for (const [i, v] of edits) if (b.length > 0) b[i % b.length] = v;
        return b;
      });
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 1400 }), mutated), (b) => {
      const r = readClientInitials(b);
      if (r !== null) assert.ok(r.crypto.length <= 64);
      looksLikeClientInitial(b, 0, b.length);
    }), { numRuns: 1500 });
  });
});
