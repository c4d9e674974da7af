// The operators' API's packet export with real parts: a real PKI and operator certificate, the
// control service's HTTPS operators' API, dumps made by the agent's replay pipeline and recorded (with
// their flows) in the collector database the API reads. Checked: pcapng streamed to an operator
// and read by tshark, the summary trailer, the audit rows, bad selections refused, the bound on
// exports at once, payload usage; and `meerkat pcap` through the API, with the owner key turning
// pseudonyms back on the console's side only.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { OrgApiRig } from '../../helpers/org-api-rig.js';
import { AdminApiError, AdminClient } from '../../../console/admin-client.js';
import { OPERATOR_CA_FILE, OPERATOR_CERT_FILE, OPERATOR_CERT_KEY_FILE } from '../../../certs/operator-certs.js';
import { registerPcapCommand } from '../../../console/commands/pcap.js';
import { initOwnerKeys } from '../../../shared/keys/owner-keys.js';
import { EXPORT_TRAILER } from '../../../shared/pcap-export/export-request.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';
import { runCommand } from '../../helpers/cli-run.js';
import { decodeDump, DumpWriter } from '../../../shared/dump/index.js';
import { PacketRecord } from '../../../shared/packet/packet-record.js';
import { countFrames, importDumps, makeDumps, refPcap, tshark, tsharkFrameSums, flowConversations } from '../../shared/pcap-export/export-fixtures.js';


