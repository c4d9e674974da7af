// The collector's side of remote control, in process with real parts: a real PKI (CA, operator
// certificates), the control tables in SQLite, the HTTPS operators' API with mutual TLS, the console's
// API client. The agent server is stood in for by a small transport that records what would be
// sent and lets the test answer as an agent would.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import type { DnsRecord, TlsRecord } from '../../../shared/flow/app-records.js';
import { join } from 'node:path';
import { pkiPaths } from '../../../certs/pki-dir.js';
import { loadCa, createCa } from '../../../certs/certificate-authority.js';
import { RevocationList, saveRevocationList } from '../../../certs/revocation-list.js';
import { buildSignedCommand } from '../../../shared/commands/command-signing.js';
import { initOperatorKeys, loadOperatorSigningKey, type OperatorSigningKey } from '../../../shared/commands/operator-keys.js';
import type { CommandEnvelope } from '../../../shared/commands/command-schema.js';
import type { ControlService } from '../../../collector/control/control-service.js';
import { FakeTransport, OrgApiRig } from '../../helpers/org-api-rig.js';
import { CommandQueue, SubmitError } from '../../../collector/control/command-queue.js';
import { openControlDb } from '../../../collector/control/control-db.js';
import { issueOperatorCertificate, operatorSerials, OPERATOR_REVOCATION_PREFIX } from '../../../certs/operator-certs.js';
import { AdminApiError, AdminClient } from '../../../console/admin-client.js';
import { deanonymizeStarred } from '../../../console/deanon-text.js';
import { anonymizeCidrText, anonymizeText } from '../../../shared/anonymize/pseudonym-text.js';
import { randomBytes } from 'node:crypto';

const A1 = '3b1f6a52-9c1e-4d6f-8a2b-0c4d5e6f7a8b';
const A2 = '7c2d8e90-1f3a-4b5c-9d6e-7f8a9b0c1d2e';
const A3 = 'a4b5c6d7-e8f9-4a0b-8c1d-2e3f4a5b6c7d';
const HOUR = 3_600_000;

