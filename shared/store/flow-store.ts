// The storage contract of the collector: agents, received dumps (deduplicated by
// agent id + sequence), flow records, retention. SQLite implements it today
// (sqlite-flow-store.ts); another backend (PostgreSQL for multi-machine deployments)
// is another class implementing this interface - callers never see SQL.
//
// The interface is synchronous: the ingest path records a dump and its flows in one
// short transaction and acknowledges the dump only after transaction() returns, i.e.
// after a durable commit. A networked backend keeps the same semantics by running
// behind its own worker (it must not acknowledge before its commit either).
import type { ConnState, FlowRecord } from '../flow/flow-record.js';
import type { DnsRecord, TlsRecord } from '../flow/app-records.js';
import { MeerkatError } from '../errors.js';

/** Facts about one received dump file. */
export interface DumpInfo {
  /** when the collector received it (µs, wall clock of the collector) */
  receivedUs: number;
  /** capture time of the first / last packet (µs) */
  firstTsUs: number;
  lastTsUs: number;
  packetCount: number;
  formatVersion?: number;
  linkType?: number;
  anonKeyId?: string;
  snapLen?: number;
  compression?: string;
  /** where the raw dump is kept (for forensics), null when not kept */
  rawPath?: string | null;
  rawBytes?: number;
  /** any further header facts worth keeping (stored as JSON) */
  extra?: Record<string, unknown>;
}

export interface StoredDump extends DumpInfo {
  agentId: string;
  sequence: number;
  /** when retention removed the raw file (µs), null while it is kept */
  rawDeletedUs: number | null;
}

export interface AgentRow {
  agentId: string;
  firstSeenUs: number;
  lastSeenUs: number;
  info: Record<string, unknown> | null;
}

/** Filter for flow queries; all conditions must hold. Times select records overlapping [since, until]. */
export interface FlowFilter {
  agentId?: string;
  /** originator or responder address, or a CIDR prefix either side lies in (text form as records carry it) */
  addr?: string;
  /** with addr: only a side that is a pseudonym (the "*" notation); default either */
  addrPseudonym?: boolean;
  /** originator or responder port */
  port?: number;
  /** protocol name as in records (tcp, udp, icmp, ...) */
  proto?: string;
  /** µs since the epoch */
  since?: number;
  until?: number;
  state?: ConnState;
  uid?: string;
  communityId?: string;
  /** server name (docs/flows.md "Application fields"): this name, case-insensitive */
  name?: string;
  /** with name: also every name under it ("example.com" matches "www.example.com") */
  nameSuffix?: boolean;
  /** at most this many records (newest first unless order is 'asc') */
  limit?: number;
  order?: 'asc' | 'desc';
}

/** Filter for the DNS and TLS logs; all conditions must hold. Times select records with ts in [since, until]. */
export interface AppLogFilter {
  agentId?: string;
  /** originator or responder address */
  addr?: string;
  /** the DNS query or TLS server name (case-insensitive), with nameSuffix the names under it too */
  name?: string;
  nameSuffix?: boolean;
  uid?: string;
  since?: number;
  until?: number;
  /** DNS: response code (number) */
  rcode?: number;
  /** TLS: client fingerprint */
  ja4?: string;
  limit?: number;
  order?: 'asc' | 'desc';
}

/** One page of flow records, newest first, and the cursor of the next page (null: no more). */
export interface FlowPage {
  records: FlowRecord[];
  next: string | null;
}

/** Traffic over a time range, grouped: who talked most, on which ports, with which protocols. */
export interface FlowSummary {
  records: number;
  packets: number;
  /** IP bytes, both directions */
  bytes: number;
  /** addresses by bytes sent and received (either side of a record) */
  talkers: Array<{ addr: string; pseudonym: boolean; records: number; packets: number; bytes: number }>;
  /** responder ports by bytes */
  ports: Array<{ proto: string; port: number; records: number; packets: number; bytes: number }>;
  protocols: Array<{ proto: string; records: number; packets: number; bytes: number }>;
}

/**
 * How long things are kept, counted from when the collector received them (never from packet
 * time: an imported capture of last year is kept as long as today's traffic).
 */
export interface RetentionPolicy {
  /** flow records stored longer ago than this are deleted (default 30 days) */
  flowsDays: number;
  /** raw dump files received longer ago than this are released (default 7 days) */
  rawDumpsDays: number;
}

export const DEFAULT_RETENTION: Readonly<RetentionPolicy> = Object.freeze({ flowsDays: 30, rawDumpsDays: 7 });

export interface RetentionResult {
  flowsDeleted: number;
  dumpRowsDeleted: number;
  /** raw dump files the caller should now delete from disk (the store does no file I/O) */
  rawPathsToDelete: string[];
}

/** A flow record the store refused (a value its column cannot take); the others of its batch are stored. */
export interface RefusedFlow {
  uid: string;
  agentId: string;
  reason: string;
}

export interface InsertFlowsResult {
  inserted: number;
  refused: RefusedFlow[];
}

export class StoreError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_FLOW_STORE';
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface FlowStore {
  /** 'sqlite', 'postgres', ... */
  readonly backend: string;
  /** Schema version in use. */
  schemaVersion(): number;
  /** Creates or refreshes an agent (last seen time, optional info). */
  upsertAgent(agentId: string, seenUs: number, info?: Record<string, unknown>): void;
  /** Records a received dump; false if (agentId, sequence) was already recorded (a resend). */
  recordDump(agentId: string, sequence: number, info: DumpInfo): boolean;
  getDump(agentId: string, sequence: number): StoredDump | null;
  /** Marks a recorded dump's flows as built (same transaction as its flow records). */
  markFlowsBuilt(agentId: string, sequence: number): void;
  /** Recorded dumps whose flows are not built yet, per agent in sequence order (crash recovery). */
  dumpsPendingFlows(limit: number): StoredDump[];
  listAgents(): AgentRow[];
  /**
   * Inserts the records (in one transaction, or the caller's). A record with a value its
   * column cannot take (NaN, Infinity, a missing text) is refused and reported, never stored,
   * and never fails the others; storage failures (disk full, I/O) still throw. Reads the array
   * before it returns and keeps no reference to it (FlowBatchWriter empties and reuses it).
   */
  insertFlows(records: readonly FlowRecord[]): InsertFlowsResult;
  queryFlows(filter?: FlowFilter): FlowRecord[];
  iterateFlows(filter?: FlowFilter): IterableIterator<FlowRecord>;
  /**
   * At most `limit` records newest first (start, then storage order), after the cursor of the
   * previous page (opaque text, null for the first). @throws StoreError on a bad cursor
   */
  pageFlows(filter: FlowFilter, limit: number, cursor: string | null): FlowPage;
  /** Totals and the `top` largest talkers, ports and protocols of the records the filter selects. */
  summarizeFlows(filter: FlowFilter, top: number): FlowSummary;
  countFlows(filter?: FlowFilter): number;
  /** Stores DNS transactions and TLS handshakes (in the caller's transaction, or one of its own); keeps no reference to the arrays. */
  insertAppRecords(dns: readonly DnsRecord[], tls: readonly TlsRecord[]): void;
  iterateDns(filter?: AppLogFilter): IterableIterator<DnsRecord>;
  iterateTls(filter?: AppLogFilter): IterableIterator<TlsRecord>;
  /** Deletes what the retention policy no longer keeps, by receive / store time (see RetentionPolicy). */
  applyRetention(nowUs: number): RetentionResult;
  /** Runs fn in one transaction (nested calls join the outer one); rolls back if fn throws. */
  transaction<T>(fn: () => T): T;
  close(): void;
}
