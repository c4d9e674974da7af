// The layer rule as a check: reads every source file of the checked layers (tools/layers/
// layer-rules.ts), finds the modules each names (tools/layers/module-references.ts) and
// reports each import that crosses a forbidden edge, e.g. collector/ importing agent/.
// Library: checkLayers(root). CLI (exit 0 clean, 1 forbidden imports found, 2 usage):
//   node dist/tools/check-layers.js [--root DIR] [--json]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { runCli, UsageError } from '../shared/cli/run-cli.js';
import { repoRoot } from '../shared/util/repo-paths.js';
import { checkReference, LAYER_IMPORTS, layerOf, type LayerViolation } from './layers/layer-rules.js';
import { moduleReferences } from './layers/module-references.js';

const SOURCE_RE = /\.(ts|mts|cts|js|mjs|cjs)$/;

export interface LayerReport {
  /** source files read */
  files: number;
  /** module references found in them (packages included) */
  references: number;
  violations: LayerViolation[];
}

/** Checkout-relative paths (with /) of the source files below one top-level folder. */
function sourceFiles(root: string, dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: string[] = [];
  for (const e of entries) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') out.push(...sourceFiles(root, rel));
    } else if (e.isFile() && SOURCE_RE.test(e.name)) out.push(rel);
  }
  return out;
}

/** Checks every source file of the checked layers below root. */
export function checkLayers(root: string): LayerReport {
  const report: LayerReport = { files: 0, references: 0, violations: [] };
  for (const layer of Object.keys(LAYER_IMPORTS)) {
    for (const file of sourceFiles(root, layer).sort()) {
      report.files++;
      for (const ref of moduleReferences(readFileSync(join(root, file), 'utf8'))) {
        report.references++;
        const v = checkReference(file, ref.specifier, ref.line);
        if (v) report.violations.push(v);
      }
    }
  }
  return report;
}

function formatViolation(v: LayerViolation): string {
  const from = layerOf(v.file);
  const allowed = (LAYER_IMPORTS[from] ?? []).map((l) => `${l}/`).join(', ');
  return `${v.file}:${v.line}: imports ${JSON.stringify(v.specifier)}, but ${from}/ may import only ${allowed} (not ${v.target})`;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('check-layers')
    .description('fail when a program imports another program, or shared/ or certs/ import a program (docs/architecture.md)')
    .option('--root <dir>', 'the checkout to check (default: this one)')
    .option('--json', 'print the report as JSON')
    .action((o: { root?: string; json?: boolean }) => {
      const root = o.root ?? repoRoot();
      const report = checkLayers(root);
      if (report.files === 0) throw new UsageError(`${root}: no source files in ${Object.keys(LAYER_IMPORTS).join(', ')}`);
      if (o.json) process.stdout.write(JSON.stringify(report) + '\n');
      else {
        for (const v of report.violations) process.stdout.write(formatViolation(v) + '\n');
        process.stdout.write(`${report.files} files, ${report.references} module references, ${report.violations.length} forbidden\n`);
      }
      if (report.violations.length > 0) process.exitCode = 1;
    });
  await runCli(program, argv);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv);
