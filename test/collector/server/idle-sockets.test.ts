// Connections that stall are closed, on every port of the real collector program: the agent
// TLS port (TCP and nothing, half a ClientHello, a finished handshake and no request), the
// plain ops port, and the operators' API. The agent port and the ops port follow
// limits.handshakeTimeoutSec (2 s here); the operators' API closes after 10 s. Close times printed.
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, metricFromText, tmpDir } from '../../helpers/transport-rig.js';
import { CollectorProcess, freePort } from '../../helpers/processes.js';

/** The first bytes of a TLS ClientHello: record header (length 200) and the start of the handshake. */
const HALF_CLIENT_HELLO = Buffer.from('16030100c8010000c40303', 'hex');

/** Milliseconds until the server closes a connection that does `behave` and then nothing. */
function timeToClose(port: number, behave: 'silent' | 'half-hello' | 'tls-no-request', ca?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const give = setTimeout(() => reject(new Error(`${behave} connection to ${port} still open after 30 s`)), 30_000);
    const done = (): void => { clearTimeout(give); resolve(performance.now() - t0); };
    if (behave === 'tls-no-request') {
      const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca! }, () => undefined);
      s.on('error', () => undefined);
      s.on('close', done);
      s.resume();
      return;
    }
    const s = netConnect(port, '127.0.0.1', () => { if (behave === 'half-hello') s.write(HALF_CLIENT_HELLO); });
    s.on('error', () => undefined);
    s.on('close', done);
    s.resume();
  });
}

describe('transport: stalled connections are closed on every port (real collector process)', function () {
  let root: string;
  let collector: CollectorProcess | undefined;
  before(() => { root = tmpDir('idle'); });
  after(() => {
    collector?.kill();
    rmSync(root, { recursive: true, force: true });
  });

  it('closes silent, half-handshake and request-less connections within the limits', async function () {
    this.timeout(90_000);
    const tp = makeTestPki(root);
    const apiPort = await freePort();
    collector = await CollectorProcess.start(join(root, 'collector.json'), {
      stateDir: join(root, 'state'), pkiDir: tp.dir, api: `127.0.0.1:${apiPort}`, limits: { handshakeTimeoutSec: 2 },
    });
    const ca = tp.pki.ca.certPem;
    const cases: Array<[string, Promise<number>, number]> = [
      ['agent port: TCP, nothing sent', timeToClose(collector.port, 'silent'), 2000],
      ['agent port: half a ClientHello', timeToClose(collector.port, 'half-hello'), 2000],
      ['agent port: TLS done, no request', timeToClose(collector.port, 'tls-no-request', ca), 2000],
      ['ops port: TCP, nothing sent', timeToClose(collector.opsPort, 'silent'), 2000],
      ['API: TCP, nothing sent', timeToClose(apiPort, 'silent'), 10_000],
      ['API: half a ClientHello', timeToClose(apiPort, 'half-hello'), 10_000],
    ];
    const results = await Promise.all(cases.map(async ([what, p, limit]) => [what, await p, limit] as const));
    for (const [what, ms, limit] of results) {
      process.stderr.write(`      ${what}: closed after ${(ms / 1000).toFixed(2)} s (limit ${limit / 1000} s)\n`);
      // not before the limit (that would cut off slow honest clients), and soon after it
      assert.ok(ms >= limit - 100 && ms < limit + 3000, `${what}: closed after ${ms.toFixed(0)} ms, limit ${limit} ms`);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${collector.opsPort}/metrics`)).text();
    assert.ok(metricFromText(metrics, 'meerkat_collector_refusals_total', { reason: 'timeout' }) >= 3, 'agent-port timeouts are counted');
    // an honest client is still served after all that
    assert.equal((await fetch(`http://127.0.0.1:${collector.opsPort}/healthz`)).status, 200);
    const lines = collector.logLines().filter((l) => l.msg === 'connection refused' && l.reason === 'timeout');
    assert.ok(lines.length >= 3 && lines.every((l) => l.remote === '127.0.0.1'), 'timeouts logged with the source address');
    assert.equal(await collector.stop(), 0, collector.stderr.slice(-2000));
  });
});
