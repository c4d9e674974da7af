// Two organisations on one collector, real processes in network namespaces (org-lab.ts):
// nothing crosses between them. Every cross-organisation attempt fails and is audited - an
// operator of one listing, querying, exporting or commanding the other's agents (CLI and API);
// an agent of one connecting as the other (a certificate of its CA naming the other
// organisation, its CA vouching for the other's agent id, a look-alike CA); one's token; one's
// response key - and one's flows, alerts and dumps are never in the other's views (scanned for
// its pseudonyms). Suspending one refuses its agents retryably (they keep spooling) and its
// operators; deleting it revokes and removes it while the other goes on.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labAvailable } from './netns-lab.js';
import { OrgLab, ORG_CLI, type OrgSide } from './org-lab.js';
import { skipBecause } from '../helpers/skip.js';
import { anonymizeText } from '../../shared/anonymize/pseudonym-text.js';
import { loadAnonKey } from '../../shared/keys/owner-keys.js';
import { buildSignedCommand } from '../../shared/commands/command-signing.js';
import { loadOperatorSigningKey } from '../../shared/commands/operator-keys.js';
import { decodeDump } from '../../shared/dump/index.js';
import { createAgentCsr, generateAgentKey } from '../../certs/agent-csr.js';
import { createCa, createIntermediateCa } from '../../certs/certificate-authority.js';
import { signAgentCsr } from '../../certs/issue-certificates.js';
import { loadOrgCa } from '../../certs/org-ca.js';
import { privateKeyPem } from '../../certs/rsa-signer.js';
import { loadAgentIdentity } from '../../agent/transport/agent-identity.js';
import { makeDump } from '../helpers/transport-rig.js';
import { randomUUID } from 'node:crypto';

interface Secrets { texts: string[]; bins: Buffer[] }

/**
 * What of an organisation's traffic must never show in another's views: its hosts' pseudonyms
 * (under its owner's key) and their real addresses. (Its agent id may: the other organisation's
 * audit rightly records the id its operator reached for; the data tables are checked by id.)
 */
function secretsOf(s: OrgSide): Secrets {
  const k = { anonKey: loadAnonKey(join(s.owner, 'anon.key')) };
  const addrs = [s.agentIp, s.collectorIp];
  const all = [...addrs, ...addrs.map((a) => anonymizeText(k, a))];
  return { texts: all, bins: all.map((a) => Buffer.from(a.split('.').map(Number))) };
}

function assertAbsent(where: string, bytes: Buffer, sec: Secrets): void {
  const text = bytes.toString('latin1');
  for (const t of sec.texts) assert.ok(!text.includes(t), `${where} contains ${t}`);
  for (const b of sec.bins) assert.equal(bytes.indexOf(b), -1, `${where} holds ${[...b].join('.')} in binary`);
}

