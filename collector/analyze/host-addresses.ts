// Which addresses are the capturing host's own, per agent. A host-based capture sees
// the host in (nearly) every flow, so an address that takes part in at least half of an
// agent's flows (after a short warm-up) is taken as the host's; owners may also pin them
// in the config. Counts halve every `decayEvery` flows so a new DHCP lease takes over.
//
// Counting every address would cost a map entry per remote server; only frequent
// addresses matter, so a Misra-Gries summary with a few counters per agent is kept: an
// address in more than 1/(k+1) of the endpoint stream keeps a counter, and its count
// plus the number of decrement rounds bounds its true count from above (isHost uses
// that bound, so a host in 60 % of its flows is still recognised).

export interface HostAddressOptions {
  /** pinned host addresses per agent id (as records carry them: pseudonym text or clear) */
  pinned?: Record<string, readonly string[]>;
  /** flows of an agent before learned addresses count (default 20) */
  minFlows?: number;
  /** share of an agent's flows an address must take part in (default 0.5) */
  share?: number;
  /** counters per agent (default 8) */
  counters?: number;
  decayEvery?: number;
}

class AgentCounts {
  flows = 0;
  /** Misra-Gries decrement rounds (each lowered every counter by one) */
  decrements = 0;
  readonly addrs: string[] = [];
  readonly counts: number[] = [];
  pinned: Set<string> | null = null;
}

export class HostAddressBook {
  private readonly agents = new Map<string, AgentCounts>();
  private readonly minFlows: number;
  private readonly share: number;
  private readonly k: number;
  private readonly decayEvery: number;

  constructor(private readonly opts: HostAddressOptions = {}) {
    this.minFlows = opts.minFlows ?? 20;
    this.share = opts.share ?? 0.5;
    this.k = opts.counters ?? 8;
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
      a.decrements = Math.floor(a.decrements / 2);
      for (let i = a.counts.length - 1; i >= 0; i--) {
        a.counts[i] = a.counts[i]! >> 1;
        if (a.counts[i] === 0) { a.counts.splice(i, 1); a.addrs.splice(i, 1); }
      }
    }
  }

  private bump(a: AgentCounts, addr: string): void {
    const i = a.addrs.indexOf(addr);
    if (i >= 0) { a.counts[i]!++; return; }
    if (a.addrs.length < this.k) { a.addrs.push(addr); a.counts.push(1); return; }
    // Misra-Gries: no free counter, every counter loses one
    a.decrements++;
    for (let j = a.counts.length - 1; j >= 0; j--) {
      if (--a.counts[j]! === 0) { a.counts.splice(j, 1); a.addrs.splice(j, 1); }
    }
  }

  /** Upper bound of an address's true count (its counter plus the decrement rounds it may have lost). */
  private estimate(a: AgentCounts, addr: string): number {
    const i = a.addrs.indexOf(addr);
    return i < 0 ? 0 : a.counts[i]! + a.decrements;
  }

  isHost(agentId: string, addr: string): boolean {
    const a = this.agents.get(agentId);
    if (a === undefined) return false;
    if (a.pinned !== null) return a.pinned.has(addr);
    if (a.flows < this.minFlows) return false;
    return this.estimate(a, addr) >= a.flows * this.share;
  }

  /** Addresses currently taken as the agent's own. */
  hostAddresses(agentId: string): string[] {
    const a = this.agents.get(agentId);
    if (a === undefined) return [];
    if (a.pinned !== null) return [...a.pinned];
    if (a.flows < this.minFlows) return [];
    return a.addrs.filter((x) => this.estimate(a, x) >= a.flows * this.share);
  }
}
