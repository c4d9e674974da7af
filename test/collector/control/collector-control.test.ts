// The collector's side of remote control, in process with real parts: a real PKI (CA, operator
// certificates), the control tables in SQLite, the HTTPS operators' API with mutual TLS, the console's
// API client. The agent server is stood in for by a small transport that records what would be
// sent and lets the test answer as an agent would.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import type { DnsRecord, TlsRecord } from '../../../shared/flow/app-records.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logger } from '../../../shared/log.js';
import { initPki, pkiPaths } from '../../../certs/pki-dir.js';
import { loadCa, createCa } from '../../../certs/certificate-authority.js';
import { RevocationList, saveRevocationList } from '../../../certs/revocation-list.js';
import { buildSignedCommand } from '../../../shared/commands/command-signing.js';
import { initOperatorKeys, loadOperatorSigningKey, type OperatorSigningKey } from '../../../shared/commands/operator-keys.js';
import type { CommandEnvelope } from '../../../shared/commands/command-schema.js';
import { ControlService, type CommandTransport } from '../../../collector/control/control-service.js';
import { CommandQueue, SubmitError } from '../../../collector/control/command-queue.js';
import { openControlDb } from '../../../collector/control/control-db.js';
import { issueOperatorCertificate, operatorSerials, recordOperatorIssuance, OPERATOR_REVOCATION_PREFIX } from '../../../certs/operator-certs.js';
import { AdminApiError, AdminClient } from '../../../console/admin-client.js';
import { deanonymizeStarred } from '../../../console/deanon-text.js';
import { anonymizeCidrText, anonymizeText } from '../../../shared/anonymize/pseudonym-text.js';
import { randomBytes } from 'node:crypto';

const A1 = '3b1f6a52-9c1e-4d6f-8a2b-0c4d5e6f7a8b';
const A2 = '7c2d8e90-1f3a-4b5c-9d6e-7f8a9b0c1d2e';
const A3 = 'a4b5c6d7-e8f9-4a0b-8c1d-2e3f4a5b6c7d';
const HOUR = 3_600_000;
const log = logger('test-collector-control');
log.level = 'silent';

class Transport implements CommandTransport {
  sent: { agentId: string; id: string; command: unknown }[] = [];
  conns = new Map<string, string>();
  sendCommand(agentId: string, id: string, command: unknown): boolean {
    if (!this.conns.has(agentId)) return false;
    this.sent.push({ agentId, id, command });
    return true;
  }
  agentSummaries(): { agentId: string; connected: boolean; connectedSince: string | null }[] {
    return [...this.conns].map(([agentId, since]) => ({ agentId, connected: true, connectedSince: since }));
  }
  connect(agentId: string): void {
    this.conns.set(agentId, new Date(Date.now() + Math.random()).toISOString() + Math.random());
  }
  disconnect(agentId: string): void {
    this.conns.delete(agentId);
  }
}