/** `--json` output of a list: one JSON object a line. */
function jsonLines<T>(text: string): T[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('organisations: two network owners on one collector (real processes, namespaces)', function () {
  this.timeout(300_000);
  let L: OrgLab;

  before(async function () {
    if (!labAvailable()) skipBecause(this, 'needs root, iproute2 network namespaces and nft');
    L = new OrgLab();
    await L.setUp();
    // ordinary traffic and a threat-listed peer from each endpoint: flows, an alert and an automatic response per organisation
    await Promise.all([L.traffic(L.acme, L.acme.collectorIp, 10), L.traffic(L.blue, L.blue.collectorIp, 10)]);
    await Promise.all([L.traffic(L.acme, L.threatIp, 3), L.traffic(L.blue, L.threatIp, 3)]);
    for (const s of [L.acme, L.blue]) {
      await L.waitFor(`${s.id}: an alert`, () => L.count(s.id, 'SELECT count(*) AS n FROM alerts') > 0, 60_000);
      await L.waitFor(`${s.id}: flows`, () => L.count(s.id, 'SELECT count(*) AS n FROM flows') > 3, 60_000);
    }
  });
  after(async () => {
    await L?.destroy();
  });

  it('each operator sees their own organisation\'s agent, and only that', async () => {
    const a = await L.meerkat('alice', ['agents', '--org', 'acme', '--json']);
    assert.equal(a.code, 0, a.stderr);
    assert.deepEqual(jsonLines<{ agentId: string }>(a.stdout).map((x) => x.agentId), [L.acme.agentId]);
    const b = await L.meerkat('bob', ['agents', '--org', 'blue', '--json']);
    assert.deepEqual(jsonLines<{ agentId: string }>(b.stdout).map((x) => x.agentId), [L.blue.agentId]);
    const who = await L.api('vic', 'GET', '/v1/whoami');
    assert.deepEqual(who.body!.memberships, [{ org: 'blue', role: 'viewer' }]);
  });

  it('an operator of acme cannot list, query, export or command blue\'s agents (CLI and API); every attempt is refused and audited', async () => {
    const B = L.blue.agentId;
    // the console, as alice
    for (const args of [['agents', '--org', 'blue'], ['commands', '--org', 'blue'], ['audit', '--org', 'blue'], ['info', B, '--org', 'blue', '--cached'],
      ['pcap', '--agent', B, '--since', '1h', '--until', new Date(Date.now() + 60_000).toISOString(), '-o', join(L.root, 'x.pcapng'), '--org', 'blue'], ['isolate', B, '--org', 'blue'],
      ['flows', '--org', 'blue'], ['top', '--org', 'blue'], ['alerts', '--org', 'blue'], ['dns', '--org', 'blue'], ['tls', '--org', 'blue']]) {
      const r = await L.meerkat('alice', args);
      assert.equal(r.code, 1, `meerkat ${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /HTTP 403/, args.join(' '));
    }
    // through her own organisation: blue's agent is not there
    const cap = await L.meerkat('alice', ['capture', B, '--snaplen', '64', '--org', 'acme']);
    assert.equal(cap.code, 1);
    assert.match(cap.stderr, /unknown-agent|no agent/);
    const exp = await L.meerkat('alice', ['pcap', '--agent', B, '--since', '1h', '--until', new Date(Date.now() + 60_000).toISOString(), '-o', join(L.root, 'y.pcapng'), '--org', 'acme', '--json']);
    assert.equal(exp.code, 0, exp.stderr);
    assert.equal((JSON.parse(exp.stdout) as { packets: number }).packets, 0, 'acme\'s export of blue\'s agent holds nothing');
    // the API directly, as alice: reading, exporting, and a command she signed for blue's agent
    const key = loadOperatorSigningKey(join(L.opDir('alice'), 'op.key'));
    const env = buildSignedCommand(key, { agentId: B, kind: 'interdiction.isolate', params: {}, lifetimeMs: 600_000 });
    for (const [m, p, body] of [['GET', '/v1/orgs/blue/agents'], ['GET', '/v1/orgs/blue/transport/agents'], ['GET', `/v1/orgs/blue/agents/${B}/inventory`],
      ['GET', `/v1/orgs/blue/pcap?agent=${B}&since=0&until=9007199254740991`], ['GET', '/v1/orgs/blue/audit'], ['GET', '/v1/orgs/blue/members'],
      ['GET', '/v1/orgs/blue/flows'], ['GET', '/v1/orgs/blue/flows/summary'], ['GET', '/v1/orgs/blue/alerts'], ['GET', '/v1/orgs/blue/dns'], ['GET', '/v1/orgs/blue/tls'],
      ['POST', '/v1/orgs/blue/alerts/1/state', { state: 'closed' }],
      ['POST', '/v1/orgs/blue/commands', env], ['POST', '/v1/orgs/blue/tokens', { uses: 1 }]] as const) {
      const r = await L.api('alice', m, p, body);
      assert.equal(r.status, 403, `${m} ${p}: ${JSON.stringify(r)}`);
    }
    assert.equal((await L.api('alice', 'POST', '/v1/orgs/acme/commands', env)).status, 404, 'blue\'s agent is unknown in acme');
    // a viewer of blue may look but not act; the collector administrator manages but sees no traffic
    for (const p of ['agents', 'flows', 'alerts', 'dns', 'tls']) assert.equal((await L.api('vic', 'GET', `/v1/orgs/blue/${p}`)).status, 200, `a viewer reads ${p}`);
    const blueAlert = ((await L.api('vic', 'GET', '/v1/orgs/blue/alerts')).body!.alerts as { id: number }[])[0]!;
    assert.equal((await L.api('vic', 'POST', `/v1/orgs/blue/alerts/${blueAlert.id}/state`, { state: 'acknowledged' })).status, 403, 'a viewer does not handle alerts');
    const vicKey = buildSignedCommand(loadOperatorSigningKey(join(L.opDir('vic'), 'op.key')), { agentId: B, kind: 'inventory', params: {}, lifetimeMs: 600_000 });
    assert.equal((await L.api('vic', 'POST', '/v1/orgs/blue/commands', vicKey)).status, 403);
    assert.equal((await L.api('carol', 'GET', '/v1/orgs/acme/agents')).status, 403);
    assert.equal((await L.api('carol', 'GET', `/v1/orgs/blue/pcap?agent=${B}&since=0&until=1`)).status, 403);
    const orgs = await L.api('carol', 'GET', '/v1/orgs');
    assert.deepEqual((orgs.body!.orgs as { id: string }[]).map((o) => o.id).sort(), ['acme', 'blue', 'default']);
    // audited: blue's own audit shows alice's attempts; the collector audit has every one of them
    const aud = await L.api('bob', 'GET', '/v1/orgs/blue/audit?limit=1000');
    const rows = aud.body!.entries as { actor: string; action: string; outcome: string }[];
    for (const p of ['/v1/orgs/blue/agents', '/v1/orgs/blue/commands', '/v1/orgs/blue/pcap', '/v1/orgs/blue/audit', '/v1/orgs/blue/flows', '/v1/orgs/blue/alerts']) {
      assert.ok(rows.some((e) => e.actor === 'operator:alice' && e.action.endsWith(p) && e.outcome === '403'), `blue's audit has alice's ${p}`);
    }
    assert.ok(rows.some((e) => e.actor === 'operator:vic' && e.action === 'http POST /v1/orgs/blue/commands' && e.outcome === '403'));
    const col = await L.api('carol', 'GET', '/v1/collector/audit?org=blue&limit=1000');
    const crows = col.body!.entries as { actor: string; outcome: string; org: string }[];
    assert.ok(crows.filter((e) => e.actor === 'operator:alice' && e.outcome === '403').length >= 8);
    assert.ok(crows.some((e) => e.actor === 'operator:carol' && e.outcome === '403'), 'the collector administrator\'s reach too');
    // and nothing was queued for blue's agent by anyone but blue
    const cmds = await L.api('bob', 'GET', '/v1/orgs/blue/commands');
    assert.ok((cmds.body!.commands as { submittedBy: string }[]).every((c) => c.submittedBy === 'bob' || c.submittedBy.startsWith('collector:')));
  });

  it('an agent of acme cannot connect or upload as blue: OU forged, blue\'s agent id vouched for by acme\'s CA, a look-alike of blue\'s CA, a dump naming blue\'s agent', async () => {
    const caA = loadOrgCa(L.pki, 'acme');
    const key = generateAgentKey(2048);
    const write = (name: string, leafPem: string, chain: string[]): { cert: string; key: string; ca: string } => {
      const f = { cert: join(L.root, `${name}.crt`), key: join(L.root, `${name}.key`), ca: join(L.acme.agentDir, 'identity', 'ca.crt') };
      writeFileSync(f.cert, leafPem + chain.join(''));
      writeFileSync(f.key, privateKeyPem(key), { mode: 0o600 });
      return f;
    };
    const newId = randomUUID();
    const forgedOu = write('forged-ou', signAgentCsr(caA, createAgentCsr(key), newId, { org: 'blue' }).certPem, [caA.certPem]);
    const r1 = await L.connectAs(L.acme, forgedOu, newId);
    assert.deepEqual([r1.result, r1.refusal, r1.status], ['refused', 'org-mismatch', 403]);
    const vouched = write('vouched', signAgentCsr(caA, createAgentCsr(key), L.blue.agentId, { org: 'acme' }).certPem, [caA.certPem]);
    const r2 = await L.connectAs(L.acme, vouched, L.blue.agentId);
    assert.deepEqual([r2.result, r2.refusal], ['refused', 'org-mismatch']);
    const look = createIntermediateCa(createCa({ bits: 3072 }), { org: 'blue', bits: 2048 });
    const fake = write('lookalike', signAgentCsr(look, createAgentCsr(key), L.blue.agentId, { org: 'blue' }).certPem, [look.certPem]);
    const r3 = await L.connectAs(L.acme, fake, L.blue.agentId);
    assert.equal(r3.result, 'refused');
    assert.match(String(r3.refusal), /unknown-ca|tls|socket|certificate/i);
    // acme's agent itself, with a dump whose header names blue's agent
    const id = loadAgentIdentity(L.acme.agentDir);
    const own = { cert: join(L.root, 'acme-own.crt'), key: join(L.root, 'acme-own.key'), ca: join(L.acme.agentDir, 'identity', 'ca.crt') };
    writeFileSync(own.cert, id.certPem);
    writeFileSync(own.key, id.keyPem, { mode: 0o600 });
    const dumpFile = join(L.root, 'as-blue.mkd');
    writeFileSync(dumpFile, makeDump(L.blue.agentId, 999_999, 0, 20));
    const r4 = await L.connectAs(L.acme, own, id.agentId, { file: dumpFile, seq: 999_999 });
    assert.equal(r4.answer?.type, 'nack');
    assert.equal(r4.answer?.code, 'agent-mismatch');
    assert.equal(L.count('blue', 'SELECT count(*) AS n FROM dumps WHERE sequence = 999999'), 0);
    const col = await L.api('carol', 'GET', '/v1/collector/audit?limit=1000');
    const refused = (col.body!.entries as { action: string; org: string | null; outcome: string }[]).filter((e) => e.action === 'agent.refused');
    assert.ok(refused.some((e) => e.org === 'acme' && e.outcome === 'org-mismatch'), 'the forged OU is audited');
    assert.ok(refused.some((e) => e.org === 'acme' && e.outcome === 'agent-org-mismatch'), 'the vouched-for foreign id is audited');
  });

  it('a token of acme enrolls into acme only; a revoked token enrolls no one', async () => {
    const dir = join(L.root, 'agent-acme-2');
    const r = await L.lab.exec('hostB', process.execPath, [...ORG_CLI.agent, 'enroll', '--collector', `https://${L.blue.collectorIp}:8443`, '--token', L.acme.token, '--state-dir', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const id = loadAgentIdentity(dir);
    assert.match(new X509Certificate(id.certPem).subject, /OU=acme/, 'acme\'s token, acme\'s agent, whichever network it came from');
    const blueAgents = (await L.api('bob', 'GET', '/v1/orgs/blue/agents')).body!.agents as { agentId: string }[];
    assert.ok(!blueAgents.some((a) => a.agentId === id.agentId));
    // bob cannot revoke acme's token; alice revokes it through the API: it enrolls no one after that
    const toks = (await L.api('alice', 'GET', '/v1/orgs/acme/tokens')).body!.tokens as { id: string; revokedAt: string | null; usesLeft: number }[];
    const live = toks.find((x) => !x.revokedAt && x.usesLeft > 0)!;
    assert.equal((await L.api('bob', 'DELETE', `/v1/orgs/acme/tokens/${live.id}`)).status, 403);
    assert.equal((await L.api('bob', 'DELETE', `/v1/orgs/blue/tokens/${live.id}`)).status, 404, 'blue has no such token');
    assert.equal((await L.api('alice', 'DELETE', `/v1/orgs/acme/tokens/${live.id}`)).status, 200);
    const again = await L.lab.exec('hostA', process.execPath, [...ORG_CLI.agent, 'enroll', '--collector', `https://${L.acme.collectorIp}:8443`, '--token', L.acme.token, '--state-dir', join(L.root, 'agent-x')]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /token-revoked/);
  });

  it('a response key of acme cannot sign for blue: blue\'s agent refuses it (unknown key), audited in blue', async () => {
    const rk = loadOperatorSigningKey(join(L.state, 'orgs', 'acme', 'response-key', 'op.key'));
    const env = buildSignedCommand(rk, { agentId: L.blue.agentId, kind: 'capture.peer', params: { peer: L.threatIp, snapLen: 65535, forMs: 60_000 }, lifetimeMs: 600_000 });
    assert.equal((await L.api('alice', 'POST', '/v1/orgs/acme/commands', env)).status, 404, 'acme\'s queue takes no command for blue\'s agent');
    const sub = await L.api('bob', 'POST', '/v1/orgs/blue/commands', env);
    assert.equal(sub.status, 201, JSON.stringify(sub));
    const id = (sub.command as { id: string }).id;
    let state = '';
    let code = '';
    await L.waitFor('blue\'s agent to answer', async () => {
      const c = (await L.api('bob', 'GET', `/v1/orgs/blue/commands/${id}`)).body!.command as { state: string; result: { code?: string } | null };
      state = c.state;
      code = c.result?.code ?? '';
      return state === 'refused' || state === 'done';
    }, 30_000);
    assert.equal(state, 'refused');
    assert.equal(code, 'unknown-key');
    const aud = (await L.api('bob', 'GET', `/v1/orgs/blue/audit?command=${id}`)).body!.entries as { action: string; outcome: string }[];
    assert.ok(aud.some((e) => e.action === 'command.result' && e.outcome === 'refused:unknown-key'));
    // while blue's own response key did act on blue's agent for blue's alert
    const cmds = (await L.api('bob', 'GET', '/v1/orgs/blue/commands')).body!.commands as { submittedBy: string; state: string; kind: string }[];
    assert.ok(cmds.some((c) => c.submittedBy.startsWith('collector:responses') && c.kind === 'capture.peer' && c.state === 'done'), JSON.stringify(cmds));
  });

  it('acme\'s flows, alerts and dumps are never in blue\'s views, nor blue\'s in acme\'s (scanned for their pseudonyms)', async () => {
    const A = secretsOf(L.acme);
    const B = secretsOf(L.blue);
    // the positive control: each organisation's data holds its own hosts' pseudonyms (else the scan proves nothing)
    for (const [s, sec] of [[L.acme, A], [L.blue, B]] as const) {
      const db = readFileSync(L.orgDb(s.id)).toString('latin1') + (existsSync(L.orgDb(s.id) + '-wal') ? readFileSync(L.orgDb(s.id) + '-wal').toString('latin1') : '');
      assert.ok(sec.texts.slice(2).some((p) => db.includes(p)), `${s.id}'s database holds its own hosts' pseudonyms`);
    }
    for (const [owner, other, sec] of [[L.blue, L.acme, A], [L.acme, L.blue, B]] as const) {
      for (const t of ['flows', 'dumps', 'alerts', 'control_agents', 'control_inventory']) {
        assert.equal(L.count(owner.id, `SELECT count(*) AS n FROM ${t} WHERE agent_id = '${other.agentId}'`), 0, `${owner.id}'s ${t} hold nothing of ${other.id}'s agent`);
      }
      const dir = join(L.state, 'orgs', owner.id);
      let dumps = 0;
      for (const f of filesUnder(dir)) {
        const bytes = readFileSync(f);
        if (f.endsWith('.mkd')) {
          const d = decodeDump(bytes);
          assert.equal(d.header.agentId, owner.agentId, f);
          d.forEach((r) => {
            for (const b of sec.bins) assert.ok(!Buffer.from(r.src.subarray(0, 4)).equals(b) && !Buffer.from(r.dst.subarray(0, 4)).equals(b), `${f}: a record of ${other.id}'s hosts`);
          });
          dumps++;
        } else {
          assertAbsent(f, bytes, sec);
        }
      }
      assert.ok(dumps > 0, `${owner.id} has dumps to scan`);
      const user = owner === L.acme ? 'alice' : 'bob';
      for (const p of ['agents', 'commands', 'audit?limit=10000', 'transport/agents', 'pcap/usage', 'flows?limit=10000', 'flows/summary?since=0', 'alerts', 'dns', 'tls']) {
        const r = await L.api(user, 'GET', `/v1/orgs/${owner.id}/${p}`);
        assert.equal(r.status, 200, p);
        assertAbsent(`${owner.id} API ${p}`, Buffer.from(JSON.stringify(r.body)), sec);
      }
      const pcap = join(L.root, `${owner.id}.pcapng`);
      const ex = await L.meerkat(user, ['pcap', '--agent', owner.agentId, '--since', '1h', '--until', new Date(Date.now() + 60_000).toISOString(), '-o', pcap, '--org', owner.id]);
      assert.equal(ex.code, 0, ex.stderr);
      assertAbsent(`${owner.id} export`, readFileSync(pcap), sec);
      // the console through the API, in its organisation: alerts, flows (its own pseudonyms there: the positive control)
      const alerts = await L.meerkat(user, ['alerts', '--org', owner.id, '--json']);
      assert.equal(alerts.code, 0, alerts.stderr);
      assertAbsent(`${owner.id} alerts`, Buffer.from(alerts.stdout), sec);
      assert.ok(alerts.stdout.includes(L.threatIp), `${owner.id} has its alert`);
      const flows = await L.meerkat(user, ['flows', '--org', owner.id, '--since', '1h', '--limit', '10000', '--json']);
      assert.equal(flows.code, 0, flows.stderr);
      assertAbsent(`${owner.id} flows`, Buffer.from(flows.stdout), sec);
      assert.ok(secretsOf(owner).texts.slice(2).some((p) => flows.stdout.includes(p)), `${owner.id}'s flows hold its own hosts' pseudonyms`);
      for (const log of ['dns', 'tls']) {
        const r = await L.meerkat(user, [log, '--org', owner.id, '--json']);
        assert.equal(r.code, 0, r.stderr);
        assertAbsent(`${owner.id} ${log} log`, Buffer.from(r.stdout), sec);
      }
    }
  });

  it('suspending acme refuses its agent retryably (it keeps its dumps) and its operators; resuming takes the dumps', async () => {
    const r = await L.collectorCli(['org', 'suspend', 'acme', '--reason', 'maintenance']);
    assert.equal(r.code, 0, r.stderr);
    await L.waitFor('acme\'s agent disconnected', () => readFileSync(L.acme.log, 'utf8').includes('org-suspended') || /4006/.test(readFileSync(L.acme.log, 'utf8')), 20_000);
    const stored = L.count('acme', 'SELECT count(*) AS n FROM dumps');
    await L.traffic(L.acme, L.acme.collectorIp, 5);
    // the agent rotates the traffic into a dump and reports its spool on its own clock: waited
    // for, not slept for (3 s was not always enough on a loaded 2-core machine)
    const spooled = (): number => {
      try { return (JSON.parse(readFileSync(join(L.acme.agentDir, 'status.json'), 'utf8')) as { spool: { files: number } }).spool.files; } catch { return 0; }
    };
    await L.waitFor('the agent keeps its dumps in its spool', () => spooled() > 0, 30_000);
    assert.equal(L.count('acme', 'SELECT count(*) AS n FROM dumps'), stored, 'nothing stored while suspended');
    const op = await L.api('alice', 'GET', '/v1/orgs/acme/agents');
    assert.deepEqual([op.status, op.error], [403, 'org-suspended']);
    assert.equal((await L.api('bob', 'GET', '/v1/orgs/blue/agents')).status, 200, 'blue is not affected');
    assert.equal((await L.collectorCli(['org', 'resume', 'acme'])).code, 0);
    await L.waitFor('acme\'s spooled dumps stored', () => L.count('acme', 'SELECT count(*) AS n FROM dumps') > stored, 60_000);
  });

  it('deleting acme revokes and removes it; acme\'s agent is refused from then on; blue goes on untouched', async () => {
    const blueDumps = L.count('blue', 'SELECT count(*) AS n FROM dumps');
    const r = await L.collectorCli(['org', 'delete', 'acme', '--yes', '--reason', 'contract ended', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout) as { agentsRevoked: number; certificatesRevoked: number };
    assert.ok(d.agentsRevoked >= 2, 'both acme agents (one enrolled from blue\'s network)');
    // the running collector follows within a second (organisations and the revocation list are polled)
    await L.waitFor('acme\'s agent cut off', () => /code":4003|revoked/.test(readFileSync(L.acme.log, 'utf8')), 20_000);
    const id = loadAgentIdentity(L.acme.agentDir);
    const own = { cert: join(L.root, 'acme-own.crt'), key: join(L.root, 'acme-own.key'), ca: join(L.acme.agentDir, 'identity', 'ca.crt') };
    writeFileSync(own.cert, id.certPem);
    writeFileSync(own.key, id.keyPem, { mode: 0o600 });
    const again = await L.connectAs(L.acme, own, id.agentId);
    assert.deepEqual([again.result, again.refusal], ['refused', 'revoked']);
    await L.waitFor('acme\'s data gone', () => !existsSync(join(L.state, 'orgs', 'acme')), 20_000);
    assert.equal((await L.api('alice', 'GET', '/v1/orgs/acme/agents')).status, 403);
    // blue: its agent still connected and shipping, its operators served
    await L.traffic(L.blue, L.blue.collectorIp, 10);
    await L.waitFor('blue keeps storing', () => L.count('blue', 'SELECT count(*) AS n FROM dumps') > blueDumps, 30_000);
    const b = await L.meerkat('bob', ['agents', '--org', 'blue', '--json']);
    assert.equal(jsonLines<{ online: boolean }>(b.stdout)[0]!.online, true);
    const col = (await L.api('carol', 'GET', '/v1/collector/audit?org=acme&limit=1000')).body!.entries as { action: string; detail: { reason?: string } }[];
    assert.ok(col.some((e) => e.action === 'org.delete' && e.detail.reason === 'contract ended'));
  });
});

