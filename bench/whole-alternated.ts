// Whole-process `meerkat-collector import` or `meerkat-agent replay` of one capture against
// `argus -r` on it and, when given, against another build of this repository (e.g. main,
// built apart), in alternated rounds (bench/alternated-rounds.ts): the figures are each
// round's ratios (ranges and medians). Both start through their package launchers, as users
// start them (bench/collector-command.ts, dist/agent-bundle/meerkat-agent); each import goes
// into a new database, each replay into an emptied directory. The entry points are
// bench/import-alternated.ts and bench/replay-alternated.ts.
//   node dist/bench/import-alternated.js --capture FILE --anon-key KEY [--base OTHER_REPO] [--rounds N] [--keep DIR] [--split] [--parts]
//   node dist/bench/replay-alternated.js --capture FILE --anon-key KEY [--base OTHER_REPO] [--rounds N] [--keep DIR] [--split]
// With --keep the last round's outputs stay in DIR (import: this.db and base.db, for
// bench/import-rows-check.ts; replay: this/ and base/, for `diff -r` with a fixed --agent-id).
// With --split each build also runs on the capture followed by a copy of it shifted a day
// later (classic pcap; bench/shift-capture.ts), in the same rounds: the second file's extra
// CPU is the per-packet cost of a warm process, twice the first run minus the two-file run the
// fixed cost (start-up, compilation, warm-up), per round, then their medians.
// With --parts (import) each build also runs `import --no-analyze` and `import --no-analyze
// --no-metadata` in the same rounds: what the analyzers and the metadata extraction cost
// (the differences, per round) and what the rest costs on its own (the flow core: read,
// decode, anonymize, flows, SQLite, start-up) beside argus.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../shared/util/repo-paths.js';
import { openCaptureFile } from '../shared/capture-file/index.js';
import { collectorCommand } from './collector-command.js';
import { argusCommand } from './argus-reference.js';
import { alternateRounds, cpuOf, median, roundRatios, span, type RoundCommand } from './alternated-rounds.js';
import { writeShiftedPcap } from './shift-capture.js';

export type WholeCommand = 'import' | 'replay';

interface Options {
  capture: string;
  anonKey: string;
  base?: string;
  rounds: number;
  keep?: string;
  agentId?: string;
  split: boolean;
  parts: boolean;
}

/** The shifted copy's offset: a day, so no flow of the copy meets one of the original. */
const SPLIT_SHIFT_SECONDS = 86_400;

function parse(kind: WholeCommand): Options | null {
  const usage = `usage: ${kind}-alternated --capture FILE --anon-key KEY [--base OTHER_REPO] [--rounds N] [--keep DIR] [--split]` +
    (kind === 'replay' ? ' [--agent-id UUID]' : ' [--parts]') + '\n';
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        capture: { type: 'string' }, 'anon-key': { type: 'string' }, base: { type: 'string' }, rounds: { type: 'string', default: '5' },
        keep: { type: 'string' }, 'agent-id': { type: 'string' }, split: { type: 'boolean', default: false },
        parts: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`${kind}-alternated: ${(e as Error).message}\n${usage}`);
    process.exitCode = 2;
    return null;
  }
  if (values.help === true) {
    process.stdout.write(usage);
    return null;
  }
  const rounds = Number(values.rounds);
  if (values.capture === undefined || values['anon-key'] === undefined || !Number.isSafeInteger(rounds) || rounds < 1 ||
      (kind === 'replay' && values.parts === true)) {
    process.stderr.write(usage);
    process.exitCode = 2;
    return null;
  }
  return {
    capture: values.capture, anonKey: values['anon-key'], rounds, split: values.split === true, parts: values.parts === true,
    ...(values.base !== undefined ? { base: values.base } : {}),
    ...(values.keep !== undefined ? { keep: values.keep } : {}),
    ...(values['agent-id'] !== undefined ? { agentId: values['agent-id'] } : {}),
  };
}

/**
 * The round command that runs `kind` of the build in `repo` on `capture` (one file or several, in one process), its output at `out`;
 * `importFlags`: more flags for `import` (--no-analyze, --no-metadata).
 */
export function wholeCommand(kind: WholeCommand, name: string, repo: string, out: string, capture: string | readonly string[], anonKey: string,
  agentId?: string, importFlags: readonly string[] = []): RoundCommand {
  const files = typeof capture === 'string' ? [capture] : [...capture];
  if (kind === 'import') {
    return {
      name,
      prepare: () => {
        for (const s of ['', '-wal', '-shm']) rmSync(out + s, { force: true });
        return collectorCommand(repo, ['import', ...importFlags, '--db', out, '--anon-key', anonKey, '--no-progress', ...files]);
      },
    };
  }
  return {
    name,
    prepare: () => {
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out);
      const id = agentId !== undefined ? ['--agent-id', agentId] : [];
      return { argv: [join(repo, 'dist', 'agent-bundle', 'meerkat-agent'), 'replay', '--out', out, '--anon-key', anonKey, ...id, ...files] };
    },
  };
}

function countFrames(capture: string): number {
  const r = openCaptureFile(capture);
  try {
    while (r.next() !== null);
    return r.framesRead;
  } finally {
    r.close();
  }
}

/** The round command that runs `argus -r` on `capture`, its configuration and output in `dir`. */
export function argusRoundCommand(capture: string, dir: string): RoundCommand {
  const argus = argusCommand(capture, dir);
  return { name: 'argus', prepare: () => { rmSync(argus.out, { force: true }); return { argv: argus.argv }; } };
}

/**
 * Round by round, from the CPU of one file and of it plus its shifted copy in one process: the
 * second file's extra CPU per packet (µs, a warm process) and the fixed cost (s): 2 x one - two.
 */
