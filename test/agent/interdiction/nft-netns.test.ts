// Interdiction with REAL nftables: a LAN of network namespaces (host, peer1, peer2, collector
// behind a bridge); the InterdictionManager runs inside "host" and the traffic checks are real
// TCP connections and UDP datagrams between the namespaces.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActiveRules, InterdictionReport } from '../../../agent/interdiction/interdiction-manager.js';
import type { ExpiredPart } from '../../../agent/interdiction/policy-expiry.js';
import { createLan, destroyLan, lanExec, type Lan } from './lan.js';
import type { Worker } from './worker-client.js';
import { ECHO, HOST_ECHO, MGMT, SINK, UDP, reachable, sleep, startLanWorkers, udpDelivered } from './traffic.js';
import { skipBecause } from '../../helpers/skip.js';

const FOREIGN = `table inet foreign_fw {
  set watched { type ipv4_addr; elements = { 192.0.2.7, 198.51.100.9 } }
  chain in {
    type filter hook input priority 0; policy accept;
    ip saddr @watched counter accept
    tcp dport 9 counter drop
  }
  chain out { type filter hook output priority -5; policy accept; }
}
`;

function available(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('agent/interdiction with nftables (network namespaces)', function () {
  let lan: Lan;
  let host: Worker, peer1: Worker, peer2: Worker, collector: Worker;
  let dir: string;
  let stateFile: string;

  const nft = (...args: string[]): string => lanExec(lan, 'host', 'nft', args);
  const foreign = (): string => nft('list', 'table', 'inet', 'foreign_fw');
  const ourTablePresent = (): boolean => nft('list', 'tables').includes('meerkat_interdiction');

  async function newManager(): Promise<void> {
    await host.call('mgrCreate', { stateFile, backend: 'nft' });
    await host.call('mgrSetChannel', { address: lan.ip4.collector, port: MGMT });
  }

  before(async function () {
    if (!available()) skipBecause(this, 'needs root, nft and iproute2 network namespaces');
    this.timeout(60_000);
    lan = createLan();
    lanExec(lan, 'host', 'nft', ['-f', '-'], FOREIGN);
    ({ host, peer1, peer2, collector } = await startLanWorkers(lan));
    dir = mkdtempSync(join(tmpdir(), 'mk-interdiction-'));
    stateFile = join(dir, 'state', 'interdiction.json');
    await newManager();
  });

  afterEach(async function () {
    if (!lan) return;
    await host.call('mgrCreate', { stateFile, backend: 'nft' }).then(() => host.call('mgrRelease')).catch(() => undefined);
    await newManager();
    await Promise.all([host, peer1, peer2, collector].map((w) => w.call('reset')));
  });

  after(function () {
    for (const w of [host, peer1, peer2, collector]) w?.close();
    if (lan) destroyLan(lan);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('isolate: cuts peers (new and ESTABLISHED, TCP and UDP, IPv4 and IPv6) but keeps the collector channel and the allow list', async function () {
    const before = foreign();
    const mgmt = await host.call<number>('connect', { host: lan.ip4.collector, port: MGMT });
    const established = await host.call<number>('connect', { host: lan.ip4.peer1, port: ECHO });
    const inbound = await peer1.call<number>('connect', { host: lan.ip4.host, port: HOST_ECHO });
    assert.equal(await host.call('ping', { conn: mgmt }), true);
    assert.equal(await host.call('ping', { conn: established }), true);
    assert.equal(await peer1.call('ping', { conn: inbound }), true);
    assert.equal(await udpDelivered(host, peer1, lan.ip4.peer1), 20, 'UDP flows before isolate');

    const report = await host.call<InterdictionReport>('mgrApply', { change: { kind: 'isolate', allow: [lan.ip4.peer2] } });
    assert.equal(report.verified, true);
    assert.equal(report.policy.mode, 'isolate');

    const [mgmtPing, estPing, inPing, newPeer1, newPeer1v6, inbound2, collectorOtherPort, allowed] = await Promise.all([
      host.call<boolean>('ping', { conn: mgmt, timeoutMs: 1500 }),
      host.call<boolean>('ping', { conn: established, timeoutMs: 1500 }),
      peer1.call<boolean>('ping', { conn: inbound, timeoutMs: 1500 }),
      reachable(host, lan.ip4.peer1),
      reachable(host, lan.ip6.peer1),
      reachable(peer1, lan.ip4.host, HOST_ECHO),
      reachable(host, lan.ip4.collector, ECHO),
      reachable(host, lan.ip4.peer2),
    ]);
    assert.equal(mgmtPing, true, 'the management connection established before isolate still carries packets');
    assert.equal(estPing, false, 'an ESTABLISHED session host->peer1 is cut');
    assert.equal(inPing, false, 'an ESTABLISHED session peer1->host is cut');
    assert.equal(newPeer1, false, 'new TCP host->peer1 fails');
    assert.equal(newPeer1v6, false, 'new TCP host->peer1 over IPv6 fails');
    assert.equal(inbound2, false, 'new TCP peer1->host fails');
    assert.equal(collectorOtherPort, false, 'only the management port of the collector stays open');
    assert.equal(allowed, true, 'the allow-listed peer2 stays reachable');
    assert.equal(await reachable(host, lan.ip4.collector, MGMT), true, 'a NEW management connection (reconnect) works');
    assert.equal(await udpDelivered(host, peer1, lan.ip4.peer1), 0, 'UDP host->peer1 lost');
    assert.equal(await udpDelivered(peer1, host, lan.ip4.host), 0, 'UDP peer1->host lost');
    assert.equal(await udpDelivered(host, peer2, lan.ip4.peer2), 20, 'UDP to the allow-listed peer passes');

    const active = await host.call<ActiveRules>('mgrActive');
    assert.equal(active.backend, 'nft');
    assert.equal(active.inSync, true);
    assert.match(active.kernelRuleset, /table inet meerkat_interdiction/);
    assert.match(active.kernelRuleset, /counter packets [1-9]\d* bytes \d+ drop comment "meerkat:isolate"/, 'the kernel counted dropped packets');
    assert.equal(foreign(), before, 'the foreign table is byte-identical after apply');

    const released = await host.call<InterdictionReport>('mgrRelease');
    assert.deepEqual(released.description, [`management channel ${lan.ip4.collector}:${MGMT}`]);
    assert.equal(ourTablePresent(), false, 'release removes our table');
    assert.equal(await reachable(host, lan.ip4.peer1), true, 'traffic flows again after release');
    assert.equal(await reachable(peer1, lan.ip4.host, HOST_ECHO), true);
    assert.equal(await udpDelivered(host, peer1, lan.ip4.peer1), 20);
    assert.equal(foreign(), before, 'the foreign table is byte-identical after release');
    assert.equal(await host.call('ping', { conn: mgmt }), true);
  });

  it('block: cuts one peer in both directions while another stays reachable; unblock restores it', async function () {
    const r = await host.call<InterdictionReport>('mgrApply', { change: { kind: 'block', peer: `${lan.ip4.peer1}/32` } });
    assert.deepEqual(r.policy.blocks, [{ peer: lan.ip4.peer1 }]);
    const [out, inb, other, v6] = await Promise.all([
      reachable(host, lan.ip4.peer1),
      reachable(peer1, lan.ip4.host, HOST_ECHO),
      reachable(host, lan.ip4.peer2),
      reachable(host, lan.ip6.peer1),
    ]);
    assert.equal(out, false, 'host->peer1 blocked');
    assert.equal(inb, false, 'peer1->host blocked');
    assert.equal(other, true, 'peer2 still reachable');
    assert.equal(v6, true, 'a block names addresses: peer1 IPv6 address was not blocked');
    assert.equal(await udpDelivered(host, peer1, lan.ip4.peer1), 0);
    await host.call('mgrApply', { change: { kind: 'block', peer: lan.ip6.peer1 } });
    assert.equal(await reachable(host, lan.ip6.peer1), false, 'IPv6 block');
    await host.call('mgrApply', { change: { kind: 'unblock', peer: lan.ip4.peer1 } });
    assert.equal(await reachable(host, lan.ip4.peer1), true, 'unblocked');
    assert.equal(await reachable(host, lan.ip6.peer1), false, 'the other block stays');
  });

  it('degrade --rate: TCP throughput to and from the peer is capped near the rate; other peers are not', async function () {
    const cap = 64_000;
    await host.call('mgrApply', { change: { kind: 'degrade', peer: lan.ip4.peer1, rateBytesPerSec: cap } });
    const t0 = Date.now();
    await Promise.all([
      host.call('bulk', { host: lan.ip4.peer1, port: SINK, bytes: 2_000_000 }),
      peer1.call('bulk', { host: lan.ip4.host, port: SINK, bytes: 2_000_000 }),
      host.call('bulk', { host: lan.ip4.peer2, port: SINK, bytes: 2_000_000 }),
    ]);
    await sleep(3000 - (Date.now() - t0));
    const [up, down, control] = await Promise.all([
      peer1.call<{ received: number }>('sinkStats', { port: SINK }),
      host.call<{ received: number }>('sinkStats', { port: SINK }),
      peer2.call<{ received: number }>('sinkStats', { port: SINK }),
    ]);
    const upRate = up.received / 3;
    const downRate = down.received / 3;
    console.log(`      degrade 64000 B/s over 3 s: host->peer1 ${Math.round(upRate)} B/s, peer1->host ${Math.round(downRate)} B/s, host->peer2 ${control.received} B total`);
    // the bucket starts full (64 KiB burst), so 3 s carry at most burst + 3 s of rate; allow slack both ways
    for (const [name, rate] of [['host->peer1', upRate], ['peer1->host', downRate]] as const) {
      assert.ok(rate > cap * 0.4, `${name}: ${rate} B/s is far below the cap (traffic cut, not slowed)`);
      assert.ok(rate < cap * 2, `${name}: ${rate} B/s is not capped near ${cap} B/s`);
    }
    assert.equal(control.received, 2_000_000, 'peer2 is not degraded');
  });

  it('degrade --loss 50%: about half the UDP datagrams are lost, each way', async function () {
    await host.call('mgrApply', { change: { kind: 'degrade', peer: lan.ip4.peer1, lossPercent: 50 } });
    const n = 400;
    await Promise.all([peer1.call('udpZero'), host.call('udpZero')]);
    const sent = await host.call<{ sent: number; errors: number }>('udpSend', { host: lan.ip4.peer1, port: UDP, count: n, size: 100 });
    await peer1.call('udpSend', { host: lan.ip4.host, port: UDP, count: n, size: 100 });
    await sleep(200);
    const outGot = await peer1.call<number>('udpCount', { port: UDP });
    const inGot = await host.call<number>('udpCount', { port: UDP });
    console.log(`      loss 50%: host->peer1 ${outGot}/${n} delivered (sender saw ${sent.errors} send errors), peer1->host ${inGot}/${n}`);
    // binomial(400, 0.5): sd 10, so 140..260 is a 6-sigma band
    for (const got of [outGot, inGot]) assert.ok(got >= 140 && got <= 260, `${got}/${n} delivered, expected about half`);
    assert.equal(await udpDelivered(host, peer2, lan.ip4.peer2, 50), 50, 'peer2 has no loss');
  });

  it('restart and reboot: a new manager restores the persisted isolate; after the table is flushed, restore() re-creates it', async function () {
    await host.call('mgrApply', { change: { kind: 'isolate', allow: [] } });
    assert.equal(statSync(stateFile).mode & 0o777, 0o600, 'state file is 0600');
    assert.equal((JSON.parse(readFileSync(stateFile, 'utf8')) as { policy: { mode: string } }).policy.mode, 'isolate');

    // agent restart: the manager object goes away, the kernel keeps the table
    await host.call('mgrDrop');
    await host.call('mgrCreate', { stateFile, backend: 'nft' });
    const seen = await host.call<ActiveRules>('mgrActive');
    assert.equal(seen.policy.mode, 'isolate', 'policy loaded from the state file');
    assert.equal(seen.inSync, true);
    const restored = await host.call<InterdictionReport>('mgrRestore');
    assert.equal(restored.verified, true);
    assert.equal(await reachable(host, lan.ip4.peer1), false, 'still isolated after restart');

    // reboot: the kernel lost the table
    nft('delete', 'table', 'inet', 'meerkat_interdiction');
    assert.equal(await reachable(host, lan.ip4.peer1), true, 'flushed: traffic passes');
    await host.call('mgrDrop');
    await host.call('mgrCreate', { stateFile, backend: 'nft' });
    const drift = await host.call<ActiveRules>('mgrActive');
    assert.equal(drift.inSync, false, 'read-back notices the kernel has no rules');
    assert.equal(drift.kernelRuleset, '');
    await host.call('mgrRestore');
    assert.equal(ourTablePresent(), true, 'restore() re-created the table');
    assert.equal(await reachable(host, lan.ip4.peer1), false, 'isolated again');
    assert.equal(await reachable(host, lan.ip4.collector, MGMT), true, 'the persisted management channel is open');

    // a damaged state file: restore() refuses and leaves the kernel as it is (still interdicted)
    const good = readFileSync(stateFile, 'utf8');
    writeFileSync(stateFile, '{"version":1,');
    await host.call('mgrDrop');
    await host.call('mgrCreate', { stateFile, backend: 'nft' });
    await assert.rejects(host.call('mgrRestore'), /InterdictionStateError: interdiction state file .*: not valid JSON/);
    assert.equal(ourTablePresent(), true, 'kernel rules untouched');
    writeFileSync(stateFile, good);
    await host.call('mgrRestore');

    // a flush while running is repaired by reconcile()
    nft('delete', 'table', 'inet', 'meerkat_interdiction');
    assert.equal(await host.call('mgrReconcile'), true);
    assert.equal(await host.call('mgrReconcile'), false, 'nothing to repair the second time');
    assert.equal(await reachable(host, lan.ip4.peer1), false);
  });

  it('expiry: isolate --for 2s ends by itself on tick; restore() drops parts that expired while the agent was down', async function () {
    const t0 = Date.now();
    await host.call('mgrApply', { change: { kind: 'isolate', forMs: 2000 } });
    await host.call('mgrApply', { change: { kind: 'block', peer: lan.ip4.peer2 } });
    assert.deepEqual(await host.call('mgrTick'), [], 'nothing expired yet');
    assert.equal(await reachable(host, lan.ip4.peer1), false);
    const next = await host.call<number>('mgrNextExpiry');
    assert.ok(next >= t0 + 2000 && next <= Date.now() + 2000, `next expiry ${next - t0} ms after start`);
    await sleep(next - Date.now() + 50);
    const expired = await host.call<ExpiredPart[]>('mgrTick');
    assert.deepEqual(expired.map((e) => e.kind), ['isolate']);
    assert.equal(await reachable(host, lan.ip4.peer1), true, 'isolation ended by itself');
    assert.equal(await reachable(host, lan.ip4.peer2), false, 'the untimed block stays');

    // expiry while the agent is down
    await host.call('mgrApply', { change: { kind: 'isolate', forMs: 1000 } });
    await host.call('mgrDrop');
    await sleep(1100);
    await host.call('mgrCreate', { stateFile, backend: 'nft' });
    // as the agent does at start: the collector channel first, then restore()
    await host.call('mgrSetChannel', { address: lan.ip4.collector, port: MGMT });
    assert.equal(ourTablePresent(), true, 'setting the channel before restore() does not touch the kernel');
    const r = await host.call<InterdictionReport>('mgrRestore');
    assert.deepEqual(r.expired.map((e) => e.kind), ['isolate']);
    assert.equal(r.policy.mode, 'none');
    assert.deepEqual(r.policy.blocks, [{ peer: lan.ip4.peer2 }]);
    assert.equal(await reachable(host, lan.ip4.peer1), true);
  });

  it('touches no other table: a foreign table and the rest of the ruleset are byte-identical across apply and release', async function () {
    const others = (): string => nft('list', 'ruleset').replace(/table inet meerkat_interdiction \{[\s\S]*?\n\}\n?/, '');
    const before = others();
    assert.match(before, /table inet foreign_fw/);
    await host.call('mgrApply', { change: { kind: 'isolate', allow: [lan.subnet4] } });
    await host.call('mgrApply', { change: { kind: 'degrade', rateBytesPerSec: 100_000, lossPercent: 10 } });
    await host.call('mgrApply', { change: { kind: 'block', peer: '203.0.113.0/24' } });
    assert.equal(others(), before);
    await host.call('mgrRelease');
    assert.equal(nft('list', 'ruleset'), before, 'after release the ruleset is exactly what it was');
  });

  it('a new management channel while isolated is applied at once: the old port closes, the new one opens', async function () {
    await host.call('mgrApply', { change: { kind: 'isolate' } });
    assert.equal(await reachable(host, lan.ip4.collector, ECHO), false);
    await host.call('mgrSetChannel', { address: lan.ip4.collector, port: ECHO });
    const [oldPort, newPort] = await Promise.all([reachable(host, lan.ip4.collector, MGMT), reachable(host, lan.ip4.collector, ECHO)]);
    assert.deepEqual({ oldPort, newPort }, { oldPort: false, newPort: true });
    const active = await host.call<ActiveRules>('mgrActive');
    assert.equal(active.inSync, true);
    assert.match(active.kernelRuleset, new RegExp(`ip daddr ${lan.ip4.collector.replace(/\./g, '\\.')} tcp dport ${ECHO} accept`));
  });

  it('refuses to isolate without a management channel and names bad input', async function () {
    await host.call('mgrDrop');
    const fresh = join(dir, 'fresh.json');
    await host.call('mgrCreate', { stateFile: fresh, backend: 'nft' });
    await assert.rejects(host.call('mgrApply', { change: { kind: 'isolate' } }), /management channel/);
    await assert.rejects(host.call('mgrApply', { change: { kind: 'block', peer: '10.1.2.3/8' } }), /--peer: expected a CIDR without host bits set \(did you mean 10\.0\.0\.0\/8\?\)/);
    assert.equal(ourTablePresent(), false, 'nothing applied');
  });
});
