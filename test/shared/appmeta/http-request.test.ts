// HTTP/1.x request heads: method, Host (header, absolute target, CONNECT authority) and
// User-Agent; partial heads ask for more; hostile bytes never throw.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { httpMethodAt, hostWithoutPort, scanHttpRequest } from '../../../shared/appmeta/http-request.js';

const b = (s: string): Uint8Array => Buffer.from(s, 'latin1');

describe('HTTP request head', () => {
  it('reads method, host and user agent; never the target', () => {
    const r = scanHttpRequest(b('GET /secret?q=1 HTTP/1.1\r\nhOsT: WWW.Example.org:8080\r\nUser-Agent: curl/8.1\r\nAccept: */*\r\n\r\n'));
    assert.deepEqual(r, { status: 1, request: { method: 'GET', minorVersion: 1, host: 'www.example.org', userAgent: 'curl/8.1' } });
    assert.equal(JSON.stringify(r).includes('secret'), false);
  });

  it('takes the host of absolute targets and CONNECT authorities; IPv6 literals without brackets', () => {
    assert.equal(scanHttpRequest(b('GET http://user@proxy.example:81/x HTTP/1.0\r\n\r\n')).request!.host, 'proxy.example');
    assert.equal(scanHttpRequest(b('CONNECT api.example.com:443 HTTP/1.1\r\n\r\n')).request!.host, 'api.example.com');
    assert.equal(hostWithoutPort('[2001:DB8::1]:8080'), '2001:db8::1');
    assert.equal(hostWithoutPort('2001:db8::1'), '2001:db8::1');
    assert.equal(hostWithoutPort('example.com.'), 'example.com');
  });

  it('asks for more until the head ends, reads what there is when told the stream is over', () => {
    const full = 'POST /a HTTP/1.1\r\nHost: h.example\r\nUser-Agent: x\r\n\r\n';
    for (let cut = 0; cut < full.length - 2; cut++) {
      const r = scanHttpRequest(b(full.slice(0, cut)));
      assert.ok(r.status === 0 || (cut < 5 && r.status === -1), `cut ${cut}: ${r.status}`);
    }
    assert.equal(scanHttpRequest(b('POST /a HTTP/1.1\r\nHost: h.example\r\nUser'), undefined, true).request!.host, 'h.example');
  });

  it('says no to other bytes', () => {
    for (const s of ['GETX / HTTP/1.1\r\n', 'get / HTTP/1.1\r\n', 'GET / HTTP/2.0\r\n', 'GET /\x00 HTTP/1.1\r\n', 'SSH-2.0-OpenSSH\r\n', '\x16\x03\x01']) {
      assert.equal(scanHttpRequest(b(s)).status, -1, JSON.stringify(s));
    }
    assert.equal(httpMethodAt(b('DELETE /x'), 0, 9), 'DELETE');
    assert.equal(httpMethodAt(b('DELETE'), 0, 6), null);
  });

  it('never throws on hostile bytes; values stay short', () => {
    const head = fc.tuple(fc.constantFrom('GET', 'POST', 'HEAD', 'CONNECT'), fc.string({ maxLength: 40 }), fc.array(fc.tuple(fc.constantFrom('Host', 'User-Agent', 'X'), fc.string({ maxLength: 400 })), { maxLength: 5 }))
      .map(([m, t, hs]) => b(`${m} ${t} HTTP/1.1\r\n${hs.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`));
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 500 }), head), fc.boolean(), (bytes, final) => {
      const r = scanHttpRequest(bytes, bytes.length, final);
      if (r.request) assert.ok((r.request.userAgent ?? '').length <= 256 && (r.request.host ?? '').length <= 256);
    }), { numRuns: 3000 });
  });
});
