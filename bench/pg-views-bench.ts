// The scale-out front-end's console views measured on PostgreSQL, not asserted (docs/scale-out.md
// "Measured"): with 1,000,000 flows over a day in an organisation's schema (the records of
// console-bench.ts), the overview of the last hour and of the whole day (every record in the
// window), the flow summary (`meerkat top`) of the last hour, and flow pages filtered by an
// address prefix. Standalone: node dist/bench/pg-views-bench.js [--flows=N] [--runs=N].
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { openPgPool } from '../shared/store/postgres/pg-connect.js';
import { PgFlowStore } from '../shared/store/postgres/pg-flow-store.js';
import type { FlowRecord } from '../shared/flow/flow-record.js';
import { flowQueryFromParams, summaryQueryFromParams } from '../shared/store/flow-query.js';
import { pgOrgViews } from '../collector/scale/pg-views.js';
import { pgAlertStoreOpener, pgDataAccess } from '../collector/scale/pg-data-access.js';
import { startPgCluster } from '../test/helpers/pg-cluster.js';
import { makeFlow } from './console-bench.js';

export interface PgViewsBench {
  flows: number;
  buildSeconds: number;
  /** ms over the runs of each query (after one warm-up run) */
  queries: { name: string; p50: number; max: number; rows: number }[];
}

export async function benchPgViews(o: { flows?: number; runs?: number; log?: (s: string) => void } = {}): Promise<PgViewsBench> {
  const nFlows = o.flows ?? 1_000_000;
  const runs = o.runs ?? 10;
  const log = o.log ?? (() => undefined);
  const cluster = await startPgCluster();
  const pool: pg.Pool = openPgPool({ url: cluster.url, passwordFile: cluster.passwordFile });
  try {
    const store = await PgFlowStore.open(pool, 'bench');
    const agents = Array.from({ length: 50 }, (_, k) => `00000000-0000-4000-8000-${String(k).padStart(12, '0')}`);
    const nowUs = Date.now() * 1000;
    const t0 = performance.now();
    const batch: FlowRecord[] = [];
    for (let i = 0; i < nFlows; i++) {
      batch.push(makeFlow(i, nowUs, agents));
      if (batch.length === 20_000) { await store.writeFlows(batch, [], []); batch.length = 0; }
    }
    await store.writeFlows(batch, [], []);
    await pool.query('ANALYZE org_bench.flows');
    const buildSeconds = (performance.now() - t0) / 1000;
    log(`pg views bench: ${nFlows} flows written in ${buildSeconds.toFixed(1)} s`);
    const views = pgOrgViews(pool, 'bench', pgAlertStoreOpener(pool, 'bench'));
    const data = pgDataAccess(store, null);
    const time = async (name: string, fn: () => Promise<number>): Promise<PgViewsBench['queries'][number]> => {
      let rows = await fn();
      const ms: number[] = [];
      for (let k = 0; k < runs; k++) {
        const s = performance.now();
        rows = await fn();
        ms.push(performance.now() - s);
      }
      ms.sort((a, b) => a - b);
      return { name, p50: ms[Math.floor(ms.length / 2)]!, max: ms[ms.length - 1]!, rows };
    };
    const queries = [
      await time('overview: last hour', async () => (await views.overview(60, nowUs)).flowsInWindow),
      await time('overview: last 24 h (every record)', async () => (await views.overview(24 * 60, nowUs)).flowsInWindow),
      await time('summary: last hour, top 10', async () => (await data.flowsSummary(summaryQueryFromParams(new URLSearchParams(`since=${nowUs - 3600e6}`), nowUs))).records),
      await time('flows: a /16 prefix, first page', async () => (await data.flowsPage(flowQueryFromParams(new URLSearchParams('addr=10.2.0.0/16&limit=50')))).records.length),
      await time('flows: a /20 prefix of pseudonyms (*), first page', async () => (await data.flowsPage(flowQueryFromParams(new URLSearchParams('addr=10.3.16.0/20*&limit=50')))).records.length),
      await time('flows: 203.0.113.0/24 (no match)', async () => (await data.flowsPage(flowQueryFromParams(new URLSearchParams('addr=203.0.113.0/24&limit=50')))).records.length),
    ];
    return { flows: nFlows, buildSeconds, queries };
  } finally {
    await pool.end();
    cluster.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string): number | undefined => {
    const a = process.argv.find((x) => x.startsWith(`--${name}=`));
    return a === undefined ? undefined : Number(a.slice(name.length + 3));
  };
  const r = await benchPgViews({ flows: arg('flows') ?? 1_000_000, runs: arg('runs') ?? 10, log: (s) => process.stderr.write(`${s}\n`) });
  process.stdout.write(`${JSON.stringify(r, null, 1)}\n`);
}
