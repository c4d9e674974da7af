// Retro capture end to end, real programs in network namespaces: `meerkat-agent run` with its
// retro ring on, `meerkat-collector run` with a capture-retro response rule. The agent talks to a
// peer that is on no list (its dumps carry headers only); then the peer is added to the feed; the
// next packet raises the alert, the response engine signs capture.retro, the agent (response key
// authorised for capture.retro only) pulls its ring, and the packets from BEFORE the alert arrive
// with their payload, in dumps flagged Retro - which `meerkat pcap` exports, marked retro. The
// ring on the agent's disk holds no plaintext payload, stays within its byte bound under load, and
// is gone once the agent stops. An operator's `meerkat retro` works the same way.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { decodeDump, DumpFlag } from '../../shared/dump/index.js';
import { formatIp } from '../../shared/net/ip-address.js';
import { netnsAvailable, netnsExec } from '../helpers/netns.js';
import { LatencyRig, waitFor } from '../../bench/alert-latency.js';
import { agentProgramArgs, collectorProgramArgs, nodeScriptArgs } from '../helpers/node-script.js';
import { skipBecause } from '../helpers/skip.js';
import { countFrames } from '../shared/pcap-export/export-fixtures.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const RING_MAX = 2 << 20;

/** One HTTP request from the agent's namespace carrying `mark` in its request line. */
async function markedRequest(rig: LatencyRig, addr: string, mark: string, bytes = 200): Promise<void> {
  const js = `require('http').get({host:'${addr}',port:8080,path:'/${bytes}?m=${mark}',agent:false},r=>{r.resume();r.on('end',()=>process.exit(0))}).on('error',e=>{console.error(e.message);process.exit(1)})`;
  const r = await netnsExec(rig.pair.nsA, process.execPath, ['-e', js], { timeoutMs: 15_000 });
  assert.equal(r.code, 0, r.stderr);
}

function ringFiles(rig: LatencyRig): string[] {
  const d = join(rig.agentDir, 'retro');
  return readdirSync(d).filter((f) => f.endsWith('.mkr')).map((f) => join(d, f));
}

