import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { leanCaptureAdvice, runtimeProfile } from '../../agent/runtime-profile.js';
import { nodeScriptArgs } from '../helpers/node-script.js';

describe('agent/runtime-profile', () => {
  it('is lean when V8 runs without its JIT, fast otherwise; the last flag given wins', () => {
    assert.equal(runtimeProfile([]), 'fast');
    assert.equal(runtimeProfile(['--v8-pool-size=1']), 'fast');
    assert.equal(runtimeProfile(['--v8-pool-size=1', '--lite-mode', '--no-expose-wasm']), 'lean');
    assert.equal(runtimeProfile(['--jitless']), 'lean');
    assert.equal(runtimeProfile(['--lite-mode', '--no-lite-mode']), 'fast');
    assert.equal(runtimeProfile(['--no-jitless', '--jitless']), 'lean');
  });

  it('reads the real process: a node started in lite mode reports lean', () => {
    const run = (flags: string[]): string => {
      const r = spawnSync(process.execPath, [...flags, ...nodeScriptArgs('./runtime-profile-child', import.meta.url)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    assert.equal(run(['--lite-mode', '--no-expose-wasm']), 'lean');
    assert.equal(run([]), 'fast');
  });
});

describe('agent/runtime-profile: advice when a lean agent falls behind', () => {
  it('warns a lean agent about sustained kernel drops, not about a lone burst, never a fast one', () => {
    const advice = leanCaptureAdvice('lean', 50_000, 150_000);
    assert.match(advice ?? '', /dropped 50000 packets \(25\.0 %\).*MEERKAT_AGENT_PROFILE=fast/);
    assert.equal(leanCaptureAdvice('fast', 50_000, 150_000), undefined);
    assert.equal(leanCaptureAdvice('lean', 0, 150_000), undefined);
    assert.equal(leanCaptureAdvice('lean', 999, 0), undefined, 'a few hundred drops: a burst');
    assert.equal(leanCaptureAdvice('lean', 5_000, 1_000_000), undefined, 'under 1 % of what was offered');
    assert.ok(leanCaptureAdvice('lean', 20_000, 1_000_000), 'about 2 %');
  });
});
