// The whole remote-control path end to end, with real processes in network namespaces:
// console (`meerkat`) -> operators' API (HTTPS, operator certificate) -> collector -> agent's
// WebSocket -> agent (signature, replay, execution) -> live capture / nftables, and back.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadOwnerKeys } from '../../shared/keys/owner-keys.js';
import { anonymizeText } from '../../shared/anonymize/pseudonym-text.js';
import { labAvailable } from './netns-lab.js';
import { ControlLab, TCP_PORT, UDP_PORT, sleep, type AgentEntry, type StoredDump } from './control-lab.js';
import { skipBecause } from '../helpers/skip.js';

interface CommandJson { id: string; state: string; kind: string; result: { status: string; code?: string; reason?: string; data?: unknown; at?: number; redelivered?: boolean } | null; error: string | null }

describe('remote control, end to end (namespaces, real processes)', function () {
  this.timeout(240_000);
  let L: ControlLab;
  let peer1Pseudonym: string;

  before(async function () {
    if (!labAvailable()) skipBecause(this, 'needs root, iproute2 network namespaces and nft');
    L = new ControlLab();
    await L.setUp();
    const owner = loadOwnerKeys(L.owner);
    peer1Pseudonym = anonymizeText(owner, L.lab.peer1.farIp);
  });

  after(async () => {
    if (L) await L.destroy();
  });

  // a failed interdiction test must not leave the host cut off for the next one
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && L?.agent) await L.remote(['release', L.agentId, '--wait', '20']).catch(() => undefined);
  });

  async function reach(peer: 'peer1' | 'peer2', timeoutMs = 1500): Promise<{ tcp: boolean; udp: boolean }> {
    const host = L.lab[peer].farIp;
    const [tcp, udp] = await Promise.all([
      L.probe.request({ op: 'connect', host, port: TCP_PORT, timeoutMs }),
      L.probe.request({ op: 'udp', host, port: UDP_PORT, timeoutMs }),
    ]);
    return { tcp: tcp.ok, udp: udp.ok };
  }

  async function run(args: string[], timeoutMs = 60_000): Promise<CommandJson> {
    const r = await L.remoteJson<CommandJson>(args, timeoutMs);
    return r.json;
  }

  it('lists the agent online with version, capture and spool health from its heartbeats', async () => {
    await L.waitOnline(0);
    // as the console lists it (`meerkat agents --json`)
    const listed = await L.remoteList<AgentEntry>(['agents']);
    assert.equal(listed.code, 0, listed.stderr);
    const a = listed.json.find((x) => x.agentId === L.agentId);
    assert.ok(a, `listed: ${JSON.stringify(listed.json)}`);
    assert.equal(a.online, true);
    assert.match(a.version ?? '', /^\d+\.\d+\.\d+/);
    assert.equal(typeof a.health?.packetsCaptured, 'number');
    assert.equal(typeof a.health?.spoolFiles, 'number');
    assert.equal(a.health?.control?.capture, 'running');
    assert.equal(a.health?.control?.shipping, 'running');
    assert.equal(a.health?.interdiction?.mode, 'none');
    const text = await L.remote(['agents']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`${L.agentId}\\s+ONLINE`));
  });

  it('info: inventory with the sensitive half sealed; opened with the owner key, "sealed" without', async () => {
    const opened = await L.remoteJson<{ sensitive: { hostname: string; interfaces: { name: string; addresses: string[]; mac: string }[] } | string; plain: { os: { platform: string }; cpu: { cores: number }; memory: { totalBytes: number }; interfaces: { name: string; pseudonyms: string[] }[]; agent: { version: string } } }>(['info', L.agentId.slice(0, 8), '--owner-keys', L.owner]);
    assert.equal(opened.code, 0, opened.stderr);
    const inv = opened.json;
    assert.equal(inv.plain.os.platform, 'linux');
    assert.ok(inv.plain.cpu.cores > 0 && inv.plain.memory.totalBytes > 0);
    assert.ok(typeof inv.sensitive === 'object', 'opened with box.key');
    const s = inv.sensitive as Exclude<typeof inv.sensitive, string>;
    assert.equal(s.hostname, L.hostname);
    const addrs = s.interfaces.flatMap((i) => i.addresses).join(' ');
    for (const ip of [L.lab.collector.hostIp, L.lab.peer1.hostIp, L.lab.peer2.hostIp]) assert.ok(addrs.includes(ip), `${ip} in the opened inventory`);
    // the plain half names the host's addresses only by their pseudonyms
    const pseud = inv.plain.interfaces.flatMap((i) => i.pseudonyms);
    const owner = loadOwnerKeys(L.owner);
    assert.ok(pseud.includes(`${anonymizeText(owner, L.lab.peer1.hostIp)}*`), JSON.stringify(pseud));
    const sealed = await L.remoteJson<{ sensitive: unknown }>(['info', L.agentId, '--cached', '--owner-keys', join(L.root, 'no-such-keys')]);
    assert.equal(sealed.code, 0, sealed.stderr);
    assert.equal(sealed.json.sensitive, 'sealed');
    const text = await L.remote(['info', L.agentId, '--cached', '--owner-keys', join(L.root, 'no-such-keys')]);
    assert.match(text.stdout, /host name: sealed/);
  });

  it('capture --snaplen: payload bytes change in the very next dump, and its header says so', async () => {
    await L.probe.request({ op: 'chatter', host: L.lab.peer1.farIp, port: TCP_PORT, size: 500, everyMs: 50 });
    await L.probe.request({ op: 'chatter', host: L.lab.peer2.farIp, port: TCP_PORT, size: 500, everyMs: 50 });
    // until the chatter is in stored dumps (with no payload kept yet: snap length 0)
    for (let i = 0; i < 80 && !L.dumps().some((d) => d.records.some((r) => r.dport === TCP_PORT && r.payloadLen > 0)); i++) await sleep(250);
    const before = L.lastDumpSeq();
    assert.ok(before >= 0, 'dumps arrive');
    const c = await run(['capture', L.agentId, '--snaplen', '100', '--wait']);
    assert.equal(c.state, 'done', JSON.stringify(c));
    let dumps = L.dumps(before);
    for (let i = 0; i < 40 && !dumps.some((d) => d.header.snapLen === 100 && d.records.some((r) => r.kept > 0)); i++) {
      await sleep(250);
      dumps = L.dumps(before);
    }
    const first = dumps.findIndex((d) => d.header.snapLen === 100);
    assert.ok(first >= 0, `a dump with snapLen 100 after ${before}: ${dumps.map((d) => `${d.seq}:${d.header.snapLen}`).join(',')}`);
    const next = dumps[first]!;
    // the dump before it was closed by the command: no payload in it
    const prev = L.dumps(next.seq - 2).find((d) => d.seq === next.seq - 1);
    assert.ok(prev, 'the dump before the change is stored');
    assert.equal(prev.header.snapLen, 0);
    assert.ok(prev.records.every((r) => r.kept === 0));
    const withData = next.records.filter((r) => r.payloadLen > 0);
    assert.ok(withData.length > 0, 'traffic with payload in the next dump');
    assert.ok(withData.every((r) => r.kept === Math.min(100, r.payloadLen)), 'exactly min(100, payload) bytes kept');
  });

  it('capture --full --peer: full payload only for that peer, ending by itself', async () => {
    const z = await run(['capture', L.agentId, '--snaplen', '0', '--wait']);
    assert.equal(z.state, 'done');
    const start = L.lastDumpSeq();
    const c = await run(['capture', L.agentId, '--full', '--peer', `${peer1Pseudonym}*`, '--port', String(TCP_PORT), '--for', '3s', '--wait']);
    assert.equal(c.state, 'done', JSON.stringify(c));
    const at = c.result!.at!; // agent time the rule was added
    const isPeer1 = (r: { src: string; dst: string }): boolean => r.src === peer1Pseudonym || r.dst === peer1Pseudonym;
    // wait for stored traffic with peer1 from after the expiry (a fixed sleep races a slow machine)
    let dumps = L.dumps(start);
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; dumps = L.dumps(start)) {
      if (dumps.some((d) => d.records.some((r) => isPeer1(r) && r.payloadLen > 0 && r.tsUs > (at + 3500) * 1000))) break;
      await sleep(500);
    }
    const isPeer2 = (r: { src: string; dst: string }): boolean => r.src === L.lab.peer2.farIp || r.dst === L.lab.peer2.farIp;
    const recs = dumps.flatMap((d) => d.records).filter((r) => r.payloadLen > 0);
    const p1During = recs.filter((r) => isPeer1(r) && r.tsUs > at * 1000 && r.tsUs < (at + 2500) * 1000);
    const p1After = recs.filter((r) => isPeer1(r) && r.tsUs > (at + 3500) * 1000);
    // from when --snaplen 0 took effect: the dump it closed (snap length 100) may be stored after `start` was read
    const p2 = recs.filter((r) => isPeer2(r) && r.tsUs > z.result!.at! * 1000);
    assert.ok(p1During.length > 0 && p1During.every((r) => r.kept === r.payloadLen), `peer1 payload kept in full while the rule is on (${p1During.length} records)`);
    assert.ok(p2.length > 0 && p2.every((r) => r.kept === 0), `peer2 keeps no payload (${p2.length} records with payload, kept: ${[...new Set(p2.map((r) => r.kept))].join(',')})`);
    assert.ok(p1After.length > 0 && p1After.every((r) => r.kept === 0), 'after expiry peer1 keeps no payload again');
    assert.ok(dumps.some((d) => d.header.snapLen === 65535), 'header shows the raised snap length');
  });

  it('dump-size: packets per dump change at once', async () => {
    const start = L.lastDumpSeq();
    const c = await run(['dump-size', L.agentId, '5', '--wait']);
    assert.equal(c.state, 'done', JSON.stringify(c));
    const at = c.result!.at!;
    // dumps opened after the command ran (the one open at that moment was emitted by it)
    const opened = (): StoredDump[] => L.dumps(start).filter((d) => d.header.firstTsUs > at * 1000);
    for (let i = 0; i < 80 && opened().length < 3; i++) await sleep(250);
    const dumps = opened();
    assert.ok(dumps.length >= 3, `several small dumps (${dumps.length})`);
    assert.ok(dumps.every((d) => d.header.packetCount <= 5), dumps.map((d) => d.header.packetCount).join(','));
    const back = await run(['dump-size', L.agentId, '20000', '--seconds', '1', '--wait']);
    assert.equal(back.state, 'done');
  });

  it('stop/start shipping and capture', async () => {
    const stop = await run(['stop', L.agentId, 'shipping', '--wait']);
    assert.equal(stop.state, 'done', JSON.stringify(stop));
    // a dump already on its way when the command ran may still be stored: wait until none has
    // arrived for 1.5 s (at most 20 s) instead of guessing how long that takes on a loaded machine
    let frozen = L.lastDumpSeq();
    for (let quiet = 0, i = 0; quiet < 6 && i < 80; i++) {
      await sleep(250);
      const seq = L.lastDumpSeq();
      if (seq === frozen) quiet++;
      else { frozen = seq; quiet = 0; }
    }
    await sleep(3000);
    assert.equal(L.lastDumpSeq(), frozen, 'no dump shipped while shipping is stopped');
    const hb = await L.nextHeartbeat(Date.now());
    assert.equal(hb.health?.control?.shipping, 'paused');
    assert.ok((hb.health?.spoolFiles as number) >= 2, `dumps wait in the spool (${String(hb.health?.spoolFiles)})`);
    const start = await run(['start', L.agentId, 'shipping', '--wait']);
    assert.equal(start.state, 'done');
    for (let i = 0; i < 40 && L.lastDumpSeq() === frozen; i++) await sleep(250);
    assert.ok(L.lastDumpSeq() > frozen + 1, 'the spooled dumps went out');

    const stopCap = await run(['stop', L.agentId, 'capture', '--wait']);
    assert.equal(stopCap.state, 'done');
    const h1 = await L.nextHeartbeat(Date.now());
    await sleep(2500);
    const h2 = await L.nextHeartbeat(Date.now());
    assert.equal(h2.health?.control?.capture, 'stopped');
    assert.equal(h2.health?.packetsCaptured, h1.health?.packetsCaptured, 'no packet captured while stopped');
    const startCap = await run(['start', L.agentId, 'capture', '--wait']);
    assert.equal(startCap.state, 'done');
    // the first heartbeats may be counted before the restarted capture saw the chatter
    let h3 = await L.nextHeartbeat(Date.now());
    for (let i = 0; i < 10 && (h3.health?.packetsCaptured as number) <= (h2.health?.packetsCaptured as number); i++) h3 = await L.nextHeartbeat(Date.now());
    assert.ok((h3.health?.packetsCaptured as number) > (h2.health?.packetsCaptured as number), 'capturing again');
  });

  it('isolate: the host reaches no peer (TCP and UDP) while the collector channel and commands keep working; release restores', async () => {
    assert.deepEqual(await reach('peer1'), { tcp: true, udp: true });
    const c = await run(['isolate', L.agentId, '--wait']);
    assert.equal(c.state, 'done', JSON.stringify(c));
    const data = c.result!.data as { mode: string; active: string[]; verified: boolean; kernelRules: string[] };
    assert.equal(data.mode, 'isolate');
    assert.equal(data.verified, true, 'kernel rules read back');
    // exactly which rules are in the kernel, with the collector's address as its pseudonym
    assert.ok(data.kernelRules.includes('meerkat:isolate') && data.kernelRules.some((r) => r.startsWith('meerkat:mgmt ') && r.includes('*')), JSON.stringify(data.kernelRules));
    assert.ok(!JSON.stringify(data).includes(L.lab.collector.farIp), 'no real address in the result');
    // the management channel is reported, and only as a pseudonym
    const mgmt = data.active.find((l) => l.startsWith('management channel'));
    assert.ok(mgmt && mgmt.includes('*:8443') && !mgmt.includes(L.lab.collector.farIp), String(mgmt));
    assert.deepEqual(await reach('peer1'), { tcp: false, udp: false });
    assert.deepEqual(await reach('peer2'), { tcp: false, udp: false });
    assert.match(await L.nft(), /meerkat_interdiction/);
    // still online, still obeying
    const hb = await L.nextHeartbeat(Date.now());
    assert.equal(hb.online, true);
    assert.equal(hb.health?.interdiction?.mode, 'isolate');
    const snap = await run(['capture', L.agentId, '--snaplen', '0', '--wait']);
    assert.equal(snap.state, 'done', 'a command still works while isolated');
    const r = await run(['release', L.agentId, '--wait']);
    assert.equal(r.state, 'done', JSON.stringify(r));
    assert.deepEqual(await reach('peer1'), { tcp: true, udp: true });
    assert.deepEqual(await reach('peer2'), { tcp: true, udp: true });
    assert.doesNotMatch(await L.nft(), /meerkat_interdiction/);
  });

  it('isolate --allow keeps one peer (given as a pseudonym) reachable', async () => {
    const c = await run(['isolate', L.agentId, '--allow', `${peer1Pseudonym}*`, '--wait']);
    assert.equal(c.state, 'done', JSON.stringify(c));
    const data = c.result!.data as { active: string[] };
    assert.ok(data.active.some((l) => l.includes(`${peer1Pseudonym}*`)), 'reported as the pseudonym');
    assert.ok(!JSON.stringify(data).includes(L.lab.peer1.farIp), 'the real address is not reported');
    assert.deepEqual(await reach('peer1'), { tcp: true, udp: true });
    assert.deepEqual(await reach('peer2'), { tcp: false, udp: false });
    assert.equal((await run(['release', L.agentId, '--wait'])).state, 'done');
  });

  it('block one peer (pseudonym) while another stays reachable', async () => {
    const c = await run(['block', L.agentId, '--peer', `${peer1Pseudonym}*`, '--wait']);
    assert.equal(c.state, 'done', JSON.stringify(c));
    assert.deepEqual(await reach('peer1'), { tcp: false, udp: false });
    assert.deepEqual(await reach('peer2'), { tcp: true, udp: true });
    const ext = await run(['block', L.agentId, '--peer', L.lab.peer2.farIp, '--wait']);
    assert.equal(ext.state, 'done', 'an external peer is blocked by its real address');
    assert.deepEqual(await reach('peer2'), { tcp: false, udp: false });
    assert.equal((await run(['release', L.agentId, '--wait'])).state, 'done');
    assert.deepEqual(await reach('peer1'), { tcp: true, udp: true });
  });

  it('degrade --rate caps the throughput actually measured', async () => {
    const base = await L.probe.request({ op: 'throughput', host: L.lab.peer1.farIp, port: TCP_PORT, bytes: 8 << 20 });
    assert.ok(base.ok, base.error);
    const baseRate = base.bytes! / base.seconds!;
    const c = await run(['degrade', L.agentId, '--peer', `${peer1Pseudonym}*`, '--rate', '1Mbit/s', '--wait']);
    assert.equal(c.state, 'done', JSON.stringify(c));
    const cap = 125_000; // bytes/s
    const total = 500_000;
    const slow = await L.probe.request({ op: 'throughput', host: L.lab.peer1.farIp, port: TCP_PORT, bytes: total });
    assert.ok(slow.ok, slow.error);
    assert.equal(slow.bytes, total, 'everything arrives: slowed, not cut');
    // the kernel's token bucket starts full: one second of the rate plus the 64 KiB burst, then
    // `cap` bytes per second (nft_limit sizes its bucket as rate + burst)
    const minSeconds = (total - cap - 65_536) / cap;
    assert.ok(slow.seconds! >= minSeconds * 0.9, `capped: ${slow.bytes} bytes took ${slow.seconds} s (at least ${minSeconds.toFixed(1)} s at the cap)`);
    assert.ok(slow.seconds! < minSeconds * 4, `not far below the cap: ${slow.seconds} s`);
    assert.ok(baseRate > 20 * cap, `the unthrottled path is much faster (${Math.round(baseRate)} B/s)`);
    const other = await L.probe.request({ op: 'throughput', host: L.lab.peer2.farIp, port: TCP_PORT, bytes: 4 << 20 });
    assert.ok(other.bytes! / other.seconds! > 10 * cap, 'peer2 is not degraded');
    assert.equal((await run(['release', L.agentId, '--wait'])).state, 'done');
  });

  it('a timed isolation ends by itself', async () => {
    const c = await run(['isolate', L.agentId, '--for', '3s', '--wait']);
    assert.equal(c.state, 'done', JSON.stringify(c));
    assert.deepEqual(await reach('peer1', 1000), { tcp: false, udp: false });
    // the agent lifts it 3 s after it began: its rules leave the kernel by themselves, on time
    for (let i = 0; i < 60 && /meerkat_interdiction/.test(await L.nft()); i++) await sleep(250);
    const liftedMs = Date.now() - c.result!.at!;
    assert.ok(liftedMs < 6000, `lifted ${liftedMs} ms after it began (for 3 s)`);
    assert.deepEqual(await reach('peer1'), { tcp: true, udp: true });
    assert.doesNotMatch(await L.nft(), /meerkat_interdiction/);
  });

  it('interdiction survives an agent restart (re-installed from its state); offline commands wait, or expire', async () => {
    const c = await run(['isolate', L.agentId, '--wait']);
    assert.equal(c.state, 'done', JSON.stringify(c));
    await L.stopAgent();
    // a reboot loses the kernel's rules; the agent must put them back from its own state
    await L.lab.exec('host', 'nft', ['delete', 'table', 'inet', 'meerkat_interdiction']);
    assert.doesNotMatch(await L.nft(), /meerkat_interdiction/);
    assert.deepEqual(await reach('peer1', 1000), { tcp: true, udp: true });

    const queued = await run(['capture', L.agentId, '--snaplen', '64', '--expires', '1h']);
    assert.equal(queued.state, 'queued');
    const doomed = await run(['capture', L.agentId, '--snaplen', '32', '--expires', '2s']);
    assert.equal(doomed.state, 'queued');
    await sleep(3000);
    const expired = await run(['command', doomed.id]);
    assert.equal(expired.state, 'expired');
    const listed = await L.remoteList<CommandJson>(['commands', '--agent', L.agentId, '--state', 'queued']);
    assert.ok(listed.json.some((x) => x.id === queued.id), 'the queued command is listed as queued');

    const restartedAt = Date.now();
    await L.startAgent();
    assert.match(await L.nft(), /meerkat_interdiction/, 'rules re-installed at start');
    assert.deepEqual(await reach('peer1', 1000), { tcp: false, udp: false });
    const delivered = await run(['command', queued.id, '--wait', '30']);
    assert.equal(delivered.state, 'done', JSON.stringify(delivered));
    assert.ok(delivered.result!.at! >= restartedAt - 60_000);
    const hb = await L.nextHeartbeat(Date.now());
    assert.equal(hb.health?.control?.snapLen, 64, 'the queued command took effect');
    assert.equal(hb.health?.interdiction?.mode, 'isolate', 'heartbeat reports the restored isolation');
    assert.equal((await run(['command', doomed.id])).state, 'expired', 'an expired command is never delivered');
    assert.equal((await run(['release', L.agentId, '--wait'])).state, 'done');
    assert.deepEqual(await reach('peer1'), { tcp: true, udp: true });
    assert.equal((await run(['capture', L.agentId, '--snaplen', '0', '--wait'])).state, 'done');
  });

  it('forged, altered, unsigned, replayed, wrong-target and expired commands are refused, change nothing, and are audited', async () => {
    const { buildSignedCommand } = await import('../../shared/commands/command-signing.js');
    const { initOperatorKeys, loadOperatorSigningKey } = await import('../../shared/commands/operator-keys.js');
    const alice = loadOperatorSigningKey(join(L.operator, 'op.key'));
    initOperatorKeys(join(L.root, 'mallory'), { name: 'alice' }); // same name, another key: the name does not matter
    const mallory = loadOperatorSigningKey(join(L.root, 'mallory', 'op.key'));
    const post = async (env: unknown): Promise<{ status: number; command?: CommandJson }> => {
      const r = await L.api<CommandJson>('POST', '/v1/orgs/default/commands', env);
      assert.notEqual(r.status, 0, r.message);
      return r;
    };
    const hour = 3_600_000;
    const before = await L.nextHeartbeat(Date.now());
    const snapBefore = before.health?.control?.snapLen;

    // through the honest path: the collector cannot judge signatures, the agent refuses
    const forged = buildSignedCommand(mallory, { agentId: L.agentId, kind: 'interdiction.isolate', params: {}, lifetimeMs: hour });
    const altered = { ...buildSignedCommand(alice, { agentId: L.agentId, kind: 'capture.snaplen', params: { snapLen: 10 }, lifetimeMs: hour }), params: { snapLen: 65535 } };
    const { sig: _sig, ...unsigned } = buildSignedCommand(alice, { agentId: L.agentId, kind: 'interdiction.isolate', params: {}, lifetimeMs: hour });
    const expect = [[forged, 'unknown-key'], [altered, 'bad-signature'], [unsigned, 'unsigned']] as const;
    for (const [env, code] of expect) {
      const p = await post(env);
      assert.equal(p.status, 201, JSON.stringify(p));
      const done = await run(['command', p.command!.id, '--wait', '30']);
      assert.equal(done.state, 'refused', JSON.stringify(done));
      assert.equal(done.result?.code, code);
      const audit = await L.remoteList<{ action: string; outcome: string }>(['audit', '--command', p.command!.id]);
      assert.ok(audit.json.some((e) => e.action === 'command.result' && e.outcome === `refused:${code}`), JSON.stringify(audit.json));
    }
    // the honest collector refuses to queue a second copy or an expired command itself
    const good = buildSignedCommand(alice, { agentId: L.agentId, kind: 'capture.snaplen', params: { snapLen: 0 }, lifetimeMs: hour });
    const first = await post(good);
    assert.equal(first.status, 201);
    assert.equal((await run(['command', first.command!.id, '--wait', '30'])).state, 'done');
    assert.equal((await post(good)).status, 409);
    const stale = buildSignedCommand(alice, { agentId: L.agentId, kind: 'capture.snaplen', params: { snapLen: 5 }, lifetimeMs: hour, nowMs: Date.now() - 2 * hour });
    assert.equal((await post(stale)).status, 400);

    // a compromised collector sends what it likes; the agent still refuses
    await L.stopCollector();
    await L.startCollector('rogue');
    await L.waitOnline(Date.now());
    const other = '00000000-0000-4000-8000-000000000000';
    const injected: [string, unknown, string][] = [
      ['injected-replay', good, 'replay'],
      ['injected-wrong-target', buildSignedCommand(alice, { agentId: other, kind: 'interdiction.isolate', params: {}, lifetimeMs: hour }), 'wrong-target'],
      ['injected-expired', buildSignedCommand(alice, { agentId: L.agentId, kind: 'interdiction.isolate', params: {}, lifetimeMs: hour, nowMs: Date.now() - 2 * hour }), 'expired'],
      ['injected-forged', forged, 'unknown-key'],
    ];
    for (const [id, env] of injected) assert.equal(await L.inject(id, env), true);
    let audit: { commandId: string | null; action: string; outcome: string }[] = [];
    for (let i = 0; i < 40; i++) {
      audit = (await L.remoteList<(typeof audit)[number]>(['audit', '--agent', L.agentId, '--limit', '50'])).json;
      if (injected.every(([id]) => audit.some((e) => e.commandId === id))) break;
      await sleep(250);
    }
    for (const [id, , code] of injected) {
      const e = audit.find((x) => x.commandId === id);
      assert.ok(e, `refusal of ${id} audited`);
      assert.equal(e.action, 'command.result-unknown');
      assert.equal(e.outcome, `refused:${code}`);
    }
    // nothing changed on the host
    assert.doesNotMatch(await L.nft(), /meerkat_interdiction/);
    assert.deepEqual(await reach('peer1'), { tcp: true, udp: true });
    const after = await L.nextHeartbeat(Date.now());
    assert.equal(after.health?.control?.snapLen, snapBefore);
    assert.equal(after.health?.interdiction?.mode, 'none');
    assert.ok((after.health?.commands as { refused: number }).refused >= 7);
    const agentLog = readFileSync(L.agentLog, 'utf8');
    assert.ok((agentLog.match(/"command refused"/g) ?? []).length >= 7, 'the agent logs each refusal');
    await L.stopCollector();
    await L.startCollector('cli');
    await L.waitOnline(Date.now());
  });

  it('the collector\'s database and logs hold no host name, real address, MAC or user name of the agent', async () => {
    const inv = await L.remoteJson<{ sensitive: unknown }>(['info', L.agentId, '--owner-keys', join(L.root, 'none')]);
    assert.equal(inv.json.sensitive, 'sealed', 'an inventory is stored (sealed)');
    await L.remote(['agents']);
    const links = (await L.lab.exec('host', 'ip', ['-o', 'link'])).stdout;
    const macs = [...links.matchAll(/link\/ether ([0-9a-f:]{17})/g)].map((m) => m[1]!);
    assert.ok(macs.length >= 3);
    const users = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')).filter((f) => Number(f[2]) >= 1000 && Number(f[2]) < 65534).map((f) => f[0]!);
    const secrets = [L.hostname, L.lab.collector.hostIp, L.lab.peer1.hostIp, L.lab.peer2.hostIp, ...macs, ...macs.map((m) => m.replace(/:/g, '')), ...users.filter((u) => u.length >= 4)];
    const orgDir = join(L.collState, 'orgs', 'default');
    const files = [...readdirSync(orgDir).filter((f) => f.startsWith('meerkat.db')).map((f) => join(orgDir, f)), ...readdirSync(L.collState).filter((f) => f.startsWith('collector.db')).map((f) => join(L.collState, f))];
    let scanned = 0;
    for (const f of files) {
      const bytes = readFileSync(f);
      scanned += bytes.length;
      const text = bytes.toString('latin1');
      for (const s of secrets) assert.ok(!text.includes(s), `${f} contains ${s}`);
      for (const ip of [L.lab.collector.hostIp, L.lab.peer1.hostIp, L.lab.peer2.hostIp]) {
        assert.equal(bytes.indexOf(Buffer.from(ip.split('.').map(Number))), -1, `${f} holds ${ip} in binary`);
      }
    }
    // Logs: no line may hold them either (the collector sees the agent's source address at the
    // TCP level, but never writes it down for an agent that named itself)
    const log = readFileSync(L.collectorLog, 'utf8').split('\n');
    scanned += log.join('\n').length;
    for (const line of log) {
      for (const s of secrets) assert.ok(!line.includes(s), `collector log line holds ${s}: ${line}`);
    }
    assert.ok(scanned > 100_000, `scanned ${scanned} bytes`);
    // the pseudonyms are there: the scan looks at the right data
    const db = readFileSync(files[0]!).toString('latin1') + readFileSync(files.find((f) => f.endsWith('-wal')) ?? files[0]!).toString('latin1');
    assert.ok(db.includes('meerkat-sealed'), 'the sealed inventory is in the database');
  });
});
