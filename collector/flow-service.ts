// The collector's flow side: the SQLite store (which also holds the dump ledger), flow
// building after each durable dump commit, crash recovery of dumps acked but not yet turned
// into flows, packet-time watermarks from heartbeats, and periodic retention. It knows
// nothing of analysis: flow records and packet records leave through the taps it is given
// (collector/collector-service.ts wires them to the analyzers and the threat tap).
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../shared/log.js';
import { configSection, validateConfig } from '../shared/config/load-config.js';
import type { FlowRecord } from '../shared/flow/flow-record.js';
import type { AppRecord } from '../shared/flow/app-records.js';
import type { AppMeta } from '../shared/appmeta/meta-record.js';
import type { PacketRecord } from '../shared/packet/packet-record.js';
import type { DumpHeader } from '../shared/dump/dump-header.js';
import type { AgentHealth } from '../shared/protocol/agent-protocol.js';
import { SqliteFlowStore } from '../shared/store/sqlite-flow-store.js';
import { DumpIngest } from './import/dump-ingest.js';
import type { CollectorServerConfig } from './server/server-config.js';
import { orgPaths } from './orgs/org-paths.js';
import { DEFAULT_ORG } from '../shared/orgs/org-id.js';

export const storeConfigSchema = z
  .object({
    backend: z.literal('sqlite').default('sqlite'),
    /** the default organisation's database (default <stateDir>/orgs/default/meerkat.db) */
    path: z.string().min(1).optional(),
    flowsDays: z.number().positive().default(30),
    rawDumpsDays: z.number().positive().default(7),
  })
  .strict();

export type StoreConfig = z.output<typeof storeConfigSchema>;

/** Config key "store", validated (ConfigError naming what is wrong). */
export function storeConfigFrom(cfg: CollectorServerConfig): StoreConfig {
  return validateConfig(storeConfigSchema, configSection(cfg, 'store', '{"flowsDays": 30}'), 'config key "store"');
}

/**
 * An organisation's database: <stateDir>/orgs/<org>/meerkat.db; for the default organisation
 * "store.path" when the configuration sets it (the database location of an installation made
 * before organisations, collector/orgs/org-config.ts).
 */
export function orgDbPath(cfg: CollectorServerConfig, org: string = DEFAULT_ORG): string {
  const path = org === DEFAULT_ORG ? storeConfigFrom(cfg).path : undefined;
  return path ?? orgPaths(cfg.stateDir, org).db;
}

/** Opens a flow store with the configured retention: store.path, else `defaultPath` (an organisation's database), else the default organisation's. */
export function openFlowStore(cfg: CollectorServerConfig, defaultPath?: string): { store: SqliteFlowStore; dbPath: string } {
  const sc = storeConfigFrom(cfg);
  const dbPath = sc.path ?? defaultPath ?? orgPaths(cfg.stateDir, DEFAULT_ORG).db;
  // a first start: the state directory is ours to create (private: it holds the database and keys)
  mkdirSync(dirname(dbPath), { recursive: true, mode: 0o700 });
  return { store: new SqliteFlowStore(dbPath, { retention: { flowsDays: sc.flowsDays, rawDumpsDays: sc.rawDumpsDays } }), dbPath };
}

const RETENTION_EVERY_MS = 10 * 60 * 1000;
const WATERMARK_MARGIN_US = 1_000_000;

export interface FlowTaps {
  /** every flow record, inside the flow transaction (must not write to the database) */
  onRecord?: (rec: FlowRecord) => void;
  /** every packet record before the flow engine sees it (hasMeta: metadata records belong to it) */
  onPacket?: (rec: PacketRecord, agentId: string, hasMeta: boolean) => void;
  /** DNS transactions, TLS handshakes, HTTP requests, inside the flow transaction (must not write) */
  onAppRecord?: (a: AppRecord) => void;
  /** every metadata record with its packet, as the dump is read (must not write) */
  onMeta?: (m: AppMeta, rec: PacketRecord, agentId: string) => void;
  /** after a dump's flows are committed (a safe point to write alerts) */
  onDumpBuilt?: () => void;
  /** an agent's packet time moved forward without packets (its heartbeat watermark) */
  onWatermark?: (agentId: string, packetTimeUs: number) => void;
}