describe('collector control: queue, the API, audit', function () {
  this.timeout(60_000);
  const rig = new OrgApiRig();
  let svc: ControlService;
  let transport: FakeTransport;
  let client: AdminClient;
  let key: OperatorSigningKey;
  let caPem: string;
  let pki: string;
  let apiPort: number;

  const sign = (agentId: string, o: { lifetimeMs?: number; nowMs?: number } = {}): CommandEnvelope =>
    buildSignedCommand(key, { agentId, kind: 'capture.snaplen', params: { snapLen: 64 }, lifetimeMs: o.lifetimeMs ?? HOUR, ...(o.nowMs ? { nowMs: o.nowMs } : {}) });

  async function clientFor(name: string, role: 'viewer' | 'responder' | 'admin' = 'admin'): Promise<AdminClient> {
    return (await rig.user(name, { default: role })).client();
  }

  before(async () => {
    await rig.start();
    pki = rig.pki;
    caPem = rig.caPem;
    apiPort = rig.api.port;
    svc = rig.org('default').control;
    transport = rig.org('default').transport;
    for (const a of [A1, A2, A3]) rig.state.orgs.assignAgent(a, 'default');
    client = await clientFor('alice');
    initOperatorKeys(join(rig.dir, 'op'), { name: 'alice' });
    key = loadOperatorSigningKey(join(rig.dir, 'op', 'op.key'));
  });
  after(async () => {
    await rig.close();
  });

  it('the API: no anonymous access; only operator certificates of this CA naming a user; every request audited', async () => {
    const anonymous = await new Promise<number>((resolve, reject) => {
      request(`https://127.0.0.1:${apiPort}/v1/orgs/default/agents`, { ca: caPem }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject).end();
    });
    assert.equal(anonymous, 401);
    // the collector's server certificate is from the right CA but is no operator certificate
    const p = pkiPaths(pki);
    const server = new AdminClient(`https://127.0.0.1:${apiPort}`, { cert: readFileSync(p.serverCert, 'utf8'), key: readFileSync(p.serverKey, 'utf8'), ca: caPem });
    await assert.rejects(server.get('/v1/whoami'), (e: unknown) => e instanceof AdminApiError && e.status === 403);
    // an operator certificate from another CA
    const foreign = createCa({ bits: 3072 });
    const f = issueOperatorCertificate(foreign, 'eve', { bits: 2048 });
    const eve = new AdminClient(`https://127.0.0.1:${apiPort}`, { cert: f.certPem, key: f.keyPem, ca: caPem });
    await assert.rejects(eve.get('/v1/whoami'), (e: unknown) => e instanceof AdminApiError && e.status === 403);
    // a good certificate whose CN is nobody's user name
    const ghost = rig.certFor('ghost');
    const g = new AdminClient(`https://127.0.0.1:${apiPort}`, { cert: ghost.certPem, key: ghost.keyPem, ca: caPem });
    await assert.rejects(g.get('/v1/whoami'), (e: unknown) => e instanceof AdminApiError && e.status === 403 && /not an enabled user/.test(e.message));
    assert.deepEqual((await client.get<{ operator: string }>('/v1/whoami')).operator, 'alice');
    const collector = rig.state.audit.list();
    assert.ok(collector.some((e) => e.actor === 'anonymous' && e.outcome === '401'));
    assert.ok(collector.some((e) => e.actor.startsWith('unauthenticated:eve') && e.outcome === '403'));
    assert.ok(collector.some((e) => e.actor === 'unauthenticated:ghost' && e.outcome === '403'));
    assert.ok(collector.some((e) => e.actor === 'operator:alice' && e.action === 'http GET /v1/whoami' && e.outcome === '200'));
    await client.get(client.scoped('/agents'));
    const audit = (await client.get<{ entries: { actor: string; action: string; outcome: string }[] }>(client.scoped('/audit'))).entries;
    assert.ok(audit.some((e) => e.actor === 'operator:alice' && e.action === 'http GET /v1/orgs/default/agents' && e.outcome === '200'), 'organisation requests are in the organisation\'s audit');
  });

  it('the API: GET /v1/orgs/ORG/transport/agents gives operators the agent server\'s view (the plain ops port does not)', async () => {
    transport.connect(A3);
    const anonymous = await new Promise<number>((resolve, reject) => {
      request(`https://127.0.0.1:${apiPort}/v1/orgs/default/transport/agents`, { ca: caPem }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject).end();
    });
    assert.equal(anonymous, 401);
    const got = await client.get<{ agents: { agentId: string; connected: boolean }[] }>(client.scoped('/transport/agents'));
    assert.ok(got.agents.some((a) => a.agentId === A3 && a.connected));
    transport.disconnect(A3);
  });

  it('admin API permissions: a route the role lacks is 403 forbidden and audited; wrong method 405; old unscoped paths 404 with a hint', async () => {
    const bob = await clientFor('bob', 'viewer');
    assert.equal((await bob.get<{ operator: string }>('/v1/whoami')).operator, 'bob');
    const before = svc.queue.list({}).length;
    await assert.rejects(bob.post(bob.scoped('/commands'), sign(A1)), (e: unknown) => e instanceof AdminApiError && e.status === 403 && /commands:submit/.test(e.message));
    assert.equal(svc.queue.list({}).length, before, 'nothing was queued');
    await assert.rejects(bob.post(bob.scoped('/audit'), {}), (e: unknown) => e instanceof AdminApiError && e.status === 405);
    await assert.rejects(bob.get('/v1/agents'), (e: unknown) => e instanceof AdminApiError && e.status === 404 && /\/v1\/orgs\/<org>\/agents/.test(e.message));
    const audit = (await bob.get<{ entries: { actor: string; action: string; outcome: string }[] }>(bob.scoped('/audit'))).entries;
    assert.ok(audit.some((e) => e.actor === 'operator:bob' && e.action === 'http POST /v1/orgs/default/commands' && e.outcome === '403'));
  });

  it('the API: GET /v1/orgs/ORG/dns and .../tls give the organisation\'s DNS and TLS logs, filtered; bad queries are 400', async () => {
    const store = new SqliteFlowStore(rig.org('default').dbPath);
    const base = { uid: 'Fx.1', agent_id: A1, orig_addr: '10.0.0.5', orig_port: 40000, resp_addr: '10.0.0.1', resp_port: 53, orig_anon: true, resp_anon: false };
    const dns: DnsRecord = {
      ...base, ts: 1_700_000_000_000_000, proto: 'udp', trans_id: 9, rtt_us: 800, query: 'www.example.com', query_anon: false, qclass: 1,
      qclass_name: 'C_INTERNET', qtype: 1, qtype_name: 'A', rcode: 3, rcode_name: 'NXDOMAIN', AA: false, TC: false, RD: true, RA: true, answers: [],
    };
    const tls: TlsRecord = {
      ...base, resp_port: 443, ts: 1_700_000_000_000_100, transport: 'tcp', version: 'TLSv13', client_version: 'TLSv13', cipher: 'TLS_AES_128_GCM_SHA256',
      server_name: 'www.example.com', server_name_anon: false, alpn: ['h2'], next_protocol: null, ja4: 't13d1516h2_8daaf6152771_b186095e22b6',
      ja4s: null, quic_version: null,
    };
    store.insertAppRecords([dns, { ...dns, ts: dns.ts + 5, query: 'other.org', rcode: 0, rcode_name: 'NOERROR' }], [tls]);
    store.close();
    const all = await client.get<{ dns: DnsRecord[] }>(client.scoped('/dns'));
    assert.equal(all.dns.length, 2);
    assert.deepEqual((await client.get<{ dns: DnsRecord[] }>(client.scoped('/dns?nameSuffix=example.com&rcode=NXDOMAIN'))).dns, [dns]);
    assert.deepEqual((await client.get<{ tls: TlsRecord[] }>(client.scoped(`/tls?agent=${A1}&ja4=${tls.ja4}`))).tls, [tls]);
    assert.equal((await client.get<{ dns: DnsRecord[] }>(client.scoped('/dns?limit=1'))).dns.length, 1);
    for (const bad of ['/dns?limit=0', '/dns?rcode=WHAT', '/dns?since=yesterday-ish', '/dns?color=red', '/tls?rcode=3', '/dns?addr=nope']) {
      await assert.rejects(client.get(client.scoped(bad)), (e: unknown) => e instanceof AdminApiError && e.status === 400, bad);
    }
    const audit = (await client.get<{ entries: { action: string; outcome: string; agentId: string | null }[] }>(client.scoped('/audit'))).entries;
    assert.ok(audit.some((e) => e.action === 'http GET /v1/orgs/default/tls' && e.outcome === '200' && e.agentId === A1));
  });

  it('queues for an offline agent, delivers at connect, records the answer; --wait returns when it ends', async () => {
    const { command } = await client.post<{ command: { id: string; state: string } }>(client.scoped('/commands'), sign(A1));
    assert.equal(command.state, 'queued');
    assert.equal(transport.sent.length, 0);
    const waiting = client.get<{ command: { state: string; result: { status: string } } }>(client.scoped(`/commands/${command.id}?wait=20`));
    transport.connect(A1);
    for (let i = 0; i < 100 && transport.sent.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(transport.sent.length, 1);
    assert.equal(transport.sent[0]!.id, command.id);
    assert.equal((await client.get<{ command: { state: string } }>(client.scoped(`/commands/${command.id}`))).command.state, 'delivered');
    svc.hooks.onCommandResult(A1, command.id, true, { status: 'done', kind: 'capture.snaplen', data: { snapLen: 64 } }, undefined);
    const done = await waiting;
    assert.equal(done.command.state, 'done');
    assert.equal(done.command.result.status, 'done');
  });

  it('sends again on the next connection what got no answer; the queue refuses duplicates and expired commands', async () => {
    transport.connect(A2);
    const { command } = await client.post<{ command: { id: string; state: string } }>(client.scoped('/commands'), sign(A2));
    assert.equal(command.state, 'delivered', 'delivered at once to a connected agent');
    transport.disconnect(A2);
    transport.connect(A2);
    for (let i = 0; i < 100 && transport.sent.filter((s) => s.id === command.id).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(transport.sent.filter((s) => s.id === command.id).length, 2);
    svc.hooks.onCommandResult(A2, command.id, false, { status: 'refused', code: 'replay', reason: 'x' }, 'refused');
    const c = (await client.get<{ command: { state: string; deliveries: number; error: string } }>(client.scoped(`/commands/${command.id}`))).command;
    assert.equal(c.state, 'refused');
    assert.equal(c.deliveries, 2);
    const env = sign(A1);
    await client.post(client.scoped('/commands'), env);
    await assert.rejects(client.post(client.scoped('/commands'), env), (e: unknown) => e instanceof AdminApiError && e.status === 409);
    await assert.rejects(client.post(client.scoped('/commands'), sign(A1, { nowMs: Date.now() - 2 * HOUR })), (e: unknown) => e instanceof AdminApiError && e.status === 400 && e.reason === 'expired');
    await assert.rejects(client.post(client.scoped('/commands'), { not: 'a command' }), (e: unknown) => e instanceof AdminApiError && e.status === 400 && e.reason === 'malformed');
    // an answer for something never sent is audited, not trusted
    svc.hooks.onCommandResult(A1, 'made-up', false, { status: 'refused', code: 'bad-signature', reason: 'x' }, 'x');
    const audit = (await client.get<{ entries: { action: string; commandId: string | null; outcome: string }[] }>(client.scoped(`/audit?agent=${A1}`))).entries;
    assert.ok(audit.some((e) => e.action === 'command.result-unknown' && e.commandId === 'made-up' && e.outcome === 'refused:bad-signature'));
    assert.ok(audit.some((e) => e.action === 'command.submit' && e.outcome === 'refused:duplicate'));
  });

  it('a revoked operator is refused within the revocation poll', async () => {
    const bob = await clientFor('carol');
    assert.equal((await bob.get<{ operator: string }>('/v1/whoami')).operator, 'carol');
    const p = pkiPaths(pki);
    const ca = loadCa(p.caCert, p.caKey);
    const list = RevocationList.load(p.revocations, ca.certPem);
    saveRevocationList(p.revocations, ca, list.withRevoked(OPERATOR_REVOCATION_PREFIX + 'carol', operatorSerials(pki, 'carol'), 'test'));
    let status = 200;
    for (let i = 0; i < 30 && status === 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      status = await bob.get('/v1/whoami').then(() => 200, (e: unknown) => (e instanceof AdminApiError ? e.status : 0));
    }
    assert.equal(status, 403);
    assert.equal((await client.get<{ operator: string }>('/v1/whoami')).operator, 'alice', 'others unaffected');
  });

  it('queue: expiry of undelivered commands, give-up on unanswered ones, late answers', () => {
    const db = openControlDb(join(rig.dir, 'queue.db'));
    let now = Date.now();
    const q = new CommandQueue(db, () => now);
    const a = q.submit(sign(A1, { lifetimeMs: 10_000, nowMs: now }), 'alice');
    const b = q.submit(sign(A2, { lifetimeMs: 10_000, nowMs: now }), 'alice');
    q.markDelivered(b.id);
    assert.deepEqual(q.pendingFor(A1).map((c) => c.id), [a.id]);
    now += 10_001;
    assert.deepEqual(q.expireDue().map((c) => [c.id, c.state]), [[a.id, 'expired']]);
    now += 120_000;
    assert.deepEqual(q.expireDue().map((c) => [c.id, c.state]), [[b.id, 'failed']]);
    // the agent answers after all: the answer is kept
    assert.equal(q.complete(b.id, { status: 'done' })?.state, 'done');
    assert.equal(q.complete(b.id, { status: 'failed' }), null, 'an ended command does not change again');
    assert.equal(q.complete(a.id, { status: 'done' }), null, 'an expired command was never delivered');
    assert.throws(() => q.submit({ ...sign(A1), v: 2 }, 'alice'), SubmitError);
    db.close();
  });

  it('console --deanon: every "X*" pseudonym gets its real address beside it, nothing else changes', () => {
    const k = { anonKey: Uint8Array.from(randomBytes(32)) };
    const p = anonymizeText(k, '10.1.2.3');
    const net = anonymizeCidrText(k, '192.168.0.0/16');
    const p6 = anonymizeText(k, 'fd00::7');
    const text = `block ${p}*; allowed: ${net}*, 198.51.100.7; v6 ${p6}*; management channel ${p}*:8443\n`;
    assert.equal(deanonymizeStarred(text, k.anonKey),
      `block ${p}* (= 10.1.2.3); allowed: ${net}* (= 192.168.0.0/16), 198.51.100.7; v6 ${p6}* (= fd00::7); management channel ${p}* (= 10.1.2.3):8443\n`);
  });
});
