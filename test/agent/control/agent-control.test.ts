// The agent's side of remote control, with real parts: pinned keys on disk, the persisted replay
// record, the capture controls over a real AgentPipeline and spool, pseudonym resolution with
// the owner's key, the sealed inventory of this very machine, utmp parsing.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { logger } from '../../../shared/log.js';
import { AddressAnonymizer } from '../../../shared/anonymize/address-anonymizer.js';
import { initOwnerKeys, loadOwnerKeys, type OwnerKeys } from '../../../shared/keys/owner-keys.js';
import { anonymizeCidrText, anonymizeText } from '../../../shared/anonymize/pseudonym-text.js';
import { buildSignedCommand } from '../../../shared/commands/command-signing.js';
import { initOperatorKeys, loadOperatorSigningKey, type OperatorSigningKey } from '../../../shared/commands/operator-keys.js';
import { openSealed, sealToOwner, SealedBoxError } from '../../../shared/commands/sealed-box.js';
import type { CommandKind, CommandOutcome, CommandParams } from '../../../shared/commands/command-schema.js';
import { AgentPipeline } from '../../../agent/pipeline/agent-pipeline.js';
import { Spool } from '../../../agent/spool/index.js';
import { CaptureControl } from '../../../agent/control/capture-control.js';
import { CommandExecutor } from '../../../agent/control/command-executor.js';
import { buildInventoryReport, collectInventory } from '../../../agent/control/inventory.js';
import { type InventorySensitive } from '../../../shared/commands/agent-reports.js';
import { PausableSpool } from '../../../agent/control/pausable-spool.js';
import { PeerResolutionError, PeerResolver } from '../../../agent/control/peer-resolver.js';
import { loadPinnedOperatorKeys, pinOperatorKeys, pinnedKeysDir } from '../../../agent/control/pinned-keys.js';
import { ReplayGuard, ReplayStateError } from '../../../agent/control/replay-guard.js';
import { parseUtmp, UTMP_RECORD_SIZE, USER_PROCESS } from '../../../agent/control/utmp.js';

const AGENT = '3b1f6a52-9c1e-4d6f-8a2b-0c4d5e6f7a8b';
const HOUR = 3_600_000;
const log = logger('test-control');
log.level = 'silent';

