// An installation made before organisations (fixtures/legacy-state.tar.gz, written by the
// previous version's collector, console and agent: fixtures/make-legacy-state.sh) started with
// this collector: everything lands in the `default` organisation without loss - flows, alerts,
// commands, audit, dumps (byte for byte, rows pointing at their new place), the response key,
// the unused token, the operator (as admin of default) - and the enrolled agent goes on shipping
// with the certificate it has, without enrolling again. Then a second organisation is created
// on the running collector: the pathlen-0 root is certified again (same key), the old agent is
// unaffected, and an agent enrolls into the new organisation.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { fileURLToPath } from 'node:url';
import { CollectorProcess, freePort, runCliProcess } from '../../helpers/processes.js';
import { RawAgent } from '../../helpers/raw-agent.js';
import { makeDump } from '../../helpers/transport-rig.js';
import { loadAgentIdentity } from '../../../agent/transport/agent-identity.js';
import { enrollAgent } from '../../../agent/transport/enroll-client.js';
import { AdminClient } from '../../../console/admin-client.js';
import { openCollectorDb } from '../../../collector/orgs/collector-db.js';
import { OrgRegistry } from '../../../collector/orgs/org-registry.js';
import { UserStore } from '../../../collector/users/user-store.js';
import { caPathLen, loadCa } from '../../../certs/certificate-authority.js';
import { pkiPaths } from '../../../certs/pki-dir.js';
import { certFingerprintHex } from '../../../certs/fingerprint.js';
import { subjectValues } from '../../../certs/cert-chain.js';

const FIXTURE = fileURLToPath(new URL('../../../../test/collector/orgs/fixtures/legacy-state.tar.gz', import.meta.url));

function counts(db: string): Record<string, number> {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const n = (t: string): number => (d.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    return { flows: n('flows'), dumps: n('dumps'), alerts: n('alerts'), commands: n('control_commands'), audit: n('control_audit'), issues: n('control_response_issues') };
  } finally {
    d.close();
  }
}

function dumpHashes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of readdirSync(dir)) {
    if (a.startsWith('.')) continue;
    for (const f of readdirSync(join(dir, a))) out.set(`${a}/${f}`, createHash('sha256').update(readFileSync(join(dir, a, f))).digest('hex'));
  }
  return out;
}

