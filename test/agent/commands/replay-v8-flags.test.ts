import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REPLAY_V8_FLAGS, applyReplayV8Flags } from '../../../agent/commands/replay-v8-flags.js';

describe('replay V8 flags', () => {
  it('sets the batch flags in a process started without V8 flags of its own', () => {
    const got: string[] = [];
    assert.equal(applyReplayV8Flags(['--v8-pool-size=1'], (f) => got.push(f)), true);
    assert.deepEqual(got, [REPLAY_V8_FLAGS]);
    assert.equal(applyReplayV8Flags([], (f) => got.push(f)), true);
    assert.equal(got.length, 2);
  });

  it('leaves a process alone that runs without the optimizing JIT or chose the feedback allocation itself', () => {
    for (const argv of [['--v8-pool-size=1', '--lite-mode', '--no-expose-wasm'], ['--jitless'], ['--lazy-feedback-allocation'],
      ['--no-lazy-feedback-allocation'], ['--no_lazy_feedback_allocation']]) {
      let called = false;
      assert.equal(applyReplayV8Flags(argv, () => { called = true; }), false, argv.join(' '));
      assert.equal(called, false);
    }
  });

  it('node knows the flags: set at run time they print nothing (V8 reports an unknown flag on stderr)', () => {
    const mod = fileURLToPath(new URL('../../../agent/commands/replay-v8-flags.js', import.meta.url));
    const script = `import { setFlagsFromString } from 'node:v8';
      const { applyReplayV8Flags } = await import(${JSON.stringify(mod)});
      const applied = applyReplayV8Flags(process.execArgv, setFlagsFromString);
      const f = (x) => x + 1; let s = 0; for (let i = 0; i < 1e5; i++) s = f(s);
      console.log(applied, s);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'true 100000');
    assert.equal(r.stderr, '');
  });
});
