// `meerkat-collector init` as a real process: the deployment it makes (PKI, configuration,
// the default organisation, the first operator's certificate and signing key in one directory
// and their user - admin of the default organisation -, the console settings, a token of the
// default organisation bound to the CA), what it prints (the exact enroll command), --json, the questions it
// asks (answered on stdin, a wrong answer asked again), and the refusals: a deployment that
// exists is left alone (exit 1), missing names are a usage error (exit 2). As root for a
// service account's state directory, what it makes there is handed to that account.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { parseEnrollToken } from '../../../certs/enroll-token-format.js';
import { certFingerprintB64 } from '../../../certs/fingerprint.js';
import { tmpDir } from '../../helpers/transport-rig.js';
import { collectorProgramArgs } from '../../helpers/node-script.js';
import { skipBecause } from '../../helpers/skip.js';
import { openCollectorState } from '../../../collector/orgs/collector-state.js';
import { EnrollTokenStore } from '../../../certs/enroll-tokens.js';

interface Run { code: number | null; stdout: string; stderr: string }

function init(env: Record<string, string>, args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...collectorProgramArgs(), 'init', ...args], { env: { ...process.env, MEERKAT_LOG_LEVEL: 'warn', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(stdin ?? '');
  });
}

function mode(p: string): number {
  return statSync(p).mode & 0o777;
}

