// `meerkat package agent`: the owner's organisation packages. Built for real (fast
// compression): what they carry and with which modes, and the owner's mistakes refused with a
// usage error before anything is built.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipBecause } from '../../helpers/skip.js';
import { collectorProgramArgs, nodeScriptArgs } from '../../helpers/node-script.js';
import { must, packagingToolsMissing } from '../../installer/built-packages.js';

const consoleCli = nodeScriptArgs('../../../console/cli', import.meta.url);
const collectorCli = collectorProgramArgs();

function meerkat(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [...consoleCli, ...args], { encoding: 'utf8', maxBuffer: 16 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('console: meerkat package agent', function () {
  this.timeout(300_000);
  let dir = '';
  let token = '';
  const base = (): string[] => ['package', 'agent', '--owner-keys', join(dir, 'owner'), '--operator-key', join(dir, 'op', 'op.pub'), '--collector', 'https://collector.example:8443', '--token', token];

  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-package-'));
    must(process.execPath, [...consoleCli, 'keys', 'init', '--owner-keys', join(dir, 'owner')]);
    must(process.execPath, [...consoleCli, 'keys', 'operator-init', '--operator-dir', join(dir, 'op'), '--name', 'olga']);
    must(process.execPath, [...collectorCli, 'pki', 'init', '--state-dir', join(dir, 'state'), '--name', 'collector.example']);
    must(process.execPath, [...collectorCli, 'pki', 'init', '--state-dir', join(dir, 'other'), '--name', 'other.example']);
    token = (JSON.parse(must(process.execPath, [...collectorCli, 'token', 'create', '--state-dir', join(dir, 'state'), '--uses', '100', '--json'])) as { token: string }).token;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("the organisation's .deb carries config, keys 0600 in a 0700 folder, operator key, CA and enrollment settings", function () {
    const missing = packagingToolsMissing(['agent-deb']);
    if (missing.length) skipBecause(this, `packaging tools missing: ${missing.join(', ')}`);
    writeFileSync(join(dir, 'agent.json'), JSON.stringify({ stateDir: '/elsewhere', anonymize: { internalPrefixes: ['10.20.0.0/16'], keyFile: '/tmp/x' }, dump: { maxSeconds: 60 } }));
    const out = join(dir, 'out');
    const r = meerkat([...base(), '--ca', join(dir, 'state', 'pki', 'ca.crt'), '--config', join(dir, 'agent.json'), '--out', out, '--only', 'agent-deb', '--fast', '--json']);
    assert.equal(r.code, 0, r.err);
    const res = JSON.parse(r.out) as { collector: string; operatorKeys: string[]; packages: { kind: string; file: string }[] };
    assert.equal(res.collector, 'https://collector.example:8443');
    const deb = res.packages[0]!.file;
    const listing = must('dpkg-deb', ['-c', deb]);
    const mode = (p: string): string => new RegExp(`^(\\S+) root/root .* \\./${p.replaceAll('.', '\\.')}$`, 'm').exec(listing)?.[1] ?? 'absent';
    assert.equal(mode('usr/share/meerkat-agent/owner/'), 'drwx------');
    for (const f of ['anon.key', 'box.pub', 'enroll.conf', 'ca.crt', `operator-keys/${res.operatorKeys[0]}.pub`]) assert.equal(mode(`usr/share/meerkat-agent/owner/${f}`), '-rw-------', f);
    const x = mkdtempSync(join(dir, 'x-'));
    must('dpkg-deb', ['-x', deb, x]);
    assert.ok(readFileSync(join(x, 'usr/share/meerkat-agent/owner/anon.key')).equals(readFileSync(join(dir, 'owner', 'anon.key'))));
    assert.match(readFileSync(join(x, 'usr/share/meerkat-agent/owner/enroll.conf'), 'utf8'), new RegExp(`^MEERKAT_COLLECTOR=https://collector\\.example:8443\\nMEERKAT_TOKEN=${token.replaceAll('.', '\\.')}$`, 'm'));
    assert.ok(!readFileSync(join(x, 'usr/share/meerkat-agent/owner/box.pub'), 'utf8').includes('SECRET'), 'box.pub only');
    const config = JSON.parse(readFileSync(join(x, 'etc/meerkat/agent.json'), 'utf8')) as Record<string, unknown> & { anonymize: Record<string, unknown> };
    assert.equal(config.stateDir, '/var/lib/meerkat-agent', 'the package decides where state lives');
    assert.deepEqual(config.anonymize, { internalPrefixes: ['10.20.0.0/16'] }, 'the owner\'s prefixes kept; keyFile is the package\'s');
    assert.deepEqual(config.collector, { url: 'https://collector.example:8443' });
  });

  it('refuses the owner\'s mistakes with exit 2 and says what is wrong', () => {
    const bad = (args: string[], re: RegExp): void => {
      const r = meerkat(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, re);
    };
    bad([...base(), '--ca', join(dir, 'other', 'pki', 'ca.crt')], /the token was issued by another collector/);
    bad([...base().slice(0, -1), 'mk1.nope'], /enrollment token: .*expected "mk1\./);
    bad([...base().slice(0, 7), 'http://collector.example:8443', '--token', token], /expected https:\/\/host:port/);
    bad(['package', 'agent', '--owner-keys', join(dir, 'nowhere'), '--operator-key', join(dir, 'op', 'op.pub'), '--collector', 'https://c:1', '--token', token], /owner keys in .*nowhere/);
    bad(['package', 'agent', '--owner-keys', join(dir, 'owner'), '--collector', 'https://c:1', '--token', token], /--operator-key op\.pub is required/);
    bad(['package', 'agent', '--owner-keys', join(dir, 'owner'), '--operator-key', join(dir, 'owner', 'anon.key'), '--collector', 'https://c:1', '--token', token], /operator key .*anon\.key/);
  });
});
