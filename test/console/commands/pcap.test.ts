// `meerkat pcap` in its local modes: --dumps DIR (dump files) and --db (a collector database:
// dumps by their raw paths, flows for --flow), agent id prefixes, the summary, and usage errors
// (exit 2) named clearly. The file is only there once complete (written aside, then renamed).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerPcapCommand } from '../../../console/commands/pcap.js';
import { initOwnerKeys } from '../../../shared/keys/owner-keys.js';
import { runCommand } from '../../helpers/cli-run.js';
import { countFrames, flowConversations, importDumps, makeDumps, refPcap, tsharkFrameSums } from '../../shared/pcap-export/export-fixtures.js';
import type { FlowRecord } from '../../../shared/flow/flow-record.js';

const WINDOW = ['--since', '2000-01-01T00:00:00Z', '--until', '2100-01-01T00:00:00Z'];

describe('meerkat pcap (local: --dumps, --db)', function () {
  this.timeout(120_000);
  let dir: string;
  let agentId: string;
  let flows: FlowRecord[];
  let packets: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meerkat-pcap-cli-'));
    initOwnerKeys(join(dir, 'owner'));
    const rep = await makeDumps(refPcap('zeek/ssh_ssh.pcap'), join(dir, 'dumps'), { keyFile: join(dir, 'owner', 'anon.key'), snapLen: 0 });
    agentId = rep.agentId;
    packets = rep.stats.packetsKept;
    flows = importDumps(join(dir, 'meerkat.db'), rep.dumps.map((d) => d.path));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--dumps DIR with an agent id prefix writes every packet; --json prints the summary', async () => {
    const out = join(dir, 'a.pcapng');
    const r = await runCommand(registerPcapCommand, ['pcap', '--dumps', join(dir, 'dumps'), '--agent', agentId.slice(0, 6), ...WINDOW, '-o', out, '--json']);
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out) as { agentId: string; packets: number; headerOnly: number };
    assert.equal(s.agentId, agentId);
    assert.equal(s.packets, packets);
    assert.equal(await countFrames(out, 'frame'), packets);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.partial-')), [], 'no partial file left');
  });

  it('--db with --flow: exactly that flow, its span by default', async () => {
    const f = flows.filter((x) => x.proto === 'tcp').sort((a, b) => b.orig_pkts - a.orig_pkts)[0]!;
    const out = join(dir, 'flow.pcapng');
    const r = await runCommand(registerPcapCommand, ['pcap', '--db', join(dir, 'meerkat.db'), '--flow', f.uid, '-o', out]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /packets \(\d+ whole, \d+ headers only, 0 from retro capture\), pseudonyms/);
    const mine = flowConversations(flows.filter((x) => x.uid === f.uid), 'tcp');
    const sums = await tsharkFrameSums(out, 'tcp');
    assert.deepEqual([...sums.entries()], [...mine.entries()]);
    // by Community ID and a window inside the flow: only its packets inside the window
    const cut = join(dir, 'cid.pcapng');
    const mid = Math.floor((f.start + f.end) / 2 / 1e6);
    const r2 = await runCommand(registerPcapCommand, ['pcap', '--db', join(dir, 'meerkat.db'), '--community-id', f.community_id, '--since', String(mid), '--until', '2100-01-01T00:00:00Z', '-o', cut, '--json']);
    assert.equal(r2.code, 0, r2.err);
    const n = (JSON.parse(r2.out) as { packets: number }).packets;
    assert.ok(n > 0 && n < f.orig_pkts + f.resp_pkts, `${n} packets in the second half`);
  });

  it('usage errors exit 2 with the reason, and write nothing', async () => {
    const out = join(dir, 'never.pcapng');
    const cases: [string[], RegExp][] = [
      [['pcap', '--dumps', join(dir, 'dumps'), '--agent', agentId, '-o', out], /--since and --until/],
      [['pcap', '--dumps', join(dir, 'dumps'), ...WINDOW, '-o', out], /give --agent/],
      [['pcap', '--dumps', join(dir, 'dumps'), '--db', join(dir, 'meerkat.db'), '--agent', agentId, ...WINDOW, '-o', out], /--db or --dumps, not both/],
      [['pcap', '--dumps', join(dir, 'dumps'), '--agent', 'ffff', ...WINDOW, '-o', out], /no agent id starts with/],
      [['pcap', '--dumps', join(dir, 'dumps'), '--agent', agentId, '--peer', 'example.com', ...WINDOW, '-o', out], /--peer/],
      [['pcap', '--dumps', join(dir, 'dumps'), '--flow', 'Cx', '-o', out], /need the flow records: give --db/],
      [['pcap', '--db', join(dir, 'meerkat.db'), '--flow', 'Cnope', '-o', out], /no flow record for flow Cnope/],
      [['pcap', '--db', join(dir, 'none.db'), '--agent', agentId, ...WINDOW, '-o', out], /no collector database/],
      [['pcap', '--dumps', join(dir, 'dumps'), '--agent', agentId, ...WINDOW, '-o', '-', '--json'], /--json prints the summary/],
    ];
    for (const [args, re] of cases) {
      const r = await runCommand(registerPcapCommand, args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, re);
    }
    assert.equal(existsSync(out), false);
  });
});