async function readAll(res: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of res) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('the API packet export (GET /v1/pcap)', function () {
  this.timeout(120_000);
  const rig = new OrgApiRig();
  let dir: string;
  let apiPort: number;
  let client: AdminClient;
  let opDir: string;
  let agentId: string;
  let flows: FlowRecord[];
  let keyFile: string;
  let fullAgent: string;
  let bigAgent: string;
  let copies: string[];
  const db = (): string => rig.org('default').dbPath;

  before(async () => {
    await rig.start({ pcapLimits: { concurrent: 1 } });
    dir = rig.dir;
    apiPort = rig.api.port;
    const alice = await rig.user('alice', { default: 'responder' });
    const c = { certPem: alice.certPem, keyPem: alice.keyPem };
    const caPem = rig.caPem;
    client = alice.client();
    opDir = join(dir, 'operator');
    mkdirSync(opDir);
    writeFileSync(join(opDir, OPERATOR_CERT_FILE), c.certPem);
    writeFileSync(join(opDir, OPERATOR_CERT_KEY_FILE), c.keyPem, { mode: 0o600 });
    writeFileSync(join(opDir, OPERATOR_CA_FILE), caPem);
    initOwnerKeys(join(dir, 'owner'));
    keyFile = join(dir, 'owner', 'anon.key');
    const hdr = await makeDumps(refPcap('ndpi/netflix.pcap'), join(dir, 'dumps', 'hdr'), { keyFile, snapLen: 0 });
    agentId = hdr.agentId;
    // a second agent's dumps with payload (targeted capture) for the usage figures
    const full = await makeDumps(refPcap('zeek/http_get.pcap'), join(dir, 'dumps', 'full'), { keyFile, snapLen: 65535 });
    fullAgent = full.agentId;
    // a third agent with 40 MB of payload: an export that outlasts the socket buffers when nobody reads it
    const big = await makeDumps(refPcap('ndpi/netflix.pcap'), join(dir, 'dumps', 'big'), { keyFile, snapLen: 65535, packetsPerDump: 20_000 });
    bigAgent = big.agentId;
    copies = [];
    const recs: PacketRecord[] = [];
    decodeDump(readFileSync(big.dumps[0]!.path)).forEach((r) => { recs.push(new PacketRecord().copyFrom(r)); });
    for (let k = 1; k <= 40; k++) {
      const w = new DumpWriter({ agentId: bigAgent, anonKeyId: big.anonKeyId, snapLen: 65535 });
      for (const r of recs) { r.tsUs += 3_600_000_000; w.add(r); }
      const p = join(dir, 'dumps', 'big', `copy-${k}.mkd`);
      writeFileSync(p, w.finish(100 + k));
      copies.push(p);
    }
    flows = importDumps(db(), [...hdr.dumps, ...full.dumps].map((x) => x.path)).filter((f) => f.agent_id === agentId);
    importDumps(db(), copies);
  });
  after(async () => {
    await rig.close();
  });

  it('streams pcapng to an operator, with its summary as trailer, and audits the export', async () => {
    const res = await client.stream(client.scoped(`/pcap?agent=${agentId}&since=0&until=9007199254740991&format=pcapng`));
    assert.equal(res.headers['content-type'], 'application/x-pcapng');
    const file = join(dir, 'api.pcapng');
    writeFileSync(file, await readAll(res));
    const summary = JSON.parse(res.trailers[EXPORT_TRAILER]!) as { packets: number; truncated: string | null; dumpsRead: number };
    const packets = flows.reduce((a, f) => a + f.orig_pkts + f.resp_pkts, 0);
    assert.equal(summary.packets, packets);
    assert.equal(summary.truncated, null);
    assert.equal(await countFrames(file, 'frame'), packets);
    assert.equal(await countFrames(file, '_ws.malformed'), 0);
    const sums = await tsharkFrameSums(file, 'tcp');
    for (const [k, c] of flowConversations(flows, 'tcp')) assert.deepEqual(sums.get(k), c, k);
    const audit = (await client.get<{ entries: { actor: string; action: string; outcome: string; agentId: string | null; detail: { summary?: { packets: number } } }[] }>(client.scoped('/audit'))).entries;
    const ex = audit.find((e) => e.action === 'pcap.export');
    assert.ok(ex, 'pcap.export audited');
    assert.equal(ex.actor, 'operator:alice');
    assert.equal(ex.agentId, agentId);
    assert.equal(ex.outcome, 'ok');
    assert.equal(ex.detail.summary!.packets, packets);
    assert.ok(audit.some((e) => e.action === 'http GET /v1/orgs/default/pcap' && e.outcome === '200'));
  });

  it('refuses bad selections with the reason, bounds packets and exports at once', async () => {
    await assert.rejects(client.stream(client.scoped(`/pcap?agent=${agentId}&since=5`)), (e: unknown) => e instanceof AdminApiError && e.status === 400 && /since and until/.test(e.message));
    await assert.rejects(client.stream(client.scoped(`/pcap?agent=${agentId}&since=0&until=1&peer=nonsense`)), (e: unknown) => e instanceof AdminApiError && e.status === 400 && /peer/.test(e.message));
    await assert.rejects(client.stream(client.scoped(`/pcap?flow=Cnosuchflow`)), (e: unknown) => e instanceof AdminApiError && e.status === 400 && /no flow record/.test(e.message));
    const cut = await client.stream(client.scoped(`/pcap?agent=${agentId}&since=0&until=9007199254740991&max-packets=10`));
    await readAll(cut);
    assert.equal((JSON.parse(cut.trailers[EXPORT_TRAILER]!) as { truncated: string }).truncated, 'packets');
    // an export whose reader does not read holds the only slot (back-pressure keeps it running): another waits its turn
    const hold = await client.stream(client.scoped(`/pcap?agent=${bigAgent}&since=0&until=9007199254740991&format=pcapng`));
    await new Promise((r) => setTimeout(r, 500));
    await assert.rejects(client.stream(client.scoped(`/pcap?agent=${agentId}&since=0&until=9007199254740991`)), (e: unknown) => e instanceof AdminApiError && e.status === 429 && /retry/.test(e.message));
    const held = await readAll(hold);
    assert.ok(held.length > 30e6, `${held.length} bytes`);
    assert.equal((JSON.parse(hold.trailers[EXPORT_TRAILER]!) as { packets: number }).packets, 40 * 1776);
    await readAll(await client.stream(client.scoped(`/pcap?agent=${agentId}&since=0&until=1`)));
  });

  it('reports payload kept per agent', async () => {
    const u = await client.get<{ agents: { agentId: string; bytes: number; dumps: number; retroBytes: number }[]; totalBytes: number }>(client.scoped('/pcap/usage'));
    assert.deepEqual(u.agents.map((a) => a.agentId).sort(), [fullAgent, bigAgent].sort(), 'the agents with payload, not the header-only one');
    const big = u.agents.find((a) => a.agentId === bigAgent)!;
    assert.equal(big.dumps, 40);
    assert.equal(big.bytes, copies.reduce((a, c) => a + statSync(c).size, 0));
    assert.equal(big.retroBytes, 0);
    assert.equal(u.totalBytes, u.agents.reduce((a, x) => a + x.bytes, 0));
  });

  it('`meerkat pcap` through the API: pseudonyms by default, real addresses with --deanon (turned back on the console)', async () => {
    const base = ['pcap', '--agent', agentId, '--since', '2000-01-01T00:00:00Z', '--until', '2100-01-01T00:00:00Z', '--api', `https://127.0.0.1:${apiPort}`, '--operator-dir', opDir];
    const pseud = join(dir, 'console.pcapng');
    const r1 = await runCommand(registerPcapCommand, [...base, '-o', pseud, '--json']);
    assert.equal(r1.code, 0, r1.err);
    const s1 = JSON.parse(r1.out) as { packets: number; collector: { packets: number } };
    assert.equal(s1.packets, s1.collector.packets);
    const real = join(dir, 'console-real.pcapng');
    const r2 = await runCommand(registerPcapCommand, [...base, '-o', real, '--deanon', '--owner-keys', join(dir, 'owner')]);
    assert.equal(r2.code, 0, r2.err);
    const addrs = async (f: string) => new Set((await tshark(['-r', f, '-T', 'fields', '-e', 'ip.src'])).split('\n').filter(Boolean));
    const original = await addrs(refPcap('ndpi/netflix.pcap'));
    const shown = await addrs(real);
    assert.ok([...shown].every((a) => original.has(a)), 'only addresses of the original capture');
    assert.ok(shown.has('192.168.1.7') || [...shown].some((a) => a.startsWith('192.168.')), 'the internal host, real');
    // a pseudonym may itself land in 192.168/16 (Crypto-PAn's flip bits come in runs: ~0.7 % of
    // keys keep this host's /16, docs/privacy.md), so the check is on the real addresses
    const internal = [...original].filter((a) => a.startsWith('192.168.'));
    assert.ok(internal.length > 0);
    const pseudonymous = await addrs(pseud);
    assert.ok(!internal.some((a) => pseudonymous.has(a)), 'no internal address without the owner key');
    assert.equal(pseudonymous.size, shown.size, 'one pseudonym per real address');
    // the collector saw only the pseudonymous request: its audit has no real internal address
    const audit = JSON.stringify((await client.get<{ entries: unknown[] }>(client.scoped('/audit'))).entries);
    assert.ok(!internal.some((a) => new RegExp(`\\b${a.replace(/\./g, '\\.')}\\b`).test(audit)), 'no real internal address in the audit');
    // usage errors exit 2
    assert.equal((await runCommand(registerPcapCommand, ['pcap', '--agent', agentId, '-o', join(dir, 'x.pcapng')])).code, 2);
  });
});
