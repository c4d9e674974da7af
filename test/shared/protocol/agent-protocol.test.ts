import assert from 'node:assert/strict';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { decodeUploadHeader, encodeUploadFrame, parseAgentMessage, parseCollectorMessage, UPLOAD_HEADER_LEN, type UploadFrameHeader } from '../../../shared/protocol/agent-protocol.js';
import { Backoff } from '../../../agent/transport/backoff.js';
import { collectorEndpoints, CollectorUrlError } from '../../../agent/transport/collector-url.js';
import { TokenBucket } from '../../../collector/server/token-bucket.js';
import { checkPeer, classifyTlsClientError } from '../../../collector/server/peer-check.js';
import { RevocationList } from '../../../certs/revocation-list.js';

describe('protocol codec and pure transport logic', () => {
  it('upload frames round-trip any sequence and epoch', () => {
    const h: UploadFrameHeader = { type: 0, version: 0, epoch: 0, sequence: 0 };
    fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 64 }), (seq, epoch, body) => {
      const f = encodeUploadFrame(seq, epoch, body);
      assert.equal(decodeUploadHeader(f, h), null);
      assert.deepEqual([h.sequence, h.epoch], [seq, epoch]);
      assert.deepEqual(new Uint8Array(f.subarray(UPLOAD_HEADER_LEN)), body);
    }));
  });

  it('hostile frames and messages give reasons, never exceptions', () => {
    const h: UploadFrameHeader = { type: 0, version: 0, epoch: 0, sequence: 0 };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const r = decodeUploadHeader(bytes, h);
      assert.ok(r === null || typeof r === 'string');
    }));
    fc.assert(fc.property(fc.string(), (s) => {
      assert.equal(typeof parseAgentMessage(s), 'string');
    }));
    const huge = Buffer.alloc(12);
    huge[0] = 1; huge[1] = 1; huge.fill(0xff, 4);
    assert.match(decodeUploadHeader(huge, h)!, /2\^53/);
    assert.match(decodeUploadHeader(Buffer.from([2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), h)!, /unknown frame type 2/);
    assert.match(decodeUploadHeader(Buffer.from([1, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), h)!, /version 9/);
    assert.match(parseAgentMessage('{"type":"hello"}') as string, /not understood/);
    assert.match(parseAgentMessage('x'.repeat(70_000)) as string, /exceeds/);
    assert.deepEqual(parseCollectorMessage('{"type":"ack","seq":3,"epoch":0,"dup":false}'), { type: 'ack', seq: 3, epoch: 0, dup: false });
  });

  it('backoff grows exponentially with full jitter, capped, and resets', () => {
    const hi = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
    assert.deepEqual(Array.from({ length: 6 }, () => hi.next()), [100, 200, 400, 800, 1000, 1000]);
    const lo = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    assert.ok(Array.from({ length: 6 }, () => lo.next()).every((d) => d === 50), 'never below half the initial delay');
    hi.reset();
    assert.equal(hi.next(), 100);
    const real = new Backoff({ initialMs: 100, maxMs: 10_000 });
    const draws = Array.from({ length: 200 }, () => { real.reset(); for (let i = 0; i < 5; i++) real.next(); return real.next(); });
    assert.ok(new Set(draws).size > 50, 'agents that failed together come back spread out');
    assert.throws(() => new Backoff({ initialMs: 0 }), RangeError);
  });

  it('token bucket: burst passes, then the rate holds; oversized amounts wait for a full bucket', () => {
    const b = new TokenBucket(1000, 500, 0);
    assert.equal(b.take(500, 0), 0);
    assert.equal(b.take(100, 0), 100);
    assert.equal(b.take(100, 100), 0);
    const big = new TokenBucket(1000, 500, 0);
    assert.equal(big.take(2000, 0), 0, 'full bucket lets one big upload through');
    assert.equal(big.take(1, 10), 1491, 'then it is in debt: -1500 + 10 refilled, 1 needed');
  });

  it('collector addresses normalise to https base and wss agent URL', () => {
    assert.deepEqual(collectorEndpoints('collector.example:8443'), { base: 'https://collector.example:8443', ws: 'wss://collector.example:8443/v1/agent', host: 'collector.example', port: 8443 });
    assert.equal(collectorEndpoints('wss://[::1]:9000/whatever').ws, 'wss://[::1]:9000/v1/agent');
    assert.equal(collectorEndpoints('https://c.example').port, 443);
    assert.throws(() => collectorEndpoints('http://c.example'), CollectorUrlError);
    assert.throws(() => collectorEndpoints('::::'), CollectorUrlError);
  });

  it('peer check: verify errors, identity, revocation and dates of resumed sessions', () => {
    const id = randomUUID();
    const none = new RevocationList({ version: 1, crlNumber: 1, updatedAt: '', entries: [] });
    const good = { subject: { CN: id }, serialNumber: 'ABCD', ext_key_usage: ['1.3.6.1.5.5.7.3.2'], valid_from: 'Jan  1 00:00:00 2020 GMT', valid_to: 'Jan  1 00:00:00 2099 GMT' };
    assert.deepEqual(checkPeer({ authorized: true, authorizationError: null, cert: good }, none), { ok: true, agentId: id, serial: 'ABCD' });
    const reason = (p: Parameters<typeof checkPeer>[0], l = none, now?: number): string => { const v = checkPeer(p, l, now); return v.ok ? 'ok' : v.reason; };
    assert.equal(reason({ authorized: false, authorizationError: 'UNABLE_TO_GET_ISSUER_CERT', cert: {} }), 'no-client-cert');
    assert.equal(reason({ authorized: false, authorizationError: 'SELF_SIGNED_CERT_IN_CHAIN', cert: good }), 'unknown-ca');
    assert.equal(reason({ authorized: false, authorizationError: 'CERT_HAS_EXPIRED', cert: good }), 'expired');
    assert.equal(reason({ authorized: false, authorizationError: 'SOMETHING_NEW', cert: good }), 'bad-certificate');
    assert.equal(reason({ authorized: true, authorizationError: null, cert: { ...good, subject: { CN: 'laptop-17' } } }), 'bad-identity');
    assert.equal(reason({ authorized: true, authorizationError: null, cert: { ...good, ext_key_usage: ['1.3.6.1.5.5.7.3.1'] } }), 'bad-identity');
    assert.equal(reason({ authorized: true, authorizationError: null, cert: good }, none, Date.parse('2100-01-01')), 'expired');
    const rev = new RevocationList({ version: 1, crlNumber: 2, updatedAt: '', entries: [{ agentId: randomUUID(), serials: ['00abcd'], revokedAt: '', reason: '' }] });
    assert.equal(reason({ authorized: true, authorizationError: null, cert: good }, rev), 'revoked', 'serial match ignores case and zero padding');
    assert.equal(classifyTlsClientError(Object.assign(new Error('x'), { code: 'ERR_SSL_HTTP_REQUEST' })).reason, 'plain-http');
    assert.equal(classifyTlsClientError(Object.assign(new Error('x'), { code: 'ECONNRESET' })).reason, 'tls-handshake');
  });
});

