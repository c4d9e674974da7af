// Mocha root hook plugin for parallel runs: each worker runs one test file per root suite, so a
// root beforeAll/afterAll pair brackets that file (its hooks included). With
// MEERKAT_TEST_CLOCK=<path> each file appends {file, pid, start, end} (epoch ms) there, which the
// timing reporter (mocha-timing-reporter.cjs) turns into per-file wall times. Only loaded by
// scripts/run-tests.mjs for the parallel phase: in a serial run root hooks bracket the whole run.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

let started = 0;

function fileOf(suite) {
  for (const s of suite.suites) if (s.file) return s.file;
  for (const t of suite.tests) if (t.file) return t.file;
  return null;
}

exports.mochaHooks = {
  beforeAll() {
    started = Date.now();
  },
  afterAll() {
    const out = process.env.MEERKAT_TEST_CLOCK;
    const root = this.test && this.test.parent;
    const file = root ? fileOf(root) : null;
    if (!out || !file) return;
    const line = { file: path.relative(process.cwd(), file), pid: process.pid, start: started, end: Date.now() };
    fs.appendFileSync(out, JSON.stringify(line) + '\n');
  },
};
