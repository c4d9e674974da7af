// `npm test` after the build: the compiled suite as two mocha processes side by side, so the
// suite's wall time is that of its longer half instead of the sum. The exclusive half runs what
// installs packages, drives real agents and collectors in namespaces, or measures time and rates
// (system/, installer/, agent/capture/, agent/interdiction/, collector/server/); the shared half
// runs everything else. Each half runs its files one at a time, as mocha does. The shared half's
// report is printed after the exclusive one (interleaved lines would be unreadable); the exit
// code fails when either half fails. MEERKAT_TEST_SERIAL=1 runs one mocha over everything.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const testRoot = join(root, 'dist', 'test');
const EXCLUSIVE = [/^system\//, /^installer\//, /^agent\/capture\//, /^agent\/interdiction\//, /^collector\/server\//];
const MOCHA = join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
const OPTIONS = ['--no-config', '--timeout', '60000', '--reporter', 'spec', '--exit'];

function testFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

/** Runs mocha on files; resolves with its exit code and (when buffered) its output. */
function mocha(files, buffered) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MOCHA, ...OPTIONS, ...files], { cwd: root, stdio: buffered ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    const chunks = [];
    if (buffered) {
      child.stdout.on('data', (c) => chunks.push(c));
      child.stderr.on('data', (c) => chunks.push(c));
    }
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output: Buffer.concat(chunks).toString('utf8') }));
  });
}

const files = testFiles(testRoot);
if (files.length === 0) {
  console.error(`no compiled tests under ${relative(root, testRoot)}: run the build first`);
  process.exit(1);
}
const started = Date.now();
if (process.env.MEERKAT_TEST_SERIAL === '1') {
  process.exit((await mocha(files, false)).code);
}
const isExclusive = (f) => EXCLUSIVE.some((re) => re.test(relative(testRoot, f)));
const exclusive = files.filter(isExclusive);
const shared = files.filter((f) => !isExclusive(f));
console.log(`meerkat tests: ${exclusive.length} files (system, installer, capture, interdiction, agent server) beside ${shared.length} files (the rest); the second half's report follows the first`);
const [a, b] = await Promise.all([mocha(exclusive, false), mocha(shared, true)]);
process.stdout.write(`\n==== the rest (${shared.length} files) ====\n${b.output}`);
const minutes = ((Date.now() - started) / 60000).toFixed(1);
console.log(`\nmeerkat tests: ${a.code === 0 ? 'passed' : 'FAILED'} (system and other exclusive files), ${b.code === 0 ? 'passed' : 'FAILED'} (the rest); ${minutes} min in all`);
process.exit(a.code !== 0 || b.code !== 0 ? 1 : 0);
