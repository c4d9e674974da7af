// Remembers which flow the first fragment of an IP datagram went to, so the later
// fragments (which carry no ports) are counted in the same flow. Entries live for a
// fixed packet-time window; the map is insertion ordered, so expiry pops from the front.
// Fragments are rare, so a string key per fragment is acceptable here.
import type { PacketRecord } from '../../shared/packet/packet-record.js';
import type { Flow } from './flow.js';

interface FragEntry {
  flow: Flow;
  /** the datagram's sender is the flow's endpoint A */
  fromA: boolean;
  deadline: number;
}

function hex(b: Uint8Array, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
}

export class FragmentIndex {
  private readonly map = new Map<string, FragEntry>();

  constructor(private readonly lifetimeUs: number, private readonly maxEntries = 65536) {}

  get size(): number {
    return this.map.size;
  }

  private key(agentIdx: number, rec: PacketRecord): string {
    const len = rec.ipVersion === 6 ? 16 : 4;
    return `${agentIdx}/${rec.vlan}/${rec.ipVersion}/${rec.proto}/${rec.ipId}/${hex(rec.src, len)}/${hex(rec.dst, len)}`;
  }

  /** Called for a first fragment (offset 0, more fragments follow). */
  remember(agentIdx: number, rec: PacketRecord, flow: Flow, fromA: boolean): void {
    const k = this.key(agentIdx, rec);
    this.map.delete(k);
    if (this.map.size >= this.maxEntries) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(k, { flow, fromA, deadline: rec.tsUs + this.lifetimeUs });
  }

  /** The entry of this fragment's datagram, or null (first fragment unseen or its flow gone). */
  lookup(agentIdx: number, rec: PacketRecord): FragEntry | null {
    const e = this.map.get(this.key(agentIdx, rec));
    if (e === undefined || !e.flow.alive) return null;
    return e;
  }

  expire(nowUs: number): void {
    for (const [k, e] of this.map) {
      if (e.deadline > nowUs) break;
      this.map.delete(k);
    }
  }

  clear(): void {
    this.map.clear();
  }
}
