// The agent .deb installed for real on this machine, the way an admin does it: one apt command
// with the enrollment settings in its environment, run inside a network namespace ("host") that
// reaches a real collector in another ("collector"). systemd is not PID 1 here, so the service
// is started as its installed unit says (ExecStart as its account, with only its capabilities,
// no-new-privileges, its umask: unit-exec.ts), and the unit file is checked with
// systemd-analyze verify. Then: flows appear; an upgrade to a higher version keeps identity,
// spool, pinned keys and configuration; an operator isolates the host; removal while isolated
// leaves no rule behind; purge leaves nothing.
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { skipBecause } from '../helpers/skip.js';
import { ControlLab, sleep } from '../system/control-lab.js';
import { labAvailable } from '../system/netns-lab.js';
import { builtPackage, checkoutVersion, must, packagingToolsMissing } from './built-packages.js';
import { loadOwnerPayload } from '../../installer/build/owner-payload.js';
import { loadServiceUnit, NET_ADMIN_AND_RAW, processCapabilities, unitCommand } from './unit-exec.js';

const UNIT = '/lib/systemd/system/meerkat-agent.service';
const STATE = '/var/lib/meerkat-agent';
const APT = ['-y', '-q', '-o', 'DPkg::Lock::Timeout=300', '-o', 'Dpkg::Options::=--force-confold'];

function installed(): string | null {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Status} ${Version}', 'meerkat-agent'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.startsWith('install ok installed') ? r.stdout.split(' ').at(-1)! : null;
}

function sha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** the spooled dumps (<sequence>.mkds, agent/spool/spool.ts) */
function spooled(): string[] {
  const dir = join(STATE, 'spool');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.mkds')) : [];
}

