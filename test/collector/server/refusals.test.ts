import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { CollectorServer } from '../../../collector/server/collector-server.js';
import { revokeAgent } from '../../../certs/pki-dir.js';
import { issueOperatorCertificate } from '../../../certs/operator-certs.js';
import { issueAgent, makeDump, makeTestPki, metricFromText, tmpDir, waitFor, type TestPki, startTestCollector } from '../../helpers/transport-rig.js';
import { RawAgent } from '../../helpers/raw-agent.js';
import { strictLogLines } from '../../helpers/json-lines.js';

async function refusalOf(p: Promise<RawAgent>): Promise<string> {
  try {
    const a = await p;
    a.close();
    return 'accepted';
  } catch (e) {
    return (e as { refusal?: string }).refusal ?? `error: ${(e as Error).message}`;
  }
}

describe('transport: refused connections are counted with their reason', function () {
  let root: string;
  let tp: TestPki;
  let other: TestPki;
  let server: CollectorServer;
  let logText = '';

  before(async function () {
    root = tmpDir('refuse');
    tp = makeTestPki(root);
    other = makeTestPki(join(root, 'other'));
    const sink = new Writable({ write(chunk: Buffer, _enc, cb) { logText += chunk.toString(); cb(); } });
    server = await startTestCollector(tp, root, {
      revocationPollMs: 100,
      log: pino({ base: { pid: process.pid } }, sink).child({ component: 'collector-server' }),
      // every refusal here comes from 127.0.0.1: log them all (the default is 5 per source and minute)
      refusalLog: { perSource: 1000 },
    });
  });
  after(async function () {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function refusals(reason: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${server.opsPort}/metrics`)).text();
    return metricFromText(text, 'meerkat_collector_refusals_total', { reason });
  }

  it('plain HTTP on the TLS port', async () => {
    const before = await refusals('plain-http');
    await new Promise<void>((resolve) => {
      const s = netConnect(server.port, '127.0.0.1', () => s.write('GET /v1/agent HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n'));
      s.on('close', () => resolve());
      s.on('error', () => undefined);
    });
    await waitFor(async () => (await refusals('plain-http')) === before + 1, 3000, 'plain-http counted');
  });

  it('no client certificate', async () => {
    const before = await refusals('no-client-cert');
    assert.equal(await refusalOf(RawAgent.connect(server.port, { ca: tp.pki.ca.certPem })), 'no-client-cert');
    assert.equal(await refusals('no-client-cert'), before + 1);
  });

  it('a certificate from another CA (Node alone would report only a reset)', async () => {
    const stranger = issueAgent(other);
    const before = await refusals('unknown-ca');
    assert.equal(await refusalOf(RawAgent.connect(server.port, { ...stranger, ca: tp.pki.ca.certPem })), 'unknown-ca');
    assert.equal(await refusals('unknown-ca'), before + 1);
  });

  it('an expired certificate, and one not valid yet', async () => {
    const day = 86_400_000;
    const expired = issueAgent(tp, { notBefore: new Date(Date.now() - 30 * day), notAfter: new Date(Date.now() - day) });
    const future = issueAgent(tp, { notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 30 * day) });
    const [e0, f0] = [await refusals('expired'), await refusals('not-yet-valid')];
    assert.equal(await refusalOf(RawAgent.connect(server.port, expired)), 'expired');
    assert.equal(await refusalOf(RawAgent.connect(server.port, future)), 'not-yet-valid');
    assert.equal(await refusals('expired'), e0 + 1);
    assert.equal(await refusals('not-yet-valid'), f0 + 1);
  });

  it('TLS 1.2 is refused unless the collector allows it', async () => {
    const before = await refusals('tls-version');
    const a = issueAgent(tp);
    const err = await new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: server.port, servername: 'localhost', ...a, maxVersion: 'TLSv1.2' }, () => resolve('connected'));
      s.on('error', (e) => resolve(e.message));
    });
    assert.match(err, /protocol version|unsupported protocol/i);
    await waitFor(async () => (await refusals('tls-version')) === before + 1, 3000, 'tls-version counted');

    const root12 = join(root, 'v12');
    const s12 = await CollectorServer.start({ pkiDir: tp.dir, stateDir: root12, listen: { host: '127.0.0.1', port: 0 }, ops: false, tlsMinVersion: 'TLSv1.2', defaultMetrics: false });
    try {
      const agent = await RawAgent.connect(s12.port, a, { maxVersion: 'TLSv1.2' });
      assert.equal((agent.ws as unknown as { _socket: { getProtocol(): string } })._socket.getProtocol(), 'TLSv1.2');
      await agent.next('welcome');
      agent.close();
    } finally {
      await s12.close();
    }
  });

  it('a revoked agent is refused at connect, and its live connection is closed on revoke', async () => {
    const victim = issueAgent(tp);
    const bystander = issueAgent(tp);
    const live = await RawAgent.connect(server.port, victim);
    await live.next('welcome');
    const other = await RawAgent.connect(server.port, bystander);
    await other.next('welcome');
    const text0 = await (await fetch(`http://127.0.0.1:${server.opsPort}/metrics`)).text();
    const closed0 = metricFromText(text0, 'meerkat_collector_connections_closed_total', { reason: 'revoked' });
    const revoked0 = await refusals('revoked');

    revokeAgent(tp.dir, victim.agentId, 'test'); // another "process" (the CLI) writes the list
    const closed = await live.waitClosed(5000);
    assert.equal(closed.code, 4003);
    const text1 = await (await fetch(`http://127.0.0.1:${server.opsPort}/metrics`)).text();
    assert.equal(metricFromText(text1, 'meerkat_collector_connections_closed_total', { reason: 'revoked' }), closed0 + 1);

    assert.equal(await refusalOf(RawAgent.connect(server.port, victim)), 'revoked');
    assert.equal(await refusals('revoked'), revoked0 + 1);
    // everyone else keeps working
    other.upload(1, makeDump(bystander.agentId, 1, 0, 20));
    assert.equal((await other.next('ack')).seq, 1);
    other.close();
  });

  it("certificates of this CA that are no agent's: the collector's server certificate, an operator's", async () => {
    const p = tp.pki.paths;
    const [c0, i0] = [await refusals('bad-certificate'), await refusals('bad-identity')];
    const serverCreds = { key: readFileSync(p.serverKey, 'utf8'), cert: readFileSync(p.serverCert, 'utf8'), ca: tp.pki.ca.certPem };
    // a server-only certificate fails verification as a client certificate
    assert.equal(await refusalOf(RawAgent.connect(server.port, serverCreds)), 'bad-certificate');
    const op = issueOperatorCertificate(tp.pki.ca, 'alice', { bits: 2048 });
    assert.equal(await refusalOf(RawAgent.connect(server.port, { key: op.keyPem, cert: op.certPem, ca: tp.pki.ca.certPem })), 'bad-identity');
    assert.equal(await refusals('bad-certificate'), c0 + 1);
    assert.equal(await refusals('bad-identity'), i0 + 1);
  });

  it('every refusal line carries the source address, each key once', () => {
    const { lines } = strictLogLines(logText);
    const refused = lines.filter((l) => l.msg === 'connection refused');
    const reasons = new Set(refused.map((l) => l.reason));
    for (const r of ['plain-http', 'no-client-cert', 'unknown-ca', 'expired', 'not-yet-valid', 'tls-version', 'revoked', 'bad-certificate', 'bad-identity']) {
      assert.ok(reasons.has(r), `a ${r} line was logged (${[...reasons].join(', ')})`);
    }
    for (const l of refused) assert.equal(l.remote, '127.0.0.1', JSON.stringify(l));
  });

  it('a good agent is accepted and nothing is counted for it', async () => {
    const text0 = await (await fetch(`http://127.0.0.1:${server.opsPort}/metrics`)).text();
    const total0 = metricFromText(text0, 'meerkat_collector_refusals_total');
    const a = issueAgent(tp);
    assert.equal(await refusalOf(RawAgent.connect(server.port, a)), 'accepted');
    const text1 = await (await fetch(`http://127.0.0.1:${server.opsPort}/metrics`)).text();
    assert.equal(metricFromText(text1, 'meerkat_collector_refusals_total'), total0);
  });
});
