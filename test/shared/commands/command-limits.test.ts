// One limits table, and the three places that enforce it agree: what the console accepts from
// an operator's flags, the command schema accepts, and the agent's policy rules accept, for
// every duration, rate and loss value (property tests), with the cases that once disagreed
// (`block --for 30d`) spelled out.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { blockParams, degradeParams, isolateParams } from '../../../console/commands/interdiction.js';
import { peerCaptureParams } from '../../../console/commands/capture.js';
import { parseParams, type CommandKind } from '../../../shared/commands/command-schema.js';
import { COMMAND_LIMITS } from '../../../shared/commands/command-limits.js';
import { formatDuration } from '../../../shared/cli/duration.js';
import { InputError } from '../../../shared/errors.js';
import { applyPolicyChange } from '../../../agent/interdiction/policy-changes.js';
import { emptyPolicy, type PolicyChange } from '../../../agent/interdiction/policy.js';

const DAY = 86_400_000;
const PEER = '203.0.113.5';
const T0 = 1_700_000_000_000;

/** true when fn returns; false when it throws an InputError (anything else is a bug). */
function accepts(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof InputError || (e instanceof Error && e.name === 'CommandSchemaError')) return false;
    throw e;
  }
}

const schemaAccepts = (kind: CommandKind, params: unknown): boolean => accepts(() => parseParams(kind, params));
const agentAccepts = (change: PolicyChange): boolean => accepts(() => applyPolicyChange(emptyPolicy([{ address: '192.0.2.10', port: 443 }]), change, T0));

/** Durations around every bound of the table, and anywhere up to 400 days. */
const durationMs = fc.oneof(
  fc.integer({ min: 0, max: 400 * DAY }),
  fc.constantFrom(0, 999, 1000, 1001, 7 * DAY - 1, 7 * DAY, 7 * DAY + 1, 30 * DAY, 366 * DAY - 1, 366 * DAY, 366 * DAY + 1),
);

describe('shared/commands/command-limits', function () {
  it('timed interdiction: console, schema and agent accept exactly the same durations', function () {
    fc.assert(fc.property(durationMs, (ms) => {
      const text = formatDuration(ms);
      const console = accepts(() => blockParams({ peer: PEER, for: text }));
      const schema = schemaAccepts('interdiction.block', { peer: { address: PEER, pseudonym: false }, forMs: ms });
      const agent = agentAccepts({ kind: 'block', peer: PEER, forMs: ms });
      const inTable = ms >= COMMAND_LIMITS.interdiction.minMs && ms <= COMMAND_LIMITS.interdiction.maxMs;
      assert.deepEqual({ console, schema, agent }, { console: inTable, schema: inTable, agent: inTable }, `${text} (${ms} ms)`);
      if (console) {
        // what the console builds is what the schema takes, for each timed verb
        assert.ok(schemaAccepts('interdiction.block', blockParams({ peer: PEER, for: text })));
        assert.ok(schemaAccepts('interdiction.isolate', isolateParams({ for: text })));
        assert.ok(schemaAccepts('interdiction.degrade', degradeParams({ loss: '10%', for: text })));
      }
    }), { numRuns: 400 });
  });

  it('targeted capture: console and schema accept exactly the same durations', function () {
    fc.assert(fc.property(durationMs, (ms) => {
      const text = formatDuration(ms);
      const console = accepts(() => peerCaptureParams({ peer: PEER, full: true, for: text }));
      const schema = schemaAccepts('capture.peer', { peer: PEER, snapLen: 65535, forMs: ms });
      const inTable = ms >= COMMAND_LIMITS.peerCapture.minMs && ms <= COMMAND_LIMITS.peerCapture.maxMs;
      assert.deepEqual({ console, schema }, { console: inTable, schema: inTable }, `${text} (${ms} ms)`);
      if (console) assert.ok(schemaAccepts('capture.peer', peerCaptureParams({ peer: PEER, full: true, for: text })));
    }), { numRuns: 400 });
  });

  it('degrade: console, schema and agent accept exactly the same rates and loss values', function () {
    const rate = fc.oneof(fc.integer({ min: 0, max: 2e11 }), fc.constantFrom(124, 125, 126, 12_500_000_000, 12_500_000_001));
    fc.assert(fc.property(rate, (bytesPerSec) => {
      const console = accepts(() => degradeParams({ rate: `${bytesPerSec}B/s` }));
      const schema = schemaAccepts('interdiction.degrade', { rateBytesPerSec: bytesPerSec });
      const agent = agentAccepts({ kind: 'degrade', rateBytesPerSec: bytesPerSec });
      assert.deepEqual({ console, schema }, { console: agent, schema: agent }, `${bytesPerSec} B/s`);
    }), { numRuns: 300 });
    const loss = fc.oneof(fc.integer({ min: 0, max: 11_000 }).map((n) => n / 100), fc.integer({ min: 0, max: 110_000 }).map((n) => n / 1000));
    fc.assert(fc.property(loss, (percent) => {
      const console = accepts(() => degradeParams({ loss: `${percent}%` }));
      const schema = schemaAccepts('interdiction.degrade', { lossPercent: percent });
      const agent = agentAccepts({ kind: 'degrade', lossPercent: percent });
      assert.deepEqual({ console, schema }, { console: agent, schema: agent }, `${percent}%`);
    }), { numRuns: 300 });
  });

  it('`block --for 30d` passes everywhere; 367d and an 8-day capture are refused by the console already', function () {
    const p = blockParams({ peer: PEER, for: '30d' });
    assert.deepEqual(p, { peer: { address: PEER, pseudonym: false }, forMs: 30 * DAY });
    assert.ok(schemaAccepts('interdiction.block', p));
    assert.ok(agentAccepts({ kind: 'block', peer: PEER, forMs: p.forMs! }));
    assert.throws(() => blockParams({ peer: PEER, for: '367d' }), /DurationError: --for: expected a duration e\.g\. .* \(1s \.\. 366d\); got "367d"$/);
    assert.throws(() => peerCaptureParams({ peer: PEER, full: true, for: '8d' }), /DurationError: --for: expected a duration e\.g\. .* \(1s \.\. 7d\); got "8d"$/);
    assert.equal(peerCaptureParams({ peer: PEER, full: true, for: '7d' }).forMs, 7 * DAY);
  });
});
