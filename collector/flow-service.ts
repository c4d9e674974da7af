// The collector's flow side, plugged into the transport server: the SQLite store (which
// also holds the dump ledger), flow building after each durable dump commit, crash
// recovery of dumps acked but not yet turned into flows, and periodic retention.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { logger } from '../shared/log.js';
import { configSection, validateConfig } from '../shared/config/load-config.js';
import { DumpIngest } from './import/dump-ingest.js';
import { SqliteFlowStore } from '../shared/store/sqlite-flow-store.js';
import type { RunHooks } from './commands/run.js';
import { createAnalysisRuntime, type AnalysisRuntime } from './analyze/analysis-runtime.js';
import type { AnalysisConfigInput } from './analyze/analysis-config.js';
import { dnsPayloadTap } from './analyze/dns-tap.js';
import type { CollectorServerConfig } from './server/server-config.js';
import { ThreatWatchlist, type WatchlistSource } from './respond/threat-watchlist.js';
import { PacketThreatTap } from './respond/packet-threat-tap.js';
import { parseResponsesConfig } from './respond/response-config.js';
import { loadOrCreateResponseKey, responseKeyDir } from './respond/response-key.js';
import { ResponseEngine } from './respond/response-engine.js';

export const storeConfigSchema = z
  .object({
    backend: z.literal('sqlite').default('sqlite'),
    /** default <stateDir>/meerkat.db */
    path: z.string().min(1).optional(),
    flowsDays: z.number().positive().default(30),
    rawDumpsDays: z.number().positive().default(7),
  })
  .strict();

export type StoreConfig = z.output<typeof storeConfigSchema>;

export function storeConfigFrom(cfg: CollectorServerConfig): StoreConfig {
  return validateConfig(storeConfigSchema, configSection(cfg, 'store', '{"flowsDays": 30}'), 'config key "store"');
}

export function dbPathFor(cfg: CollectorServerConfig): string {
  return storeConfigFrom(cfg).path ?? join(cfg.stateDir, 'meerkat.db');
}

const RETENTION_EVERY_MS = 10 * 60 * 1000;
const WATERMARK_MARGIN_US = 1_000_000;

/**
 * Hooks for `meerkat-collector run`: flows are built from every committed dump and each
 * flow record goes through the analyzers (config keys "analyzers", "analysis", "alerts";
 * alerts are stored in the same database).
 */
export async function flowServiceHooks(cfg: CollectorServerConfig): Promise<RunHooks & { watchlist: WatchlistSource }> {
  const log = logger('flows');
  const sc = storeConfigFrom(cfg);
  const dbPath = sc.path ?? join(cfg.stateDir, 'meerkat.db');
  const store = new SqliteFlowStore(dbPath, { retention: { flowsDays: sc.flowsDays, rawDumpsDays: sc.rawDumpsDays } });
  let analysis: AnalysisRuntime;
  try {
    const raw = cfg as Record<string, unknown>;
    analysis = await createAnalysisRuntime({
      db: dbPath,
      config: { analyzers: raw.analyzers, analysis: raw.analysis, alerts: raw.alerts } as AnalysisConfigInput,
      configSource: 'collector config',
      flushEveryMs: 1000,
      log: logger('analyze'),
    });
  } catch (e) {
    store.close();
    throw e;
  }
  // near real time: the threat-intel IP lists go to the agents (early dumps) and are checked
  // per packet here, so a listed peer alerts when its first packet arrives (collector/respond)
  const raw = cfg as Record<string, unknown>;
  const watchlist = ThreatWatchlist.fromAnalysisConfig(analysis.config, analysis.host.baseDir, logger('watchlist')).start();
  const threatTap = new PacketThreatTap(watchlist, analysis.pipeline.add);
  const dnsTap = dnsPayloadTap(analysis.host);
  let responses: ResponseEngine | null = null;
  try {
    const rules = parseResponsesConfig(raw.responses);
    if (rules.length > 0) {
      const rk = loadOrCreateResponseKey(typeof raw.responseKeyDir === 'string' ? raw.responseKeyDir : responseKeyDir(cfg.stateDir));
      log.info({ keyId: rk.key.keyId, pub: rk.pubFile, created: rk.created, rules: rules.length }, 'automatic responses on: authorise the response key on agents (meerkat-agent response-key add)');
      responses = new ResponseEngine({ dbPath, rules, key: rk.key, log: logger('responses') });
      const prev = analysis.pipeline.onChanges;
      const engine = responses;
      analysis.pipeline.onChanges = (changes) => { prev?.(changes); engine.onChanges(changes); };
    }
  } catch (e) {
    watchlist.stop();
    await analysis.close();
    store.close();
    throw e;
  }
  const ingest = new DumpIngest(store, {
    onRecord: analysis.onRecord,
    onRefusedFlows: (refused) => log.error({ records: refused.length, first: refused[0] }, 'flow records refused by the store (the rest of their batch is stored)'),
    onPacket: (rec, agentId) => { dnsTap(rec, agentId); threatTap.tap(rec, agentId); },
  });
  const recovered = ingest.buildPending(
    (p) => readFileSync(p),
    (agentId, sequence, err) => log.error({ agentId, sequence, err: err.message }, 'cannot rebuild flows of a stored dump'),
  );
  if (recovered > 0) log.info({ dumps: recovered }, 'rebuilt flows of dumps acked before the last stop');
  log.info({ db: dbPath }, 'flow store open');

  const retention = (): void => {
    try {
      const r = store.applyRetention(Date.now() * 1000);
      for (const p of r.rawPathsToDelete) rmSync(p, { force: true });
      if (r.flowsDeleted || r.dumpRowsDeleted || r.rawPathsToDelete.length) log.info(r, 'retention applied');
    } catch (e) {
      log.error({ err: (e as Error).message }, 'retention failed');
    }
  };
  retention();
  const timer = setInterval(retention, RETENTION_EVERY_MS);
  timer.unref();

  return {
    store,
    watchlist,
    onDumpCommitted: (agentId, header, bytes) => {
      try {
        const records = ingest.buildFlows(agentId, bytes);
        log.debug({ agentId, sequence: header.sequence, packets: header.packetCount, records }, 'flows built');
        // a watchlist hit: store the alert now (a safe point: outside the flow transaction)
        if (threatTap.takeHits() > 0) analysis.flush();
      } catch (e) {
        // the dump is stored and stays pending; the next start rebuilds it
        log.error({ agentId, sequence: header.sequence, err: (e as Error).message }, 'building flows failed');
      }
    },
    onHeartbeat: (agentId, health) => {
      // all of the agent's packets before its watermark are stored when its spool is empty:
      // expire its flows up to there (less a margin for packets stamped out of order)
      if (health.spoolFiles !== 0 || health.packetTimeUs === undefined) return;
      try {
        const watermark = health.packetTimeUs - WATERMARK_MARGIN_US;
        const n = ingest.advanceAgent(agentId, watermark);
        if (n > 0) log.debug({ agentId, records: n }, 'idle flows written out');
        analysis.host.advanceAgent(agentId, watermark);
      } catch (e) {
        log.error({ agentId, err: (e as Error).message }, 'advancing packet time failed');
      }
    },
    onStop: async () => {
      clearInterval(timer);
      watchlist.stop();
      ingest.flushAll();
      await analysis.close();
      responses?.close();
      store.close();
    },
  };
}
