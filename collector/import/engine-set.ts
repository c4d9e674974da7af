// One flow engine per agent: flow state stays with its agent across dumps, and one
// agent's packet time never expires another agent's flows.
import { FlowEngine, type FlowTimeouts } from '../flow/flow-engine.js';
import type { FlowRecord } from '../../shared/flow/flow-record.js';
import type { AppRecord } from '../../shared/flow/app-records.js';

export class EngineSet {
  private readonly engines = new Map<string, FlowEngine>();

  constructor(
    private readonly onRecord: (r: FlowRecord) => void,
    private readonly timeouts?: Partial<FlowTimeouts>,
    private readonly onAppRecord?: (r: AppRecord) => void,
  ) {}

  get(agentId: string): FlowEngine {
    let e = this.engines.get(agentId);
    if (e === undefined) {
      e = new FlowEngine({
        agentId, onRecord: this.onRecord, ...(this.timeouts ? { timeouts: this.timeouts } : {}), ...(this.onAppRecord ? { onAppRecord: this.onAppRecord } : {}),
      });
      this.engines.set(agentId, e);
    }
    return e;
  }

  /** The agent's engine if it has one (no engine is made for an agent never seen). */
  peek(agentId: string): FlowEngine | undefined {
    return this.engines.get(agentId);
  }

  /**
   * Forgets an agent's open flows without emitting them: after a failed store
   * transaction, so a retried dump is not counted twice (what the open flows had
   * gathered since their last record is lost, never doubled).
   */
  discard(agentId: string): void {
    this.engines.delete(agentId);
  }

  /** Ends every flow of every agent; returns how many records were not IP. */
  flushAll(): { nonIp: number } {
    let nonIp = 0;
    for (const e of this.engines.values()) {
      e.flushAll();
      nonIp += e.stats.nonIp;
    }
    return { nonIp };
  }
}
