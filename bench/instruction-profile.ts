// Instructions a node command executes, by function and by kind of work, counted by callgrind:
// numbers that repeat from run to run (within ~0.5 %), where CPU times on a shared VM swing by
// 30-50 %. So a change of 1-2 % in replay's or import's work can be seen at all.
//   node dist/bench/instruction-profile.js [--label L] [--top N] [--packets N] [--json FILE] [--annotate FUNCTION] -- SCRIPT.js [ARGS...]
//   node dist/bench/instruction-profile.js --compare A.json B.json [--top N]
// The script runs as `valgrind --tool=callgrind node --single-threaded --perf-basic-prof SCRIPT
// ARGS`: --single-threaded makes V8 compile and collect garbage on the main thread, in an order
// fixed by the work (with background threads, when a compilation finishes moved the counts by
// ~5-30 % between runs of the same build); --perf-basic-prof writes the map that names V8's
// generated code. Both change what is measured a little (no concurrent compiling or marking):
// the counts compare builds and configurations, they are not the command's CPU time.
// --annotate FUNCTION also prints, for each optimized version of that function (its name as V8
// knows it: a minified bundle's short name), its hottest machine instructions with their counts
// and the source text they were compiled from (node's --print-opt-code listing).
// Needs valgrind (apt install valgrind; scripts/setup.sh installs it). A run under callgrind is
// ~50 times slower than the command: a 300,000-packet replay takes about a minute.
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { CallgrindReader, codeRange, formatAnnotated, formatComparison, formatProfile, parseOptimizedCode, parsePerfMap, type InstructionProfile } from './callgrind-profile.js';

export interface ProfileRun {
  profile: InstructionProfile;
  /** with `annotate`: each optimized version of that function, its hottest instructions */
  annotated: string[];
  /** the command's exit status under valgrind */
  status: number;
  /** the command's process id (node wrote its perf map as /tmp/perf-PID.map; removed) */
  pid: number;
  stdout: string;
  stderr: string;
}

/** Why valgrind cannot run here, or null when it can. */
export function valgrindMissing(): string | null {
  const r = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  return r.error !== undefined || r.status !== 0 ? 'valgrind not found (apt install valgrind)' : null;
}

/**
 * Runs `node --single-threaded --perf-basic-prof script args` under callgrind and reads its
 * counts. NODE_EXTRA_CA_CERTS is left out of the command's environment unless `env` is given,
 * as the launchers leave it out of import and replay (node would parse the bundle at start-up).
 */
