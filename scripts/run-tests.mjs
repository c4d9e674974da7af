// The whole test suite (`npm test`, after the build): dist/test/**/*.test.js in two phases.
//  1. parallel: every file not named in test/test-groups.json's "alone", in mocha --parallel
//     (--jobs, default 2: docs/testing.md says why) - the files listed under "first" start
//     first (the slowest: they decide when the phase ends), the rest in path order;
//  2. alone: the files that take something of the whole machine (a package installed
//     system-wide, a measurement of time or rate against the machine), one after the other with
//     nothing else running.
// Why a file is "alone" is written beside it in test/test-groups.json; docs/testing.md says how
// to choose. Exit code: 0 when both phases pass, else 1 (2 for a wrong group file or flag).
//   node scripts/run-tests.mjs [--jobs N] [--serial] [mocha flags, e.g. --grep x] [dist/test/....test.js ...]
// Files named: only those (in their phases).
// --serial (or MEERKAT_TEST_JOBS=1): everything in one serial mocha, in path order, as before.
// Each phase prints mocha's spec output and its slowest files (scripts/mocha-timing-reporter.cjs);
// MEERKAT_TEST_TIMES=<dir> keeps each phase's per-file figures there as JSON.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const require = createRequire(import.meta.url);
const mochaBin = require.resolve('mocha/bin/mocha.js');
const reporter = join(root, 'scripts', 'mocha-timing-reporter.cjs');
const clockPlugin = join(root, 'scripts', 'mocha-file-clock.cjs');

function usage(msg) {
  process.stderr.write(`run-tests: ${msg}\n`);
  process.exit(2);
}

// ---- flags: ours, the rest goes to mocha
const passThrough = [];
let jobs = Number(process.env.MEERKAT_TEST_JOBS ?? 2);
let serial = false;
const only = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--serial') serial = true;
  else if (a === '--jobs' || a === '-j') jobs = Number(argv[++i]);
  else if (a.startsWith('--jobs=')) jobs = Number(a.slice(7));
  else if (a.endsWith('.test.js') && !a.startsWith('-')) only.push(a.replace(/^\.\//, ''));
  else passThrough.push(a);
}
if (!Number.isInteger(jobs) || jobs < 1) usage('--jobs needs a whole number >= 1');
if (jobs === 1) serial = true;

// ---- the files
const distTest = join(root, 'dist', 'test');
if (!existsSync(distTest)) usage('dist/test is missing: build first (npm run build)');
const all = readdirSync(distTest, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.js'))
  .map((f) => join('dist', 'test', f))
  .sort()
  .filter((f) => !only.length || only.includes(f));
if (!all.length) usage(`no test files${only.length ? ` among ${only.join(' ')}` : ''}`);

/** test/x/y.test.ts (as written in the group file) -> dist/test/x/y.test.js */
const compiled = (src) => src.replace(/^test\//, 'dist/test/').replace(/\.ts$/, '.js');
const groupsFile = join(root, 'test', 'test-groups.json');
const groups = JSON.parse(readFileSync(groupsFile, 'utf8'));
const named = (key) => Object.keys(groups[key] ?? {}).filter((k) => !k.startsWith('//'));
const aloneAll = named('alone').map(compiled);
const firstAll = named('first').map(compiled);
const built = new Set(readdirSync(distTest, { recursive: true }).map((f) => join('dist', 'test', String(f))));
const stale = [...aloneAll, ...firstAll].filter((f) => !built.has(f));
if (stale.length) usage(`test/test-groups.json names files that are not built test files: ${stale.join(', ')}`);
const both = firstAll.filter((f) => aloneAll.includes(f));
if (both.length) usage(`test/test-groups.json lists files both "first" and "alone": ${both.join(', ')}`);
const alone = aloneAll.filter((f) => all.includes(f));
const first = firstAll.filter((f) => all.includes(f));

const mochaConfig = JSON.parse(readFileSync(join(root, '.mocharc.json'), 'utf8'));
const common = ['--no-config', '--timeout', String(mochaConfig.timeout ?? 60000), '--reporter', reporter, ...(mochaConfig.exit ? ['--exit'] : []), ...passThrough];

const keepDir = process.env.MEERKAT_TEST_TIMES;
if (keepDir) mkdirSync(keepDir, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'meerkat-test-run-'));

/** Runs one mocha; resolves with its exit code and its per-file figures. */
function mocha(name, args, files) {
  const times = keepDir ? join(resolve(keepDir), `${name}.json`) : join(work, `${name}.json`);
  const clock = join(work, `${name}.clock.jsonl`);
  return new Promise((done) => {
    const child = spawn(process.execPath, [mochaBin, ...common, ...args, ...files], {
      cwd: root,
      stdio: 'inherit',
      // MEERKAT_TEST_PACKAGES: packages built once for the whole run (test/installer/built-packages.ts)
      env: { ...process.env, MEERKAT_TEST_TIMES: times, MEERKAT_TEST_CLOCK: clock, MEERKAT_TEST_PACKAGES: join(work, 'packages') },
    });
    child.on('exit', (code, signal) => {
      let figures = null;
      try { figures = JSON.parse(readFileSync(times, 'utf8')); } catch { /* mocha died before its end */ }
      done({ name, code: code ?? 1, signal, figures });
    });
  });
}

function count(r) {
  const files = r.figures?.files ?? [];
  const sum = (k) => files.reduce((s, f) => s + f[k], 0);
  return { tests: sum('tests'), passed: sum('passed'), failed: sum('failed'), pending: sum('pending') };
}

const t0 = Date.now();
const results = [];
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { stopping = true; });
if (serial) {
  results.push(await mocha('serial', [], all));
} else {
  const rest = all.filter((f) => !alone.includes(f) && !first.includes(f));
  const parallelFiles = [...first, ...rest];
  process.stdout.write(`\n  run-tests: ${parallelFiles.length} files in parallel (--jobs ${jobs}), then ${alone.length} alone (test/test-groups.json)\n`);
  const p = await mocha('parallel', ['--parallel', '--jobs', String(jobs), '--require', clockPlugin], parallelFiles);
  results.push(p);
  // interrupted (Ctrl-C reaches mocha too, or mocha alone was signalled): no second phase
  if (alone.length && !stopping && !p.signal) {
    process.stdout.write(`\n  run-tests: ${alone.length} files alone, one after the other\n`);
    results.push(await mocha('alone', [], alone));
  }
}
rmSync(work, { recursive: true, force: true });

const min = (ms) => `${(ms / 60000).toFixed(1)} min`;
let failed = false;
process.stdout.write('\n  run-tests summary\n');
for (const r of results) {
  const c = count(r);
  const took = r.figures ? min(r.figures.totalMs) : '?';
  process.stdout.write(`  ${r.name.padEnd(9)} ${c.passed} passing, ${c.failed} failing, ${c.pending} pending, ${took}, mocha exit ${r.signal ?? r.code}\n`);
  if (r.code !== 0 || r.signal || !r.figures) failed = true;
}
process.stdout.write(`  whole suite ${min(Date.now() - t0)}: ${failed ? 'FAILED' : 'passed'}\n\n`);
process.exit(failed ? 1 : 0);
