// Automatic responses end to end across namespaces: a connection to a blacklisted peer
// raises a threat-intel alert within seconds (watchlist early flush + per-packet check), the
// response engine issues a targeted full capture signed with the collector's response key,
// the agent (which authorised that key for capture.peer only) runs it, and the next dumps carry
// payload for that peer only. The isolate rule on the same alert is refused by the agent as out
// of scope and the refusal is audited. Repeated alerts do not issue a second command.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeDump } from '../../shared/dump/index.js';
import { formatIp } from '../../shared/net/ip-address.js';
import { netnsAvailable } from '../helpers/netns.js';
import { spawnSync } from 'node:child_process';
import { LatencyRig, waitFor } from '../../bench/alert-latency.js';
import { nodeScriptArgs } from '../helpers/node-script.js';
import { skipBecause } from '../helpers/skip.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('responses: blacklisted peer -> alert -> scoped response commands (namespaces)', function () {
  this.timeout(180_000);
  before(function () {
    if (!netnsAvailable()) skipBecause(this, 'needs root and iproute2 network namespaces');
  });

  it('captures full payload of that peer only; isolate refused as out of scope and audited', async () => {
    const rig = new LatencyRig();
    try {
      await rig.start({
        listed: 1, unlisted: 1,
        responses: [
          { category: 'threat-intel', minSeverity: 'high', command: { type: 'capture-full', forSec: 600 } },
          { category: 'threat-intel', minSeverity: 'high', command: { type: 'isolate', forSec: 60 } },
        ],
        authorise: ['capture.peer'],
      });
      const bad = rig.listed[0]!;
      const good = rig.unlisted[0]!;
      const sent = await rig.request(bad, 2000);
      await waitFor('the threat-intel alert', () => rig.alertCreatedUs(bad) !== null, 20_000);
      const latencyMs = rig.alertCreatedUs(bad)! / 1000 - sent;
      assert.ok(latencyMs < 5000, `alert stored ${latencyMs.toFixed(0)} ms after the packet`);
      // what the operator sees
      const shown = spawnSync(process.execPath, [...nodeScriptArgs('../../console/cli', import.meta.url), 'alerts', '--db', rig.db, '--category', 'threat-intel', '--json'], { encoding: 'utf8' });
      assert.equal(shown.status, 0, shown.stderr);
      assert.ok(shown.stdout.split('\n').some((l) => l.includes(`"peer":"${bad}"`) && l.includes('nrt-list')), shown.stdout);

      type Cmd = { id: string; kind: string; state: string; submitted_by: string; finished_at: number | null; error: string | null };
      const cmds = (): Cmd[] => rig.query<Cmd>('SELECT id, kind, state, submitted_by, finished_at, error FROM control_commands ORDER BY created_at');
      await waitFor('both response commands to be answered', () => cmds().length === 2 && cmds().every((c) => c.state !== 'queued' && c.state !== 'delivered'), 20_000);
      const capture = cmds().find((c) => c.kind === 'capture.peer')!;
      const isolate = cmds().find((c) => c.kind === 'interdiction.isolate')!;
      assert.equal(capture.state, 'done', JSON.stringify(capture));
      assert.equal(isolate.state, 'refused');
      assert.match(isolate.error ?? '', /out-of-scope/);
      const audit = rig.query<{ actor: string; action: string; outcome: string; command_id: string | null }>('SELECT actor, action, outcome, command_id FROM control_audit ORDER BY seq');
      assert.ok(audit.some((a) => a.action === 'response.issue' && a.command_id === capture.id), 'issuing is audited');
      assert.ok(audit.some((a) => a.action === 'command.result' && a.command_id === isolate.id && a.outcome === 'refused:out-of-scope'), 'the refusal is audited');

      // traffic with both peers after the capture is in force
      const since = capture.finished_at!;
      for (let i = 0; i < 3; i++) {
        await rig.request(bad, 3000);
        await rig.request(good, 3000);
        await sleep(300);
      }
      await sleep(1000);
      await rig.stopAgent(); // spools the open dump and ships it
      await waitFor('the final dump', () => rig.query<{ n: number }>('SELECT COUNT(*) AS n FROM dumps WHERE received_us > ?', since * 1000)[0]!.n > 0, 10_000);
      let badPayload = 0;
      let goodPackets = 0;
      let goodPayload = 0;
      for (const d of rig.query<{ raw_path: string }>('SELECT raw_path FROM dumps WHERE received_us > ? ORDER BY sequence', since * 1000)) {
        decodeDump(readFileSync(d.raw_path)).forEach((r) => {
          const peers = [formatIp(r.ipVersion, r.src), formatIp(r.ipVersion, r.dst)];
          if (peers.includes(bad)) badPayload += r.payload.length;
          if (peers.includes(good)) { goodPackets++; goodPayload += r.payload.length; }
        });
      }
      assert.ok(badPayload > 3000, `payload kept for the blacklisted peer (${badPayload} bytes)`);
      assert.ok(goodPackets > 10, `traffic with the other peer was captured (${goodPackets} packets)`);
      assert.equal(goodPayload, 0, 'no payload for the other peer');
      // the repeated alerts of the same peer issued nothing more (command in force)
      assert.equal(cmds().length, 2);
    } finally {
      rig.close();
    }
  });
});
