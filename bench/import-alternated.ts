// Whole-process `meerkat-collector import` of one capture against `argus -r` on it and, when
// given, against another build of this repository (e.g. main, built apart): the commands take
// turns in every round, so a machine shared with other work loads them alike, and the figures
// are each round's ratios (ranges and medians). Timed as bench/whole-process.ts times them
// (bash `times`: user + system CPU of the process and its children); each import goes into a
// new database. Imports start through the package launcher (bench/collector-command.ts).
//   node dist/bench/import-alternated.js --capture FILE --anon-key KEY [--base OTHER_REPO] [--rounds N] [--keep DIR]
// With --keep the last round's databases stay in DIR (this.db, base.db) for
// bench/import-rows-check.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../shared/util/repo-paths.js';
import { timeProcessOnce } from './whole-process.js';
import { collectorCommand, type CollectorCommand } from './collector-command.js';

function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function span(v: readonly number[], digits = 2): string {
  return `${Math.min(...v).toFixed(digits)}-${Math.max(...v).toFixed(digits)}, median ${median(v).toFixed(digits)}`;
}

function main(): void {
  const usage = 'usage: import-alternated --capture FILE --anon-key KEY [--base OTHER_REPO] [--rounds N] [--keep DIR]\n';
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        capture: { type: 'string' }, 'anon-key': { type: 'string' }, base: { type: 'string' }, rounds: { type: 'string', default: '5' },
        keep: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`import-alternated: ${(e as Error).message}\n${usage}`);
    process.exitCode = 2;
    return;
  }
  if (values.help === true) {
    process.stdout.write(usage);
    return;
  }
  const rounds = Number(values.rounds);
  if (values.capture === undefined || values['anon-key'] === undefined || !Number.isSafeInteger(rounds) || rounds < 1) {
    process.stderr.write(usage);
    process.exitCode = 2;
    return;
  }
  const dir = values.keep ?? mkdtempSync(join(tmpdir(), 'meerkat-import-alt-'));
  // --keep names a directory that need not exist yet
  if (values.keep !== undefined) mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'argus.conf');
  writeFileSync(conf, 'ARGUS_FLOW_TYPE="Bidirectional"\nARGUS_FLOW_KEY="CLASSIC_5_TUPLE"\n');
  // through the launcher, as users start it (bench/collector-command.ts)
  const importOf = (repo: string, db: string): CollectorCommand =>
    collectorCommand(repo, ['import', '--db', db, '--anon-key', values['anon-key']!, '--no-progress', values.capture!]);
  const fresh = (db: string): void => { for (const s of ['', '-wal', '-shm']) rmSync(db + s, { force: true }); };
  const runs: Record<'this' | 'base' | 'argus', number[]> = { this: [], base: [], argus: [] };
  try {
    for (let r = 0; r < rounds; r++) {
      const steps: Array<['this' | 'base' | 'argus', () => CollectorCommand]> = [];
      if (values.base !== undefined) steps.push(['base', () => { fresh(join(dir, 'base.db')); return importOf(values.base!, join(dir, 'base.db')); }]);
      steps.push(['argus', () => { rmSync(join(dir, 'out.argus'), { force: true }); return { argv: ['argus', '-F', conf, '-r', values.capture!, '-w', join(dir, 'out.argus')], env: process.env }; }]);
      steps.push(['this', () => { fresh(join(dir, 'this.db')); return importOf(repoRoot(), join(dir, 'this.db')); }]);
      for (const [name, command] of steps) {
        const { argv, env } = command();
        const t = timeProcessOnce(argv, env);
        if (t === undefined) throw new Error(`${name}: the command failed`);
        runs[name].push(t.cpuSeconds);
      }
      process.stderr.write(`round ${r + 1}: ${steps.map(([n]) => `${n} ${runs[n][r]!.toFixed(2)} s`).join(', ')}\n`);
    }
  } finally {
    if (values.keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
  const ratio = (a: number[], b: number[]): number[] => a.map((x, i) => x / b[i]!);
  const lines = [`${rounds} rounds, CPU s (user + system):`, `  argus -r        ${span(runs.argus)}`, `  this build      ${span(runs.this)}`];
  if (values.base !== undefined) lines.push(`  base build      ${span(runs.base)}`);
  lines.push(`  this / argus    ${span(ratio(runs.this, runs.argus))}`);
  if (values.base !== undefined) {
    lines.push(`  base / argus    ${span(ratio(runs.base, runs.argus))}`, `  this / base     ${span(ratio(runs.this, runs.base))}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main();
