// The Windows agent installer (meerkat-agent-<version>-setup.exe) installed, run and removed
// silently under Debian's Wine, inside a network namespace of the test's own (the collector
// listens on that namespace's loopback; nothing leaves it). What Wine lets us verify, and
// what it does not (installer/README.md, "What was verified under Wine"):
//   verified: silent install with enrollment against a real collector, files, configuration,
//   keys, the service registered with the service manager (automatic start), the Npcap check
//   and its message, the bundled agent's --version and replay (byte-identical dumps to the
//   Linux agent's), the agent running as a Windows service and capturing through the Node-API
//   binding (Wine's wpcap.dll forwards to the host's libpcap) and shipping to the collector,
//   upgrade keeping the identity, silent uninstall (service and files gone, state kept) and
//   /PURGE.
//   not verifiable here: Npcap itself, Windows Firewall rules (Wine has no PowerShell nor
//   firewall: the uninstaller's removal step runs and reports its failure), the SCM's
//   restart-on-failure actions (Wine does not keep them), the graceful CTRL_BREAK stop (Wine
//   does not deliver it: the wrapper terminates the agent after its stop limit, 30 s unless the
//   service's StopTimeoutSeconds registry value says otherwise; the test sets 3 s, checked).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { skipBecause } from '../helpers/skip.js';
import { createNetnsPair, destroyNetnsPair, netnsAvailable, netnsSpawn, type NetnsPair } from '../helpers/netns.js';
import { collectorProgramArgs, nodeScriptArgs, shippedAgentLauncher } from '../helpers/node-script.js';
import { referencePcapsDir } from '../../shared/util/repo-paths.js';
import { initOwnerKeys } from '../../shared/keys/owner-keys.js';
import { builtPackage, checkoutVersion, must, packagingToolsMissing } from './built-packages.js';
import { peImports } from '../../installer/build/windows-native.js';
import { loadOwnerPayload } from '../../installer/build/owner-payload.js';
import { TRIM_KEEP } from '../../agent/service-trim.js';

const consoleCli = nodeScriptArgs('../../console/cli', import.meta.url);
const collectorCli = collectorProgramArgs();
const INSTDIR = 'drive_c/Program Files/Meerkat Agent';
const DATA = 'drive_c/ProgramData/Meerkat';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** a Linux path as Wine's Z: drive sees it */
function winPath(p: string): string {
  return `Z:${p.replaceAll('/', '\\')}`;
}

