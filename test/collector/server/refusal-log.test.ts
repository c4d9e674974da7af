import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { RefusalLog } from '../../../collector/server/refusal-log.js';
import type { Logger } from '../../../shared/log.js';
import { strictLogLines } from '../../helpers/json-lines.js';

function sink(): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  let text = '';
  const out = new Writable({ write(c: Buffer, _e, cb) { text += c.toString(); cb(); } });
  return { log: pino({ base: null, timestamp: false }, out), lines: () => strictLogLines(text).lines };
}

describe('RefusalLog', () => {
  it('logs the first refusals of a source, then sums up the rest in one line per source', () => {
    const s = sink();
    const r = new RefusalLog(s.log, 'test', { perSource: 3, intervalMs: 3_600_000 });
    for (let i = 0; i < 100; i++) r.refused('10.0.0.1', i % 2 ? 'a' : 'b', { remote: '10.0.0.1', i }, 'refused');
    r.refused('10.0.0.2', 'a', { remote: '10.0.0.2' }, 'refused');
    assert.equal(s.lines().length, 4, 'three of the first source, one of the second');
    r.close();
    const lines = s.lines();
    assert.equal(lines.length, 5);
    assert.deepEqual(lines[4], { level: 40, source: '10.0.0.1', suppressed: 97, logged: 3, byReason: { a: 49, b: 48 }, msg: 'test: repeated refusals not logged one by one' });
  });

  it('bounds the lines per interval however many sources there are', () => {
    const s = sink();
    const r = new RefusalLog(s.log, 'test', { perSource: 2, perInterval: 10, summaries: 3, intervalMs: 3_600_000 });
    for (let src = 0; src < 50; src++) for (let i = 0; i < 4; i++) r.refused(`s${src}`, 'x', {}, 'refused');
    assert.equal(s.lines().length, 10);
    r.flush();
    const lines = s.lines();
    assert.equal(lines.length, 10 + 3 + 1);
    assert.deepEqual(lines[13], { level: 40, sources: 47, suppressed: 200 - 10 - lines.slice(10, 13).reduce((n, l) => n + (l.suppressed as number), 0), msg: 'test: repeated refusals of further sources not logged one by one' });
    // a new interval starts afresh
    r.refused('s0', 'x', {}, 'refused');
    assert.equal(s.lines().length, 15);
    r.close();
  });
});
