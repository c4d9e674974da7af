import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { nodeScriptArgs } from '../helpers/node-script.js';
import { holdYoungGeneration } from '../../agent/service-heap.js';

interface ChildResult { held: boolean | null; atHold: number; settings: { maxSemiSpaceMb: number | null } | null; maxSemiSpaceBytes: number }

function child(args: string[], nodeArgs: string[] = []): ChildResult {
  const r = spawnSync(process.execPath, [...nodeArgs, ...nodeScriptArgs('./service-heap-child', import.meta.url), ...args], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ChildResult;
}

const MIB = 1024 * 1024;
const mib = (b: number): string => `${b / MIB} MiB`;

describe('agent/service-heap', function () {
  this.timeout(60_000);

  it('holds the semi-spaces at their size through long synchronous bursts (start-up)', () => {
    const free = child(['none', '200000']);
    assert.ok(free.maxSemiSpaceBytes > 4 * MIB, `V8 alone grows them (${mib(free.maxSemiSpaceBytes)}): the load is realistic`);
    const held = child(['hold', '200000']);
    assert.equal(held.held, true);
    // V8 starts at 1 MiB (not all committed at first); from source, tsx's loading may have grown them once
    assert.ok(held.atHold <= 2 * MIB, mib(held.atHold));
    assert.equal(held.maxSemiSpaceBytes, Math.max(held.atHold, 1 * MIB));
  });

  it('then lets them grow to the cap and no further under batched allocation (steady state)', () => {
    const free = child(['none']);
    assert.ok(free.maxSemiSpaceBytes > 4 * MIB, `V8 alone grows them (${mib(free.maxSemiSpaceBytes)})`);
    const capped = child(['2']);
    assert.deepEqual(capped.settings, { maxSemiSpaceMb: 2 });
    assert.equal(capped.maxSemiSpaceBytes, 2 * MIB);
  });

  it("leaves V8 alone when the operator sized the young generation (node flag or NODE_OPTIONS)", () => {
    assert.equal(holdYoungGeneration('--max-semi-space-size=8'), false);
    assert.equal(holdYoungGeneration('--enable-source-maps --semi-space-growth-factor=4'), false);
    const r = child(['2'], ['--max-semi-space-size=4']);
    assert.equal(r.held, false);
    assert.deepEqual(r.settings, { maxSemiSpaceMb: null });
    assert.ok(r.maxSemiSpaceBytes > 2 * MIB && r.maxSemiSpaceBytes <= 4 * MIB, `the operator's 4 MiB holds (${mib(r.maxSemiSpaceBytes)})`);
  });
});
