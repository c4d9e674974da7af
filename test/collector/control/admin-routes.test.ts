// The operators' API routes for finding things and for the truth about agents, in process with
// real parts: flows imported from reference captures into a real collector database, alerts in
// its alert store (the default organisation's database), a real PKI and the HTTPS API with
// mutual TLS, the console's client. Paths under /v1/orgs/default:
//   GET .../flows (filters, CIDR and the "*" notation, cursor paging), GET .../flows/summary,
//   GET .../alerts and POST .../alerts/ID/state (audited), since/until on commands and audit,
//   GET .../agents (revoked, commands not answered yet, what a command put in force),
//   GET .../feeds (the organisation's threat-intel feeds; none: an empty list; other orgs: 403).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ThreatWatchlist, type FeedStatus } from '../../../collector/respond/threat-watchlist.js';
import { revokeAgent } from '../../../certs/pki-dir.js';
import { OrgApiRig } from '../../helpers/org-api-rig.js';
import { buildSignedCommand } from '../../../shared/commands/command-signing.js';
import { initOperatorKeys, loadOperatorSigningKey } from '../../../shared/commands/operator-keys.js';
import type { ControlService } from '../../../collector/control/control-service.js';
import { importFiles } from '../../../collector/import/import-files.js';
import { SqliteAlertStore } from '../../../shared/alerts/sqlite-alert-store.js';
import { alertKey, type AggregatedAlert } from '../../../shared/alerts/alert-types.js';
import { AdminApiError, AdminClient } from '../../../console/admin-client.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import type { AgentView } from '../../../shared/commands/admin-views.js';
import { alert } from '../../helpers/alert-gen.js';

const A1 = '3b1f6a52-9c1e-4d6f-8a2b-0c4d5e6f7a8b';
const A2 = '7c2d8e90-1f3a-4b5c-9d6e-7f8a9b0c1d2e';

function aggregated(p: Parameters<typeof alert>[0], tsUs: number): AggregatedAlert {
  const a = alert({ ...p, tsUs });
  return { key: alertKey(a), latest: a, count: 1, firstTsUs: tsUs, lastTsUs: tsUs, maxSeverity: a.severity, flowUids: [a.flowUid ?? 'F'] };
}

type Flows = { flows: FlowRecord[]; next: string | null };