describe('collector run configuration', () => {
  it('file then flags; other subsystems\' sections are left alone; typos are refused', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { collectorConfigFrom } = await import('../../../collector/commands/run.js');
    const { resolvedDirs, splitHostPort } = await import('../../../collector/server/server-config.js');
    const dir = mkdtempSync(join(tmpdir(), 'meerkat-cfg-'));
    try {
      const f = join(dir, 'collector.json');
      writeFileSync(f, JSON.stringify({ stateDir: '/srv/mk', listen: '[::]:9443', limits: { window: 3 }, responses: { rules: [] } }));
      const c = collectorConfigFrom({ config: f, ops: 'off', tlsMin: '1.2' });
      assert.deepEqual(splitHostPort(c.listen), { host: '::', port: 9443 });
      assert.equal(c.ops, 'off');
      assert.equal(c.tls.minVersion, '1.2');
      assert.equal(c.limits.window, 3);
      assert.deepEqual(resolvedDirs(c), { stateDir: '/srv/mk', pkiDir: '/srv/mk/pki', dumpDir: '/srv/mk/dumps' });
      assert.deepEqual((c as Record<string, unknown>).responses, { rules: [] });
      writeFileSync(f, JSON.stringify({ limits: { windw: 3 } }));
      assert.throws(() => collectorConfigFrom({ config: f }), (e: Error) => e.name === 'ConfigError' && /limits/.test(e.message));
      assert.throws(() => collectorConfigFrom({ listen: 'nowhere' }), /host:port/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