describe('organisations: an installation from before organisations migrates into default', function () {
  this.timeout(180_000);
  let root: string;
  let state: string;
  let collector: CollectorProcess | undefined;
  let apiPort: number;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'meerkat-legacy-'));
    execFileSync('tar', ['-xzf', FIXTURE, '-C', root]);
    state = join(root, 'state');
    // the old collector wrote absolute dump paths where the fixture was made: as if it had always been here
    const made = (JSON.parse(readFileSync(join(root, 'fixture.json'), 'utf8')) as { stateDir: string }).stateDir;
    const d = new Database(join(state, 'meerkat.db'));
    d.prepare('UPDATE dumps SET raw_path = ? || substr(raw_path, ?) WHERE substr(raw_path, 1, ?) = ?').run(resolve(state), made.length + 1, made.length, made);
    d.close();
  });
  after(async () => {
    await collector?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  async function start(): Promise<void> {
    apiPort = await freePort();
    collector = await CollectorProcess.start(join(root, 'collector.json'), {
      stateDir: state, api: `127.0.0.1:${apiPort}`, logLevel: 'warn',
      analyzers: [{ builtin: 'threat-intel', config: { feeds: [{ name: 'legacy-feed', path: join(root, 'feed.txt'), severity: 'high' }] } }],
      responses: [{ category: 'threat-intel', command: { type: 'capture-full', forSec: 600 } }],
    });
  }

  it('moves database, dumps and response key into orgs/default, losing nothing', async () => {
    const before = counts(join(state, 'meerkat.db'));
    const hashes = dumpHashes(join(state, 'dumps'));
    const keyPub = readFileSync(join(state, 'response-key', 'op.pub'), 'utf8');
    assert.ok(before.flows > 0 && before.alerts > 0 && before.dumps > 0 && before.commands > 0, JSON.stringify(before));
    await start();
    const org = join(state, 'orgs', 'default');
    assert.equal(existsSync(join(state, 'meerkat.db')), false);
    assert.equal(existsSync(join(state, 'dumps')), false);
    const after = counts(join(org, 'meerkat.db'));
    for (const k of ['flows', 'dumps', 'alerts', 'commands', 'issues'] as const) assert.equal(after[k], before[k], k);
    assert.ok(after.audit >= before.audit);
    assert.deepEqual(dumpHashes(join(org, 'dumps')), hashes, 'every dump, byte for byte');
    const d = new Database(join(org, 'meerkat.db'), { readonly: true });
    const paths = (d.prepare('SELECT raw_path FROM dumps').all() as { raw_path: string }[]).map((r) => r.raw_path);
    d.close();
    for (const p of paths) {
      assert.ok(p.startsWith(resolve(org, 'dumps') + '/'), p);
      assert.ok(existsSync(p), p);
    }
    assert.equal(readFileSync(join(org, 'response-key', 'op.pub'), 'utf8'), keyPub, 'the response key agents authorised is the same');
    const db = openCollectorDb(state);
    try {
      const rec = new OrgRegistry(db).get('default')!;
      assert.equal(rec.legacyRoot, true, 'the pathlen-0 root keeps signing the default organisation\'s agents');
      const agent = loadAgentIdentity(join(root, 'agent'));
      assert.equal(new OrgRegistry(db).orgOfAgent(agent.agentId), 'default');
      assert.deepEqual(new UserStore(db).get('alice')!.memberships, [{ org: 'default', role: 'admin' }]);
      const audit = db.prepare("SELECT detail FROM collector_audit WHERE action = 'org.migrate-legacy'").all() as { detail: string }[];
      assert.equal(audit.length, 1);
    } finally {
      db.close();
    }
    assert.ok(existsSync(join(state, 'enroll-tokens.sqlite.migrated')));
  });

  it('the enrolled agent ships with the certificate it has (no new enrollment); the old operator certificate works as admin of default', async () => {
    const id = loadAgentIdentity(join(root, 'agent'));
    const agent = await RawAgent.connect(collector!.port, { agentId: id.agentId, key: id.keyPem, cert: id.certPem, ca: id.caPem });
    await agent.next('welcome');
    agent.upload(7, makeDump(id.agentId, 7, 0, 50));
    assert.equal((await agent.next('ack')).seq, 7);
    agent.upload(3, makeDump(id.agentId, 3, 0, 50));
    assert.equal((await agent.next('ack')).dup, true, 'what it shipped before the migration is known');
    agent.close();
    const op = join(root, 'operator');
    const alice = AdminClient.fromOperatorDir(op, `https://127.0.0.1:${apiPort}`);
    const { agents } = await alice.get<{ agents: { agentId: string }[] }>(alice.scoped('/agents'));
    assert.ok(agents.some((a) => a.agentId === id.agentId));
    // packets of the dumps from before the migration, exported through their new paths
    const res = await alice.stream(alice.scoped(`/pcap?agent=${id.agentId}&since=0&until=9007199254740991&format=pcapng`));
    let bytes = 0;
    for await (const c of res) bytes += (c as Buffer).length;
    const summary = JSON.parse(res.trailers['x-meerkat-export']!) as { packets: number; dumpsFailed: unknown[] };
    assert.ok(summary.packets > 1000, JSON.stringify(summary));
    assert.deepEqual(summary.dumpsFailed, []);
    assert.ok(bytes > 0);
  });

  it('the token made before is good for the default organisation (the root signs, as before)', async () => {
    const spare = (JSON.parse(readFileSync(join(root, 'fixture.json'), 'utf8')) as { spareToken: string }).spareToken;
    const dir = join(root, 'agent2');
    const id = await enrollAgent({ collectorUrl: `https://localhost:${collector!.port}`, token: spare, stateDir: dir, keyBits: 2048 });
    const leaf = loadAgentIdentity(dir);
    assert.deepEqual(subjectValues(new X509Certificate(leaf.certPem).subject, 'OU'), [], 'no organisation CA under a legacy root');
    const a = await RawAgent.connect(collector!.port, { agentId: id.agentId, key: leaf.keyPem, cert: leaf.certPem, ca: leaf.caPem });
    await a.next('welcome');
    a.close();
  });

  it('a second organisation on the running collector: the root certified again, the old agent unaffected, a new agent of the new organisation ships', async () => {
    const rootFp = certFingerprintHex(readFileSync(pkiPaths(join(state, 'pki')).caCert, 'utf8'));
    const r = await runCliProcess('meerkat-collector', ['org', 'create', 'acme', '--state-dir', state, '--token-uses', '2', '--ca-bits', '2048', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const created = JSON.parse(r.stdout) as { rootRecertified: boolean; rootFingerprint: string; token: { token: string } };
    assert.equal(created.rootRecertified, true);
    assert.notEqual(created.rootFingerprint, rootFp, 'a new root certificate');
    assert.equal(caPathLen(loadCa(pkiPaths(join(state, 'pki')).caCert, pkiPaths(join(state, 'pki')).caKey)), 1);
    await new Promise((res) => setTimeout(res, 2500)); // the collector follows within a second
    const old = loadAgentIdentity(join(root, 'agent'));
    const o = await RawAgent.connect(collector!.port, { agentId: old.agentId, key: old.keyPem, cert: old.certPem, ca: old.caPem });
    await o.next('welcome');
    o.upload(8, makeDump(old.agentId, 8, 0, 50));
    assert.equal((await o.next('ack')).seq, 8);
    o.close();
    const dir = join(root, 'agent-acme');
    const id = await enrollAgent({ collectorUrl: `https://localhost:${collector!.port}`, token: created.token.token, stateDir: dir, keyBits: 2048 });
    const me = loadAgentIdentity(dir);
    assert.deepEqual(subjectValues(new X509Certificate(me.certPem).subject, 'OU'), ['acme']);
    const a = await RawAgent.connect(collector!.port, { agentId: id.agentId, key: me.keyPem, cert: me.certPem, ca: me.caPem });
    await a.next('welcome');
    a.upload(1, makeDump(id.agentId, 1, 0, 50));
    assert.equal((await a.next('ack')).seq, 1);
    a.close();
    assert.ok(existsSync(join(state, 'orgs', 'acme', 'dumps', id.agentId)), 'the new organisation\'s dumps are in its own folder');
    assert.equal(existsSync(join(state, 'orgs', 'default', 'dumps', id.agentId)), false);
  });

  it('a restart takes nothing over twice', async () => {
    await collector!.stop();
    const before = counts(join(state, 'orgs', 'default', 'meerkat.db'));
    await start();
    assert.deepEqual(counts(join(state, 'orgs', 'default', 'meerkat.db')).flows, before.flows);
    const db = openCollectorDb(state);
    try {
      assert.equal((db.prepare("SELECT count(*) AS n FROM collector_audit WHERE action = 'org.migrate-legacy'").get() as { n: number }).n, 1);
    } finally {
      db.close();
    }
  });
});

