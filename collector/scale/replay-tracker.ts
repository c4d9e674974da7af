// The replay point of each agent on a flow worker (docs/scale-out.md "When a worker dies"):
// the stream sequence of the oldest dump fed to the agent's engine that may hold a packet of a
// flow still open. Pure bookkeeping: the worker tells it each dump fed (stream sequence, time of
// its last packet) and, after each, the start time of the engine's oldest open flow.
export class ReplayTracker {
  private readonly fedDumps = new Map<string, Array<{ seq: number; lastTsUs: number }>>();

  /** A dump was fed to the agent's engine. */
  fed(agentId: string, streamSeq: number, lastTsUs: number): void {
    let q = this.fedDumps.get(agentId);
    if (q === undefined) {
      q = [];
      this.fedDumps.set(agentId, q);
    }
    q.push({ seq: streamSeq, lastTsUs });
  }

  /**
   * The agent's replay point now that its oldest open flow started at `oldestOpenStartUs`
   * (null: no flow open): dumps whose last packet is older than that hold no packet of an
   * open flow and are forgotten. Null when nothing needs replaying.
   */
  replayPoint(agentId: string, oldestOpenStartUs: number | null): number | null {
    const q = this.fedDumps.get(agentId);
    if (q === undefined) return null;
    if (oldestOpenStartUs === null) {
      this.fedDumps.delete(agentId);
      return null;
    }
    let drop = 0;
    while (drop < q.length && q[drop]!.lastTsUs < oldestOpenStartUs) drop++;
    if (drop > 0) q.splice(0, drop);
    return q.length > 0 ? q[0]!.seq : null;
  }
}
