// The instruction profiler (bench/instruction-profile.ts, bench/callgrind-profile.ts): callgrind's
// function list read into categories, V8's generated code named through node's perf map, and a
// real node run under callgrind in which a hot JavaScript function is found by name.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { categorize, codeRange, comparableName, formatAnnotated, formatComparison, parseOptimizedCode, formatProfile, lookupPerfMap, parsePerfMap, readCallgrind } from '../../bench/callgrind-profile.js';
import { profileNodeScript, valgrindMissing } from '../../bench/instruction-profile.js';
import { nodeScriptArgs } from '../helpers/node-script.js';
import { skipBecause } from '../helpers/skip.js';

// a callgrind file as valgrind 3.19 writes it with --dump-instr=yes --dump-line=no
// --compress-strings=no --compress-pos=no, trimmed
const CALLGRIND = `# callgrind format
version: 1
creator: callgrind-3.19.0
positions: instr
events: Ir
summary: 1000000

ob=???
fl=???
fn=0x000000000d071280
0xd071280 200000
0xd071290 60000
cob=/usr/bin/node
cfi=???
cfn=v8::internal::compiler::GraphReducer::ReduceTop()
calls=3 0x1000
0xd071298 999999
0xd0712a0 40000
fn=0x000000000d071280'2
0xd071284 40000

ob=/usr/bin/node
fl=???
fn=Builtins_InterpreterEntryTrampoline'2
0x18c5000 30000
0xd072010 60000
fn=v8::internal::compiler::GraphReducer::ReduceTop()
0x1000 150000
fn=Builtins_LoadIC
0x18c6000 90000
fn=v8::internal::Scavenger::ScavengeObject()
0x2000 50000
fn=ossl_lh_strcasehash
0x3000 50000

ob=/usr/lib/x86_64-linux-gnu/libc.so.6
fl=./malloc/./malloc/malloc.c
fn=_int_free
0x4000 120000

ob=/opt/meerkat/node_modules/better-sqlite3/build/Release/better_sqlite3.node
fl=???
fn=sqlite3VdbeExec
0x5000 80000

ob=???
fl=???
fn=0x000000000e000000
0xe000000 30000

totals: 1000000
`;

const MAP = [
  'd071000 400 JS:*old file:///repo/dist/a.js:1:1', // an earlier code object over the same range
  'd071200 200 JS:*decodeFastLane file:///repo/dist/shared/decode/fast-lane.js:45:31',
  'd072000 100 JS:^cold file:///repo/dist/a.js:9:1',
].join('\n');