export function splitCost(one: readonly number[], two: readonly number[], frames: number): { perPacketUs: number[]; fixedSeconds: number[] } {
  return {
    perPacketUs: one.map((x, i) => (two[i]! - x) / frames * 1e6),
    fixedSeconds: one.map((x, i) => 2 * x - two[i]!),
  };
}

/** The flags of the import parts runs: without the analyzers; without them and the metadata extraction (the flow core). */
export const NO_ANALYZE = ['--no-analyze'] as const;
export const CORE_ONLY = ['--no-analyze', '--no-metadata'] as const;

/**
 * Round by round, from the CPU of a default import, one without the analyzers and one without
 * them and the metadata extraction: what the analyzers cost, what the metadata costs (s).
 */
export function partsCost(all: readonly number[], noAnalyze: readonly number[], core: readonly number[]): { analyzers: number[]; metadata: number[] } {
  return {
    analyzers: all.map((x, i) => x - noAnalyze[i]!),
    metadata: noAnalyze.map((x, i) => x - core[i]!),
  };
}

export function runAlternated(kind: WholeCommand): void {
  const o = parse(kind);
  if (o === null) return;
  const dir = o.keep ?? mkdtempSync(join(tmpdir(), `meerkat-${kind}-alt-`));
  // --keep names a directory that need not exist yet
  if (o.keep !== undefined) mkdirSync(dir, { recursive: true });
  const outOf = (name: string): string => join(dir, kind === 'import' ? `${name}.db` : name);
  const shifted = join(dir, 'shifted.pcap');
  const commands: RoundCommand[] = [];
  let t;
  try {
    if (o.split) {
      process.stderr.write(`writing ${shifted}: the capture ${SPLIT_SHIFT_SECONDS} s later\n`);
      writeShiftedPcap(o.capture, shifted, SPLIT_SHIFT_SECONDS);
    }
    const builds: [string, string][] = [...(o.base !== undefined ? [['base', o.base] as [string, string]] : []), ['this', repoRoot()]];
    for (const [name, repo] of builds) {
      if (name === 'this') commands.push(argusRoundCommand(o.capture, dir));
      commands.push(wholeCommand(kind, name, repo, outOf(name), o.capture, o.anonKey, o.agentId));
      if (o.split) commands.push(wholeCommand(kind, `${name}, two files`, repo, outOf(`${name}-two`), [o.capture, shifted], o.anonKey, o.agentId));
      if (o.parts) {
        commands.push(wholeCommand(kind, `${name}, no analyzers`, repo, outOf(`${name}-no-analyze`), o.capture, o.anonKey, o.agentId, NO_ANALYZE));
        commands.push(wholeCommand(kind, `${name}, core`, repo, outOf(`${name}-core`), o.capture, o.anonKey, o.agentId, CORE_ONLY));
      }
    }
    t = alternateRounds(commands, o.rounds, (r, cpu) => {
      process.stderr.write(`round ${r + 1}: ${commands.map((c) => `${c.name} ${cpu[c.name]!.toFixed(2)} s`).join(', ')}\n`);
    });
  } catch (e) {
    // a capture --split cannot copy, a command that failed: said in one line, exit 1
    process.stderr.write(`${kind}-alternated: ${(e as Error).message}\n`);
    process.exitCode = 1;
    return;
  } finally {
    rmSync(shifted, { force: true });
    if (o.keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
  const thisCpu = cpuOf(t.this!);
  const argusCpu = cpuOf(t.argus!);
  const lines = [`${kind}: ${o.rounds} rounds, CPU s (user + system):`, `  argus -r        ${span(argusCpu)}`, `  this build      ${span(thisCpu)}`];
  if (o.base !== undefined) lines.push(`  base build      ${span(cpuOf(t.base!))}`);
  lines.push(`  this / argus    ${span(roundRatios(thisCpu, argusCpu))}`);
  if (o.base !== undefined) {
    const baseCpu = cpuOf(t.base!);
    const r = roundRatios(thisCpu, baseCpu);
    lines.push(`  base / argus    ${span(roundRatios(baseCpu, argusCpu))}`,
      `  this / base     ${span(r)} (this lower in ${r.filter((x) => x < 1).length} of ${o.rounds})`);
  }
  const frames = countFrames(o.capture);
  const mpps = (cpu: number[]): string => `${(frames / median(cpu) / 1e6).toFixed(2)} M`;
  lines.push(`  packets/s per core at the median (${frames} frames): this build ${mpps(thisCpu)}` +
    (o.base !== undefined ? `, base ${mpps(cpuOf(t.base!))}` : '') + `, argus ${mpps(argusCpu)}`);
  if (o.split) {
    for (const name of o.base !== undefined ? ['base', 'this'] : ['this']) {
      const { perPacketUs, fixedSeconds } = splitCost(cpuOf(t[name]!), cpuOf(t[`${name}, two files`]!), frames);
      lines.push(`  ${`${name} build, split`.padEnd(18)} per packet, warm: ${span(perPacketUs, 3)} us; fixed: ${span(fixedSeconds)} s`);
    }
  }
  if (o.parts) {
    for (const name of o.base !== undefined ? ['base', 'this'] : ['this']) {
      const all = cpuOf(t[name]!);
      const core = cpuOf(t[`${name}, core`]!);
      const { analyzers, metadata } = partsCost(all, cpuOf(t[`${name}, no analyzers`]!), core);
      lines.push(`  ${`${name} build, parts`.padEnd(18)} analyzers ${span(analyzers)} s; metadata ${span(metadata)} s; ` +
        `the core (--no-analyze --no-metadata) ${span(core)} s, / argus ${span(roundRatios(core, argusCpu))}`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}
