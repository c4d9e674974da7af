// A flow worker (docs/scale-out.md "Flow worker"): takes its share of the dump stream's
// partitions (leases in PostgreSQL), reads each from the position committed in PostgreSQL with an
// ordered JetStream consumer, builds flows with one engine per agent, and commits each dump with
// the flows it completed, the partition's position and the agent's replay point in ONE
// transaction keyed by (agent id, sequence). Taking a partition rebuilds the open flows of its
// agents by replaying, output discarded, the committed dumps from each agent's replay point.
// Any failure of a partition (commit refused, PostgreSQL or NATS gone) drops it whole; it is
// taken again (by this worker or another) and rebuilt the same way: one recovery path.
// The organisations served are those of `scaleOut.orgs` and those PostgreSQL holds (not
// deleted), re-read at every re-balance: one created later is served without a restart.
// With analysis on (worker-analysis.ts), each partition's analyzers see the records and packets
// of every message fed, and the alerts raised while feeding the messages a batch commits are
// written in the same transaction as those dumps; what they raise while replaying is dropped (it
// was committed by the earlier owner). So a crash and replay cannot count an alert twice, and
// the analyzers' state is rebuilt over the replay window.
import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JsMsg, type NatsConnection } from 'nats';
import type pg from 'pg';
import type { Logger } from '../../shared/log.js';
import { decodeDump, type DecodedDump } from '../../shared/dump/index.js';
import type { DumpCommit } from '../../shared/store/async-flow-store.js';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { AppRecord, DnsRecord, TlsRecord } from '../../shared/flow/app-records.js';
import { openPgPool, pgClientConfig } from '../../shared/store/postgres/pg-connect.js';
import { PgFlowStore } from '../../shared/store/postgres/pg-flow-store.js';
import type { DumpInfo } from '../../shared/store/flow-store.js';
import { EngineSet } from '../import/engine-set.js';
import { feedDump } from '../import/dump-ingest.js';
import type { FlowTimeouts } from '../flow/flow-engine.js';
import { DUMP_STREAM, dumpSubject, ensureDumpStream } from './dump-stream.js';
import { HDR_AGENT, HDR_RECEIVED_MS, HDR_SEQUENCE, HDR_WATERMARK } from './jetstream-committer.js';
import { PartitionLeases, fenceAndAdvance } from './partition-leases.js';
import { ReplayTracker } from './replay-tracker.js';
import { connectNats, natsLiveness } from './nats-connect.js';
import { pgOptionsOf, type ScaleOutConfig } from './scale-config.js';
import { PgOrgRecords } from './org-records.js';
import { OrgAnalysis, type PartitionAnalysis, type WorkerAnalysisConfig } from './worker-analysis.js';
import type { WorkerResponderStats } from './worker-responses.js';
import type { AggregatedAlert, AlertChange } from '../../shared/alerts/alert-types.js';

/** dumps per group commit */
const MAX_BATCH = 64;
/** messages read ahead of the commits, per partition */
const MAX_QUEUE = 512;

/** One partition this worker owns. */
class OwnedPartition {
  readonly out: { flows: FlowRecord[]; dns: DnsRecord[]; tls: TlsRecord[] } = { flows: [], dns: [], tls: [] };
  readonly engines: EngineSet;
  readonly tracker = new ReplayTracker();
  /** stream sequences committed (as new) by earlier owners at or after their agent's replay point */
  replaySeqs = new Set<number>();
  replayFrom = new Map<string, number>();
  iter: ConsumerMessages | null = null;
  loop: Promise<void> = Promise.resolve();
  /** messages read, waiting for the next group commit */
  queue: JsMsg[] = [];
  committing: Promise<void> | null = null;
  stopping = false;
  dumps = 0;
  /** transactions that committed dumps (dumps / commits = the mean group size) */
  commits = 0;
  replayed = 0;
  /** alert rows written (new or updated) since the partition was taken */
  alerts = 0;
  /** the partition's analyzers (null: analysis off) */
  analysis: PartitionAnalysis | null = null;
  /** true while feeding messages (new or replayed): only then do records reach the analyzers */
  analyzing = false;

  constructor(readonly org: string, readonly part: number, readonly epoch: number, readonly resumeFrom: number, timeouts?: Partial<FlowTimeouts>) {
    this.engines = new EngineSet((r) => {
      this.out.flows.push(r);
      if (this.analyzing) this.analysis?.onRecord(r);
    }, timeouts, (a: AppRecord) => {
      if (a.kind === 'dns') this.out.dns.push(a.record);
      else if (a.kind === 'tls') this.out.tls.push(a.record);
      if (this.analyzing) this.analysis?.onApp(a);
    });
  }

