// The store's share of an import, in-process: the flow rows and DNS/TLS log rows of an imported
// database (e.g. bench/import-alternated.ts --keep) written again into a new SQLite database as
// an import writes them (indexes set aside, batches of 5,000, indexes built, closed), CPU
// (user + system) of each step, best and median of N passes.
//   node dist/bench/store-import-bench.js --from IMPORTED.db [--passes N]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SqliteFlowStore } from '../shared/store/sqlite-flow-store.js';
import { FlowBatchWriter } from '../collector/import/flow-batch-writer.js';

const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const median = (v: number[]): number => { const s = [...v].sort((a, b) => a - b); return s[s.length >> 1]!; };

function main(): void {
  const { values } = parseArgs({ options: { from: { type: 'string' }, passes: { type: 'string', default: '7' } } });
  if (values.from === undefined) {
    process.stderr.write('usage: store-import-bench --from IMPORTED.db [--passes N]\n');
    process.exitCode = 2;
    return;
  }
  const src = new SqliteFlowStore(values.from, { readonly: true });
  const flows = [...src.iterateFlows({ order: 'asc' })];
  const dns = [...src.iterateDns({ order: 'asc' })];
  const tls = [...src.iterateTls({ order: 'asc' })];
  src.close();
  const steps: Record<string, number[]> = { open: [], rows: [], indexes: [], close: [], all: [] };
  for (let p = 0; p < Number(values.passes); p++) {
    const dir = mkdtempSync(join(tmpdir(), 'mk-store-bench-'));
    try {
      let t = cpuMs();
      const t0 = t;
      const lap = (k: string): void => { const n = cpuMs(); steps[k]!.push(n - t); t = n; };
      const store = new SqliteFlowStore(join(dir, 'x.db'));
      store.deferIndexes();
      lap('open');
      const w = new FlowBatchWriter(store);
      for (const record of dns) w.addApp({ kind: 'dns', record });
      for (const record of tls) w.addApp({ kind: 'tls', record });
      for (const f of flows) w.add(f);
      w.flush();
      lap('rows');
      store.restoreIndexes();
      lap('indexes');
      store.close();
      lap('close');
      steps.all!.push(cpuMs() - t0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  process.stdout.write(`${flows.length} flows, ${dns.length} dns, ${tls.length} tls; CPU ms best / median of ${values.passes}:\n`);
  for (const [k, v] of Object.entries(steps)) process.stdout.write(`  ${k.padEnd(8)} ${Math.min(...v).toFixed(1)} / ${median(v).toFixed(1)}\n`);
}

main();