describe('API routes: flows, summary, alerts, time ranges, agents as they are', function () {
  this.timeout(60_000);
  const rig = new OrgApiRig();
  let dir: string;
  let svc: ControlService;
  let client: AdminClient;
  let all: FlowRecord[];

  before(async () => {
    // the default organisation of a collector state, its database, the operators' API over it
    await rig.start();
    dir = rig.dir;
    const db = rig.org('default').dbPath;
    for (const a of [A1, A2]) rig.state.orgs.assignAgent(a, 'default');
    const pcaps = referencePcapsDir();
    await importFiles([join(pcaps, 'zeek/wikipedia.pcap'), join(pcaps, 'zeek/ftp_ipv6.pcap')], { db, anonymize: 'none', agentId: A1, progress: false });
    const alerts = new SqliteAlertStore(db);
    alerts.record([
      aggregated({ agentId: A1, category: 'scan', rule: 'port-scan', peer: '198.51.100.7' }, 1_700_000_000_000_000),
      aggregated({ agentId: A1, category: 'threat-intel', rule: 'ip:feed', peer: '203.0.113.9', severity: 'high' }, 1_700_000_100_000_000),
      aggregated({ agentId: A2, category: 'beacon', rule: 'periodic', peer: '192.0.2.1' }, 1_700_000_200_000_000),
    ]);
    alerts.close();
    svc = rig.org('default').control;
    client = (await rig.user('alice', { default: 'admin' })).client();
    all = (await client.get<Flows>(client.scoped('/flows'))).flows;
  });
  after(async () => {
    await rig.close();
  });

  const flows = async (q: string): Promise<Flows> => client.get<Flows>(client.scoped(`/flows?${q}`));
  const badQuery = (q: string, param: RegExp) => assert.rejects(flows(q), (e: unknown) => e instanceof AdminApiError && e.status === 400 && e.reason === 'bad-query' && param.test(e.message));

  it('GET /v1/flows: newest first, a default page of 100, the records of docs/flows.md', () => {
    assert.equal(all.length, 40);
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.start >= all[i]!.start, 'newest first');
    assert.ok(all.every((r) => r.agent_id === A1 && 'community_id' in r && 'conn_state' in r));
  });

  it('pages with a cursor: every record once, in order, and no cursor after the last page', async () => {
    const seen: FlowRecord[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Flows = await flows(`limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      assert.ok(page.flows.length <= 7);
      seen.push(...page.flows);
      cursor = page.next;
      pages++;
    } while (cursor !== null);
    assert.equal(pages, 6);
    assert.deepEqual(seen.map((r) => `${r.uid}/${r.record_seq}`), all.map((r) => `${r.uid}/${r.record_seq}`));
    await badQuery('cursor=not-a-cursor', /cursor/);
  });

  it('filters: address or CIDR (either side), the * notation (pseudonyms only), port, protocol, state, time, community id', async () => {
    const either = (pred: (a: string) => boolean) => all.filter((r) => pred(r.orig_addr) || pred(r.resp_addr)).length;
    assert.equal((await flows('addr=2001:470:4867:99::21')).flows.length, 6);
    assert.equal((await flows(`addr=${encodeURIComponent('2001:470:4867:99::/64')}`)).flows.length, 6);
    assert.equal((await flows(`addr=${encodeURIComponent('[2001:470:4867:99::21]')}`)).flows.length, 6, 'brackets as endpoints print them');
    const in141 = either((a) => a.startsWith('141.142.'));
    assert.ok(in141 > 0);
    assert.equal((await flows(`addr=${encodeURIComponent('141.142.0.0/16')}`)).flows.length, in141);
    assert.equal((await flows(`addr=${encodeURIComponent('141.142.220.118*')}`)).flows.length, 0, 'these addresses are not pseudonyms');
    assert.equal((await flows('port=53&proto=udp')).flows.length, 14);
    assert.equal((await flows('state=s1')).flows.length, all.filter((r) => r.conn_state === 'S1').length);
    const mid = all[20]!.start;
    assert.equal((await flows(`since=${mid}`)).flows.length, all.filter((r) => r.end >= mid).length);
    assert.equal((await flows(`until=${encodeURIComponent(new Date(mid / 1000).toISOString())}`)).flows.length, all.filter((r) => r.start <= Math.floor(mid / 1000) * 1000).length);
    const cid = all[0]!.community_id;
    assert.equal((await flows(`community=${encodeURIComponent(cid)}`)).flows.length, all.filter((r) => r.community_id === cid).length);
    await badQuery('addr=300.1.1.1', /API: addr:/);
    await badQuery('limit=0', /API: limit:/);
    await badQuery('state=XX', /API: state:/);
    await badQuery('agent=laptop', /API: agent:/);
    await badQuery('colour=red', /API: colour: unknown parameter/);
    await badQuery('since=yesterday', /API: since:/);
  });

  it('GET /v1/flows/summary: totals and top talkers, ports and protocols add up to the records', async () => {
    const s = await client.get<{ records: number; bytes: number; packets: number; sinceUs: number; talkers: { addr: string; pseudonym: boolean; bytes: number }[]; ports: { proto: string; port: number; bytes: number }[]; protocols: { proto: string; records: number }[] }>(
      client.scoped('/flows/summary?since=0&top=3'));
    assert.equal(s.records, 40);
    assert.equal(s.bytes, all.reduce((a, r) => a + r.orig_ip_bytes + r.resp_ip_bytes, 0));
    assert.equal(s.packets, all.reduce((a, r) => a + r.orig_pkts + r.resp_pkts, 0));
    assert.equal(s.talkers.length, 3);
    for (let i = 1; i < s.talkers.length; i++) assert.ok(s.talkers[i - 1]!.bytes >= s.talkers[i]!.bytes);
    const top = s.talkers[0]!;
    assert.equal(top.bytes, all.filter((r) => r.orig_addr === top.addr || r.resp_addr === top.addr).reduce((a, r) => a + r.orig_ip_bytes + r.resp_ip_bytes, 0));
    assert.deepEqual(s.protocols.map((p) => [p.proto, p.records]).sort(), [['tcp', all.filter((r) => r.proto === 'tcp').length], ['udp', all.filter((r) => r.proto === 'udp').length]].sort());
    const recent = await client.get<{ records: number; sinceUs: number; untilUs: number }>(client.scoped('/flows/summary'));
    assert.equal(recent.records, 0, 'the default range is the last hour; these captures are from 2012');
    assert.ok(Math.abs(recent.untilUs - recent.sinceUs - 3_600_000_000) < 1000);
    await assert.rejects(client.get(client.scoped('/flows/summary?limit=5')), (e: unknown) => e instanceof AdminApiError && e.status === 400);
  });

  it('GET /v1/alerts and POST /v1/alerts/ID/state: filters, paging, state changes audited with who', async () => {
    type AlertsBody = { alerts: Array<{ id: number; state: string; agentId: string; category: string; lastSeen: string; lastSeenUs: number }>; next: string | null };
    const listed = await client.get<AlertsBody>(client.scoped('/alerts'));
    assert.deepEqual(listed.alerts.map((a) => a.category), ['beacon', 'threat-intel', 'scan'], 'most recently seen first');
    assert.equal(listed.alerts[0]!.lastSeen, new Date(1_700_000_200_000).toISOString());
    assert.equal(listed.alerts[0]!.lastSeenUs, 1_700_000_200_000_000);
    assert.deepEqual((await client.get<AlertsBody>(client.scoped(`/alerts?agent=${A1}`))).alerts.map((a) => a.category), ['threat-intel', 'scan']);
    const p1 = await client.get<AlertsBody>(client.scoped('/alerts?limit=2'));
    const p2 = await client.get<AlertsBody>(client.scoped(`/alerts?limit=2&cursor=${p1.next!}`));
    assert.deepEqual([...p1.alerts, ...p2.alerts].map((a) => a.id), listed.alerts.map((a) => a.id));
    assert.equal(p2.next, null);
    const scan = listed.alerts.find((a) => a.category === 'scan')!;
    const ack = await client.post<{ alert: { id: number; state: string } }>(client.scoped(`/alerts/${scan.id}/state`), { state: 'ack' });
    assert.equal(ack.alert.state, 'acknowledged');
    assert.deepEqual((await client.get<AlertsBody>(client.scoped('/alerts?state=acknowledged'))).alerts.map((a) => a.id), [scan.id]);
    await assert.rejects(client.post(client.scoped('/alerts/99999/state'), { state: 'closed' }), (e: unknown) => e instanceof AdminApiError && e.status === 404);
    await assert.rejects(client.post(client.scoped(`/alerts/${scan.id}/state`), { state: 'gone' }), (e: unknown) => e instanceof AdminApiError && e.status === 400);
    const audit = (await client.get<{ entries: { actor: string; action: string; outcome: string; agentId: string | null }[] }>(client.scoped('/audit'))).entries;
    assert.ok(audit.some((e) => e.actor === 'operator:alice' && e.action === 'alert.state' && e.outcome === 'acknowledged' && e.agentId === A1));
  });

  it('since / until on commands and audit', async () => {
    initOperatorKeys(join(dir, 'op'), { name: 'alice' });
    const key = loadOperatorSigningKey(join(dir, 'op', 'op.key'));
    const before = Date.now();
    await client.post(client.scoped('/commands'), buildSignedCommand(key, { agentId: A2, kind: 'capture.snaplen', params: { snapLen: 64 }, lifetimeMs: 3_600_000 }));
    const inRange = (await client.get<{ commands: unknown[] }>(client.scoped(`/commands?since=${(before - 1000) * 1000}`))).commands;
    assert.equal(inRange.length, 1);
    assert.equal((await client.get<{ commands: unknown[] }>(client.scoped(`/commands?until=${encodeURIComponent(new Date(before - 60_000).toISOString())}`))).commands.length, 0);
    const entries = (await client.get<{ entries: { at: string }[] }>(client.scoped(`/audit?since=${(before - 1000) * 1000}`))).entries;
    assert.ok(entries.length > 0 && entries.every((e) => Date.parse(e.at) >= before - 1000));
    assert.equal((await client.get<{ entries: unknown[] }>(client.scoped('/audit?until=2001-01-01T00:00:00Z'))).entries.length, 0);
    await assert.rejects(client.get(client.scoped('/audit?since=soon')), (e: unknown) => e instanceof AdminApiError && e.status === 400);
  });

  it('GET /v1/agents: a command not answered yet is pending, an answered one is in force at once, a revoked agent says so', async () => {
    svc.hooks.onHeartbeat(A2, { control: { snapLen: 0, capture: 'running', shipping: 'running', peerCapture: [] } } as never);
    const agentOf = async (id: string) => (await client.get<{ agents: AgentView[] }>(client.scoped('/agents'))).agents.find((a) => a.agentId === id)!;
    let a2 = await agentOf(A2);
    assert.deepEqual(a2.pendingCommands.map((c) => [c.kind, c.state]), [['capture.snaplen', 'queued']]);
    assert.equal((a2.health!.control as { snapLen: number }).snapLen, 0, 'the heartbeat: not applied yet');
    const id = a2.pendingCommands[0]!.id;
    svc.hooks.onCommandResult(A2, id, true, { status: 'done', kind: 'capture.snaplen', data: { snapLen: 64, capture: 'running', shipping: 'running', peerCapture: [] } }, undefined);
    a2 = await agentOf(A2);
    assert.deepEqual(a2.pendingCommands, []);
    assert.equal((a2.health!.control as { snapLen: number }).snapLen, 64, 'the command\'s result is what is in force now');
    assert.equal(a2.revoked, false);
    // A2 was never enrolled through this PKI: revoke it by id as `pki revoke` does
    revokeAgent(join(dir, 'pki'), A2, 'test');
    for (let i = 0; i < 60 && !(await agentOf(A2)).revoked; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await agentOf(A2)).revoked, true);
  });
});

describe('API route: GET /v1/orgs/ORG/feeds', function () {
  this.timeout(60_000);
  const rig = new OrgApiRig();
  const feedDir = mkdtempSync(join(tmpdir(), 'meerkat-feeds-'));
  const feedPath = join(feedDir, 'drop.txt');

  before(async () => {
    writeFileSync(feedPath, '198.51.100.0/24\n203.0.113.7\nevil.example\nt13d1516h2_8daaf6152771_b186095e22b6\n');
    const watchlist = new ThreatWatchlist([{ name: 'drop', path: feedPath, spec: { format: 'plain' }, severity: 'high', response: 'block-peer', durationSec: 600 }]);
    await rig.start({ orgs: ['other'], watchlists: { default: watchlist } });
  });
  after(async () => {
    await rig.close();
    rmSync(feedDir, { recursive: true, force: true });
  });

  it('lists the feeds with counts, load time and no host path, to every role of the organisation', async () => {
    const viewer = (await rig.user('vera', { default: 'viewer' })).client();
    const d = await viewer.get<{ feeds: FeedStatus[] }>(viewer.scoped('/feeds'));
    assert.equal(d.feeds.length, 1);
    const f = d.feeds[0]!;
    assert.deepEqual({ name: f.name, file: f.file, format: f.format, kind: f.kind, severity: f.severity, response: f.response, counts: f.counts, lastError: f.lastError },
      { name: 'drop', file: 'drop.txt', format: 'plain', kind: 'auto', severity: 'high', response: 'block-peer', counts: { prefixes: 2, domains: 1, ja4: 1 }, lastError: null });
    assert.ok(Math.abs(Date.parse(f.loadedAt!) - Date.now()) < 60_000, 'loaded just now');
    assert.equal(Math.floor(f.loadedUs! / 1000), Date.parse(f.loadedAt!));
    assert.ok(!JSON.stringify(d).includes(feedDir), 'no host path');
  });

  it('answers an empty list for an organisation without threat-intel', async () => {
    const c = (await rig.user('olga', { other: 'viewer' })).client('other');
    assert.deepEqual(await c.get(c.scoped('/feeds')), { feeds: [] });
  });

  it('refuses a user of another organisation (403)', async () => {
    const c = (await rig.user('mallory', { other: 'admin' })).client('default');
    await assert.rejects(c.get(c.scoped('/feeds')), (e: unknown) => e instanceof AdminApiError && e.status === 403);
  });
});