  /** Runs fn with the analyzers seeing what it feeds (messages new or replayed, the final flush). */
  analyzed(fn: () => void): void {
    this.analyzing = this.analysis !== null;
    try {
      fn();
    } finally {
      this.analyzing = false;
    }
  }

  /** The alerts raised since the last commit (empty when analysis is off). */
  takeAlerts(): AggregatedAlert[] {
    return this.analysis?.takeBatch() ?? [];
  }

  get key(): string {
    return `${this.org}/${this.part}`;
  }

  takeOutput(): { flows: FlowRecord[]; dns: DnsRecord[]; tls: TlsRecord[] } {
    const o = { flows: this.out.flows, dns: this.out.dns, tls: this.out.tls };
    this.out.flows = [];
    this.out.dns = [];
    this.out.tls = [];
    return o;
  }
}

export interface FlowWorkerOptions {
  log: Logger;
  timeouts?: Partial<FlowTimeouts>;
  /** flow records kept (days); retention runs at start and every 10 minutes, one worker at a time */
  flowsDays?: number;
  /** run the organisations' analyzers and write alerts to PostgreSQL (absent: no analysis) */
  analysis?: WorkerAnalysisConfig;
}

const RETENTION_EVERY_MS = 10 * 60 * 1000;

export interface FlowWorkerStatus {
  workerId: string;
  partitions: Array<{ org: string; part: number; epoch: number; dumps: number; commits: number; replayed: number; alerts: number }>;
}

function storeOptions(o: FlowWorkerOptions): { retention?: { flowsDays: number } } {
  return o.flowsDays !== undefined ? { retention: { flowsDays: o.flowsDays } } : {};
}

export class FlowWorker {
  private readonly owned = new Map<string, OwnedPartition>();
  private timer: NodeJS.Timeout | null = null;
  private retentionTimer: NodeJS.Timeout | null = null;
  private readonly liveness: { down(): boolean };
  private balancing: Promise<void> = Promise.resolve();
  private stopped = false;
  /** dumps committed by this worker (metrics, bench) */
  committed = 0;

  private constructor(
    private readonly cfg: ScaleOutConfig,
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly pool: pg.Pool,
    private leases: PartitionLeases,
    private readonly stores: Map<string, PgFlowStore>,
    private readonly analyses: Map<string, OrgAnalysis>,
    private readonly records: PgOrgRecords,
    private readonly o: FlowWorkerOptions,
  ) {
    this.liveness = natsLiveness(nc);
  }

  static async start(cfg: ScaleOutConfig, o: FlowWorkerOptions): Promise<FlowWorker> {
    const pgOpts = pgOptionsOf(cfg);
    const pool = openPgPool(pgOpts, (e) => o.log.warn({ err: e.message }, 'an idle PostgreSQL connection died (replaced on next use)'));
    let nc: NatsConnection | null = null;
    let leases: PartitionLeases | null = null;
    const analyses = new Map<string, OrgAnalysis>();
    try {
      nc = await connectNats(cfg, `meerkat-worker ${cfg.workerId}`);
      await ensureDumpStream(await nc.jetstreamManager(), { maxAgeDays: cfg.streamMaxAgeDays });
      const stores = new Map<string, PgFlowStore>();
      for (const org of cfg.orgs) stores.set(org, await PgFlowStore.open(pool, org, storeOptions(o)));
      if (o.analysis) for (const org of cfg.orgs) analyses.set(org, await OrgAnalysis.open(pool, nc, org, o.analysis, o.log));
      const records = await PgOrgRecords.open(pool);
      let worker: FlowWorker | null = null;
      leases = await PartitionLeases.open(pgClientConfig(pgOpts), cfg.workerId, (e) => worker?.onLeasesLost(e));
      const w = worker = new FlowWorker(cfg, nc, nc.jetstream(), pool, leases, stores, analyses, records, o);
      w.applyRetention();
      w.retentionTimer = setInterval(() => w.applyRetention(), RETENTION_EVERY_MS);
      w.retentionTimer.unref();
      w.timer = setInterval(() => w.scheduleRebalance(), cfg.rebalanceMs);
      w.timer.unref();
      w.scheduleRebalance();
      await w.balancing;
      return w;
    } catch (e) {
      await leases?.close();
      for (const a of analyses.values()) await a.close(1000).catch(() => undefined);
      await nc?.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      throw e;
    }
  }

