// The asynchronous storage contract of the collector's flow side, for backends reached over
// the network (PostgreSQL in a scale-out deployment, docs/scale-out.md) and the local SQLite
// store behind an adapter. The synchronous FlowStore (flow-store.ts) stays what the single
// process uses; this contract is what the flow workers and the front-ends need, and one
// contract test suite holds every implementation to it.
//
// The unit of work is a dump: its row and everything it produced (flow records, DNS and TLS
// log rows, the agent's last-seen time) commit in ONE transaction, keyed by (agent id,
// sequence). A second commit of the same key writes nothing and says so: delivery may repeat
// (at-least-once), the effect does not.
import type { FlowRecord } from '../flow/flow-record.js';
import type { DnsRecord, TlsRecord } from '../flow/app-records.js';
import type { AgentRow, DumpInfo, FlowFilter, InsertFlowsResult, StoredDump } from './flow-store.js';

export interface DumpCommit {
  agentId: string;
  sequence: number;
  info: DumpInfo;
  /** flow records this dump completed (they may belong to flows begun in earlier dumps) */
  flows: readonly FlowRecord[];
  dns: readonly DnsRecord[];
  tls: readonly TlsRecord[];
}

export interface DumpCommitResult {
  /** false: (agent id, sequence) was committed before; nothing of this commit was written */
  stored: boolean;
  flows: InsertFlowsResult;
}

export interface AsyncFlowStore {
  /** 'sqlite', 'postgres' */
  readonly backend: string;
  /** Whether (agent id, sequence) is committed. */
  hasDump(agentId: string, sequence: number): Promise<boolean>;
  getDump(agentId: string, sequence: number): Promise<StoredDump | null>;
  /** The dump row and everything it produced, in one transaction; idempotent by (agent id, sequence). */
  commitDump(c: DumpCommit): Promise<DumpCommitResult>;
  /**
   * Several dumps in ONE transaction (group commit: one durable commit for the batch), each
   * idempotent as in commitDump; results in the order given. A dump appearing twice in the
   * batch is stored once.
   */
  commitDumps(cs: readonly DumpCommit[]): Promise<DumpCommitResult[]>;
  /**
   * Flow records not tied to a new dump (flows ended by an agent's packet-time watermark or
   * written out at shutdown), in one transaction. Values a column cannot take are refused
   * and reported, never stored, and never fail the others.
   */
  writeFlows(flows: readonly FlowRecord[], dns: readonly DnsRecord[], tls: readonly TlsRecord[]): Promise<InsertFlowsResult>;
  listAgents(): Promise<AgentRow[]>;
  queryFlows(filter?: FlowFilter): Promise<FlowRecord[]>;
  countFlows(filter?: FlowFilter): Promise<number>;
  /**
   * Deletes flow records (and DNS/TLS log rows) stored longer ago than the store's flowsDays and
   * dump rows received longer ago (the duplicate filter lives as long as the flows it guards).
   */
  applyRetention(nowUs: number): Promise<{ flowsDeleted: number; dumpRowsDeleted: number }>;
  /** Number of committed dumps (of one agent, or all). */
  countDumps(agentId?: string): Promise<number>;
  close(): Promise<void>;
}
