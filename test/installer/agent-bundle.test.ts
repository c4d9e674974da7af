// The agent as it ships: the esbuild bundle in dist/agent-bundle (scripts/bundle-agent.mjs,
// run by `npm run build`) started through its launcher (installer/linux/meerkat-agent). The
// system test runs it end to end against a collector; here: it starts, it computes exactly
// what the compiled modules compute, what loads at start stays lean, and the service unit
// that starts it is valid.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initOwnerKeys, ANON_KEY_FILE } from '../../shared/keys/owner-keys.js';
import { repoRoot, referencePcapsDir } from '../../shared/util/repo-paths.js';
import { launcherCommandLine, shippedAgentLauncher } from '../helpers/node-script.js';
import { skipBecause } from '../helpers/skip.js';
import { chunkOf, staticallyLoaded, type Metafile } from '../helpers/bundle-meta.js';

const bundleDir = join(repoRoot(), 'dist', 'agent-bundle');
const launcher = shippedAgentLauncher();

/**
 * Output chunks a running agent loads before any lazy import(): static imports from the entry,
 * from the CLI program (which agent/cli.ts imports right away, after a heap setting) and from
 * the run and enroll commands (which the program imports for every sub-command but replay).
 */
function loadedAtStart(meta: Metafile, entry: string): string[] {
  const program = chunkOf(meta, 'dist/agent/cli-program.js');
  assert.ok(program, 'the CLI program chunk');
  const commands = [chunkOf(meta, 'dist/agent/commands/run.js'), chunkOf(meta, 'dist/agent/commands/enroll.js')];
  assert.ok(commands[0] && commands[1], 'the run and enroll command chunks');
  return staticallyLoaded(meta, entry, program, commands[0], commands[1]);
}