describe('meerkat-collector init', function () {
  this.timeout(120_000);
  let root: string;
  before(() => { root = tmpDir('init'); });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** A host of its own: configuration, state and the operator's home under `name`. */
  function host(name: string): { env: Record<string, string>; config: string; state: string; home: string } {
    const base = join(root, name);
    const h = { config: join(base, 'etc', 'collector.json'), state: join(base, 'state'), home: join(base, 'home') };
    return { ...h, env: { MEERKAT_COLLECTOR_CONFIG: h.config, MEERKAT_STATE_DIR: h.state, HOME: h.home, MEERKAT_CONFIG: '' } };
  }

  it('makes the deployment from flags and prints the exact enroll command', async () => {
    const h = host('flags');
    const r = await init(h.env, ['--name', 'collector.test', '--ip', '192.0.2.10', '--operator', 'alice', '--non-interactive']);
    assert.equal(r.code, 0, r.stderr);
    const cfg = JSON.parse(readFileSync(h.config, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(cfg, { stateDir: h.state, listen: '0.0.0.0:8443', api: '127.0.0.1:9470', ops: '127.0.0.1:9469' });
    assert.equal(mode(h.config), 0o644);
    const pki = join(h.state, 'pki');
    for (const f of ['ca.crt', 'ca.key', 'server.crt', 'server.key', 'admin.crt', 'admin.key', 'revoked.json', 'crl.pem']) assert.ok(existsSync(join(pki, f)), f);
    assert.equal(mode(join(pki, 'ca.key')), 0o600);
    const server = new X509Certificate(readFileSync(join(pki, 'server.crt')));
    assert.match(server.subjectAltName ?? '', /DNS:collector\.test/);
    assert.match(server.subjectAltName ?? '', /IP Address:192\.0\.2\.10/);
    // one operator directory: certificate, its key, the CA, and the signing key
    const op = join(h.home, '.meerkat', 'operator');
    assert.equal(mode(op), 0o700);
    for (const [f, m] of [['operator.crt', 0o644], ['operator.key', 0o600], ['ca.crt', 0o644], ['op.key', 0o600], ['op.pub', 0o644]] as const) assert.equal(mode(join(op, f)), m, f);
    assert.match(new X509Certificate(readFileSync(join(op, 'operator.crt'))).subject, /CN=alice/);
    const settings = JSON.parse(readFileSync(join(h.home, '.meerkat', 'config.json'), 'utf8')) as Record<string, string>;
    assert.deepEqual(settings, { api: 'https://127.0.0.1:9470', operatorDir: op });
    // the token pins this CA
    const token = /first token\s+(mk1\.\S+)/.exec(r.stdout)![1]!;
    assert.equal(parseEnrollToken(token).caFingerprint.toString('base64url'), certFingerprintB64(readFileSync(join(pki, 'ca.crt'), 'utf8')));
    assert.ok(r.stdout.includes(`meerkat-agent enroll --collector https://collector.test:8443 --token ${token} --anon-key anon.key --box-pub box.pub --operator-key op.pub`), r.stdout);
    assert.ok(r.stdout.includes('meerkat keys init'));
    assert.ok(r.stdout.includes(`meerkat package agent --collector https://collector.test:8443 --token ${token} --operator-key ${join(op, 'op.pub')}`));

    // the default organisation is there, and the first operator is its admin and a collector administrator
    const state = openCollectorState({ stateDir: h.state, pkiDir: pki });
    try {
      assert.deepEqual(state.orgs.list().map((o) => [o.id, o.state]), [['default', 'active']]);
      const u = state.users.get('alice')!;
      assert.deepEqual([u.collectorAdmin, u.memberships], [true, [{ org: 'default', role: 'admin' }]]);
    } finally {
      state.close();
    }
    const toks = EnrollTokenStore.open(h.state);
    try {
      assert.deepEqual(toks.list().map((t) => t.org), ['default']);
    } finally {
      toks.close();
    }

    // a second init changes nothing
    const ca = readFileSync(join(pki, 'ca.crt'), 'utf8');
    const again = await init(h.env, ['--ip', '192.0.2.10', '--non-interactive']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists; refusing to replace a deployment .*\[MEERKAT_ERR_DEPLOYMENT_EXISTS\]/);
    assert.equal(readFileSync(join(pki, 'ca.crt'), 'utf8'), ca);
  });

  it('--json: the result as one object', async () => {
    const h = host('json');
    const r = await init(h.env, ['--ip', '192.0.2.10', '--operator', 'carol', '--token-uses', '5', '--token-expires', '2h', '--api', '0.0.0.0:9470', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { collectorUrl: string; apiUrl: string; token: { uses: number; expiresAt: string; token: string }; operator: { name: string; keyId: string }; next: { commands: string[] }[] };
    assert.equal(j.collectorUrl, 'https://192.0.2.10:8443');
    assert.equal(j.apiUrl, 'https://192.0.2.10:9470');
    assert.equal(j.token.uses, 5);
    assert.ok(Math.abs(Date.parse(j.token.expiresAt) - Date.now() - 7_200_000) < 60_000);
    assert.match(j.operator.keyId, /^[0-9a-f]{16}$/);
    assert.ok(j.next.some((s) => s.commands.some((c) => c.startsWith('meerkat-agent enroll --collector https://192.0.2.10:8443'))));
    // the API listens on every address: its certificate names what agents use too
    const cfg = JSON.parse(readFileSync(h.config, 'utf8')) as { apiNames: string[] };
    assert.deepEqual(cfg.apiNames, ['192.0.2.10']);
    assert.match(new X509Certificate(readFileSync(join(h.state, 'pki', 'admin.crt'))).subjectAltName ?? '', /IP Address:192\.0\.2\.10/);
  });

  it('asks its questions (a wrong answer is asked again) and makes what was answered', async () => {
    const h = host('asked');
    const answers = ['not a name!', '192.0.2.10, collector.test', '', '0.0.0.0:9470', 'bob', '', '3', '7d', 'y'].join('\n') + '\n';
    const r = await init(h.env, ['--interactive'], answers);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Names agents use to reach this collector/);
    assert.match(r.stderr, /"not a name!" is neither a DNS name nor an IP address/);
    const cfg = JSON.parse(readFileSync(h.config, 'utf8')) as Record<string, unknown>;
    assert.equal(cfg.api, '0.0.0.0:9470');
    assert.equal(cfg.listen, '0.0.0.0:8443');
    assert.match(new X509Certificate(readFileSync(join(h.home, '.meerkat', 'operator', 'operator.crt'))).subject, /CN=bob/);
    assert.match(r.stdout, /id [0-9a-f]{12}, 3 use\(s\)/);
    assert.match(r.stdout, /agents enroll with https:\/\/collector\.test:8443/);

    const no = host('declined');
    const d = await init(no.env, ['--interactive'], ['192.0.2.10', '', '', '', '', '', '', 'n'].join('\n') + '\n');
    assert.equal(d.code, 1);
    assert.match(d.stderr, /nothing created/);
    assert.ok(!existsSync(no.config) && !existsSync(no.state));
  });

  it('usage errors exit 2 and create nothing', async () => {
    const h = host('usage');
    const none = await init(h.env, ['--non-interactive']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /at least one --name or --ip/);
    const badPort = await init(h.env, ['--ip', '192.0.2.10', '--listen', '8443', '--non-interactive']);
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /--listen expects host:port/);
    const badName = await init(h.env, ['--name', 'bad name', '--non-interactive']);
    assert.equal(badName.code, 2);
    const badOperator = await init(h.env, ['--ip', '192.0.2.10', '--operator', '3b1f6a52-9c1e-4d6f-8a2b-0c4d5e6f7a8b', '--non-interactive']);
    assert.equal(badOperator.code, 2);
    // the collector's account reads its state: the operator's signing key must not go there
    const inside = await init(h.env, ['--ip', '192.0.2.10', '--operator-dir', join(h.state, 'operator'), '--non-interactive']);
    assert.equal(inside.code, 2);
    assert.match(inside.stderr, /is inside the collector's state directory .*\[MEERKAT_ERR_OPERATOR_DIR\]/);
    assert.ok(!existsSync(h.config) && !existsSync(join(h.state, 'pki')));
  });

  it('as root, for a state directory a service account owns, hands what it makes there to that account', async function () {
    if (process.getuid?.() !== 0) skipBecause(this, 'needs root to create files for another account');
    const h = host('service');
    mkdirSync(h.state, { recursive: true, mode: 0o750 });
    chownSync(h.state, 65534, 65534);
    const r = await init(h.env, ['--ip', '192.0.2.10', '--operator', 'root-admin', '--non-interactive']);
    assert.equal(r.code, 0, r.stderr);
    for (const p of [h.config, join(h.state, 'pki'), join(h.state, 'pki', 'ca.key'), join(h.state, 'collector.db'), join(h.state, 'orgs', 'default')]) {
      assert.equal(statSync(p).uid, 65534, p);
    }
    // the operator's signing key is never the collector account's
    assert.equal(statSync(join(h.home, '.meerkat', 'operator', 'op.key')).uid, 0);
    assert.match(r.stdout, /handed to uid 65534/);
  });
});
