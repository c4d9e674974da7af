// `meerkat retro`: usage errors exit 2 with the reason before anything is signed or sent, and the
// agent's answer reads as what was shipped and what the ring held.
import assert from 'node:assert/strict';
import { registerRetroCommand, retroReportText } from '../../../console/commands/retro.js';
import { runCommand } from '../../helpers/cli-run.js';

describe('meerkat retro', () => {
  it('refuses what it cannot send, naming why (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['retro', 'abcd', '--since', '5m'], /--peer ADDRESS\) or take every peer \(--all\)/],
      [['retro', 'abcd', '--peer', '10.1.2.3', '--all', '--since', '5m'], /exclude each other/],
      [['retro', 'abcd', '--peer', 'not-an-address', '--since', '5m'], /--peer: expected/],
      [['retro', 'abcd', '--peer', '10.1.2.3', '--since', 'yesterday-ish'], /--since expects/],
      [['retro', 'abcd', '--peer', '10.1.2.3', '--since', '1m', '--until', '5m'], /--until must be after --since/],
      [['retro', 'abcd', '--peer', '10.1.2.3'], /required option '--since/],
    ];
    for (const [args, re] of cases) {
      const r = await runCommand(registerRetroCommand, args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, re);
    }
  });

  it('prints what the pull shipped and what the ring held', () => {
    const text = retroReportText({
      packets: 42, dumps: 1, bytes: 10240, truncated: true, chunksLost: 2, since: '2030-01-01T00:55:00.000Z', until: '2030-01-01T01:00:00.000Z',
      ringFrom: '2030-01-01T00:50:00.000Z', ringUntil: '2030-01-01T01:00:00.000Z', peer: '203.0.113.9', port: 443,
    });
    assert.match(text, /retro capture: 42 packets of peer 203.0.113.9 port 443 in 1 dumps \(10.0 KiB\)/);
    assert.match(text, /the ring held 2030-01-01T00:50:00.000Z \.\. 2030-01-01T01:00:00.000Z/);
    assert.match(text, /cut short by the pull bound/);
    assert.match(text, /2 chunks left the ring/);
    assert.equal(retroReportText('odd'), '"odd"\n');
  });
});
