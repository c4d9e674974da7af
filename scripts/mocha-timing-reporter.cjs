// Mocha reporter: mocha's own `spec` output, plus how long each test file took. At the end it
// prints the slowest files, and with MEERKAT_TEST_TIMES=<path> it writes every file's figures
// as JSON (to compare runs and to keep the test groups in test/groups.json balanced).
// A file's wall time runs from its first suite starting to its last suite ending (hooks
// included). In a parallel run the events of a file arrive together when its worker is done, so
// the wall times come from the root hook plugin mocha-file-clock.cjs (MEERKAT_TEST_CLOCK), or
// are left out. CommonJS: mocha require()s reporters.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');

const { Spec } = Mocha.reporters;
const C = Mocha.Runner.constants;

/** file -> {pid, start, end} from mocha-file-clock.cjs's lines (none: empty) */
function readClock(file) {
  const m = new Map();
  if (!file || !fs.existsSync(file)) return m;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const c = JSON.parse(line);
      m.set(c.file, c);
    } catch {
      // a line cut short by a worker that died: that file has no wall time
    }
  }
  return m;
}

class TimingSpec extends Spec {
  constructor(runner, options) {
    super(runner, options);
    const files = new Map();
    const entry = (file) => {
      const key = path.relative(process.cwd(), file ?? '(no file)');
      let e = files.get(key);
      if (!e) {
        e = { file: key, firstStart: 0, lastEnd: 0, testMs: 0, tests: 0, passed: 0, failed: 0, pending: 0 };
        files.set(key, e);
      }
      return e;
    };
    const started = Date.now();
    runner.on(C.EVENT_SUITE_BEGIN, (s) => {
      if (!s.file) return;
      const e = entry(s.file);
      if (!e.firstStart) e.firstStart = Date.now();
    });
    runner.on(C.EVENT_SUITE_END, (s) => {
      if (s.file) entry(s.file).lastEnd = Date.now();
    });
    runner.on(C.EVENT_TEST_PASS, (t) => {
      const e = entry(t.file);
      e.tests++;
      e.passed++;
      e.testMs += t.duration ?? 0;
    });
    runner.on(C.EVENT_TEST_FAIL, (t) => {
      const e = entry(t.file);
      // a failing hook is reported as a failure too, but it is not a test
      if (t.type === 'test') e.tests++;
      e.failed++;
      e.testMs += t.duration ?? 0;
    });
    runner.on(C.EVENT_TEST_PENDING, (t) => {
      const e = entry(t.file);
      e.tests++;
      e.pending++;
    });
    const parallel = typeof runner.isParallelMode === 'function' && runner.isParallelMode();
    runner.once(C.EVENT_RUN_END, () => {
      const clock = readClock(process.env.MEERKAT_TEST_CLOCK);
      const rows = [...files.values()].map((e) => {
        const c = clock.get(e.file);
        const wallMs = c ? c.end - c.start : !parallel && e.firstStart && e.lastEnd ? e.lastEnd - e.firstStart : null;
        return { ...e, wallMs, ...(c ? { pid: c.pid, startMs: c.start - started } : {}) };
      });
      rows.sort((a, b) => (b.wallMs ?? b.testMs) - (a.wallMs ?? a.testMs));
      const out = process.env.MEERKAT_TEST_TIMES;
      if (out) {
        fs.writeFileSync(out, JSON.stringify({ totalMs: Date.now() - started, files: rows }, null, 2) + '\n');
      }
      const top = rows.slice(0, 15);
      if (!top.length) return;
      const sec = (ms) => (ms / 1000).toFixed(1).padStart(6);
      Mocha.reporters.Base.consoleLog('\n  slowest test files (wall s, sum of test durations s):');
      for (const r of top) {
        Mocha.reporters.Base.consoleLog(`  ${r.wallMs === null ? '     -' : sec(r.wallMs)} ${sec(r.testMs)}  ${r.file}`);
      }
      Mocha.reporters.Base.consoleLog(`  whole run ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    });
  }
}

module.exports = TimingSpec;
