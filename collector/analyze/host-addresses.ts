// Which addresses are the capturing host's own, per agent. A host-based capture sees
// the host in (nearly) every flow, so an address that takes part in at least half of an
// agent's flows (after a short warm-up) is taken as the host's; owners may also pin them
// in the config. Counts halve every `decayEvery` flows so a new DHCP lease takes over.

export interface HostAddressOptions {
  /** pinned host addresses per agent id (as records carry them: pseudonym text or clear) */
  pinned?: Record<string, readonly string[]>;
  /** flows of an agent before learned addresses count (default 20) */
  minFlows?: number;
  /** share of an agent's flows an address must take part in (default 0.5) */
  share?: number;
  /** distinct addresses counted per agent (default 4096) */
  maxTracked?: number;
  decayEvery?: number;
}

class AgentCounts {
  flows = 0;
  readonly counts = new Map<string, number>();
  pinned: Set<string> | null = null;
}

export class HostAddressBook {
  private readonly agents = new Map<string, AgentCounts>();
  private readonly minFlows: number;
  private readonly share: number;
  private readonly maxTracked: number;
  private readonly decayEvery: number;

  constructor(private readonly opts: HostAddressOptions = {}) {
    this.minFlows = opts.minFlows ?? 20;
    this.share = opts.share ?? 0.5;
    this.maxTracked = opts.maxTracked ?? 4096;
    this.decayEvery = opts.decayEvery ?? 10_000;
  }

  private agent(agentId: string): AgentCounts {
    let a = this.agents.get(agentId);
    if (a === undefined) {
      a = new AgentCounts();
      const p = this.opts.pinned?.[agentId];
      if (p !== undefined && p.length > 0) a.pinned = new Set(p);
      this.agents.set(agentId, a);
    }
    return a;
  }

  /** Counts one flow's two endpoints (call once per flow, e.g. on its first record). */
  observe(agentId: string, orig: string, resp: string): void {
    const a = this.agent(agentId);
    if (a.pinned !== null) return;
    a.flows++;
    this.bump(a, orig);
    if (resp !== orig) this.bump(a, resp);
    if (a.flows >= this.decayEvery) {
      a.flows = Math.floor(a.flows / 2);
      for (const [k, v] of a.counts) {
        const h = v >> 1;
        if (h === 0) a.counts.delete(k); else a.counts.set(k, h);
      }
    }
  }

  private bump(a: AgentCounts, addr: string): void {
    const c = a.counts.get(addr);
    if (c !== undefined) a.counts.set(addr, c + 1);
    else if (a.counts.size < this.maxTracked) a.counts.set(addr, 1);
  }

  isHost(agentId: string, addr: string): boolean {
    const a = this.agents.get(agentId);
    if (a === undefined) return false;
    if (a.pinned !== null) return a.pinned.has(addr);
    if (a.flows < this.minFlows) return false;
    return (a.counts.get(addr) ?? 0) >= a.flows * this.share;
  }

  /** Addresses currently taken as the agent's own. */
  hostAddresses(agentId: string): string[] {
    const a = this.agents.get(agentId);
    if (a === undefined) return [];
    if (a.pinned !== null) return [...a.pinned];
    if (a.flows < this.minFlows) return [];
    return [...a.counts].filter(([, c]) => c >= a.flows * this.share).map(([k]) => k);
  }
}