  private applyRetention(): void {
    for (const [org, store] of this.stores) {
      store.applyRetention(Date.now() * 1000).then((r) => {
        if (r.flowsDeleted || r.dumpRowsDeleted) this.o.log.info({ org, ...r }, 'retention applied');
      }, (e: unknown) => this.o.log.error({ org, err: (e as Error).message }, 'retention failed'));
    }
  }

  /** Why the worker cannot work now (empty when it can). */
  problems(): string[] {
    const out: string[] = [];
    if (this.leases.isLost) out.push('lease connection to PostgreSQL lost (reconnecting)');
    if (this.liveness.down()) out.push('NATS disconnected (reconnecting)');
    return out;
  }

  status(): FlowWorkerStatus {
    return {
      workerId: this.cfg.workerId,
      partitions: [...this.owned.values()].map((p) => ({ org: p.org, part: p.part, epoch: p.epoch, dumps: p.dumps, commits: p.commits, replayed: p.replayed, alerts: p.alerts })),
    };
  }

  /** The automatic responses' counts per organisation (organisations with rules only). */
  responseStats(): Array<{ org: string } & WorkerResponderStats> {
    return [...this.analyses.values()].flatMap((a) => (a.responder ? [{ org: a.org, ...a.responder.stats }] : []));
  }

  /** Resolves once the next re-balance ran (tests, start-up). */
  rebalanceNow(): Promise<void> {
    this.scheduleRebalance();
    return this.balancing;
  }

  private scheduleRebalance(): void {
    this.balancing = this.balancing.then(() => this.rebalance()).catch((e: unknown) => {
      this.o.log.warn({ err: (e as Error).message }, 'partition re-balance failed (retried)');
    });
  }

  private onLeasesLost(e: Error): void {
    this.o.log.error({ err: e.message }, 'lease connection to PostgreSQL lost: dropping every partition');
    for (const p of [...this.owned.values()]) this.drop(p, 'lease connection lost', false);
  }

  private async rebalance(): Promise<void> {
    if (this.stopped) return;
    if (this.leases.isLost) {
      await this.leases.close();
      this.leases = await PartitionLeases.open(pgClientConfig(pgOptionsOf(this.cfg)), this.cfg.workerId, (e) => this.onLeasesLost(e));
    }
    const orgs = await this.servedOrgs();
    const all: Array<[string, number]> = orgs.flatMap((org) => Array.from({ length: this.cfg.partitions }, (_, p) => [org, p] as [string, number]));
    const share = Math.ceil(all.length / (await this.leases.liveWorkers()));
    if (this.owned.size > share) {
      for (const p of [...this.owned.values()].slice(share)) await this.drop(p, 'handing over (fair share)', true);
      return;
    }
    // start at a different place per worker so workers starting together do not race for the same ones
    const offset = Math.floor(Math.random() * all.length);
    for (let i = 0; i < all.length && this.owned.size < share && !this.stopped; i++) {
      const [org, part] = all[(offset + i) % all.length]!;
      if (!this.owned.has(`${org}/${part}`)) await this.take(org, part);
    }
  }

