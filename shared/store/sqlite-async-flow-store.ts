// AsyncFlowStore over the synchronous SqliteFlowStore: the single process's store seen through
// the asynchronous contract (tools and tests that work on either backend, the contract suite).
// Each call runs synchronously inside the promise; the store's own transaction gives the
// one-transaction commit of a dump.
import type { FlowRecord } from '../flow/flow-record.js';
import type { DnsRecord, TlsRecord } from '../flow/app-records.js';
import type { AsyncFlowStore, DumpCommit, DumpCommitResult } from './async-flow-store.js';
import type { AgentRow, FlowFilter, InsertFlowsResult, StoredDump } from './flow-store.js';
import type { SqliteFlowStore } from './sqlite-flow-store.js';

export class SqliteAsyncFlowStore implements AsyncFlowStore {
  readonly backend = 'sqlite';

  /** `owns`: close() also closes the synchronous store. */
  constructor(readonly store: SqliteFlowStore, private readonly owns = true) {}

  async hasDump(agentId: string, sequence: number): Promise<boolean> {
    return this.store.getDump(agentId, sequence) !== null;
  }

  async getDump(agentId: string, sequence: number): Promise<StoredDump | null> {
    return this.store.getDump(agentId, sequence);
  }

  async commitDump(c: DumpCommit): Promise<DumpCommitResult> {
    return this.store.transaction(() => this.commitOne(c));
  }

  async commitDumps(cs: readonly DumpCommit[]): Promise<DumpCommitResult[]> {
    return this.store.transaction(() => cs.map((c) => this.commitOne(c)));
  }

  /** Inside the caller's transaction. */
  private commitOne(c: DumpCommit): DumpCommitResult {
    this.store.upsertAgent(c.agentId, c.info.receivedUs);
    if (!this.store.recordDump(c.agentId, c.sequence, c.info)) return { stored: false, flows: { inserted: 0, refused: [] } };
    const flows = this.store.insertFlows(c.flows);
    this.store.insertAppRecords(c.dns, c.tls);
    this.store.markFlowsBuilt(c.agentId, c.sequence);
    return { stored: true, flows };
  }

  async writeFlows(flows: readonly FlowRecord[], dns: readonly DnsRecord[], tls: readonly TlsRecord[]): Promise<InsertFlowsResult> {
    return this.store.transaction(() => {
      const r = this.store.insertFlows(flows);
      this.store.insertAppRecords(dns, tls);
      return r;
    });
  }

  async listAgents(): Promise<AgentRow[]> {
    return this.store.listAgents();
  }

  async queryFlows(filter?: FlowFilter): Promise<FlowRecord[]> {
    return this.store.queryFlows(filter);
  }

  async countFlows(filter?: FlowFilter): Promise<number> {
    return this.store.countFlows(filter);
  }

  async applyRetention(nowUs: number): Promise<{ flowsDeleted: number; dumpRowsDeleted: number }> {
    const r = this.store.applyRetention(nowUs);
    return { flowsDeleted: r.flowsDeleted, dumpRowsDeleted: r.dumpRowsDeleted };
  }

  async countDumps(agentId?: string): Promise<number> {
    return this.store.countDumps(agentId);
  }

  async close(): Promise<void> {
    if (this.owns) this.store.close();
  }
}
