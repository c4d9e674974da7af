// Log lines are JSON objects with each key once: a child logger for a part of a component
// (the agent's control side, its response router) must not repeat `component`, which pino
// would write twice. The agent's real response router is run against a logger whose output
// is parsed strictly; the collector's lines are checked the same way by every test that
// runs the collector as a process (test/transport/processes.ts).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { childLogger, type Logger } from '../../shared/log.js';
import { createResponseRouter } from '../../agent/watchlist/response-command-router.js';
import { duplicateKeys, strictLogLines } from '../helpers/json-lines.js';

/** A pino logger like the services' (JSON lines, pid bound) writing into a string. */
function memoryLogger(): { log: Logger; text: () => string } {
  let text = '';
  const out = new Writable({ write(chunk: Buffer, _enc, cb) { text += chunk.toString(); cb(); } });
  return { log: pino({ base: { pid: process.pid } }, out), text: () => text };
}

describe('log lines', () => {
  it('duplicateKeys finds a repeated key at any depth, and only then', () => {
    assert.deepEqual(duplicateKeys('{"a":1,"b":{"c":2,"c":3},"a":4}'), ['c', 'a']);
    assert.deepEqual(duplicateKeys('{"a":"\\"a\\":","b":[{"a":1},{"a":2}]}'), []);
  });

  it('childLogger keeps each key once, two levels down', () => {
    const m = memoryLogger();
    const agent = m.log.child({ component: 'agent' });
    const control = childLogger(agent, 'control');
    control.info({ kind: 'x' }, 'one');
    childLogger(control, 'capture').warn('two');
    childLogger(m.log, 'collector').info('three');
    const { lines } = strictLogLines(m.text());
    assert.deepEqual(lines.map((l) => [l.component, l.part, l.subpart, l.msg]), [
      ['agent', 'control', undefined, 'one'],
      ['agent', 'control', 'capture', 'two'],
      ['collector', undefined, undefined, 'three'],
    ]);
  });

  it("the agent's response router logs under the agent's component with its part, no key twice", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meerkat-log-'));
    try {
      // a damaged replay record: the router says it will refuse response commands
      mkdirSync(join(dir, 'control'));
      writeFileSync(join(dir, 'control', 'response-replay.json'), '{not json');
      const m = memoryLogger();
      createResponseRouter({
        stateDir: dir,
        agentId: '3b1f6a52-9c1e-4d6f-8a2b-0c4d5e6f7a8b',
        operator: async () => ({ ok: true }),
        control: { capture: {} as never, interdiction: null, retro: null },
        log: m.log.child({ component: 'agent' }),
        keys: () => ({ keys: new Map(), problems: [] }),
      });
      const { lines } = strictLogLines(m.text());
      assert.ok(lines.length > 0, 'the router logged');
      assert.ok(lines.every((l) => l.component === 'agent' && l.part === 'responses'), m.text());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