describe('retro capture: alert -> capture.retro -> the packets from before the alert (namespaces)', function () {
  this.timeout(240_000);
  before(function () {
    if (!netnsAvailable()) skipBecause(this, 'needs root and iproute2 network namespaces');
  });

  it('ships the peer\'s earlier packets with payload, marked retro; the ring is encrypted, bounded and shredded', async () => {
    const rig = new LatencyRig();
    try {
      await rig.start({
        listed: 1, unlisted: 2,
        responses: [{ category: 'threat-intel', minSeverity: 'high', command: { type: 'capture-retro', beforeSec: 300 } }],
        authorise: ['capture.retro'],
        // whole packets: over veth, TCP goes as 64 KiB GSO aggregates, which the default snap length (1600) cuts
        agentConfig: { retro: { enabled: true, seconds: 300, maxBytes: RING_MAX, snapLen: 65535 } },
      });
      const peer = rig.unlisted[0]!;
      const other = rig.unlisted[1]!;
      await sleep(1500); // the capture's snap length has followed the ring's
      // before any alert: the peer is on no list
      const before = Date.now();
      for (let i = 0; i < 3; i++) {
        await markedRequest(rig, peer, `EARLY-${i}-RETROMARK`);
        await markedRequest(rig, other, `OTHER-${i}-RETROMARK`);
      }
      await sleep(1000);
      // the ring holds these payloads, but not in the clear
      for (const f of ringFiles(rig)) assert.equal(readFileSync(f).indexOf('RETROMARK'), -1, `${f} holds plaintext`);
      // the peer goes onto the feed: the next packet alerts
      const installed = (): number => rig.logs.agent.split('watchlist installed').length - 1;
      const n0 = installed();
      writeFileSync(join(rig.dir, 'blacklist.txt'), `# test blacklist\n${rig.listed.join('\n')}\n${peer}\n`);
      await waitFor('the new watchlist on the agent', () => installed() > n0, 30_000);
      await markedRequest(rig, peer, 'ALERT-RETROMARK');
      await waitFor('the threat-intel alert for the peer', () => rig.alertCreatedUs(peer) !== null, 20_000);
      type Cmd = { id: string; kind: string; state: string; result: string | null };
      const cmds = (): Cmd[] => rig.query<Cmd>(`SELECT id, kind, state, result FROM control_commands WHERE kind = 'capture.retro'`);
      await waitFor('the capture.retro command to be answered', () => cmds().some((c) => c.state === 'done' || c.state === 'refused' || c.state === 'failed'), 30_000);
      const cmd = cmds()[0]!;
      assert.equal(cmd.state, 'done', JSON.stringify(cmd));
      const data = (JSON.parse(cmd.result!) as { data: { packets: number; peer: string; dumps: number } }).data;
      assert.equal(data.peer, peer);
      assert.ok(data.packets >= 3 * 5, `${data.packets} packets pulled`);
      // the retro dumps arrive at the collector
      type Row = { raw_path: string; extra_json: string | null; sequence: number };
      const retroRows = (): Row[] => rig.query<Row>(`SELECT raw_path, extra_json, sequence FROM dumps WHERE extra_json IS NOT NULL AND (json_extract(extra_json, '$.flags') & ${DumpFlag.Retro}) != 0`);
      await waitFor('the retro dumps at the collector', () => retroRows().length >= data.dumps, 20_000);
      const early = new Set<string>();
      let retroPackets = 0;
      for (const row of retroRows()) {
        const d = decodeDump(readFileSync(row.raw_path));
        assert.equal(d.header.flags & DumpFlag.Retro, DumpFlag.Retro);
        d.forEach((r) => {
          retroPackets++;
          assert.ok([formatIp(4, r.src), formatIp(4, r.dst)].includes(peer), 'only the peer\'s packets');
          const m = /EARLY-(\d)-RETROMARK/.exec(Buffer.from(r.payload).toString('latin1'));
          if (m) {
            early.add(m[1]!);
            assert.ok(r.tsUs / 1000 < rig.alertCreatedUs(peer)! / 1000, 'from before the alert');
          }
          assert.ok(!Buffer.from(r.payload).toString('latin1').includes('OTHER-'), 'nothing of the other peer');
        });
      }
      assert.deepEqual([...early].sort(), ['0', '1', '2'], 'every early request, with its payload');
      assert.equal(retroPackets, data.packets);
      // the same packets went out earlier without payload, in the normal dumps
      let normalWithMark = 0;
      for (const row of rig.query<Row>(`SELECT raw_path, extra_json, sequence FROM dumps WHERE extra_json IS NULL OR (json_extract(extra_json, '$.flags') & ${DumpFlag.Retro}) = 0`)) {
        decodeDump(readFileSync(row.raw_path)).forEach((r) => { if (Buffer.from(r.payload).toString('latin1').includes('EARLY-')) normalWithMark++; });
      }
      assert.equal(normalWithMark, 0, 'header-only before the alert');
      // exported for Wireshark: the early requests with payload, marked retro, each packet once
      const out = join(rig.dir, 'retro.pcapng');
      const ex = spawnSync(process.execPath, [...nodeScriptArgs('../../console/cli', import.meta.url), 'pcap', '--db', rig.db, '--agent', rig.agentId, '--peer', peer,
        '--since', new Date(before - 5000).toISOString(), '--until', new Date(Date.now() + 5000).toISOString(), '-o', out, '--json'], { encoding: 'utf8' });
      assert.equal(ex.status, 0, ex.stderr);
      const sum = JSON.parse(ex.stdout) as { retro: number; packets: number };
      assert.ok(sum.retro >= retroPackets - 1 && sum.retro > 0, JSON.stringify(sum));
      assert.equal(await countFrames(out, 'frame contains "EARLY-" && frame.comment contains "retro capture"'), 3);
      assert.equal(await countFrames(out, '_ws.malformed'), 0);

      // under load the ring stays within its bound (every sample of the directory)
      let peak = 0;
      const sampler = setInterval(() => {
        try { peak = Math.max(peak, ringFiles(rig).reduce((a, f) => a + statSync(f).size, 0)); } catch { /* a segment shredded between list and stat */ }
      }, 20);
      for (let i = 0; i < 12; i++) await rig.request(other, 400_000);
      await sleep(2500);
      clearInterval(sampler);
      const status = JSON.parse(readFileSync(join(rig.agentDir, 'status.json'), 'utf8')) as { retro: { bytes: number; segmentsShredded: number; bytesWritten: number } };
      assert.ok(status.retro.bytesWritten > 2 * RING_MAX, `${status.retro.bytesWritten} bytes went through the ring`);
      assert.ok(status.retro.segmentsShredded > 0);
      assert.ok(peak <= RING_MAX, `ring on disk at most ${peak} bytes (bound ${RING_MAX})`);
      for (const f of ringFiles(rig)) assert.equal(readFileSync(f).indexOf('RETROMARK'), -1);

      // an operator asks too: `meerkat retro` (signed with an operator key pinned on the agent)
      const meerkat = nodeScriptArgs('../../console/cli', import.meta.url);
      const op = join(rig.dir, 'operator');
      const must = (r: { status: number | null; stderr: string }, what: string): void => assert.equal(r.status, 0, `${what}: ${r.stderr}`);
      must(spawnSync(process.execPath, [...collectorProgramArgs(), 'user', 'add', 'alice', '--org', 'default', '--role', 'responder', '--cert-out', op, '--state-dir', rig.colDir], { encoding: 'utf8' }), 'user add');
      must(spawnSync(process.execPath, [...meerkat, 'keys', 'operator-init', '--operator-dir', op, '--name', 'alice'], { encoding: 'utf8' }), 'keys operator-init');
      must(spawnSync(process.execPath, [...agentProgramArgs(), 'operator-key', 'add', join(op, 'op.pub'), '--state-dir', rig.agentDir], { encoding: 'utf8' }), 'operator-key add');
      await markedRequest(rig, other, 'LATE-RETROMARK');
      const asked = await netnsExec(rig.pair.nsB, process.execPath, [...meerkat, 'retro', rig.agentId.slice(0, 8), '--peer', other, '--since', '1m', '--operator-dir', op, '--wait', '30', '--json'], { timeoutMs: 60_000 });
      assert.equal(asked.code, 0, asked.stderr + asked.stdout);
      const done = JSON.parse(asked.stdout) as { state: string; result: { data: { packets: number; peer: string; truncated: boolean } } };
      assert.equal(done.state, 'done');
      assert.equal(done.result.data.peer, other);
      assert.ok(done.result.data.packets > 0);
      const usage = await netnsExec(rig.pair.nsB, process.execPath, [...meerkat, 'agents', '--operator-dir', op], { timeoutMs: 30_000 });
      assert.equal(usage.code, 0, usage.stderr);
      assert.match(usage.stdout, /payload kept on the collector: [\d.]+ (KiB|MiB) in \d+ dumps \(retro [\d.]+ (KiB|MiB)\)/);
      assert.match(usage.stdout, /retro ring: [\d.]+ (KiB|MiB) on the agent's disk/);
      // and on the collector's /metrics
      const metrics = await netnsExec(rig.pair.nsB, process.execPath, ['-e', `require('http').get('http://127.0.0.1:9469/metrics',r=>{let s='';r.on('data',d=>s+=d);r.on('end',()=>{process.stdout.write(s)})})`], { timeoutMs: 15_000 });
      // (an organisation's metric: it carries org="default" too)
      const retroGauge = /meerkat_payload_bytes\{(?=[^}]*kind="retro")(?=[^}]*org="default")[^}]*\} (\d+)/.exec(metrics.stdout);
      assert.ok(retroGauge && Number(retroGauge[1]) > 0, metrics.stdout.slice(0, 300));
      // an agent that stops takes its ring with it
      await rig.stopAgent();
      assert.deepEqual(ringFiles(rig), []);
    } finally {
      rig.close();
    }
  });
});
