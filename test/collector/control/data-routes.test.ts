// The organisation data routes the console uses, on the real operators' API with operator
// certificates (the CLI's credential): flows with filters and pages, CSV / JSON-lines export,
// alerts (severity filter, one alert) and their state by role, the overview; bad queries
// answered 400, another organisation 403.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { OrgApiRig } from '../../helpers/org-api-rig.js';
import { AdminApiError } from '../../../console/admin-client.js';
import { SqliteFlowStore } from '../../../shared/store/sqlite-flow-store.js';
import { SqliteAlertStore } from '../../../shared/alerts/sqlite-alert-store.js';
import { flow, T0 } from '../analyze/flow-gen.js';

async function text(r: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

describe('organisation data routes (flows, alerts, overview)', function () {
  this.timeout(60_000);
  let rig: OrgApiRig;

  before(async () => {
    rig = await new OrgApiRig().start({ orgs: ['acme'], console: false });
    const store = new SqliteFlowStore(rig.org('default').dbPath);
    store.insertFlows(Array.from({ length: 250 }, (_, i) => flow({ start: T0 + i * 1000, orig_addr: `10.9.${i % 4}.${i}`, resp_addr: '198.51.100.7', agent_id: 'agent-a' })));
    store.close();
    // acme's flow store exists (as the collector's organisation runtime makes it) and is empty
    new SqliteFlowStore(rig.org('acme').dbPath).close();
    const alerts = new SqliteAlertStore(rig.org('default').dbPath);
    const ev = { analyzer: 'scan', severity: 'medium' as const, category: 'scan', rule: 'r', agentId: 'agent-a', peer: '198.51.100.7', summary: 'x =cmd|', evidence: {}, tsUs: T0 };
    alerts.record([{ key: 'k', latest: ev, count: 1, firstTsUs: T0, lastTsUs: T0, maxSeverity: 'medium', flowUids: [] }]);
    alerts.close();
  });
  after(async () => { await rig?.close(); });

  it('pages flows with filters through the cursor', async () => {
    const c = (await rig.user('vera', { default: 'viewer' })).client();
    let next: string | null = null;
    const seen = new Set<string>();
    do {
      const p: { flows: { uid: string }[]; next: string | null } = await c.get(c.scoped(`/flows?addr=10.9.1.0/24&limit=20${next ? `&cursor=${next}` : ''}`));
      for (const f of p.flows) seen.add(f.uid);
      next = p.next;
    } while (next);
    assert.equal(seen.size, 63 /* i % 4 === 1, i < 250 */);
    await assert.rejects(c.get(c.scoped('/flows?port=70000')), (e: AdminApiError) => e.status === 400 && /port/.test(e.message));
    await assert.rejects(c.get(c.scoped('/flows?cursor=abc')), (e: AdminApiError) => e.status === 400 && /cursor/.test(e.message));
    await assert.rejects(c.get(c.scoped('/flows?addr=not-an-address')), (e: AdminApiError) => e.status === 400);
  });

  it('exports the filter as CSV and JSON lines', async () => {
    const c = (await rig.user('vera', { default: 'viewer' })).client();
    const csv = await text(await c.stream(c.scoped('/flows/export?format=csv&addr=10.9.0.0/24')));
    const lines = csv.trim().split('\n');
    assert.match(lines[0]!, /^start,end,duration,agent_id,proto,orig_addr/);
    assert.equal(lines.length, 1 + 63);
    const json = await text(await c.stream(c.scoped('/flows/export?format=json&max=10')));
    assert.equal(json.trim().split('\n').map((l) => JSON.parse(l) as unknown).length, 10);
  });

  it('alerts: viewers read, responders change the state (audited), other organisations refused', async () => {
    const viewer = (await rig.user('vera', { default: 'viewer' })).client();
    const list: { alerts: { id: number; state: string }[] } = await viewer.get(viewer.scoped('/alerts?state=open&severity=medium'));
    assert.equal(list.alerts.length, 1);
    assert.equal((await viewer.get<{ alerts: unknown[] }>(viewer.scoped('/alerts?severity=high'))).alerts.length, 0);
    const one: { alert: { id: number; evidence: unknown } } = await viewer.get(viewer.scoped(`/alerts/${list.alerts[0]!.id}`));
    assert.equal(one.alert.id, list.alerts[0]!.id);
    await assert.rejects(viewer.post(viewer.scoped(`/alerts/${list.alerts[0]!.id}/state`), { state: 'closed' }), (e: AdminApiError) => e.status === 403);
    const resp = (await rig.user('rita', { default: 'responder' })).client();
    const r: { alert: { state: string } } = await resp.post(resp.scoped(`/alerts/${list.alerts[0]!.id}/state`), { state: 'acknowledged' });
    assert.equal(r.alert.state, 'acknowledged');
    assert.ok(rig.org('default').audit.list({}).some((e) => e.action === 'alert.state' && e.actor === 'operator:rita'));
    const outsider = (await rig.user('otto', { acme: 'admin' })).client('default');
    await assert.rejects(outsider.get(outsider.scoped('/alerts')), (e: AdminApiError) => e.status === 403);
    const acme = (await rig.user('otto', { acme: 'admin' })).client('acme');
    const empty: { flows: unknown[] } = await acme.get(acme.scoped('/flows'));
    assert.deepEqual(empty.flows, [], 'acme sees none of default\'s flows');
  });

  it('overview: agents, series, tops, alerts by severity', async () => {
    const c = (await rig.user('vera', { default: 'viewer' })).client();
    const o: { series: unknown[]; topTalkers: { key: string }[]; alertsBySeverity: Record<string, number>; agents: { total: number } } = await c.get(c.scoped('/overview?minutes=30'));
    assert.equal(o.series.length, 31);
    assert.equal(o.topTalkers.length, 10);
    assert.equal(o.alertsBySeverity.medium, 1);
  });
});