async function waitFor(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return;
    await sleep(300);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('installer: the Windows setup.exe under Wine', function () {
  this.timeout(600_000);
  let dir = '';
  let prefix = '';
  let pair: NetnsPair;
  let collector: ChildProcess | undefined;
  let keeper: ChildProcess | undefined;
  let agentId = '';
  const version = checkoutVersion();

  /** `wine args...` in the test's namespace and prefix; output captured through a file (node under Wine cannot write to a pipe) */
  function wine(args: string[], timeoutMs = 120_000): { code: number | null; out: string } {
    const out = join(dir, `wine-${Date.now()}.out`);
    const fd = openSync(out, 'w');
    try {
      const r = spawnSync('ip', ['netns', 'exec', pair.nsA, 'env', `WINEPREFIX=${prefix}`, 'WINEDEBUG=-all', 'wine', ...args], { stdio: ['ignore', fd, fd], timeout: timeoutMs });
      return { code: r.status, out: readFileSync(out, 'utf8') };
    } finally {
      closeSync(fd);
    }
  }

  const inPrefix = (p: string): string => join(prefix, p);
  const setupLog = (): string => readFileSync(inPrefix(`${DATA}/logs/setup.log`), 'utf8');
  const serviceStatus = (): { startType: number; state: number; binaryPath: string } | null => {
    const r = wine([`C:\\Program Files\\Meerkat Agent\\meerkat-agent-service.exe`, 'status']);
    const line = r.out.split('\n').find((l) => l.startsWith('{'));
    return r.code === 0 && line ? JSON.parse(line) as { startType: number; state: number; binaryPath: string } : null;
  };

  /**
   * Ends the agent process the service started, as the wrapper's stop deadline would under Wine
   * (which does not deliver CTRL_BREAK): the wrapper then reports the service stopped, and the
   * next install or removal does not wait out that deadline again. Only once the agent has been
   * running a while: right after setup started the service it may not be there yet (use
   * stopLimit then).
   */
  function endAgent(): void {
    spawnSync('pkill', ['-KILL', '-f', 'Meerkat Agent.node\\.exe.*meerkat-agent\\.js run']);
    spawnSync('sleep', ['1']);
  }

  /**
   * The registered service's stop limit (StopTimeoutSeconds under its Parameters key, read by the
   * wrapper at each stop): under Wine every stop of a running agent ends in this termination, so
   * the stops that follow (an upgrade's, a removal's) wait `seconds`, not the default 30.
   */
  function stopLimit(seconds: number): void {
    const r = wine(['reg', 'add', 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\MeerkatAgent\\Parameters', '/v', 'StopTimeoutSeconds', '/t', 'REG_DWORD', '/d', String(seconds), '/f']);
    assert.equal(r.code, 0, r.out);
  }

  function storedDumps(id: string): number {
    const db = new Database(join(dir, 'collector', 'orgs', 'default', 'meerkat.db'), { readonly: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM dumps WHERE agent_id = ?').get(id) as { n: number }).n;
    } finally {
      db.close();
    }
  }

  before(async function () {
    const missing = packagingToolsMissing(['agent-exe']);
    if (spawnSync('sh', ['-c', 'command -v wine']).status !== 0) missing.push('wine');
    if (missing.length) skipBecause(this, `missing: ${missing.join(', ')} (scripts/setup.sh installs them)`);
    if (!netnsAvailable()) skipBecause(this, 'needs root and iproute2 network namespaces (CI runs as root)');
    dir = mkdtempSync(join(tmpdir(), 'meerkat-wine-'));
    prefix = join(dir, 'prefix');
    pair = createNetnsPair();
    // Wine's default prefix says Windows 7; node 20 needs 8.1 or later. Wine makes the prefix
    // (seconds of its own) while the packages are built and the collector's state is made.
    const winecfg = spawn('ip', ['netns', 'exec', pair.nsA, 'env', `WINEPREFIX=${prefix}`, 'WINEDEBUG=-all', 'wine', 'winecfg', '-v', 'win10'], { stdio: 'ignore' });
    const prefixMade = new Promise<void>((resolve) => { winecfg.once('exit', () => resolve()); });
    await Promise.all([builtPackage('agent-exe'), builtPackage('agent-exe', `${version}.1`)]);
    // the collector on the namespace's loopback
    const col = join(dir, 'collector');
    must(process.execPath, [...collectorCli, 'pki', 'init', '--state-dir', col, '--ip', '127.0.0.1']);
    must(process.execPath, [...consoleCli, 'keys', 'init', '--owner-keys', join(dir, 'owner')]);
    must(process.execPath, [...consoleCli, 'keys', 'operator-init', '--operator-dir', join(dir, 'operator'), '--name', 'winnie']);
    await prefixMade;
    // Wine ends its service manager with the last program: a console kept open holds it up
    keeper = spawn('ip', ['netns', 'exec', pair.nsA, 'env', `WINEPREFIX=${prefix}`, 'WINEDEBUG=-all', 'wine', 'cmd.exe'], { stdio: ['pipe', 'ignore', 'ignore'] });
    writeFileSync(join(dir, 'collector.json'), JSON.stringify({ stateDir: col, listen: '127.0.0.1:8443', ops: '127.0.0.1:9469', api: '127.0.0.1:9470' }));
    collector = netnsSpawn(pair.nsA, process.execPath, [...collectorCli, 'run', '--config', join(dir, 'collector.json')]);
    let log = '';
    collector.stderr!.setEncoding('utf8').on('data', (s: string) => { log += s; });
    await waitFor('the collector to listen', () => log.includes('collector listening'), 30_000);
  });

  after(function () {
    if (!dir) return;
    spawnSync('ip', ['netns', 'exec', pair.nsA, 'env', `WINEPREFIX=${prefix}`, 'wineserver', '-k']);
    keeper?.kill('SIGKILL');
    collector?.kill('SIGKILL');
    destroyNetnsPair(pair);
    rmSync(dir, { recursive: true, force: true });
  });

  it('setup.exe /S /COLLECTOR= /TOKEN= /ANONKEY= /BOXPUB= /OPERATORKEY=: files, keys, enrolled, service registered, Npcap missing said', async () => {
    const token = (JSON.parse(must(process.execPath, [...collectorCli, 'token', 'create', '--state-dir', join(dir, 'collector'), '--json'])) as { token: string }).token;
    const setup = (await builtPackage('agent-exe')).file;
    assert.ok(setup.endsWith(`meerkat-agent-${version}-setup.exe`));
    const r = wine([setup, '/S', '/COLLECTOR=https://127.0.0.1:8443', `/TOKEN=${token}`,
      `/ANONKEY=${winPath(join(dir, 'owner', 'anon.key'))}`, `/BOXPUB=${winPath(join(dir, 'owner', 'box.pub'))}`, `/OPERATORKEY=${winPath(join(dir, 'operator', 'op.pub'))}`]);
    assert.equal(r.code, 0, `${r.out}\n${existsSync(inPrefix(`${DATA}/logs/setup.log`)) ? setupLog() : ''}`);
    for (const f of ['node.exe', 'meerkat-agent.js', 'meerkat-agent-service.exe', 'meerkat-agent.cmd', 'uninstall.exe', 'node_modules/cap/cap.node', 'node_modules/cap/index.js']) {
      assert.ok(existsSync(inPrefix(`${INSTDIR}/${f}`)), `${f} installed`);
    }
    // the capture binding needs nothing but node.exe, Npcap's wpcap.dll and Windows itself
    assert.deepEqual(peImports(inPrefix(`${INSTDIR}/node_modules/cap/cap.node`)).map((d) => d.toLowerCase()).sort(), ['kernel32.dll', 'msvcrt.dll', 'node.exe', 'wpcap.dll', 'ws2_32.dll']);
    const log = setupLog();
    assert.match(log, /WARNING: Npcap is not installed\. .*install it from https:\/\/npcap\.com/);
    assert.match(log, /enrolled with https:\/\/127\.0\.0\.1:8443/);
    assert.match(log, /service MeerkatAgent registered/);
    const identity = JSON.parse(readFileSync(inPrefix(`${DATA}/agent/identity/identity.json`), 'utf8')) as { agentId: string };
    agentId = identity.agentId;
    assert.ok(readFileSync(inPrefix(`${DATA}/agent/anon.key`)).equals(readFileSync(join(dir, 'owner', 'anon.key'))));
    assert.equal(readdirSync(inPrefix(`${DATA}/agent/operator-keys`)).filter((f) => f.endsWith('.pub')).length, 1, 'operator key pinned');
    const st = serviceStatus();
    assert.ok(st, 'the service manager knows MeerkatAgent');
    assert.equal(st.startType, 2, 'automatic start (SERVICE_AUTO_START)');
    assert.match(st.binaryPath, /Program Files\/Meerkat Agent\/meerkat-agent-service\.exe$/);
    assert.match(wine(['sc', 'query', 'MeerkatAgent']).out, /SERVICE_NAME: MeerkatAgent/);
    assert.match(wine(['reg', 'query', 'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\MeerkatAgent', '/v', 'DisplayVersion']).out, new RegExp(version.replaceAll('.', '\\.')));
  });

  it('the bundled agent under Wine: --version, and replay writes the same dumps as the Linux agent, without the capture binding', () => {
    const node = 'C:\\Program Files\\Meerkat Agent\\node.exe';
    const script = 'C:\\Program Files\\Meerkat Agent\\meerkat-agent.js';
    // as on a host without Npcap, where the binding cannot load: these never load it
    const addon = inPrefix(`${INSTDIR}/node_modules/cap/cap.node`);
    renameSync(addon, `${addon}.away`);
    try {
      assert.equal(wine([node, script, '--version']).out.trim(), version);
      replayMatchesLinux(node, script);
    } finally {
      renameSync(`${addon}.away`, addon);
    }
  });

  function replayMatchesLinux(node: string, script: string): void {
    initOwnerKeys(join(dir, 'replay-keys'));
    const pcap = join(referencePcapsDir(), 'zeek', 'ftp_ipv6.pcap');
    const args = (out: string, p: (s: string) => string): string[] => ['replay', p(pcap), '--out', p(out), '--anonymize', 'all', '--anon-key', p(join(dir, 'replay-keys', 'anon.key')), '--agent-id', '00000000-0000-4000-8000-00000000c0de', '--json'];
    const r = wine([node, script, ...args(join(dir, 'win-dumps'), winPath)]);
    assert.equal(r.code, 0, r.out);
    must(shippedAgentLauncher(), args(join(dir, 'linux-dumps'), (s) => s), { env: { ...process.env, MEERKAT_NODE: process.execPath } });
    const names = readdirSync(join(dir, 'linux-dumps')).sort();
    assert.ok(names.length > 0);
    assert.deepEqual(readdirSync(join(dir, 'win-dumps')).sort(), names);
    for (const n of names) assert.ok(readFileSync(join(dir, 'win-dumps', n)).equals(readFileSync(join(dir, 'linux-dumps', n))), `${n}: Windows and Linux agents wrote different bytes`);
  }

  it('the service runs the agent under Wine\'s service manager: it captures through the Windows binding and ships', async () => {
    // capture where the test's traffic is: the namespace's loopback, named as the binding lists it
    const probe = join(dir, 'devices.js');
    // the same node also runs the binding's working-set trim with the agent's keep rule, then
    // without it, and with a bad argument (agent/service-trim.ts TRIM_KEEP)
    writeFileSync(probe, `const cap = require('C:/Program Files/Meerkat Agent/node_modules/cap');
      const out = { devices: cap.deviceList() };
      out.kept = cap.trimStartupPages(${JSON.stringify(TRIM_KEEP)});
      out.namesOnly = cap.trimStartupPages({ keepPaths: ['WPCAP.DLL', 'cap.node'] });
      out.all = cap.trimStartupPages({});
      try { cap.trimStartupPages({ keepPaths: [7] }); } catch (e) { out.bad = e.message; }
      out.after = require('crypto').createHash('sha256').update('meerkat').digest('hex');
      require('fs').writeFileSync(process.argv[2], JSON.stringify(out));`);
    wine(['C:\\Program Files\\Meerkat Agent\\node.exe', winPath(probe), winPath(join(dir, 'devices.json'))]);
    type Trim = { mappings: number; bytes: number; keptMappings: number; keptBytes: number };
    const probed = JSON.parse(readFileSync(join(dir, 'devices.json'), 'utf8')) as { devices: { name: string; flags?: string }[]; kept: Trim; namesOnly: Trim; all: Trim; bad?: string; after: string };
    const devices = probed.devices;
    assert.ok(probed.kept.mappings > 0 && probed.kept.keptMappings > 0, `the agent's trim releases regions and keeps code: ${JSON.stringify(probed.kept)}`);
    assert.ok(probed.namesOnly.keptMappings > 0 && probed.namesOnly.keptMappings < probed.kept.keptMappings, `named files alone are kept, case-insensitively: ${JSON.stringify(probed.namesOnly)}`);
    assert.equal(probed.all.keptMappings, 0);
    assert.equal(probed.all.mappings, probed.kept.mappings + probed.kept.keptMappings, 'without keep, what was kept is released too');
    assert.equal(probed.bad, 'trimStartupPages: keepPaths must be strings');
    assert.equal(probed.after, createHash('sha256').update('meerkat').digest('hex'), 'crypto still works after the trims');
    const lo = devices.find((d) => d.flags === 'PCAP_IF_LOOPBACK');
    assert.ok(lo && lo.name.startsWith('\\Device\\NPF_'), JSON.stringify(devices));
    endAgent(); // setup started it with the default configuration ("all" finds no interface here)
    writeFileSync(inPrefix(`${DATA}/agent.json`), JSON.stringify({ capture: { interfaces: [lo.name] }, dump: { maxSeconds: 1 } }));
    stopLimit(3); // the stop below ends in the wrapper's termination (no CTRL_BREAK under Wine): after 3 s, not 30
    assert.equal(wine(['C:\\Program Files\\Meerkat Agent\\meerkat-agent-service.exe', 'start']).code, 0);
    const sender = netnsSpawn(pair.nsA, process.execPath, ['-e', "const d=require('dgram').createSocket('udp4');setInterval(()=>d.send('meerkat',9999,'127.0.0.1'),20)"]);
    try {
      await waitFor('dumps from the Windows agent', () => storedDumps(agentId) >= 2, 90_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nagent.log:\n${readFileSync(inPrefix(`${DATA}/logs/agent.log`), 'utf8').slice(-3000)}`);
    } finally {
      sender.kill('SIGKILL');
    }
    assert.equal(serviceStatus()?.state, 4, 'SERVICE_RUNNING');
    assert.match(readFileSync(inPrefix(`${DATA}/logs/agent.log`), 'utf8'), /"msg":"connected to collector"/);
    // Wine does not deliver CTRL_BREAK: this is the wrapper's other way, termination after its stop limit
    assert.equal(wine(['C:\\Program Files\\Meerkat Agent\\meerkat-agent-service.exe', 'stop']).code, 0);
    assert.equal(serviceStatus()?.state, 1, 'SERVICE_STOPPED');
    const agentLog = readFileSync(inPrefix(`${DATA}/logs/agent.log`), 'utf8');
    assert.match(agentLog, /"msg":"stopping the agent \(CTRL_BREAK\)"/);
    assert.match(agentLog, /"msg":"the agent did not stop within 3 s: terminated"/, 'the limit StopTimeoutSeconds set');
  });

  it('setup.exe of a higher version (no options): an upgrade that keeps identity, keys and configuration', async () => {
    const before = readFileSync(inPrefix(`${DATA}/agent/identity/identity.json`));
    const config = readFileSync(inPrefix(`${DATA}/agent.json`));
    const r = wine([(await builtPackage('agent-exe', `${version}.1`)).file, '/S']);
    assert.equal(r.code, 0, setupLog());
    assert.match(setupLog(), /already enrolled: identity kept/);
    assert.ok(readFileSync(inPrefix(`${DATA}/agent/identity/identity.json`)).equals(before));
    assert.ok(readFileSync(inPrefix(`${DATA}/agent.json`)).equals(config), 'configuration kept');
    assert.match(wine(['reg', 'query', 'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\MeerkatAgent', '/v', 'DisplayVersion']).out, new RegExp(`${version.replaceAll('.', '\\.')}\\.1`));
    assert.equal(serviceStatus()?.startType, 2);
    endAgent(); // setup restarted the service; the removal below need not wait out the 30 s stop
  });

  it('uninstall.exe /S: service and program files gone, the firewall step ran, state kept; /PURGE removes the state', async () => {
    wine([`C:\\Program Files\\Meerkat Agent\\uninstall.exe`, '/S']);
    // NSIS's uninstaller runs from a temporary copy: wait for its work
    await waitFor('the program files to go', () => !existsSync(inPrefix(INSTDIR)), 60_000);
    assert.equal(serviceStatus(), null, 'the service is no longer registered');
    assert.doesNotMatch(wine(['sc', 'query', 'MeerkatAgent']).out, /SERVICE_NAME: MeerkatAgent/);
    const log = setupLog();
    assert.match(log, /service removed \(exit 0\)/);
    // Wine has no PowerShell and no Windows Firewall: the step ran and said it could not remove rules
    assert.match(log, /interdiction rules removed|WARNING: removing the interdiction rules failed/);
    assert.ok(existsSync(inPrefix(`${DATA}/agent/identity/identity.json`)), 'state kept without /PURGE');
    assert.notEqual(wine(['reg', 'query', 'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\MeerkatAgent']).code, 0, 'uninstall entry removed');
    // reinstall (keeps the identity), then remove with /PURGE
    assert.equal(wine([(await builtPackage('agent-exe', `${version}.1`)).file, '/S']).code, 0);
    assert.match(setupLog(), /already enrolled: identity kept/);
    stopLimit(3); // a new registration: the removal's stop need not wait out 30 s
    wine([`C:\\Program Files\\Meerkat Agent\\uninstall.exe`, '/S', '/PURGE']);
    await waitFor('the state to go', () => !existsSync(inPrefix(DATA)) && !existsSync(inPrefix(INSTDIR)), 60_000);
  });

  it("an organisation's setup.exe (meerkat package agent) enrolls with no option at all; the owner's files go to the state", async () => {
    const token = (JSON.parse(must(process.execPath, [...collectorCli, 'token', 'create', '--state-dir', join(dir, 'collector'), '--json'])) as { token: string }).token;
    const owner = loadOwnerPayload({ ownerDir: join(dir, 'owner'), operatorKeys: [join(dir, 'operator', 'op.pub')], collector: 'https://127.0.0.1:8443', token, caFile: join(dir, 'collector', 'pki', 'ca.crt') });
    const setup = (await builtPackage('agent-exe', version, owner)).file;
    assert.ok(!existsSync(inPrefix(DATA)), 'a host without the agent');
    const r = wine([setup, '/S']);
    assert.equal(r.code, 0, setupLog());
    assert.match(setupLog(), /enrolled with https:\/\/127\.0\.0\.1:8443/);
    assert.ok(existsSync(inPrefix(`${DATA}/agent/identity/identity.json`)));
    assert.ok(readFileSync(inPrefix(`${DATA}/agent/anon.key`)).equals(readFileSync(join(dir, 'owner', 'anon.key'))));
    assert.equal(readdirSync(inPrefix(`${DATA}/agent/operator-keys`)).filter((f) => f.endsWith('.pub')).length, 1, "the organisation's operator key is pinned");
    assert.ok(existsSync(inPrefix(`${DATA}/owner/ca.crt`)));
    stopLimit(3);
    wine([`C:\\Program Files\\Meerkat Agent\\uninstall.exe`, '/S', '/PURGE']);
    await waitFor('the state to go', () => !existsSync(inPrefix(DATA)) && !existsSync(inPrefix(INSTDIR)), 60_000);
  });
});
