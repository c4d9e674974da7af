// `meerkat-agent status`: a running agent, one stopped cleanly, one gone without a word (its
// status stopped aging, its process is gone), readable lines instead of raw JSON, and exit 1
// when it does not run - from status files as the running agent writes them.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerStatusCommand, runState, statusText } from '../../../agent/commands/status.js';
import { runCommand } from '../../helpers/cli-run.js';

function status(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    agentId: '3b1f6a52-9c1e-4d6f-8a2b-0c4d5e6f7a8b', collector: 'https://192.0.2.10:8443', updated: new Date().toISOString(),
    pid: process.pid, startedAt: new Date(Date.now() - 3_600_000).toISOString(), stoppedAt: null,
    capture: { packetsSeen: 1200, packetsKept: 1100, excludedTotal: 100, malformed: 0, kernelDrops: 0, dumps: 7, dumpBytes: 40960, snapLen: 0 },
    spool: { files: 1, bytes: 2048, droppedDumps: 0, corrupt: 0 },
    shipper: { connected: true, connects: 1, acked: 6, rejected: 0, retries: 0, lastError: null, lastRefusal: null },
    runtime: { profile: 'lean', node: 'v20' }, memory: { rssBytes: 60 << 20, heapTotalBytes: 20 << 20, heapUsedBytes: 10 << 20 },
    ...over,
  };
}

describe('meerkat-agent status', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'mk-status-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('running, stopped, or gone without a word', () => {
    const now = Date.now();
    assert.equal(runState({ updated: new Date(now - 2000).toISOString(), pid: 1 }, now, () => true), 'running');
    assert.equal(runState({ updated: new Date(now - 2000).toISOString(), pid: 1, stoppedAt: new Date().toISOString() }, now, () => true), 'stopped');
    assert.equal(runState({ updated: new Date(now - 60_000).toISOString(), pid: 1 }, now, () => true), 'not-responding', 'stale');
    assert.equal(runState({ updated: new Date(now - 2000).toISOString(), pid: 1 }, now, () => false), 'not-responding', 'process gone');
  });

  it('readable lines (no raw JSON), --json with the state; exit 1 when it does not run', async () => {
    const text = statusText(status() as never, 'running', Date.now());
    assert.match(text, /^agent 3b1f6a52-\S+: running \(pid \d+, up 60 min\); status 0 s old\n/);
    assert.match(text, /collector https:\/\/192\.0\.2\.10:8443: connected; 6 dumps acknowledged/);
    assert.match(text, /capture: 1200 packets seen, 1100 kept, 100 excluded, 0 malformed, kernel drops 0; 7 dumps \(40\.0 KiB\)/);
    assert.match(text, /spool: 1 dump\(s\) waiting \(2\.0 KiB\), 0 dropped/);
    assert.doesNotMatch(text, /[{}]/);
    const state = join(dir, 'state');
    mkdirSync(state);
    writeFileSync(join(state, 'status.json'), JSON.stringify(status()));
    const ok = await runCommand(registerStatusCommand, ['status', '--state-dir', state]);
    assert.equal(ok.code, 0, ok.err);
    writeFileSync(join(state, 'status.json'), JSON.stringify(status({ stoppedAt: new Date().toISOString() })));
    const stopped = await runCommand(registerStatusCommand, ['status', '--state-dir', state]);
    assert.equal(stopped.code, 1);
    assert.match(stopped.out, /NOT RUNNING \(stopped at /);
    assert.match(stopped.out, /collector \S+: was connected/);
    writeFileSync(join(state, 'status.json'), JSON.stringify(status({ updated: new Date(Date.now() - 120_000).toISOString(), pid: 2 ** 22 + 12345 })));
    const gone = await runCommand(registerStatusCommand, ['status', '--state-dir', state, '--json']);
    assert.equal(gone.code, 1);
    assert.equal((JSON.parse(gone.out) as { state: string }).state, 'not-responding');
    const none = await runCommand(registerStatusCommand, ['status', '--state-dir', join(dir, 'never')]);
    assert.equal(none.code, 1);
    assert.match(none.err, /the agent is not running: no status at .*status\.json \(it has not run with this state directory\)/);
  });
});
