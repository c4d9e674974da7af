import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { identityDir, loadAgentIdentity } from '../../../agent/transport/agent-identity.js';
import { Shipper } from '../../../agent/transport/shipper.js';
import { StateDirRenewal } from '../../../agent/transport/identity-renewal.js';
import { DirSpool, makeDump, metricFromText, tmpDir, waitFor } from '../../helpers/transport-rig.js';
import { freePort, runCliProcess, spawnFixture, waitExit, waitHttpOk } from '../../helpers/processes.js';

describe('transport: enrollment end to end (real CLIs, real collector process)', function () {
  let root: string;
  let pkiDir: string;
  let stateDir: string;
  let collector: ChildProcess | undefined;
  let port: number;
  let opsPort: number;
  let collectorErr = '';

  before(async function () {
    root = tmpDir('enroll');
    stateDir = join(root, 'collector-state');
    pkiDir = join(stateDir, 'pki');
    const init = await runCliProcess('meerkat-collector', ['pki', 'init', '--state-dir', stateDir, '--name', 'localhost', '--ip', '127.0.0.1', '--json']);
    assert.equal(init.status, 0, init.stderr);
    const made = JSON.parse(init.stdout) as { caFingerprintSha256: string; pkiDir: string };
    assert.match(made.caFingerprintSha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(made.pkiDir, pkiDir, 'the PKI lives in the state directory');
    port = await freePort();
    opsPort = await freePort();
    collector = spawnFixture('cli', ['meerkat-collector', 'run', '--listen', `127.0.0.1:${port}`, '--ops', `127.0.0.1:${opsPort}`, '--api', 'off', '--state-dir', stateDir]);
    collector.stderr!.on('data', (d: Buffer) => { collectorErr += d.toString(); });
    await waitHttpOk(`http://127.0.0.1:${opsPort}/healthz`, 20_000, collector, () => collectorErr.slice(-2000));
  });

  after(async function () {
    if (collector && collector.exitCode === null) {
      collector.kill('SIGTERM');
      const code = await waitExit(collector);
      assert.equal(code, 0, `collector exit code; stderr: ${collectorErr.slice(-2000)}`);
    }
    rmSync(root, { recursive: true, force: true });
  });

  async function createToken(uses: number): Promise<string> {
    const r = await runCliProcess('meerkat-collector', ['token', 'create', '--state-dir', stateDir, '--uses', String(uses), '--expires', '1h', '--json']);
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { token: string }).token;
  }

  async function tokenList(): Promise<Array<{ id: string; usesLeft: number; state: string }>> {
    const r = await runCliProcess('meerkat-collector', ['token', 'list', '--state-dir', stateDir, '--json']);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; usesLeft: number; state: string });
  }

  async function tokenUsesLeft(): Promise<number[]> {
    return (await tokenList()).map((t) => t.usesLeft);
  }

  it('enrolls two agents with a 2-use token, refuses the third, keys stay private', async () => {
    const token = await createToken(2);
    const ids: string[] = [];
    for (const n of [1, 2]) {
      const dir = join(root, `agent${n}`);
      const r = await runCliProcess('meerkat-agent', ['enroll', '--collector', `https://localhost:${port}`, '--token', token, '--state-dir', dir, '--json']);
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { agentId: string };
      const id = loadAgentIdentity(dir);
      assert.equal(id.agentId, out.agentId);
      assert.equal(new X509Certificate(id.certPem).subject.split('\n')[0], `CN=${id.agentId}`);
      for (const f of readdirSync(identityDir(dir)).filter((f) => f.endsWith('.key'))) {
        assert.equal(statSync(join(identityDir(dir), f)).mode & 0o777, 0o600, f);
      }
      ids.push(id.agentId);
    }
    assert.notEqual(ids[0], ids[1]);
    const third = await runCliProcess('meerkat-agent', ['enroll', '--collector', `https://localhost:${port}`, '--token', token, '--state-dir', join(root, 'agent3')]);
    assert.equal(third.status, 1);
    assert.match(third.stderr, /token-used-up/);
    // the private keys never left the agents: no key material in the collector's state or PKI dirs
    const agentKey = loadAgentIdentity(join(root, 'agent1')).keyPem;
    const body = agentKey.split('\n')[2]!;
    for (const d of [stateDir, pkiDir]) {
      for (const f of readdirSync(d, { recursive: true }) as string[]) {
        try { assert.ok(!readFileSync(join(d, f), 'latin1').includes(body), `agent key found in ${f}`); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'EISDIR') throw e; }
      }
    }
    // already enrolled: refused without --force (usage error)
    const again = await runCliProcess('meerkat-agent', ['enroll', '--collector', `https://localhost:${port}`, '--token', token, '--state-dir', join(root, 'agent1')]);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already holds the identity/);
  });

  it('refuses to send the token to a collector whose CA does not match the pinned fingerprint', async () => {
    const token = await createToken(1);
    const before = await tokenUsesLeft();
    const parts = token.split('.');
    const wrongPin = `${parts[0]}.${parts[1]}.${randomBytes(32).toString('base64url')}`;
    const r = await runCliProcess('meerkat-agent', ['enroll', '--collector', `https://127.0.0.1:${port}`, '--token', wrongPin, '--state-dir', join(root, 'pinned')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /does not match the token's fingerprint/);
    assert.deepEqual(await tokenUsesLeft(), before, 'no use of any token was spent');
    const bad = await runCliProcess('meerkat-agent', ['enroll', '--collector', `https://127.0.0.1:${port}`, '--token', 'nonsense', '--state-dir', join(root, 'bad')]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /malformed/);
  });

  it('an enrolled agent ships, renews its certificate over the channel, and is cut off by `pki revoke`', async () => {
    const token = await createToken(1);
    const dir = join(root, 'shipper');
    const r = await runCliProcess('meerkat-agent', ['enroll', '--collector', `https://localhost:${port}`, '--token', token, '--state-dir', dir, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const first = loadAgentIdentity(dir);
    const spool = new DirSpool(join(root, 'shipper-spool'));
    for (let s = 1; s <= 3; s++) spool.put(s, makeDump(first.agentId, s, s * 40, 100));
    // renewBeforeMs beyond the lifetime: due at once
    const renewal = new StateDirRenewal(dir, { renewBeforeMs: 400 * 86_400_000, keyBits: 2048 });
    const sh = new Shipper({
      collectorUrl: first.collectorUrl.replace('127.0.0.1', 'localhost'),
      agentId: first.agentId,
      credentials: () => { const id = loadAgentIdentity(dir); return { key: id.keyPem, cert: id.certPem, ca: id.caPem }; },
      spool,
      renewal,
      backoff: { initialMs: 50, maxMs: 200 },
    });
    const renewed = new Promise<void>((res) => sh.once('renewed', () => res()));
    sh.start();
    try {
      await waitFor(() => spool.list().length === 0, 20_000, 'spool drained');
      await renewed;
      const second = loadAgentIdentity(dir);
      assert.equal(second.agentId, first.agentId);
      assert.notEqual(second.serial, first.serial);
      assert.notEqual(second.keyPem, first.keyPem, 'renewal uses a fresh key pair');
      assert.equal(readdirSync(identityDir(dir)).filter((f) => f.endsWith('.key')).length, 1, 'old key removed');

      const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
      assert.equal(metricFromText(metrics, 'meerkat_collector_renewals_total', { result: 'ok' }), 1);
      assert.ok(metricFromText(metrics, 'meerkat_collector_packets_stored_total') >= 300);

      const disconnected = new Promise<number>((res) => sh.once('disconnected', (code: number) => res(code)));
      const refused = new Promise<string>((res) => sh.once('refused', (reason: string) => res(reason)));
      const rev = await runCliProcess('meerkat-collector', ['pki', 'revoke', first.agentId.slice(0, 8), '--state-dir', stateDir, '--json']);
      assert.equal(rev.status, 0, rev.stderr);
      assert.equal((JSON.parse(rev.stdout) as { serials: string[] }).serials.length, 2, 'enrolled and renewed certificates both revoked');
      assert.equal(await disconnected, 4003);
      assert.equal(await refused, 'revoked');
      const list = await runCliProcess('meerkat-collector', ['pki', 'list', '--state-dir', stateDir, '--json']);
      const rows = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as { agentId: string; revoked: boolean });
      assert.ok(rows.filter((x) => x.agentId === first.agentId).every((x) => x.revoked));
      assert.ok(rows.some((x) => !x.revoked));
    } finally {
      await sh.stop();
    }
  });

  it('a revoked token enrolls nobody (refused as token-revoked); its uses stay as they were', async () => {
    const token = await createToken(5);
    const before = await tokenList();
    const id = before[before.length - 1]!.id;
    const r = await runCliProcess('meerkat-collector', ['token', 'revoke', id.slice(0, 6), '--state-dir', stateDir, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { alreadyRevoked: boolean; token: { id: string; state: string } };
    assert.deepEqual([out.token.id, out.token.state, out.alreadyRevoked], [id, 'revoked', false]);
    const again = await runCliProcess('meerkat-collector', ['token', 'revoke', id, '--state-dir', stateDir, '--json']);
    assert.equal((JSON.parse(again.stdout) as { alreadyRevoked: boolean }).alreadyRevoked, true);
    const enroll = await runCliProcess('meerkat-agent', ['enroll', '--collector', `https://127.0.0.1:${port}`, '--token', token, '--state-dir', join(root, 'agent-revoked-token')]);
    assert.equal(enroll.status, 1, enroll.stderr);
    assert.match(enroll.stderr, /token-revoked/);
    const after = (await tokenList()).find((t) => t.id === id)!;
    assert.deepEqual([after.state, after.usesLeft], ['revoked', 5]);
    const unknown = await runCliProcess('meerkat-collector', ['token', 'revoke', 'ffff', '--state-dir', stateDir]);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /no token with id "ffff"/);
    const short = await runCliProcess('meerkat-collector', ['token', 'revoke', 'ab', '--state-dir', stateDir]);
    assert.equal(short.status, 2);
    assert.match(short.stderr, /at least 4/);
  });

  it('CLI contract: --help exits 0, bad usage exits 2, old names are refused with the new ones', async () => {
    const help = await runCliProcess('meerkat-collector', ['pki', 'init', '--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--name <dns>/);
    const noName = await runCliProcess('meerkat-collector', ['pki', 'init', '--state-dir', join(root, 'x')]);
    assert.equal(noName.status, 2);
    const badId = await runCliProcess('meerkat-collector', ['pki', 'revoke', 'my-laptop', '--state-dir', stateDir]);
    assert.equal(badId.status, 2);
    assert.match(badId.stderr, /not an agent id or id prefix/);
    const shortId = await runCliProcess('meerkat-collector', ['pki', 'revoke', 'ab', '--state-dir', stateDir]);
    assert.equal(shortId.status, 2);
    assert.match(shortId.stderr, /at least 4 characters/);
    const noPki = await runCliProcess('meerkat-collector', ['token', 'create', '--state-dir', join(root, 'nowhere')]);
    assert.equal(noPki.status, 2);
    assert.match(noPki.stderr, /ca\.crt.*does not exist.*meerkat-collector init/);
    const badExpiry = await runCliProcess('meerkat-collector', ['token', 'create', '--state-dir', stateDir, '--expires', 'soon']);
    assert.equal(badExpiry.status, 2);
    const runHelp = await runCliProcess('meerkat-collector', ['run', '--help']);
    assert.equal(runHelp.status, 0);
    assert.match(runHelp.stdout, /--api <host:port\|off>/);
    assert.match(runHelp.stdout, /--ops <host:port\|off>/);
    assert.doesNotMatch(runHelp.stdout, /--admin|--control/);
    const runNoPki = await runCliProcess('meerkat-collector', ['run', '--listen', '127.0.0.1:0', '--ops', 'off', '--state-dir', join(root, 'empty')]);
    assert.equal(runNoPki.status, 2);
    assert.match(runNoPki.stderr, /meerkat-collector init/);
    for (const [old, now] of [['--admin', '--ops'], ['--control', '--api']] as const) {
      const r = await runCliProcess('meerkat-collector', ['run', old, 'off', '--state-dir', join(root, 'empty')]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`${old} is now ${now}`));
    }
  });
});
