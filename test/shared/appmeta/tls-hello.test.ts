// TLS hello parsing: fields of built hellos, the record layer (a hello split over records
// and cut at every byte), and hostile bytes: never an exception, bounded results.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseClientHello, parseServerHello, scanTlsHandshake, ScanStatus, isGrease } from '../../../shared/appmeta/tls-hello.js';
import { clientHelloMessage, serverHelloMessage, tlsRecords, SPEC_EXAMPLE } from './hello-builder.js';

describe('TLS hello parser', () => {
  it('reads server name, ALPN, versions, ciphers, extensions and signature algorithms', () => {
    const ch = parseClientHello(clientHelloMessage({ ...SPEC_EXAMPLE, serverName: 'WWW.Example.COM.' }))!;
    assert.equal(ch.serverName, 'www.example.com');
    assert.deepEqual(ch.alpn, ['h2', 'http/1.1']);
    assert.deepEqual(ch.supportedVersions, [0x5a5a, 0x0304, 0x0303]);
    assert.deepEqual(ch.ciphers, SPEC_EXAMPLE.ciphers);
    assert.deepEqual(ch.extensions, SPEC_EXAMPLE.extensions);
    assert.deepEqual(ch.signatureAlgorithms, SPEC_EXAMPLE.signatureAlgorithms);
    assert.equal(parseServerHello(clientHelloMessage(SPEC_EXAMPLE)), null, 'a ClientHello is no ServerHello');
  });

  it('reads a ServerHello: cipher, selected version and ALPN, HelloRetryRequest', () => {
    const sh = parseServerHello(serverHelloMessage({ cipher: 0x1302, extensions: [0x002b, 0x0010], selectedVersion: 0x0304, alpn: 'h2' }))!;
    assert.deepEqual({ ...sh }, { legacyVersion: 0x0303, cipher: 0x1302, extensions: [0x002b, 0x0010], selectedVersion: 0x0304, alpn: 'h2', helloRetryRequest: false });
    const hrr = serverHelloMessage({ cipher: 0x1301, extensions: [0x002b] });
    hrr.set(Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex'), 6);
    assert.equal(parseServerHello(hrr)!.helloRetryRequest, true);
  });

  it('finds a hello spread over several records, and asks for more at every cut', () => {
    const msg = clientHelloMessage({ ...SPEC_EXAMPLE, extensions: [...SPEC_EXAMPLE.extensions], padding: 1500 });
    const stream = tlsRecords(msg, 700);
    for (let cut = 0; cut < stream.length; cut += 37) {
      assert.equal(scanTlsHandshake(stream, cut).status, ScanStatus.More, `cut ${cut}`);
    }
    const done = scanTlsHandshake(stream);
    assert.equal(done.status, ScanStatus.Done);
    assert.deepEqual(done.message, msg);
    assert.equal(parseClientHello(done.message!)!.serverName, 'example.com');
  });

  it('says No for other protocols and for hellos over the size cap', () => {
    assert.equal(scanTlsHandshake(Buffer.from('GET / HTTP/1.1\r\n')).status, ScanStatus.No);
    assert.equal(scanTlsHandshake(Uint8Array.of(0x17, 3, 3, 0, 40, 1, 2, 3, 4)).status, ScanStatus.No, 'application data');
    assert.equal(scanTlsHandshake(Uint8Array.of(22, 3, 1, 0, 40, 1, 0x01, 0, 0)).status, ScanStatus.No, '64 KB hello');
    assert.equal(scanTlsHandshake(Uint8Array.of(22, 3, 1, 0, 40, 11, 0, 0, 40)).status, ScanStatus.No, 'certificate first');
  });

  it('GREASE values are exactly 0x?a?a with equal bytes', () => {
    const g = [];
    for (let v = 0; v < 0x10000; v++) if (isGrease(v)) g.push(v);
    assert.deepEqual(g, [0x0a0a, 0x1a1a, 0x2a2a, 0x3a3a, 0x4a4a, 0x5a5a, 0x6a6a, 0x7a7a, 0x8a8a, 0x9a9a, 0xaaaa, 0xbaba, 0xcaca, 0xdada, 0xeaea, 0xfafa]);
  });

  it('never throws on hostile bytes (random and mutated hellos); lists stay bounded', () => {
    const seeds = [clientHelloMessage(SPEC_EXAMPLE), serverHelloMessage({ cipher: 0x1301, extensions: [0x002b, 0x0033] })];
    const mutated = fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 6 }), fc.nat(40))
      .map(([m, edits, cut]) => {
        const b = m.slice(0, Math.max(0, m.length - cut));
        for (const [i, v] of edits) if (b.length > 0) b[i % b.length] = v;
        return b;
      });
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 700 }), mutated), (b) => {
      const ch = parseClientHello(b);
      if (ch !== null) assert.ok(ch.ciphers.length <= 512 && ch.extensions.length <= 512 && ch.alpn.length <= 16);
      parseServerHello(b);
      const s = scanTlsHandshake(b);
      assert.ok([ScanStatus.No, ScanStatus.More, ScanStatus.Done].includes(s.status));
      scanTlsHandshake(tlsRecords(b, 100));
    }), { numRuns: 4000 });
  });
});
