// The batch commands' later tier-up (shared/cli/late-tier-up.ts): the V8 setting applied once
// they are warm, the node options and the switch under which it keeps away, and the check that
// runs a milestone once.
import assert from 'node:assert/strict';
import { LATE_TIER_UP_FLAGS, LATE_TIER_UP_PACKETS, lateTierUp, milestoneCheck } from '../../../shared/cli/late-tier-up.js';

describe('lateTierUp', () => {
  it('a milestone after LATE_TIER_UP_PACKETS that raises the interrupt budget, applied only when it runs', () => {
    const set: string[] = [];
    const m = lateTierUp(['--no-concurrent-recompilation'], { MEERKAT_LATE_TIER_UP: 'on' }, (f) => set.push(f));
    assert.ok(m !== undefined);
    assert.equal(m.packets, LATE_TIER_UP_PACKETS);
    assert.deepEqual(set, [], 'nothing set before the command is warm');
    m.run();
    assert.deepEqual(set, [LATE_TIER_UP_FLAGS]);
    assert.match(LATE_TIER_UP_FLAGS, /^--interrupt-budget=\d+$/);
  });

  it('none when node runs without the optimizing JIT or was given its tier-up settings (any spelling, with a value)', () => {
    for (const argv of [['--jitless'], ['--lite-mode'], ['--no-opt'], ['--max-opt=2'], ['--interrupt-budget=5000'], ['--interrupt_budget', '9000'], ['--max_opt=1']]) {
      assert.equal(lateTierUp(argv, {}, () => assert.fail('set')), undefined, argv.join(' '));
    }
    assert.ok(lateTierUp(['--v8-pool-size=1'], {}, () => {}) !== undefined);
  });

  it('none with MEERKAT_LATE_TIER_UP=off (V8\'s default kept, for comparisons)', () => {
    assert.equal(lateTierUp([], { MEERKAT_LATE_TIER_UP: 'off' }, () => assert.fail('set')), undefined);
  });

  it('milestoneCheck runs the milestone once, at the first count reaching its packets; without one it does nothing', () => {
    let runs = 0;
    const check = milestoneCheck({ packets: 100, run: () => { runs++; } });
    check(99);
    assert.equal(runs, 0);
    check(100);
    check(5000);
    assert.equal(runs, 1);
    milestoneCheck(undefined)(1e9);
  });
});