export class FlowService {
  private readonly ingest: DumpIngest;
  private timer: NodeJS.Timeout | null = null;
  /** flow records built since start (/metrics) */
  recordsBuilt = 0;

  constructor(readonly store: SqliteFlowStore, private readonly taps: FlowTaps, private readonly log: Logger) {
    this.ingest = new DumpIngest(store, {
      ...(taps.onRecord ? { onRecord: taps.onRecord } : {}),
      ...(taps.onPacket ? { onPacket: taps.onPacket } : {}),
      ...(taps.onAppRecord ? { onAppRecord: taps.onAppRecord } : {}),
      ...(taps.onMeta ? { onMeta: taps.onMeta } : {}),
      onRefusedFlows: (refused) => log.error({ records: refused.length, first: refused[0] }, 'flow records refused by the store (the rest of their batch is stored)'),
    });
  }

  /** Builds the flows of dumps acked before the last stop but never built; returns how many. */
  recover(): number {
    const recovered = this.ingest.buildPending(
      (p) => readFileSync(p),
      (agentId, sequence, err) => this.log.error({ agentId, sequence, err: err.message }, 'cannot rebuild flows of a stored dump'),
    );
    if (recovered > 0) this.log.info({ dumps: recovered }, 'rebuilt flows of dumps acked before the last stop');
    return recovered;
  }

  /** Applies retention now and every RETENTION_EVERY_MS. */
  startRetention(): void {
    this.applyRetention();
    this.timer = setInterval(() => this.applyRetention(), RETENTION_EVERY_MS);
    this.timer.unref();
  }

  private applyRetention(): void {
    try {
      const r = this.store.applyRetention(Date.now() * 1000);
      for (const p of r.rawPathsToDelete) rmSync(p, { force: true });
      if (r.flowsDeleted || r.dumpRowsDeleted || r.rawPathsToDelete.length) this.log.info(r, 'retention applied');
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'retention failed');
    }
  }

  /** The server's onDumpCommitted: build the dump's flows (a failure leaves it pending for the next start). */
  readonly onDumpCommitted = (agentId: string, header: DumpHeader, bytes: Uint8Array): void => {
    try {
      const records = this.ingest.buildFlows(agentId, bytes);
      this.recordsBuilt += records;
      this.log.debug({ agentId, sequence: header.sequence, packets: header.packetCount, records }, 'flows built');
      this.taps.onDumpBuilt?.();
    } catch (e) {
      // the dump is stored and stays pending; the next start rebuilds it
      this.log.error({ agentId, sequence: header.sequence, err: (e as Error).message }, 'building flows failed');
    }
  };

  /** The server's onHeartbeat: an agent with an empty spool has stored every packet before its watermark. */
  readonly onHeartbeat = (agentId: string, health: AgentHealth): void => {
    // expire its flows up to there (less a margin for packets stamped out of order)
    if (health.spoolFiles !== 0 || health.packetTimeUs === undefined) return;
    try {
      const watermark = health.packetTimeUs - WATERMARK_MARGIN_US;
      const n = this.ingest.advanceAgent(agentId, watermark);
      this.recordsBuilt += n;
      if (n > 0) this.log.debug({ agentId, records: n }, 'idle flows written out');
      this.taps.onWatermark?.(agentId, watermark);
    } catch (e) {
      this.log.error({ agentId, err: (e as Error).message }, 'advancing packet time failed');
    }
  };

  /** Ends every open flow and stops retention (the store is closed by its owner). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.ingest.flushAll();
  }
}