  /**
   * The organisations of scaleOut.orgs and those PostgreSQL holds (not deleted: a suspended
   * organisation's dumps already in the stream are still stored), each with its store open.
   * When PostgreSQL cannot be read, the ones served so far.
   */
  private async servedOrgs(): Promise<string[]> {
    let listed: string[] = [];
    const deleted = new Set<string>();
    try {
      for (const r of await this.records.list({ includeDeleted: true })) {
        if (r.state === 'deleted') deleted.add(r.id);
        else listed.push(r.id);
      }
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'reading the organisations from PostgreSQL failed; serving those known');
      listed = [];
    }
    const orgs = [...new Set([...this.cfg.orgs, ...this.stores.keys(), ...listed])].filter((o) => !deleted.has(o)).sort();
    for (const org of orgs) {
      if (this.stores.has(org)) continue;
      this.stores.set(org, await PgFlowStore.open(this.pool, org, storeOptions(this.o)));
      if (this.o.analysis) this.analyses.set(org, await OrgAnalysis.open(this.pool, this.nc, org, this.o.analysis, this.o.log));
      this.o.log.info({ org }, 'organisation served from now on');
    }
    return orgs;
  }

  private async take(org: string, part: number): Promise<void> {
    const row = await this.leases.tryTake(org, part);
    if (row === null) return;
    const p = new OwnedPartition(org, part, row.epoch, row.nextSeq, this.o.timeouts);
    let start = row.nextSeq;
    try {
      const store = this.store(org);
      const rp = await this.pool.query<{ agent_id: string; replay_from: number }>(
        `SELECT agent_id, replay_from FROM ${store.schema}.replay_points WHERE part = $1 AND replay_from IS NOT NULL`, [part]);
      if (rp.rows.length > 0) {
        for (const r of rp.rows) p.replayFrom.set(r.agent_id, r.replay_from);
        const min = Math.min(...rp.rows.map((r) => r.replay_from));
        const seqs = await this.pool.query<{ stream_seq: number }>(
          `SELECT stream_seq FROM ${store.schema}.dumps WHERE stream_seq >= $1 AND stream_seq < $2 AND agent_id = ANY($3)`,
          [min, row.nextSeq, rp.rows.map((r) => r.agent_id)]);
        p.replaySeqs = new Set(seqs.rows.map((r) => r.stream_seq));
        start = Math.min(start, min);
      }
      // analyzer state starts empty with each owner and is rebuilt over the replay window (docs/scale-out.md)
      p.analysis = (await this.analyses.get(org)?.forPartition(part)) ?? null;
    } catch (e) {
      p.analysis?.close();
      await this.leases.release(org, part).catch(() => undefined);
      throw e;
    }
    this.owned.set(p.key, p);
    this.o.log.info({ org, part, epoch: p.epoch, resumeFrom: p.resumeFrom, replayFrom: start, replayDumps: p.replaySeqs.size }, 'partition taken');
    p.loop = this.run(p, start);
  }

  private store(org: string): PgFlowStore {
    const s = this.stores.get(org);
    if (s === undefined) throw new Error(`organisation ${org} is not served by this worker`);
    return s;
  }

  private async run(p: OwnedPartition, start: number): Promise<void> {
    try {
      const c = await this.js.consumers.get(DUMP_STREAM, { filterSubjects: dumpSubject(p.org, p.part), deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start });
      if (p.stopping) return;
      p.iter = await c.consume({ max_messages: 256 });
      for await (const m of p.iter) {
        if (p.stopping) break;
        p.queue.push(m);
        // group commit: what arrives while a batch commits goes in the next one
        p.committing ??= this.drain(p);
        if (p.queue.length >= MAX_QUEUE) await p.committing;
      }
      await p.committing;
    } catch (e) {
      if (!p.stopping) {
        this.o.log.error({ org: p.org, part: p.part, err: (e as Error).message }, 'partition failed: dropping it (it is taken again and rebuilt)');
        void this.drop(p, 'failure', false);
      }
    }
  }

  /** Commits the queue in batches until it is empty; a failure drops the partition (rebuilt by its next owner). */
  private drain(p: OwnedPartition): Promise<void> {
    return (async () => {
      try {
        while (p.queue.length > 0 && !p.stopping) await this.commitBatch(p, p.queue.splice(0, MAX_BATCH));
      } catch (e) {
        if (!p.stopping) {
          this.o.log.error({ org: p.org, part: p.part, err: (e as Error).message }, 'partition failed: dropping it (it is taken again and rebuilt)');
          void this.drop(p, 'failure', false);
        }
      } finally {
        p.committing = null;
      }
    })();
  }

  private async commitBatch(p: OwnedPartition, msgs: readonly JsMsg[]): Promise<void> {
    const store = this.store(p.org);
    const keyed = msgs.map((m) => ({ m, agentId: m.headers?.get(HDR_AGENT) ?? '', sequence: Number(m.headers?.get(HDR_SEQUENCE)) }));
    // dumps published twice (a front-end retry past JetStream's duplicate window) are committed once
    const committed = await store.committedAmong(keyed.filter((k) => k.m.seq >= p.resumeFrom && k.agentId && Number.isSafeInteger(k.sequence)));
    const commits: DumpCommit[] = [];
    const streamSeqs: number[] = [];
    const replayPoints = new Map<string, number | null>();
    const extra: { flows: FlowRecord[]; dns: DnsRecord[]; tls: TlsRecord[] } = { flows: [], dns: [], tls: [] };
    for (const { m, agentId, sequence } of keyed) {
      const watermark = Number(m.headers?.get(HDR_WATERMARK) || Number.NaN);
      if (agentId && Number.isFinite(watermark)) {
        // an agent's packet time moved on without packets: its idle flows end here, in stream order
        if (m.seq < p.resumeFrom && (p.replayFrom.get(agentId) === undefined || m.seq < p.replayFrom.get(agentId)!)) continue;
        const engine = p.engines.peek(agentId);
        if (engine === undefined || watermark <= engine.packetTime) continue;
        p.analyzed(() => {
          engine.advance(watermark);
          p.analysis?.advanceAgent(agentId, watermark);
        });
        const out = p.takeOutput();
        if (m.seq < p.resumeFrom) {
          p.takeAlerts(); // replay: its records and alerts were committed before
          continue;
        }
        extra.flows.push(...out.flows);
        extra.dns.push(...out.dns);
        extra.tls.push(...out.tls);
        replayPoints.set(agentId, p.tracker.replayPoint(agentId, engine.oldestOpenStartUs()));
        continue;
      }
      if (!agentId || !Number.isSafeInteger(sequence)) {
        this.o.log.error({ org: p.org, part: p.part, streamSeq: m.seq }, 'stream message without agent or sequence headers: skipped');
        continue;
      }
      if (m.seq < p.resumeFrom) {
        this.replay(p, m, agentId);
        continue;
      }
      if (committed.has(`${agentId}/${sequence}`) || commits.some((c) => c.agentId === agentId && c.sequence === sequence)) continue;
      const dump = this.decode(p, m, agentId, sequence);
      if (dump === null) continue;
      const a = p.analysis;
      if (a === null) feedDump(p.engines, agentId, dump);
      else p.analyzed(() => feedDump(p.engines, agentId, dump, a.onPacket, a.onMeta));
      p.tracker.fed(agentId, m.seq, dump.header.lastTsUs);
      replayPoints.set(agentId, p.tracker.replayPoint(agentId, p.engines.peek(agentId)?.oldestOpenStartUs() ?? null));
      const out = p.takeOutput();
      commits.push({ agentId, sequence, info: this.dumpInfo(m, dump), flows: out.flows, dns: out.dns, tls: out.tls });
      streamSeqs.push(m.seq);
    }
    const last = msgs[msgs.length - 1]!.seq;
    if (last < p.resumeFrom) return;
    const parts = [...replayPoints.keys()];
    const alerts = p.takeAlerts();
    let changes: AlertChange[] = [];
    await store.commitDumps(commits, {
      extra,
      before: (tx) => fenceAndAdvance(tx, p.org, p.part, p.epoch, last + 1),
      after: async (tx, stored) => {
        // stored=false: someone committed one meanwhile - our engines now hold its packets twice
        const lost = stored.findIndex((x) => !x);
        if (lost >= 0) throw new Error(`dump ${commits[lost]!.agentId}#${commits[lost]!.sequence} was committed meanwhile by another worker`);
        if (commits.length > 0) await tx.query(`UPDATE ${store.schema}.dumps d SET stream_seq = u.s FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(a, q, s)
          WHERE d.agent_id = u.a AND d.sequence = u.q`, [commits.map((c) => c.agentId), commits.map((c) => c.sequence), streamSeqs]);
        if (parts.length > 0) await tx.query(`INSERT INTO ${store.schema}.replay_points (agent_id, part, replay_from, last_stream_seq)
          SELECT a, $3, f, $4 FROM unnest($1::text[], $2::bigint[]) AS u(a, f)
          ON CONFLICT (agent_id) DO UPDATE SET part = EXCLUDED.part, replay_from = EXCLUDED.replay_from, last_stream_seq = EXCLUDED.last_stream_seq`,
        [parts, parts.map((a) => replayPoints.get(a) ?? null), p.part, last]);
        // the alerts these dumps raised: committed with them or not at all
        changes = await this.recordAlerts(p, tx, alerts);
      },
    });
    this.delivered(p, changes);
    p.dumps += commits.length;
    if (commits.length > 0) p.commits++;
    this.committed += commits.length;
  }

  private async recordAlerts(p: OwnedPartition, tx: pg.PoolClient, alerts: readonly AggregatedAlert[]): Promise<AlertChange[]> {
    const a = this.analyses.get(p.org);
    return a === undefined || alerts.length === 0 ? [] : a.store.recordIn(tx, alerts);
  }

  /** After a commit: the alert changes it stored go to the outputs. */
  private delivered(p: OwnedPartition, changes: readonly AlertChange[]): void {
    p.alerts += changes.length;
    p.analysis?.deliver(changes);
  }

  /** A message committed by an earlier owner: rebuilds state only (the records it emits were committed then). */
  private replay(p: OwnedPartition, m: JsMsg, agentId: string): void {
    const from = p.replayFrom.get(agentId);
    if (from === undefined || m.seq < from || !p.replaySeqs.has(m.seq)) return;
    const dump = decodeDump(m.data);
    // the analyzers see it too (their state is rebuilt over the replay window); what they raise was committed then
    const a = p.analysis;
    if (a === null) feedDump(p.engines, agentId, dump);
    else p.analyzed(() => feedDump(p.engines, agentId, dump, a.onPacket, a.onMeta));
    p.tracker.fed(agentId, m.seq, dump.header.lastTsUs);
    p.takeOutput();
    p.takeAlerts();
    p.replayed++;
  }

  private decode(p: OwnedPartition, m: JsMsg, agentId: string, sequence: number): DecodedDump | null {
    try {
      const dump = decodeDump(m.data);
      if (dump.header.agentId !== agentId || dump.header.sequence !== sequence) throw new Error(`dump header names ${dump.header.agentId}#${dump.header.sequence}`);
      return dump;
    } catch (e) {
      // the front-end verified it: only a foreign publisher gets here; never loop on it
      this.o.log.error({ org: p.org, agentId, sequence, streamSeq: m.seq, err: (e as Error).message }, 'undecodable stream message: skipped');
      return null;
    }
  }

  private dumpInfo(m: JsMsg, dump: DecodedDump): DumpInfo {
    const h = dump.header;
    const receivedMs = Number(m.headers?.get(HDR_RECEIVED_MS));
    return {
      receivedUs: (Number.isFinite(receivedMs) ? receivedMs : Date.now()) * 1000,
      firstTsUs: h.firstTsUs, lastTsUs: h.lastTsUs, packetCount: h.packetCount, formatVersion: h.version, linkType: h.linkType,
      anonKeyId: h.anonKeyId, snapLen: h.snapLen, compression: h.compression,
      rawPath: `jetstream:${DUMP_STREAM}/${m.seq}`, rawBytes: m.data.length,
      ...(h.flags ? { extra: { flags: h.flags } } : {}),
    };
  }

  /** Stops a partition's reading; with `release`, after its loop ended. Its state is dropped (rebuilt by the next owner). */
  private async drop(p: OwnedPartition, why: string, wait: boolean): Promise<void> {
    if (this.owned.get(p.key) !== p) return;
    this.owned.delete(p.key);
    p.stopping = true;
    p.iter?.stop();
    if (wait) { await p.loop; await p.committing; }
    // its analyzers go with it (after a commit under way ended: it may still deliver)
    void Promise.all([p.loop, p.committing]).finally(() => p.analysis?.close());
    this.o.log.info({ org: p.org, part: p.part, why }, 'partition released');
    if (!this.leases.isLost) await this.leases.release(p.org, p.part).catch(() => undefined);
  }

  /**
   * Stops the worker. flush (default true): the open flows are written out, as the single
   * process does at stop, and the replay points cleared; false: they are left for the next
   * owner to rebuild (a hand-over without splitting flows).
   */
  async stop(opts: { flush?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await this.balancing;
    const parts = [...this.owned.values()];
    for (const p of parts) { p.stopping = true; p.iter?.stop(); }
    for (const p of parts) { await p.loop; await p.committing; }
    for (const p of parts) {
      if (opts.flush ?? true) {
        try {
          p.analyzed(() => {
            p.engines.flushAll();
            p.analysis?.finish();
          });
          const out = p.takeOutput();
          const alerts = p.takeAlerts();
          let changes: AlertChange[] = [];
          const store = this.store(p.org);
          await store.writeFlows(out.flows, out.dns, out.tls, {
            before: (tx) => fenceAndAdvance(tx, p.org, p.part, p.epoch, 0),
            after: async (tx) => {
              await tx.query(`UPDATE ${store.schema}.replay_points SET replay_from = NULL WHERE part = $1`, [p.part]);
              changes = await this.recordAlerts(p, tx, alerts);
            },
          });
          this.delivered(p, changes);
        } catch (e) {
          this.o.log.error({ org: p.org, part: p.part, err: (e as Error).message }, 'writing out open flows failed: the next owner rebuilds them');
        }
      }
      p.analysis?.close();
      this.owned.delete(p.key);
      await this.leases.release(p.org, p.part).catch(() => undefined);
    }
    for (const a of this.analyses.values()) await a.close().catch((e: unknown) => this.o.log.error({ org: a.org, err: (e as Error).message }, 'closing alert outputs failed'));
    await this.leases.close();
    await this.nc.drain().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}