describe('agent bundle: the agent as it ships', function () {
  this.timeout(120_000);
  let dir = '';
  before(function () {
    if (!existsSync(launcher)) skipBecause(this, 'the bundle is built by `npm run build` (npm test builds first); a source-only run before any build has none');
  });
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'mk-bundle-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the launcher starts the bundle: version from package.json, --help lists the commands', () => {
    const version = (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
    const env = { ...process.env, MEERKAT_NODE: process.execPath };
    assert.equal(execFileSync(launcher, ['--version'], { encoding: 'utf8', env }).trim(), version);
    const help = execFileSync(launcher, ['--help'], { encoding: 'utf8', env });
    for (const cmd of ['run', 'enroll', 'replay']) assert.match(help, new RegExp(`^\\s+${cmd}\\b`, 'm'));
    const bad = spawnSync(launcher, ['no-such-command'], { encoding: 'utf8', env });
    assert.notEqual(bad.status, 0);
  });

  it('the launcher runs every sub-command, the service included, in the fast profile unless told otherwise', () => {
    const script = join(bundleDir, 'meerkat-agent.js');
    const lean = '--v8-pool-size=1 --lite-mode --no-expose-wasm';
    assert.equal(launcherCommandLine(['run', '--config', 'x.json']).line, `--v8-pool-size=1 --no-short-builtin-calls --no-sparkplug ${script} run --config x.json`);
    // replay: no V8 flag on the command line (it would make V8 refuse node's code cache); its
    // V8 settings are set in the process (agent/commands/replay-v8-flags.ts)
    assert.equal(launcherCommandLine(['replay', 'a.pcap']).line, `--v8-pool-size=1 ${script} replay a.pcap`);
    assert.equal(launcherCommandLine(['enroll']).line, `--v8-pool-size=1 --no-short-builtin-calls ${script} enroll`);
    assert.equal(launcherCommandLine(['run'], { MEERKAT_AGENT_PROFILE: 'lean' }).line, `${lean} ${script} run`);
    assert.equal(launcherCommandLine(['replay'], { MEERKAT_AGENT_PROFILE: 'lean' }).line, `${lean} ${script} replay`);
    assert.equal(launcherCommandLine(['run'], { MEERKAT_NODE_FLAGS: '--max-old-space-size=64' }).line, `--max-old-space-size=64 ${script} run`);
    // replay opens no TLS connection: node is not made to parse extra CA certificates at start
    const showCa = join(dir, 'show-ca');
    writeFileSync(showCa, '#!/bin/sh\necho "ca=${NODE_EXTRA_CA_CERTS-none}"\n', { mode: 0o755 });
    const caEnv = { MEERKAT_NODE: showCa, NODE_EXTRA_CA_CERTS: '/etc/extra-ca.pem' };
    assert.equal(launcherCommandLine(['replay', 'a.pcap'], caEnv).line, 'ca=none');
    assert.equal(launcherCommandLine(['run'], caEnv).line, 'ca=/etc/extra-ca.pem');
    assert.equal(launcherCommandLine(['enroll'], caEnv).line, 'ca=/etc/extra-ca.pem');
    const bad = launcherCommandLine(['run'], { MEERKAT_AGENT_PROFILE: 'turbo' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /MEERKAT_AGENT_PROFILE must be 'lean' or 'fast', not 'turbo'/);
    // both profiles' flags are accepted by this node without a word on stderr (V8 warns on
    // conflicting flags, node refuses unknown ones)
    for (const profile of ['lean', 'fast']) {
      const real = spawnSync(launcher, ['run', '--version'], { encoding: 'utf8', env: { ...process.env, MEERKAT_NODE: process.execPath, MEERKAT_AGENT_PROFILE: profile } });
      assert.equal(real.status, 0, `${profile}: ${real.stderr}`);
      assert.equal(real.stderr, '', profile);
    }
  });

  it('replays captures to byte-identical dumps as the compiled modules (anonymization included)', () => {
    initOwnerKeys(join(dir, 'keys'));
    const key = join(dir, 'keys', ANON_KEY_FILE);
    const files = ['zeek/echo-connections.pcap', 'zeek/ftp_ipv6.pcap'].map((f) => join(referencePcapsDir(), f));
    const args = (out: string): string[] => ['replay', ...files, '--out', out, '--anonymize', 'all', '--anon-key', key, '--packets-per-dump', '7000', '--agent-id', '00000000-0000-4000-8000-00000000b00d', '--json'];
    const shipped = JSON.parse(execFileSync(launcher, args(join(dir, 'b')), { encoding: 'utf8', env: { ...process.env, MEERKAT_NODE: process.execPath } })) as { packets: number; dumps: unknown[] };
    execFileSync(process.execPath, [join(repoRoot(), 'dist', 'agent', 'cli.js'), ...args(join(dir, 'm'))], { encoding: 'utf8' });
    assert.ok(shipped.packets > 80_000 && shipped.dumps.length > 10, `${shipped.packets} packets, ${shipped.dumps.length} dumps`);
    const names = readdirSync(join(dir, 'b')).sort();
    assert.deepEqual(readdirSync(join(dir, 'm')).sort(), names);
    for (const n of names) assert.ok(readFileSync(join(dir, 'b', n)).equals(readFileSync(join(dir, 'm', n))), `${n} differs`);
  });

  it('what the agent loads at start leaves out enrollment, renewal (node-forge), replay progress, classic zod and unused built-ins', () => {
    const meta = JSON.parse(readFileSync(join(bundleDir, 'meta.json'), 'utf8')) as Metafile;
    const entry = Object.keys(meta.outputs).find((o) => o.endsWith('/meerkat-agent.js'));
    assert.ok(entry, 'entry chunk in the metafile');
    const start = loadedAtStart(meta, entry);
    const inputs = start.flatMap((o) => Object.keys(meta.outputs[o]!.inputs));
    assert.ok(inputs.some((i) => i.includes('dist/agent/pipeline/')), 'the capture pipeline is there');
    assert.ok(inputs.some((i) => i.includes('node_modules/zod/')), 'zod (mini) is there');
    for (const lazy of ['node_modules/node-forge/', 'node_modules/zod/v4/classic/', 'node_modules/cli-progress/', 'dist/agent/transport/enroll-client.js', 'dist/agent/pipeline/replay-files.js']) {
      assert.ok(!inputs.some((i) => i.includes(lazy)), `${lazy} is loaded at start`);
    }
    // node built-ins the service does without at start (each ~0.4 MB resident): pino's worker
    // transports are stubbed out, the interdiction state file uses callback fs, perf_hooks
    // comes by import() only when the young generation is steered
    const builtinsAtStart = start.flatMap((o) => meta.outputs[o]!.imports.filter((i) => i.external && i.kind !== 'dynamic-import').map((i) => i.path.replace(/^node:/, '')));
    assert.ok(builtinsAtStart.includes('tls') && builtinsAtStart.includes('zlib'), builtinsAtStart.join(' '));
    for (const unused of ['worker_threads', 'fs/promises', 'perf_hooks']) assert.ok(!builtinsAtStart.includes(unused), `${unused} is loaded at start`);
    // and every lazy part is still in the bundle, reachable by import()
    const all = Object.values(meta.outputs).flatMap((o) => Object.keys(o.inputs));
    assert.ok(all.some((i) => i.includes('node_modules/node-forge/')) && all.some((i) => i.includes('enroll-client.js')));
  });

  it('the systemd unit is valid and starts the launcher with run', function () {
    if (spawnSync('systemd-analyze', ['--version']).status !== 0) skipBecause(this, 'systemd-analyze (package systemd) is not installed');
    const unit = readFileSync(join(repoRoot(), 'installer', 'linux', 'meerkat-agent.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/lib\/meerkat-agent\/meerkat-agent run --config \/etc\/meerkat\/agent\.json$/m);
    // verify checks the executable exists: point it at the launcher in the build
    const local = join(dir, 'meerkat-agent.service');
    writeFileSync(local, unit.replaceAll('/usr/lib/meerkat-agent/meerkat-agent', launcher));
    const r = spawnSync('systemd-analyze', ['verify', local], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', r.stderr);
  });
});