describe('agent control', () => {
  let dir: string;
  let owner: OwnerKeys;
  let alice: OperatorSigningKey;
  let mallory: OperatorSigningKey;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-agent-control-'));
    initOwnerKeys(join(dir, 'owner'));
    owner = loadOwnerKeys(join(dir, 'owner'));
    initOperatorKeys(join(dir, 'alice'), { name: 'alice' });
    initOperatorKeys(join(dir, 'mallory'), { name: 'mallory' });
    alice = loadOperatorSigningKey(join(dir, 'alice', 'op.key'));
    mallory = loadOperatorSigningKey(join(dir, 'mallory', 'op.key'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('pinned operator keys', () => {
    it('pins op.pub files into the state dir and trusts only those', () => {
      const state = join(dir, 'pin-state');
      assert.equal(loadPinnedOperatorKeys(state).keys.size, 0, 'nothing pinned: nothing trusted');
      const pinned = pinOperatorKeys(state, [join(dir, 'alice', 'op.pub')]);
      assert.equal(pinned[0]!.keyId, alice.keyId);
      const set = loadPinnedOperatorKeys(state);
      assert.deepEqual([...set.keys.keys()], [alice.keyId]);
      assert.equal(set.problems.length, 0);
    });

    it('trusts nothing from a folder others can write, and skips a misnamed file', () => {
      const state = join(dir, 'pin-loose');
      pinOperatorKeys(state, [join(dir, 'alice', 'op.pub')]);
      writeFileSync(join(pinnedKeysDir(state), '0000000000000000.pub'), '{}', { mode: 0o644 });
      const mixed = loadPinnedOperatorKeys(state);
      assert.equal(mixed.keys.size, 1);
      assert.equal(mixed.problems.length, 1);
      chmodSync(pinnedKeysDir(state), 0o777);
      const loose = loadPinnedOperatorKeys(state);
      assert.equal(loose.keys.size, 0);
      assert.match(loose.problems[0]!, /writable by group\/others/);
    });
  });

  describe('replay guard', () => {
    it('remembers nonces across reopen until they could no longer be accepted', () => {
      let now = Date.UTC(2030, 0, 1);
      const file = join(dir, 'replay', 'replay.json');
      const g = ReplayGuard.open(file, { now: () => now });
      g.record('n1', now + HOUR, 'd1');
      g.complete('n1', { status: 'done', kind: 'capture.snaplen' });
      g.record('n2', now + 10 * HOUR, 'd2');
      const g2 = ReplayGuard.open(file, { now: () => now });
      assert.equal(g2.lookup('n1')?.deliveryId, 'd1');
      assert.equal(g2.lookup('n1')?.outcome?.status, 'done');
      now += 2 * HOUR + 120_001; // n1 expired beyond the skew allowance
      const g3 = ReplayGuard.open(file, { now: () => now });
      assert.equal(g3.lookup('n1'), undefined);
      assert.ok(g3.lookup('n2'));
    });

    it('a damaged record is an error, not a fresh start', () => {
      const file = join(dir, 'replay-bad.json');
      writeFileSync(file, '{"v":1,"entries":[{"nonce":1}]}');
      assert.throws(() => ReplayGuard.open(file), ReplayStateError);
      writeFileSync(file, 'not json');
      assert.throws(() => ReplayGuard.open(file), ReplayStateError);
    });

    it('is bounded', () => {
      const g = ReplayGuard.open(join(dir, 'replay-small.json'), { maxEntries: 2 });
      g.record('a', Date.now() + HOUR, 'x');
      assert.equal(g.hasRoom(), true);
      g.record('b', Date.now() + HOUR, 'y');
      assert.equal(g.hasRoom(), false);
    });
  });

  describe('command executor (real pipeline, spool, replay record)', () => {
    let state: string;
    let pipeline: AgentPipeline;
    let shipping: PausableSpool;
    let captureRuns: string[];
    let exec: CommandExecutor;
    let spool: Spool;

    function makeExecutor(): CommandExecutor {
      const capture = new CaptureControl({
        pipeline,
        capture: { start: async () => { captureRuns.push('start'); }, stop: () => { captureRuns.push('stop'); } },
        shipping,
        defaults: { snapLen: 0, packetsPerDump: 20000, dumpSeconds: 120 },
      }, join(state, 'control', 'capture.json'), log);
      return new CommandExecutor({
        agentId: AGENT,
        log,
        keys: () => loadPinnedOperatorKeys(state),
        replay: ReplayGuard.open(join(state, 'control', 'replay.json')),
        capture,
        interdiction: null,
        interdictionUnavailable: 'no firewall in this test',
        inventory: () => buildInventoryReport(collectInventory({ version: 'test', display: (a) => a }), owner.boxPublicKey),
      });
    }

    before(() => {
      state = join(dir, 'exec-state');
      pinOperatorKeys(state, [join(dir, 'alice', 'op.pub')]);
      const anonymizer = new AddressAnonymizer({ key: owner.anonKey, policy: 'internal' });
      let seq = 0;
      pipeline = new AgentPipeline({ agentId: AGENT, anonymizer, onDump: () => undefined, nextSequence: () => seq++ });
      spool = Spool.open({ dir: join(state, 'spool'), maxBytes: 1 << 20 });
      shipping = new PausableSpool(spool);
      captureRuns = [];
      exec = makeExecutor();
    });

    const cmd = <K extends CommandKind>(kind: K, params: CommandParams<K>, key = alice, o: { agentId?: string } = {}) =>
      buildSignedCommand(key, { agentId: o.agentId ?? AGENT, kind, params, lifetimeMs: HOUR });

    async function send(id: string, c: unknown, e = exec): Promise<CommandOutcome> {
      const r = await e.handle(id, c);
      const out = r.result as CommandOutcome;
      assert.equal(r.ok, out.status === 'done');
      return out;
    }

    it('executes a signed command once; the same delivery again gets the stored answer; another delivery is a replay', async () => {
      const c = cmd('capture.snaplen', { snapLen: 96 });
      const first = await send('d-1', c);
      assert.equal(first.status, 'done');
      assert.equal(pipeline.stats().snapLen, 96);
      pipeline.setSnapLen(0); // if the command ran again, this would go back to 96
      const again = await send('d-1', c);
      assert.equal(again.status, 'done');
      assert.equal(again.redelivered, true);
      assert.equal(pipeline.stats().snapLen, 0, 'not executed twice');
      const replay = await send('d-2', c);
      assert.equal(replay.status, 'refused');
      assert.equal(replay.code, 'replay');
      // also after an agent restart (new executor, same state dir)
      const restarted = makeExecutor();
      assert.equal((await send('d-3', c, restarted)).code, 'replay');
      pipeline.setSnapLen(0);
    });

    it('refusals change nothing', async () => {
      const before = { snap: pipeline.stats().snapLen, paused: shipping.paused, runs: captureRuns.length };
      const { sig: _s, ...unsigned } = cmd('capture.snaplen', { snapLen: 7 });
      const cases: [unknown, string][] = [
        [cmd('capture.snaplen', { snapLen: 7 }, mallory), 'unknown-key'],
        [{ ...cmd('capture.snaplen', { snapLen: 7 }), params: { snapLen: 8 } }, 'bad-signature'],
        [unsigned, 'unsigned'],
        [cmd('component.stop', { component: 'shipping' }, alice, { agentId: '00000000-0000-4000-8000-000000000000' }), 'wrong-target'],
        [buildSignedCommand(alice, { agentId: AGENT, kind: 'component.stop', params: { component: 'capture' }, lifetimeMs: HOUR, nowMs: Date.now() - 3 * HOUR }), 'expired'],
        [{ hello: 'world' }, 'malformed'],
      ];
      for (const [c, code] of cases) {
        const out = await send(`r-${code}`, c);
        assert.equal(out.status, 'refused');
        assert.equal(out.code, code);
      }
      assert.deepEqual({ snap: pipeline.stats().snapLen, paused: shipping.paused, runs: captureRuns.length }, before);
      assert.equal(exec.stats().refused >= cases.length, true);
    });

    it('capture commands: targeted capture, dump size, stop/start; persisted and re-applied', async () => {
      const peer = await send('c-1', cmd('capture.peer', { peer: '10.9.8.7*', port: 443, snapLen: 65535, forMs: HOUR }));
      assert.equal(peer.status, 'done', JSON.stringify(peer));
      assert.equal(pipeline.stats().peerRules, 1);
      const size = await send('c-2', cmd('capture.dump-size', { packets: 5, seconds: 2 }));
      assert.deepEqual((size.data as { dump: unknown }).dump, { packets: 5, seconds: 2 });
      assert.equal((await send('c-3', cmd('component.stop', { component: 'shipping' }))).status, 'done');
      assert.equal(shipping.paused, true);
      spool.put(spool.nextSequence(), new Uint8Array(10), 1);
      assert.deepEqual(shipping.list(), [], 'paused: the shipper sees nothing to send');
      assert.equal((await send('c-4', cmd('component.stop', { component: 'capture' }))).status, 'done');
      assert.deepEqual(captureRuns.slice(-1), ['stop']);
      // a new agent process re-applies what was changed
      shipping.resume();
      const restarted = new CaptureControl({
        pipeline, capture: { start: async () => { captureRuns.push('start'); }, stop: () => { captureRuns.push('stop'); } }, shipping,
        defaults: { snapLen: 0, packetsPerDump: 20000, dumpSeconds: 120 },
      }, join(state, 'control', 'capture.json'), log);
      const s = await restarted.restore();
      assert.equal(s.shipping, 'paused');
      assert.equal(s.capture, 'stopped');
      assert.deepEqual(s.dump, { packets: 5, seconds: 2 });
      assert.equal(s.peerCapture[0]!.peer, '10.9.8.7');
      await restarted.start('shipping');
      await restarted.start('capture');
      assert.equal(shipping.paused, false);
      assert.deepEqual(captureRuns.slice(-1), ['start']);
      assert.equal((await shipping.list()).length, 1);
    });

    it('interdiction without a firewall is refused as unsupported; the inventory comes back sealed', async () => {
      const out = await send('i-1', cmd('interdiction.isolate', {}));
      assert.equal(out.status, 'refused');
      assert.equal(out.code, 'unsupported');
      assert.match(out.reason!, /no firewall in this test/);
      const inv = await send('i-2', cmd('inventory', {}));
      assert.equal(inv.status, 'done');
      const rep = inv.data as ReturnType<typeof buildInventoryReport>;
      assert.ok(rep.sealed);
      const opened = JSON.parse(Buffer.from(openSealed(rep.sealed, owner)).toString('utf8')) as InventorySensitive;
      assert.equal(opened.hostname, hostname());
    });
  });

  describe('pseudonyms on the agent', () => {
    const resolver = (): PeerResolver => new PeerResolver({ anonKey: owner.anonKey, policy: 'internal', hostAddresses: () => ['203.0.113.9'] });

    it('turns a pseudonym (address or CIDR) into the real address, and reports real addresses as pseudonyms', () => {
      const r = resolver();
      const p = anonymizeText(owner, '10.1.2.3');
      assert.equal(r.toReal({ address: p, pseudonym: true }, '--peer'), '10.1.2.3');
      const net = anonymizeCidrText(owner, '192.168.4.0/24');
      assert.equal(r.toReal({ address: net, pseudonym: true }, '--allow'), '192.168.4.0/24');
      assert.equal(r.toReal({ address: '198.51.100.7', pseudonym: false }, '--peer'), '198.51.100.7');
      assert.equal(r.toDisplay('10.1.2.3'), `${p}*`);
      assert.equal(r.toDisplay('192.168.4.0/24'), `${net}*`);
      assert.equal(r.toDisplay('198.51.100.7'), '198.51.100.7', 'external: in the clear, as in the data');
      assert.equal(r.toDisplay('203.0.113.9'), `${anonymizeText(owner, '203.0.113.9')}*`, "the host's own address is a pseudonym");
      // error text on its way to the collector
      assert.equal(
        r.sanitize('nft: Error: ip daddr 10.1.2.3 drop; ip saddr 198.51.100.7; net 192.168.4.0/24; v6 fd00::5, port 8443: meerkat:mgmt 10.1.2.3:8443 [fd00::5]:22 x:10.1.2.3 ::ffff:10.1.2.3'),
        `nft: Error: ip daddr ${p}* drop; ip saddr 198.51.100.7; net ${net}*; v6 ${anonymizeText(owner, 'fd00::5')}*, port 8443: meerkat:mgmt ${p}*:8443 [${anonymizeText(owner, 'fd00::5')}*]:22 x:${p}* ::ffff:${p}*`,
      );
    });

    it('refuses a "*" on something that is not one of our pseudonyms, and any "*" under policy none', () => {
      const r = resolver();
      // the pseudonym of an external address de-anonymizes to a meaningless, non-internal address
      const notOurs = anonymizeText(owner, '198.51.100.7');
      assert.throws(() => r.toReal({ address: notOurs, pseudonym: true }, '--peer'), PeerResolutionError);
      const none = new PeerResolver({ anonKey: owner.anonKey, policy: 'none', hostAddresses: () => [] });
      assert.throws(() => none.toReal({ address: '10.0.0.1', pseudonym: true }, '--peer'), /policy "none"/);
    });
  });

  describe('inventory and sealed box', () => {
    it('the plain half of this machine holds no host name, real address or MAC; the sealed half opens only with box.key', () => {
      const inv = collectInventory({ version: '9.9.9', display: (a) => `${anonymizeText(owner, a)}*` });
      const rep = buildInventoryReport(inv, owner.boxPublicKey);
      // every string in the plain half, as whole values and as words (host names can be short: "vm")
      const strings: string[] = [];
      const walk = (v: unknown): void => {
        if (typeof v === 'string') strings.push(v, ...v.split(/[\s,;()/*]+/));
        else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
      };
      walk(rep.plain);
      assert.ok(strings.length > 10);
      assert.ok(!strings.includes(hostname()), 'host name not in the plain half');
      for (const list of Object.values(networkInterfaces())) {
        for (const a of list ?? []) {
          if (a.internal) continue;
          assert.ok(!strings.includes(a.address) && !strings.includes(a.mac), `${a.address} / ${a.mac} not in the plain half`);
        }
      }
      const opened = JSON.parse(Buffer.from(openSealed(rep.sealed, owner)).toString('utf8')) as InventorySensitive;
      assert.equal(opened.hostname, hostname());
      const other = nacl.box.keyPair();
      assert.throws(() => openSealed(rep.sealed, { boxSecretKey: other.secretKey, boxPublicKey: other.publicKey }), /sealed to owner key/);
      assert.throws(() => openSealed({ ...rep.sealed!, ct: Buffer.from('x'.repeat(40)).toString('base64') }, owner), SealedBoxError);
      const without = buildInventoryReport(inv, null);
      assert.equal(without.sealed, null);
      assert.match(without.note!, /not reported/);
    });

    it('sealed boxes are fresh each time (ephemeral key, random nonce)', () => {
      const a = sealToOwner(Buffer.from('same'), owner.boxPublicKey);
      const b = sealToOwner(Buffer.from('same'), owner.boxPublicKey);
      assert.notEqual(a.epk, b.epk);
      assert.notEqual(a.ct, b.ct);
    });

    it('utmp: user sessions from fixed records; junk and truncation tolerated', () => {
      const rec = (type: number, user: string, line: string, host: string, sec: number): Buffer => {
        const b = Buffer.alloc(UTMP_RECORD_SIZE);
        b.writeInt16LE(type, 0);
        b.write(line, 8, 'latin1');
        b.write(user, 44, 'latin1');
        b.write(host, 76, 'latin1');
        b.writeInt32LE(sec, 340);
        return b;
      };
      const buf = Buffer.concat([rec(2, 'reboot', '~', '', 1), rec(USER_PROCESS, 'alice', 'pts/0', '192.0.2.4', 1_700_000_000), rec(USER_PROCESS, 'bob\u0001', 'tty1', '', 1_700_000_100), Buffer.alloc(100, 0xff)]);
      const s = parseUtmp(buf);
      assert.deepEqual(s.map((x) => [x.user, x.line, x.host, x.sinceMs]), [['alice', 'pts/0', '192.0.2.4', 1_700_000_000_000], ['bob?', 'tty1', '', 1_700_000_100_000]]);
      assert.deepEqual(parseUtmp(new Uint8Array(10)), []);
    });
  });
});