describe('instruction profile', function () {
  it('names generated code by the latest code object covering the address', () => {
    const map = parsePerfMap(MAP + '\nnot a line\n');
    assert.equal(map.length, 3);
    assert.match(lookupPerfMap(map, 0xd071280)!.name, /decodeFastLane/);
    assert.match(lookupPerfMap(map, 0xd071100)!.name, /old/);
    assert.match(lookupPerfMap(map, 0xd072050)!.name, /cold/);
    assert.equal(lookupPerfMap(map, 0xd072100), null);
    assert.equal(lookupPerfMap(map, 0x1000), null);
  });

  it('sums each instruction under the code that holds it, by address; a call\'s inclusive cost is not counted twice', () => {
    const p = readCallgrind(CALLGRIND, parsePerfMap(MAP), 'fixture');
    assert.equal(p.total, 1_000_000);
    // the lane's own lines, its second recursion level, and nothing of the call's 999,999
    assert.deepEqual(p.functions[0], { name: 'JS:*decodeFastLane fast-lane.js:45:31', category: 'js-optimized', ir: 340_000 });
    // code entered by a jump (on-stack replacement) is filed by callgrind under the trampoline:
    // by address it is the generated code's own
    assert.equal(p.functions.find((f) => f.name.startsWith('JS:^cold'))!.ir, 60_000);
    assert.equal(p.functions.find((f) => f.name === 'Builtins_InterpreterEntryTrampoline')!.ir, 30_000);
    assert.equal(p.categories['js-optimized'], 340_000);
    assert.equal(p.categories['js-baseline'], 60_000);
    assert.equal(p.categories.builtins, 120_000);
    assert.equal(p.categories.turbofan, 150_000);
    assert.equal(p.categories.libc, 120_000);
    assert.equal(p.categories.sqlite, 80_000);
    assert.equal(p.categories['jit-unnamed'], 30_000);
    assert.equal(p.categories.gc, 50_000);
    assert.equal(p.categories.openssl, 50_000);
    assert.equal(Object.values(p.categories).reduce((a, b) => a + b, 0), 1_000_000);
    const text = formatProfile(p, 3, 1000);
    assert.match(text, /fixture: 0\.0010 G instructions/);
    assert.match(text, /340 \/packet .*decodeFastLane/);
  });

  it('refuses a file without per-instruction counts', () => {
    assert.throws(() => readCallgrind('hello\n', [], 'x'), /no instruction counts/);
    assert.throws(() => readCallgrind('positions: instr line\nfn=f\n0x10 1 5\n', [], 'x'), /--dump-instr=yes --dump-line=no/);
  });

  it('reads node\'s optimized code listing and puts each instruction\'s count beside its source', () => {
    const listing = ['noise before', '--- Raw source ---', '(n) { let s = 0; for (let i = 0; i < n; i++) s += i; return s; }',
      '', '--- Optimized code ---', 'optimization_id = 1', 'source_position = 100', 'kind = TURBOFAN', 'name = hot',
      'Instructions (size = 12)', '0xd045b80     0  55             push rbp', '0xd045b81     1  4889e5         REX.W movq rbp,rsp',
      '0xd045b84     4  ffc0           incl rax', '', 'Source positions:', ' pc offset  position', '         0       100',
      '         4       133', '         5       900', '', '--- End code ---', 'noise after'].join('\n');
    const [code] = parseOptimizedCode(listing);
    assert.equal(code!.name, 'hot');
    assert.equal(code!.instructions.length, 3);
    assert.deepEqual(codeRange(code!), [0xd045b80, 0xd045b84 + 16]);
    const text = formatAnnotated(code!, new Map([[0xd045b80, 10], [0xd045b84, 5000]]), 5, 10);
    assert.match(text, /^TURBOFAN hot: 3 instructions of code, 0\.0 M executed\s+501\.0\/pkt/);
    // the count of the instruction at offset 4, and the function's text at its position (133 - 100)
    assert.match(text, /0\.01 M\s+500\.0\/pkt\s+\+0004\s+incl rax\s+i < n; i\+\+\) s \+= i; return s;/);
    assert.equal(parseOptimizedCode('nothing here').length, 0);
  });

  it('puts V8, node and library functions in their categories', () => {
    assert.equal(categorize('v8::internal::compiler::Scheduler::ScheduleLate()', '/usr/bin/node'), 'turbofan');
    assert.equal(categorize('v8::internal::Scanner::Next()', '/usr/bin/node'), 'parse-compile');
    assert.equal(categorize('heap::base::SlotCallbackResult v8::internal::Scavenger::ScavengeObject<x>(y)', '/usr/bin/node'), 'gc');
    assert.equal(categorize('v8::internal::LookupIterator::State()', '/usr/bin/node'), 'v8-other');
    assert.equal(categorize('BrotliCompressFragmentTwoPassImpl16.constprop.0', '/usr/bin/node'), 'compression');
    assert.equal(categorize('StoreCommands', '/usr/bin/node'), 'compression');
    assert.equal(categorize('JS:^parse dns.ts', ''), 'js-baseline');
    assert.equal(categorize('memcpy', '/usr/lib/x86_64-linux-gnu/libc.so.6'), 'libc');
  });

  it('compares two profiles category by category and names the functions that moved', () => {
    const a = readCallgrind(CALLGRIND, parsePerfMap(MAP), 'base');
    const b = readCallgrind(CALLGRIND.replace(/: 1000000/g, ': 900000').replace('0xd071280 200000', '0xd071280 100000'), parsePerfMap(MAP), 'new');
    const text = formatComparison(a, b, 2);
    assert.match(text, /base -> new: 0\.0010 G -> 0\.0009 G \(-10\.00 %\)/);
    assert.match(text, /js-optimized\s+0\.3\s+0\.2 -0\.1/);
    assert.match(text, /-0\.1\s+JS:\*decodeFastLane fast-lane\.js$/m);
    // another build's bundle: another content hash, other positions, the same function
    assert.equal(comparableName('JS:*add chunk-NW4OK466.js:2:58885'), comparableName('JS:*add chunk-6UIHVQ2S.js:2:58796'));
    assert.equal(comparableName('v8::internal::Scanner::Next()'), 'v8::internal::Scanner::Next()');
  });

  describe('under callgrind', function () {
    this.timeout(180_000);
    let dir: string;
    before(function () {
      const missing = valgrindMissing();
      if (missing !== null) skipBecause(this, missing);
    });
    beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'meerkat-iprof-test-')); });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('finds the script\'s hot function, optimized and by name, and leaves no perf map behind', async () => {
      const script = join(dir, 'hot.js');
      // hot enough for TurboFan (millions of iterations), and nothing else of the sort in it
      writeFileSync(script, 'function meerkatHotLoop(n) { let s = 0; for (let i = 0; i < n; i++) s = (s + i * 7) | 0; return s; }\n' +
        'let t = 0; for (let k = 0; k < 40; k++) t ^= meerkatHotLoop(100000); if (process.argv[2] === "fail") process.exit(3); console.log(t);\n');
      const run = await profileNodeScript(script, [], 'hot');
      assert.equal(run.status, 0);
      const hot = run.profile.functions.filter((f) => f.name.includes('meerkatHotLoop'));
      const optimized = hot.filter((f) => f.category === 'js-optimized').reduce((a, f) => a + f.ir, 0);
      // 4,000,000 iterations of a loop body of a few instructions
      assert.ok(optimized > 4_000_000, `optimized meerkatHotLoop ran ${optimized} instructions`);
      assert.ok(run.profile.total > optimized);
      assert.ok(run.profile.categories['parse-compile'] > 0 && run.profile.categories.turbofan > 0);
      assert.ok(run.pid > 0);
      assert.equal(existsSync(`/tmp/perf-${run.pid}.map`), false);
      // a failing command is reported with its status, counts and all
      const failed = await profileNodeScript(script, ['fail'], 'fail');
      assert.equal(failed.status, 3);
    });

    it('the command line prints the profile and an annotated function, and refuses a call without a command', () => {
      const script = join(dir, 'hot.js');
      writeFileSync(script, 'function meerkatHotLoop(n) { let s = 0; for (let i = 0; i < n; i++) s = (s + i * 7) | 0; return s; }\n' +
        'let t = 0; for (let k = 0; k < 40; k++) t ^= meerkatHotLoop(100000); console.log(t);\n');
      const json = join(dir, 'p.json');
      const cli = nodeScriptArgs('../../bench/instruction-profile', import.meta.url);
      const r = spawnSync(process.execPath, [...cli, '--label', 'tiny', '--top', '3', '--json', json, '--annotate', 'meerkatHotLoop', '--', script],
        { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^tiny: \d+\.\d{4} G instructions/);
      assert.match(r.stdout, /top 3 functions/);
      // the loop's optimized code, its instructions counted (millions) beside the loop's source
      assert.match(r.stdout, /TURBOFAN meerkatHotLoop: \d+ instructions of code, [1-9][\d.]* M executed/);
      assert.match(r.stdout, /\+[0-9a-f]{4} .*i \* 7/);
      assert.ok(existsSync(json));
      const cmp = spawnSync(process.execPath, [...cli, '--compare', json, json], { encoding: 'utf8' });
      assert.equal(cmp.status, 0, cmp.stderr);
      assert.match(cmp.stdout, /tiny -> tiny: .* \(0\.00 %\)/);
      const bad = spawnSync(process.execPath, [...cli, '--top', '3'], { encoding: 'utf8' });
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /usage: instruction-profile/);
    });
  });
});