/** every file under dir (relative path -> sha256) */
function snapshot(dir: string, sub = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(join(dir, sub))) return out;
  for (const n of readdirSync(join(dir, sub))) {
    const rel = sub ? `${sub}/${n}` : n;
    if (statSync(join(dir, rel)).isDirectory()) for (const [k, v] of snapshot(dir, rel)) out.set(k, v);
    else out.set(rel, sha(join(dir, rel)));
  }
  return out;
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('installer: the agent .deb installed, run as its unit, upgraded and removed for real', function () {
  this.timeout(600_000);
  let L: ControlLab;
  let agent: ChildProcess | null = null;
  let agentLog = '';
  let traffic: ChildProcess[] = [];

  before(async function () {
    const missing = packagingToolsMissing(['agent-deb']);
    if (missing.length) skipBecause(this, `packaging tools missing: ${missing.join(', ')} (scripts/setup.sh installs them)`);
    if (!labAvailable()) skipBecause(this, 'needs root, iproute2 network namespaces and nft (CI runs as root)');
    for (const t of ['apt-get', 'setpriv', 'systemd-analyze']) {
      if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) skipBecause(this, `${t} is not installed (scripts/setup.sh installs it)`);
    }
    // a leftover of an aborted run of this test: purge it (this machine is a test machine)
    if (installed()) must('apt-get', ['purge', ...APT, 'meerkat-agent']);
    await Promise.all([builtPackage('agent-deb'), builtPackage('agent-deb', `${checkoutVersion()}.1`)]);
    L = new ControlLab();
    await L.initState();
    await L.startCollector('cli');
    // a server beside the collector for the host to talk to
    traffic.push(L.lab.spawn('peer1', process.execPath, ['-e', `require('http').createServer((q,s)=>s.end('x'.repeat(300))).listen(8080,'${L.lab.peer1.farIp}')`]));
  });

  after(async function () {
    if (agent?.exitCode === null) agent.kill('SIGKILL');
    for (const t of traffic) t.kill('SIGKILL');
    if (installed()) spawnSync('apt-get', ['purge', ...APT, 'meerkat-agent']);
    await L?.destroy();
  });

  async function aptInHost(args: string[], env: Record<string, string> = {}): Promise<string> {
    const r = await L.lab.exec('host', 'env', ['DEBIAN_FRONTEND=noninteractive', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'apt-get', ...args, ...APT], { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`apt-get ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return `${r.stdout}${r.stderr}`;
  }

  /** the installed unit's ExecStart, as its account with its capabilities, in the host namespace */
  async function startService(): Promise<void> {
    const cmd = unitCommand(loadServiceUnit(UNIT));
    agentLog = '';
    agent = L.lab.spawn('host', cmd[0]!, cmd.slice(1), { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    agent.stderr!.setEncoding('utf8').on('data', (s: string) => { agentLog += s; });
    agent.stdout!.resume();
    L.agent = agent;
    await waitFor('the agent to connect', () => agentLog.includes('connected to collector') || agent!.exitCode !== null, 60_000);
    assert.equal(agent.exitCode, null, agentLog.slice(-3000));
  }

  /** systemctl stop, as the unit says: SIGTERM, then wait */
  async function stopService(): Promise<void> {
    const a = agent!;
    if (a.exitCode === null) {
      const exited = new Promise((r) => a.once('exit', r));
      // the agent is the exec'd child of `ip netns exec sh setpriv ...`: signal the node process
      spawnSync('pkill', ['-TERM', '-u', 'meerkat-agent', '-x', 'node']);
      await exited;
    }
    agent = null;
    L.agent = null;
  }

  function agentPid(): number {
    return Number(must('pgrep', ['-u', 'meerkat-agent', '-x', 'node']).trim().split('\n')[0]);
  }

  function flowsOf(agentId: string): number {
    const db = new Database(join(L.collState, 'orgs', 'default', 'meerkat.db'), { readonly: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM flows WHERE agent_id = ?').get(agentId) as { n: number }).n;
    } finally {
      db.close();
    }
  }

  function storedSequences(id: string): Set<number> {
    const db = new Database(join(L.collState, 'orgs', 'default', 'meerkat.db'), { readonly: true });
    try {
      return new Set((db.prepare('SELECT sequence FROM dumps WHERE agent_id = ?').all(id) as { sequence: number }[]).map((r) => r.sequence));
    } finally {
      db.close();
    }
  }

  let agentId = '';

  it('apt install with MEERKAT_COLLECTOR/MEERKAT_TOKEN: account, state 0700, owner keys 0600, enrolled, operator key pinned', async () => {
    const token = (JSON.parse((await L.collectorCmd(['token', 'create', '--json'])).stdout) as { token: string }).token;
    const deb = (await builtPackage('agent-deb')).file;
    const out = await aptInHost(['install', deb], {
      MEERKAT_COLLECTOR: `https://${L.lab.collector.farIp}:8443`,
      MEERKAT_TOKEN: token,
      MEERKAT_ANON_KEY: join(L.owner, 'anon.key'),
      MEERKAT_BOX_PUB: join(L.owner, 'box.pub'),
      MEERKAT_OPERATOR_KEY: join(L.operator, 'op.pub'),
    });
    assert.match(out, /meerkat-agent: enrolled with https:\/\/.*: agent [0-9a-f-]{36}/, out);
    assert.equal(installed(), checkoutVersion());
    const uid = Number(must('id', ['-u', 'meerkat-agent']).trim());
    const st = statSync(STATE);
    assert.equal(st.uid, uid);
    assert.equal(st.mode & 0o777, 0o700);
    for (const f of ['anon.key', 'box.pub', 'identity/identity.json']) {
      const s = statSync(join(STATE, f));
      assert.equal(s.uid, uid, `${f} belongs to the service account`);
      if (f !== 'identity/identity.json') assert.equal(s.mode & 0o777, 0o600, `${f} is 0600`);
    }
    assert.equal(sha(join(STATE, 'anon.key')), sha(join(L.owner, 'anon.key')));
    agentId = (JSON.parse(readFileSync(join(STATE, 'identity', 'identity.json'), 'utf8')) as { agentId: string }).agentId;
    assert.equal(readdirSync(join(STATE, 'operator-keys')).filter((f) => f.endsWith('.pub')).length, 1, 'the operator key is pinned');
    assert.deepEqual(readdirSync(STATE).filter((f) => f.startsWith('.op-')), [], 'no temporary copies left');
    const verify = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    assert.equal(verify.status, 0, `systemd-analyze verify ${UNIT}: ${verify.stderr}`);
  });

  it('the service as its unit runs it: meerkat-agent account, CAP_NET_RAW+CAP_NET_ADMIN only, bundled node; captures and ships (flows appear)', async () => {
    // the admin's settings (a conffile: the upgrade below must keep them): 1 s dumps, the lab's prefix internal
    writeFileSync('/etc/meerkat/agent.json', JSON.stringify({ stateDir: STATE, capture: { interfaces: 'any' }, anonymize: { internalPrefixes: ['10.213.0.0/16'] }, dump: { maxSeconds: 1 } }, null, 2));
    await startService();
    const pid = agentPid();
    const caps = processCapabilities(pid);
    assert.equal(caps.uid, Number(must('id', ['-u', 'meerkat-agent']).trim()));
    assert.equal(caps.eff, NET_ADMIN_AND_RAW, `effective capabilities ${caps.eff.toString(16)}`);
    assert.equal(caps.amb, NET_ADMIN_AND_RAW);
    assert.equal(caps.bnd, NET_ADMIN_AND_RAW, 'nothing else in the bounding set');
    assert.ok(caps.noNewPrivs);
    assert.equal(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0], '/usr/lib/meerkat-agent/node', 'the runtime the package carries');
    traffic.push(L.lab.spawn('host', process.execPath, ['-e', `setInterval(()=>require('http').get({host:'${L.lab.peer1.farIp}',port:8080,agent:false},r=>r.resume()).on('error',()=>{}),50)`]));
    await waitFor('flows from the installed agent', () => flowsOf(agentId) > 0, 60_000);
  });

  it('upgrade to a higher version: identity, spool, pinned keys, owner keys and configuration survive; the new agent ships the spool', async () => {
    // the collector goes away: dumps wait in the spool
    await L.stopCollector();
    await waitFor('dumps in the spool', () => spooled().length >= 2, 30_000);
    await stopService(); // what prerm's `systemctl stop` does with systemd
    const waitingSeqs = spooled().map((f) => Number(f.slice(0, -'.mkds'.length)));
    const keep = ['identity', 'spool', 'operator-keys'].map((d) => [d, snapshot(join(STATE, d))] as const);
    const keys = ['anon.key', 'box.pub'].map((f) => [f, sha(join(STATE, f))] as const);
    const config = readFileSync('/etc/meerkat/agent.json', 'utf8');
    const v2 = `${checkoutVersion()}.1`;
    const out = await aptInHost(['install', (await builtPackage('agent-deb', v2)).file]);
    assert.doesNotMatch(out, /enrolled with/, 'an upgrade does not enroll again');
    assert.equal(installed(), v2);
    for (const [d, before] of keep) assert.deepEqual(snapshot(join(STATE, d)), before, `${d} unchanged by the upgrade`);
    for (const [f, h] of keys) assert.equal(sha(join(STATE, f)), h, `${f} unchanged`);
    assert.equal(readFileSync('/etc/meerkat/agent.json', 'utf8'), config, 'the admin\'s configuration kept');
    await L.startCollector('cli');
    await startService(); // what postinst's `systemctl restart` does with systemd
    await waitFor('the spool to drain into the collector', () => spooled().length === 0, 60_000);
    const stored = storedSequences(agentId);
    // stored under the same agent id: the upgraded agent connected with the identity it kept
    for (const seq of waitingSeqs) assert.ok(stored.has(seq), `dump ${seq}, spooled across the upgrade, reached the collector`);
  });

  it('an operator isolates the upgraded host: the agent installs its nftables table', async () => {
    const r = await L.remoteJson<{ state: string }>(['isolate', agentId, '--wait']);
    assert.equal(r.json.state, 'done', r.stderr);
    assert.match(await L.nft(), /table inet meerkat_interdiction/);
  });

  it('apt remove while the host is isolated: the agent stops and every rule goes; state stays until purge', async () => {
    const out = await aptInHost(['remove', 'meerkat-agent']);
    assert.match(out, /interdiction rules removed \(nftables table inet meerkat_interdiction\)/, out);
    assert.doesNotMatch(await L.nft(), /meerkat_interdiction/);
    assert.equal(spawnSync('pgrep', ['-u', 'meerkat-agent', '-x', 'node']).status, 1, 'no agent process left');
    assert.ok(!existsSync('/usr/lib/meerkat-agent'), 'program files removed');
    assert.ok(existsSync(join(STATE, 'identity', 'identity.json')), 'identity kept until purge');
    assert.ok(!existsSync(join(STATE, 'control', 'interdiction.json')), 'the persisted isolation is dropped: a reinstall must not cut the host off');
  });

  it('apt purge: no state, no configuration, no account, no package left', async () => {
    await aptInHost(['purge', 'meerkat-agent']);
    assert.equal(installed(), null);
    for (const p of [STATE, '/etc/meerkat', '/usr/lib/meerkat-agent', '/usr/bin/meerkat-agent', UNIT, '/usr/share/doc/meerkat-agent']) assert.ok(!existsSync(p), `${p} is gone`);
    assert.notEqual(spawnSync('getent', ['passwd', 'meerkat-agent']).status, 0, 'account gone');
    assert.notEqual(spawnSync('getent', ['group', 'meerkat-agent']).status, 0, 'group gone');
    assert.equal(spawnSync('dpkg-query', ['-W', 'meerkat-agent']).status, 1, 'dpkg forgot the package');
  });

  it("an organisation's package (meerkat package agent) enrolls with nothing given at install; its keys land 0600 in the state; purge cleans up", async () => {
    const token = (JSON.parse((await L.collectorCmd(['token', 'create', '--json'])).stdout) as { token: string }).token;
    const owner = loadOwnerPayload({ ownerDir: L.owner, operatorKeys: [join(L.operator, 'op.pub')], collector: `https://${L.lab.collector.farIp}:8443`, token, caFile: join(L.pki, 'ca.crt') });
    const deb = (await builtPackage('agent-deb', checkoutVersion(), owner)).file;
    const out = await aptInHost(['install', deb]);
    assert.match(out, /meerkat-agent: enrolled with https:\/\//, out);
    const uid = Number(must('id', ['-u', 'meerkat-agent']).trim());
    for (const f of ['anon.key', 'box.pub']) {
      const s = statSync(join(STATE, f));
      assert.equal(s.uid, uid);
      assert.equal(s.mode & 0o777, 0o600);
    }
    assert.equal(sha(join(STATE, 'anon.key')), sha(join(L.owner, 'anon.key')));
    assert.equal(readdirSync(join(STATE, 'operator-keys')).filter((f) => f.endsWith('.pub')).length, 1);
    assert.equal(statSync('/usr/share/meerkat-agent/owner').mode & 0o777, 0o700, "the organisation's folder is root's alone");
    const config = JSON.parse(readFileSync('/etc/meerkat/agent.json', 'utf8')) as { collector?: { url: string } };
    assert.equal(config.collector?.url, `https://${L.lab.collector.farIp}:8443`);
    await aptInHost(['purge', 'meerkat-agent']);
    for (const p of [STATE, '/etc/meerkat', '/usr/share/meerkat-agent']) assert.ok(!existsSync(p), `${p} is gone`);
  });
});