describe('collector control: queue, the API, audit', function () {
  this.timeout(60_000);
  let dir: string;
  let pki: string;
  let svc: ControlService;
  let transport: Transport;
  let client: AdminClient;
  let key: OperatorSigningKey;
  let caPem: string;

  const sign = (agentId: string, o: { lifetimeMs?: number; nowMs?: number } = {}): CommandEnvelope =>
    buildSignedCommand(key, { agentId, kind: 'capture.snaplen', params: { snapLen: 64 }, lifetimeMs: o.lifetimeMs ?? HOUR, ...(o.nowMs ? { nowMs: o.nowMs } : {}) });

  function clientFor(name: string, ca = loadCa(pkiPaths(pki).caCert, pkiPaths(pki).caKey)): AdminClient {
    const c = issueOperatorCertificate(ca, name, { bits: 2048 });
    recordOperatorIssuance(pki, c);
    return new AdminClient(`https://127.0.0.1:${svc.apiPort}`, { cert: c.certPem, key: c.keyPem, ca: caPem });
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-collector-control-'));
    pki = join(dir, 'pki');
    initPki(pki, { serverNames: ['collector.test'], serverBits: 2048 });
    caPem = readFileSync(pkiPaths(pki).caCert, 'utf8');
    svc = await ControlService.open({ dbPath: join(dir, 'meerkat.db'), pkiDir: pki, listen: { host: '127.0.0.1', port: 0 }, log, tickMs: 50 });
    transport = new Transport();
    svc.attach(transport);
    client = clientFor('alice');
    initOperatorKeys(join(dir, 'op'), { name: 'alice' });
    key = loadOperatorSigningKey(join(dir, 'op', 'op.key'));
  });
  after(async () => {
    await svc?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the API: no anonymous access; only operator certificates of this CA; every request audited', async () => {
    const anonymous = await new Promise<number>((resolve, reject) => {
      request(`https://127.0.0.1:${svc.apiPort}/v1/agents`, { ca: caPem }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject).end();
    });
    assert.equal(anonymous, 401);
    // the collector's server certificate is from the right CA but is no operator certificate
    const p = pkiPaths(pki);
    const server = new AdminClient(`https://127.0.0.1:${svc.apiPort}`, { cert: readFileSync(p.serverCert, 'utf8'), key: readFileSync(p.serverKey, 'utf8'), ca: caPem });
    await assert.rejects(server.get('/v1/whoami'), (e: unknown) => e instanceof AdminApiError && e.status === 403);
    // an operator certificate from another CA
    const foreign = createCa({ bits: 3072 });
    const f = issueOperatorCertificate(foreign, 'eve', { bits: 2048 });
    const eve = new AdminClient(`https://127.0.0.1:${svc.apiPort}`, { cert: f.certPem, key: f.keyPem, ca: caPem });
    await assert.rejects(eve.get('/v1/whoami'), (e: unknown) => e instanceof AdminApiError && e.status === 403);
    assert.deepEqual((await client.get<{ operator: string }>('/v1/whoami')).operator, 'alice');
    const audit = (await client.get<{ entries: { actor: string; action: string; outcome: string }[] }>('/v1/audit')).entries;
    assert.ok(audit.some((e) => e.actor === 'anonymous' && e.outcome === '401'));
    assert.ok(audit.some((e) => e.actor.startsWith('unauthenticated:eve') && e.outcome === '403'));
    assert.ok(audit.some((e) => e.actor === 'operator:alice' && e.action === 'http GET /v1/whoami' && e.outcome === '200'));
  });

  it('the API: GET /v1/transport/agents gives operators the agent server\'s view (the plain ops port does not)', async () => {
    transport.connect(A3);
    const anonymous = await new Promise<number>((resolve, reject) => {
      request(`https://127.0.0.1:${svc.apiPort}/v1/transport/agents`, { ca: caPem }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject).end();
    });
    assert.equal(anonymous, 401);
    const got = await client.get<{ agents: { agentId: string; connected: boolean }[] }>('/v1/transport/agents');
    assert.ok(got.agents.some((a) => a.agentId === A3 && a.connected));
    transport.disconnect(A3);
  });

  it('API permissions: a route the operator lacks is 403 forbidden and audited; wrong method 405', async () => {
    // an authorizer as operator roles will give one: bob may read but not submit
    const ro = await ControlService.open({
      dbPath: join(dir, 'ro.db'), pkiDir: pki, listen: { host: '127.0.0.1', port: 0 }, log, tickMs: 50,
      authorize: (operator, permission) => operator !== 'bob' || permission.endsWith(':read'),
    });
    try {
      const ca = loadCa(pkiPaths(pki).caCert, pkiPaths(pki).caKey);
      const c = issueOperatorCertificate(ca, 'bob', { bits: 2048 });
      recordOperatorIssuance(pki, c);
      const bob = new AdminClient(`https://127.0.0.1:${ro.apiPort}`, { cert: c.certPem, key: c.keyPem, ca: caPem });
      assert.equal((await bob.get<{ operator: string }>('/v1/whoami')).operator, 'bob');
      await assert.rejects(bob.post('/v1/commands', sign(A1)), (e: unknown) => e instanceof AdminApiError && e.status === 403 && /commands:submit/.test(e.message));
      assert.equal(ro.queue.list({}).length, 0, 'nothing was queued');
      await assert.rejects(bob.post('/v1/audit', {}), (e: unknown) => e instanceof AdminApiError && e.status === 405);
      const audit = (await bob.get<{ entries: { actor: string; action: string; outcome: string }[] }>('/v1/audit')).entries;
      assert.ok(audit.some((e) => e.actor === 'operator:bob' && e.action === 'http POST /v1/commands' && e.outcome === '403'));
    } finally {
      await ro.close();
    }
  });

  it('admin API: GET /v1/dns and /v1/tls give the DNS and TLS logs, filtered; bad queries are 400', async () => {
    const store = new SqliteFlowStore(join(dir, 'meerkat.db'));
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
    const all = await client.get<{ dns: DnsRecord[] }>('/v1/dns');
    assert.equal(all.dns.length, 2);
    assert.deepEqual((await client.get<{ dns: DnsRecord[] }>('/v1/dns?nameSuffix=example.com&rcode=NXDOMAIN')).dns, [dns]);
    assert.deepEqual((await client.get<{ tls: TlsRecord[] }>(`/v1/tls?agent=${A1}&ja4=${tls.ja4}`)).tls, [tls]);
    assert.equal((await client.get<{ dns: DnsRecord[] }>('/v1/dns?limit=1')).dns.length, 1);
    for (const bad of ['/v1/dns?limit=0', '/v1/dns?rcode=WHAT', '/v1/dns?since=yesterday-ish', '/v1/dns?color=red', '/v1/tls?rcode=3', '/v1/dns?addr=nope']) {
      await assert.rejects(client.get(bad), (e: unknown) => e instanceof AdminApiError && e.status === 400, bad);
    }
    const audit = (await client.get<{ entries: { action: string; outcome: string; agentId: string | null }[] }>('/v1/audit')).entries;
    assert.ok(audit.some((e) => e.action === 'http GET /v1/tls' && e.outcome === '200' && e.agentId === A1));
  });

  it('queues for an offline agent, delivers at connect, records the answer; --wait returns when it ends', async () => {
    const { command } = await client.post<{ command: { id: string; state: string } }>('/v1/commands', sign(A1));
    assert.equal(command.state, 'queued');
    assert.equal(transport.sent.length, 0);
    const waiting = client.get<{ command: { state: string; result: { status: string } } }>(`/v1/commands/${command.id}?wait=20`);
    transport.connect(A1);
    for (let i = 0; i < 100 && transport.sent.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(transport.sent.length, 1);
    assert.equal(transport.sent[0]!.id, command.id);
    assert.equal((await client.get<{ command: { state: string } }>(`/v1/commands/${command.id}`)).command.state, 'delivered');
    svc.hooks.onCommandResult(A1, command.id, true, { status: 'done', kind: 'capture.snaplen', data: { snapLen: 64 } }, undefined);
    const done = await waiting;
    assert.equal(done.command.state, 'done');
    assert.equal(done.command.result.status, 'done');
  });

  it('sends again on the next connection what got no answer; the queue refuses duplicates and expired commands', async () => {
    transport.connect(A2);
    const { command } = await client.post<{ command: { id: string; state: string } }>('/v1/commands', sign(A2));
    assert.equal(command.state, 'delivered', 'delivered at once to a connected agent');
    transport.disconnect(A2);
    transport.connect(A2);
    for (let i = 0; i < 100 && transport.sent.filter((s) => s.id === command.id).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(transport.sent.filter((s) => s.id === command.id).length, 2);
    svc.hooks.onCommandResult(A2, command.id, false, { status: 'refused', code: 'replay', reason: 'x' }, 'refused');
    const c = (await client.get<{ command: { state: string; deliveries: number; error: string } }>(`/v1/commands/${command.id}`)).command;
    assert.equal(c.state, 'refused');
    assert.equal(c.deliveries, 2);
    const env = sign(A1);
    await client.post('/v1/commands', env);
    await assert.rejects(client.post('/v1/commands', env), (e: unknown) => e instanceof AdminApiError && e.status === 409);
    await assert.rejects(client.post('/v1/commands', sign(A1, { nowMs: Date.now() - 2 * HOUR })), (e: unknown) => e instanceof AdminApiError && e.status === 400 && e.reason === 'expired');
    await assert.rejects(client.post('/v1/commands', { not: 'a command' }), (e: unknown) => e instanceof AdminApiError && e.status === 400 && e.reason === 'malformed');
    // an answer for something never sent is audited, not trusted
    svc.hooks.onCommandResult(A1, 'made-up', false, { status: 'refused', code: 'bad-signature', reason: 'x' }, 'x');
    const audit = (await client.get<{ entries: { action: string; commandId: string | null; outcome: string }[] }>(`/v1/audit?agent=${A1}`)).entries;
    assert.ok(audit.some((e) => e.action === 'command.result-unknown' && e.commandId === 'made-up' && e.outcome === 'refused:bad-signature'));
    assert.ok(audit.some((e) => e.action === 'command.submit' && e.outcome === 'refused:duplicate'));
  });

  it('a revoked operator is refused within the revocation poll', async () => {
    const bob = clientFor('bob');
    assert.equal((await bob.get<{ operator: string }>('/v1/whoami')).operator, 'bob');
    const p = pkiPaths(pki);
    const ca = loadCa(p.caCert, p.caKey);
    const list = RevocationList.load(p.revocations, ca.certPem);
    saveRevocationList(p.revocations, ca, list.withRevoked(OPERATOR_REVOCATION_PREFIX + 'bob', operatorSerials(pki, 'bob'), 'test'));
    let status = 200;
    for (let i = 0; i < 30 && status === 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      status = await bob.get('/v1/whoami').then(() => 200, (e: unknown) => (e instanceof AdminApiError ? e.status : 0));
    }
    assert.equal(status, 403);
    assert.equal((await client.get<{ operator: string }>('/v1/whoami')).operator, 'alice', 'others unaffected');
  });

  it('queue: expiry of undelivered commands, give-up on unanswered ones, late answers', () => {
    const db = openControlDb(join(dir, 'queue.db'));
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