export async function profileNodeScript(script: string, args: readonly string[], label: string,
  opts: { nodeFlags?: readonly string[]; env?: NodeJS.ProcessEnv; annotate?: string; top?: number; packets?: number } = {}): Promise<ProfileRun> {
  const missing = valgrindMissing();
  if (missing !== null) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-callgrind-'));
  let mapPath: string | undefined;
  const env = opts.env ?? { ...process.env };
  if (opts.env === undefined) delete env.NODE_EXTRA_CA_CERTS;
  try {
    const out = join(dir, 'callgrind.out');
    // counts per instruction address (not per line), names and positions written out in full:
    // the reader attributes each address itself (callgrind-profile.ts says why)
    const run = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, `--log-file=${join(dir, 'valgrind.%p.log')}`,
      '--dump-instr=yes', '--dump-line=no', '--compress-strings=no', '--compress-pos=no',
      process.execPath, '--single-threaded', '--perf-basic-prof',
      // the optimized code of one function, printed with its addresses (on stdout) to annotate it
      ...(opts.annotate !== undefined ? ['--print-opt-code', `--print-opt-code-filter=${opts.annotate}`] : []),
      ...(opts.nodeFlags ?? []), script, ...args],
    { encoding: 'utf8', env, maxBuffer: 256 * 1024 * 1024 });
    if (run.error !== undefined) throw run.error;
    // valgrind names its log after the pid: the pid node wrote its perf map under
    const log = readdirSync(dir).find((f) => /^valgrind\.\d+\.log$/.test(f));
    if (log === undefined) throw new Error(`valgrind wrote no log (exit ${run.status ?? 'none'}): ${run.stderr.slice(-500)}`);
    const pid = /^valgrind\.(\d+)\.log$/.exec(log)![1]!;
    mapPath = `/tmp/perf-${pid}.map`;
    let mapText = '';
    try { mapText = readFileSync(mapPath, 'utf8'); } catch { /* nothing named: generated code shows as (JIT code) */ }
    const listings = opts.annotate !== undefined ? parseOptimizedCode(run.stdout).filter((c) => c.name === opts.annotate) : [];
    const reader = new CallgrindReader(parsePerfMap(mapText), listings.map(codeRange));
    const lines = createInterface({ input: createReadStream(out, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const l of lines) reader.line(l);
    const annotated = listings.map((c) => formatAnnotated(c, reader.addressCounts, opts.top ?? 40, opts.packets ?? 0));
    return { profile: reader.result(label), annotated, status: run.status ?? -1, pid: Number(pid), stdout: run.stdout, stderr: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    // the map node wrote for this run (only its own: profiles may run side by side; a child
    // process the command starts writes one of its own, which stays)
    if (mapPath !== undefined) rmSync(mapPath, { force: true });
  }
}

const USAGE = 'usage: instruction-profile [--label L] [--top N] [--packets N] [--json FILE] [--annotate FUNCTION] -- SCRIPT.js [ARGS...]\n' +
  '       instruction-profile --compare A.json B.json [--top N]';

async function main(): Promise<void> {
  const dash = process.argv.indexOf('--');
  const own = dash >= 0 ? process.argv.slice(2, dash) : process.argv.slice(2);
  const command = dash >= 0 ? process.argv.slice(dash + 1) : [];
  const { values, positionals } = parseArgs({
    args: own, allowPositionals: true,
    options: {
      label: { type: 'string' }, top: { type: 'string' }, packets: { type: 'string' }, json: { type: 'string' }, compare: { type: 'boolean' },
      annotate: { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help === true) { process.stdout.write(USAGE + '\n'); return; }
  const top = values.top !== undefined ? Number(values.top) : 25;
  const packets = values.packets !== undefined ? Number(values.packets) : 0;
  if (!Number.isInteger(top) || top < 1 || !Number.isInteger(packets) || packets < 0) throw new UsageError('--top and --packets take whole numbers');
  if (values.compare === true) {
    if (positionals.length !== 2) throw new UsageError(USAGE);
    const [a, b] = positionals.map((f) => JSON.parse(readFileSync(f, 'utf8')) as InstructionProfile);
    process.stdout.write(formatComparison(a!, b!, top) + '\n');
    return;
  }
  if (command.length === 0 || positionals.length > 0) throw new UsageError(USAGE);
  const [script, ...args] = command;
  process.stderr.write(`instruction-profile: running ${script} under callgrind (about 50 times slower than without)...\n`);
  const run = await profileNodeScript(script!, args, values.label ?? script!,
    { ...(values.annotate !== undefined ? { annotate: values.annotate } : {}), top, packets });
  if (run.status !== 0) {
    process.stderr.write(`instruction-profile: the command exited with ${run.status}; its counts follow all the same\n${run.stderr.slice(-2000)}`);
    process.exitCode = 1;
  }
  process.stdout.write(formatProfile(run.profile, top, packets) + '\n');
  if (values.annotate !== undefined) {
    process.stdout.write(run.annotated.length > 0 ? run.annotated.join('\n') + '\n'
      : `no optimized code named ${values.annotate} was printed (V8 did not optimize it, or the name is another)\n`);
  }
  if (values.json !== undefined) writeFileSync(values.json, JSON.stringify(run.profile) + '\n');
}

class UsageError extends Error {}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`instruction-profile: ${(e as Error).message}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  });
}
