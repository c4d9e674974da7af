// The Linux packages as built (installer/build/): checked with the ecosystem's own tools,
// dpkg-deb, lintian, rpm and systemd-analyze. Installing the agent .deb for real is
// linux-agent-install.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipBecause } from '../helpers/skip.js';
import { initOwnerKeys } from '../../shared/keys/owner-keys.js';
import { referencePcapsDir } from '../../shared/util/repo-paths.js';
import { builtPackage, checkoutVersion, must, packagingToolsMissing } from './built-packages.js';

/** `dpkg-deb -c` as path -> mode/owner */
function debContents(deb: string): Map<string, { mode: string; owner: string }> {
  const out = new Map<string, { mode: string; owner: string }>();
  for (const line of must('dpkg-deb', ['-c', deb]).split('\n').filter(Boolean)) {
    const [mode, owner, , , , path] = line.split(/\s+/);
    out.set(path!.replace(/^\.\//, '/'), { mode: mode!, owner: owner! });
  }
  return out;
}

function lintian(deb: string): string[] {
  // lintian exits non-zero when it finds errors; what it printed is what matters. The
  // binaries/spelling check reads every string of the bundled node binary (a third of lintian's
  // time) and can only raise spelling-error-in-binary, an info tag: it is not an E: or W: line
  const r = spawnSync('lintian', ['--tag-display-limit', '0', '--dont-check-part', 'binaries/spelling', deb], { encoding: 'utf8', maxBuffer: 16 << 20 });
  return `${r.stdout}`.split('\n').filter((l) => /^[EW]: /.test(l));
}

describe('installer: Linux packages', function () {
  this.timeout(300_000);
  const version = checkoutVersion();
  before(function () {
    const missing = packagingToolsMissing(['agent-deb', 'agent-rpm', 'collector-deb']);
    if (missing.length) skipBecause(this, `packaging tools missing: ${missing.join(', ')} (scripts/setup.sh installs them)`);
  });

  it('agent .deb: control fields, runtime and addon inside, no node headers/npm/docs, modes as staged, lintian clean', async function () {
    const { file } = await builtPackage('agent-deb');
    assert.ok(file.endsWith(`meerkat-agent_${version}_amd64.deb`), file);
    const info = must('dpkg-deb', ['-I', file]);
    assert.match(info, /^ Package: meerkat-agent$/m);
    assert.match(info, new RegExp(`^ Version: ${version.replaceAll('.', '\\.')}$`, 'm'));
    assert.match(info, /^ Architecture: amd64$/m);
    assert.match(info, /^ Depends: .*libpcap0\.8/m);
    assert.doesNotMatch(info, /nodejs|libpcap-dev/, 'no Node and no libpcap-dev from the host');
    const files = debContents(file);
    for (const p of ['/usr/lib/meerkat-agent/node', '/usr/lib/meerkat-agent/meerkat-agent', '/usr/lib/meerkat-agent/package-hooks', '/usr/lib/meerkat-agent/meerkat-agent.js',
      '/usr/lib/meerkat-agent/node_modules/cap/build/Release/cap.node', '/lib/systemd/system/meerkat-agent.service', '/etc/meerkat/agent.json', '/usr/share/doc/meerkat-agent/copyright']) {
      assert.ok(files.has(p), `${p} is in the package`);
    }
    assert.equal(files.get('/usr/lib/meerkat-agent/node')!.mode, '-rwxr-xr-x');
    assert.equal(files.get('/usr/lib/meerkat-agent/node')!.owner, 'root/root');
    assert.ok(![...files.keys()].some((p) => /\/include\/node\/|\/npm\/|corepack|CHANGELOG/.test(p)), 'node headers, npm, corepack, docs stripped');
    assert.ok(![...files.keys()].some((p) => p.startsWith('/usr/share/meerkat-agent/owner')), 'the generic package carries no owner keys');
    assert.equal(must('dpkg-deb', ['-I', file, 'conffiles']).trim(), '/etc/meerkat/agent.json', 'the configuration is a conffile: an upgrade keeps local changes');
    for (const script of ['postinst', 'prerm', 'postrm']) assert.match(must('dpkg-deb', ['-I', file, script]), /^#!\/bin\/sh/);
    if (spawnSync('lintian', ['--version']).status !== 0) skipBecause(this, 'lintian is not installed (scripts/setup.sh installs it)');
    assert.deepEqual(lintian(file), [], 'lintian: no errors or warnings (overrides explained in installer/README.md)');
  });

  it('agent .rpm: rpm -qip / -qlp show the package, its scripts, configuration and libpcap.so.1 linkage', async function () {
    const { file } = await builtPackage('agent-rpm');
    assert.ok(file.endsWith(`meerkat-agent-${version}.x86_64.rpm`), file);
    const info = must('rpm', ['-qip', file]);
    assert.match(info, /^Name\s+: meerkat-agent$/m);
    assert.match(info, new RegExp(`^Version\\s+: ${version.replaceAll('.', '\\.')}$`, 'm'));
    assert.match(info, /^Architecture: x86_64$/m);
    const list = must('rpm', ['-qlp', file]).split('\n');
    for (const p of ['/usr/lib/meerkat-agent/node', '/usr/lib/systemd/system/meerkat-agent.service', '/etc/meerkat/agent.json']) assert.ok(list.includes(p), `${p} listed`);
    assert.deepEqual(must('rpm', ['-qp', '--configfiles', file]).trim().split('\n'), ['/etc/meerkat/agent.json']);
    const requires = must('rpm', ['-qpR', file]);
    assert.match(requires, /^libpcap >= 14:1\.5\.1$/m);
    const scripts = must('rpm', ['-qp', '--scripts', file]);
    assert.match(scripts, /postinstall scriptlet[\s\S]*package-hooks configure/);
    assert.match(scripts, /preuninstall scriptlet[\s\S]*"\$1" -eq 0[\s\S]*package-hooks remove/);
    // the addon links Red Hat's libpcap file name, not Debian's
    const dir = mkdtempSync(join(tmpdir(), 'meerkat-rpm-'));
    try {
      must('sh', ['-c', `cd "${dir}" && rpm2cpio "${file}" | cpio -id --quiet ./usr/lib/meerkat-agent/node_modules/cap/build/Release/cap.node`]);
      const needed = must('patchelf', ['--print-needed', join(dir, 'usr/lib/meerkat-agent/node_modules/cap/build/Release/cap.node')]);
      assert.match(needed, /^libpcap\.so\.1$/m);
      assert.doesNotMatch(needed, /libpcap\.so\.0\.8/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('collector .deb: the collector and console run from the package; lintian clean; its unit verifies', async function () {
    const { file } = await builtPackage('collector-deb');
    assert.ok(file.endsWith(`meerkat-collector_${version}_amd64.deb`), file);
    const dir = mkdtempSync(join(tmpdir(), 'meerkat-collector-deb-'));
    try {
      must('dpkg-deb', ['-x', file, dir]);
      const lib = join(dir, 'usr/lib/meerkat-collector');
      assert.equal(must(join(lib, 'meerkat-collector'), ['--version']).trim(), version, 'the packaged collector runs on the packaged node');
      must(join(lib, 'meerkat-collector'), ['pki', 'init', '--state-dir', join(dir, 'state'), '--ip', '127.0.0.1']);
      const token = must(join(lib, 'meerkat-collector'), ['token', 'create', '--state-dir', join(dir, 'state'), '--json']);
      assert.match(token, /"token": *"mk1\./, 'the packaged collector makes tokens (its SQLite binding loads from the package)');
      assert.match(must(join(lib, 'meerkat'), ['--help']), /Meerkat console/, 'the packaged console runs');
      // an import starts through the V8 code cache (collector/start/cached-start.ts): the first writes it, the next uses it
      const cacheEnv = { ...process.env, MEERKAT_CODE_CACHE_DIR: join(dir, 'code-cache'), MEERKAT_CODE_CACHE_DEBUG: '1' };
      const imp = (db: string): string => {
        const r = spawnSync(join(lib, 'meerkat-collector'), ['import', '--db', join(dir, db), '--anon-key', join(dir, 'owner', 'anon.key'), '--no-progress', '--json',
          join(referencePcapsDir(), 'tcpdump', 'dns_tcp.pcap')], { encoding: 'utf8', env: cacheEnv });
        assert.equal(r.status, 0, r.stderr);
        return r.stderr.split('\n').filter((l) => l.startsWith('code cache: ')).map((l) => l.replace(/ \/.*/, '')).join('; ');
      };
      initOwnerKeys(join(dir, 'owner'));
      assert.equal(imp('a.db'), 'code cache: none at; code cache: wrote');
      assert.equal(imp('b.db'), 'code cache: used');
      // what postinst tells the admin to run, with this test's paths
      const made = JSON.parse(must(join(lib, 'meerkat-collector'), ['init', '--config', join(dir, 'etc', 'collector.json'), '--state-dir', join(dir, 'deployment'),
        '--ip', '127.0.0.1', '--operator-dir', join(dir, 'operator'), '--no-console-config', '--json'])) as { configFile: string; token: { token: string } };
      assert.equal(made.configFile, join(dir, 'etc', 'collector.json'));
      assert.match(made.token.token, /^mk1\./);
      const unit = readFileSync(join(dir, 'lib/systemd/system/meerkat-collector.service'), 'utf8');
      assert.match(unit, /^User=meerkat-collector$/m);
      assert.match(unit, /^StateDirectory=meerkat-collector$/m);
      assert.doesNotMatch(unit, /^StandardOutput=/m, 'logs go to the journal (the default)');
      if (spawnSync('systemd-analyze', ['--version']).status === 0) {
        const local = join(dir, 'meerkat-collector.service');
        writeFileSync(local, unit.replaceAll('/usr/lib/meerkat-collector/meerkat-collector', join(lib, 'meerkat-collector')));
        const r = spawnSync('systemd-analyze', ['verify', local], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
      }
      const postinst = must('dpkg-deb', ['-I', file, 'postinst']);
      assert.match(postinst, /sudo meerkat-collector init --config \$ETC\/collector\.json --state-dir \$STATE/, 'the seam to meerkat-collector init');
      assert.match(postinst, /^ETC=\/etc\/meerkat-collector$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (spawnSync('lintian', ['--version']).status !== 0) skipBecause(this, 'lintian is not installed (scripts/setup.sh installs it)');
    assert.deepEqual(lintian(file), []);
  });
});
