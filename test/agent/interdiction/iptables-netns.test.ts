// The iptables fallback backend, applied for real inside a LAN of network namespaces
// (whatever `iptables` is here: iptables-nft on Debian). Same policy code as nftables.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActiveRules, InterdictionReport } from '../../../agent/interdiction/interdiction-manager.js';
import { createLan, destroyLan, lanExec, type Lan } from './lan.js';
import type { Worker } from './worker-client.js';
import { HOST_ECHO, MGMT, SINK, reachable, sleep, startLanWorkers, udpDelivered } from './traffic.js';
import { skipBecause } from '../../helpers/skip.js';

function available(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  try {
    for (const tool of ['iptables-save', 'iptables-restore', 'ip6tables-save', 'ip6tables-restore']) execFileSync('which', [tool], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('agent/interdiction iptables fallback (network namespaces)', function () {
  let lan: Lan;
  let host: Worker, peer1: Worker, peer2: Worker;
  let dir: string;
  const save = (): string => lanExec(lan, 'host', 'iptables-save', ['-t', 'filter']);
  const save6 = (): string => lanExec(lan, 'host', 'ip6tables-save', ['-t', 'filter']);
  const rulesOf = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('-A ') || l.startsWith(':'));

  before(async function () {
    if (!available()) skipBecause(this, 'needs root, iptables/ip6tables save+restore and iproute2 network namespaces');
    this.timeout(60_000);
    lan = createLan();
    // someone else's rules in the built-in chains: they must survive apply and release
    lanExec(lan, 'host', 'iptables', ['-A', 'INPUT', '-s', '192.0.2.7', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT']);
    lanExec(lan, 'host', 'iptables', ['-A', 'OUTPUT', '-d', '198.51.100.9', '-j', 'DROP']);
    ({ host, peer1, peer2 } = await startLanWorkers(lan));
    dir = mkdtempSync(join(tmpdir(), 'mk-interdiction-ipt-'));
    await host.call('mgrCreate', { stateFile: join(dir, 'state.json'), backend: 'iptables' });
    await host.call('mgrSetChannel', { address: lan.ip4.collector, port: MGMT });
  });

  after(function () {
    for (const w of [host, peer1, peer2]) w?.close();
    if (lan) destroyLan(lan);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('isolate, block (IPv4 + IPv6) and release, with the other rules in INPUT/OUTPUT kept', async function () {
    const before = rulesOf(save());
    const mgmt = await host.call<number>('connect', { host: lan.ip4.collector, port: MGMT });
    const established = await host.call<number>('connect', { host: lan.ip4.peer1, port: 7001 });

    const r = await host.call<InterdictionReport>('mgrApply', { change: { kind: 'isolate', allow: [lan.ip4.peer2] } });
    assert.equal(r.backend, 'iptables');
    assert.equal(r.verified, true);
    const [mgmtPing, estPing, newPeer1, peer1v6, allowed, inbound] = await Promise.all([
      host.call<boolean>('ping', { conn: mgmt, timeoutMs: 1500 }),
      host.call<boolean>('ping', { conn: established, timeoutMs: 1500 }),
      reachable(host, lan.ip4.peer1),
      reachable(host, lan.ip6.peer1),
      reachable(host, lan.ip4.peer2),
      reachable(peer1, lan.ip4.host, HOST_ECHO),
    ]);
    assert.deepEqual({ mgmtPing, estPing, newPeer1, peer1v6, allowed, inbound }, { mgmtPing: true, estPing: false, newPeer1: false, peer1v6: false, allowed: true, inbound: false });
    assert.equal(await udpDelivered(host, peer1, lan.ip4.peer1), 0);

    const text = save();
    const input = text.split('\n').filter((l) => l.startsWith('-A INPUT '));
    assert.match(input[0]!, /-j MEERKAT-IN$/, 'our jump is the first rule of INPUT');
    assert.ok(input.some((l) => l.includes('192.0.2.7')), 'the foreign INPUT rule is still there');
    assert.match(save6(), /-A MEERKAT-OUT .*-j DROP/, 'IPv6 rules installed by ip6tables');
    const active = await host.call<ActiveRules>('mgrActive');
    assert.equal(active.inSync, true);
    assert.match(active.kernelRuleset, /# IPv4[\s\S]*meerkat:isolate[\s\S]*# IPv6/);

    // re-applying keeps exactly one jump per built-in chain
    await host.call('mgrApply', { change: { kind: 'block', peer: lan.ip6.peer2 } });
    assert.equal(save().split('\n').filter((l) => /^-A INPUT .*-j MEERKAT-IN$/.test(l)).length, 1);
    await host.call('mgrApply', { change: { kind: 'unisolate' } });
    assert.equal(await reachable(host, lan.ip4.peer1), true, 'unisolated');
    assert.equal(await reachable(host, lan.ip6.peer2), false, 'IPv6 block via ip6tables');
    assert.equal(await reachable(host, lan.ip4.peer2), true);

    await host.call('mgrRelease');
    assert.deepEqual(rulesOf(save()), before, 'after release INPUT/OUTPUT/FORWARD hold exactly the rules from before');
    assert.doesNotMatch(save6(), /MEERKAT/);
    assert.equal(await reachable(host, lan.ip6.peer2), true);
    assert.equal(await host.call('ping', { conn: mgmt }), true);
  });

  it('degrade with hashlimit (rate) and statistic (loss)', async function () {
    await host.call('mgrApply', { change: { kind: 'degrade', peer: lan.ip4.peer1, lossPercent: 50 } });
    await host.call('mgrApply', { change: { kind: 'degrade', peer: lan.ip4.peer2, rateBytesPerSec: 64_000 } });
    const t0 = Date.now();
    await host.call('bulk', { host: lan.ip4.peer2, port: SINK, bytes: 2_000_000 });
    const got = await udpDelivered(host, peer1, lan.ip4.peer1, 400);
    await sleep(2000 - (Date.now() - t0));
    const received = (await peer2.call<{ received: number }>('sinkStats', { port: SINK })).received;
    console.log(`      iptables: loss 50% -> ${got}/400 UDP delivered; rate 64000 B/s -> ${Math.round(received / 2)} B/s over 2 s`);
    assert.ok(got >= 140 && got <= 260, `${got}/400 delivered, expected about half`);
    assert.ok(received / 2 > 64_000 * 0.4 && received / 2 < 64_000 * 2.5, `${received / 2} B/s not near 64000`);
    await host.call('mgrRelease');
    assert.equal(await udpDelivered(host, peer1, lan.ip4.peer1, 50), 50);
  });
});
