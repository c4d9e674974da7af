// The host's own addresses: which packets this host sent (Out) or received (In), and the
// subnet-directed broadcast addresses of its IPv4 networks. The table is pure and tested per
// packet without allocation; hostFactsFromInterfaces turns os.networkInterfaces() output
// (passed in, so it can be tested with fixtures) into the lists the pipeline needs.
import type { NetworkInterfaceInfo } from 'node:os';
import { Direction, type PacketRecord } from '../../shared/packet/packet-record.js';
import { formatIpv4, parseIp } from '../../shared/net/ip-address.js';

function word(b: Uint8Array, off: number): number {
  return (b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!;
}

export class HostAddressTable {
  private v4 = new Int32Array(0);
  /** 4 words per address */
  private v6 = new Int32Array(0);
  private texts: string[] = [];

  constructor(addresses: readonly string[] = []) {
    this.set(addresses);
  }

  /** Replaces the addresses (IPv4/IPv6 literals; zone ids are ignored). @throws AddressParseError */
  set(addresses: readonly string[]): void {
    const a4: number[] = [];
    const a6: number[] = [];
    for (const text of addresses) {
      const a = parseIp(text);
      if (a.version === 4) a4.push(word(a.bytes, 0));
      else for (let w = 0; w < 4; w++) a6.push(word(a.bytes, 4 * w));
    }
    this.v4 = Int32Array.from(a4);
    this.v6 = Int32Array.from(a6);
    this.texts = [...addresses];
  }

  /** The addresses as given to set(). */
  get addresses(): readonly string[] {
    return this.texts;
  }

  get size(): number {
    return this.v4.length + this.v6.length / 4;
  }

  isHost(version: number, addr: Uint8Array): boolean {
    if (version === 4) {
      const a = word(addr, 0);
      const t = this.v4;
      for (let i = 0; i < t.length; i++) if (t[i] === a) return true;
      return false;
    }
    if (version !== 6) return false;
    const t = this.v6;
    if (t.length === 0) return false;
    const k0 = word(addr, 0), k1 = word(addr, 4), k2 = word(addr, 8), k3 = word(addr, 12);
    for (let i = 0; i < t.length; i += 4) {
      if (t[i] === k0 && t[i + 1] === k1 && t[i + 2] === k2 && t[i + 3] === k3) return true;
    }
    return false;
  }

  /** Out when the source is this host, In when the destination is, else Unknown. */
  directionOf(rec: PacketRecord): Direction {
    if (this.v4.length === 0 && this.v6.length === 0) return Direction.Unknown; // replay without host addresses
    const v = rec.ipVersion;
    if (this.isHost(v, rec.src)) return Direction.Out;
    if (this.isHost(v, rec.dst)) return Direction.In;
    return Direction.Unknown;
  }
}

export interface HostFacts {
  /** unicast addresses of every non-loopback interface */
  addresses: string[];
  /** subnet-directed IPv4 broadcast addresses (prefixes shorter than /31) */
  directedBroadcasts: string[];
  /** interface name -> MAC (non-zero MACs only) */
  macs: Record<string, string>;
}

/** Extracts the host's addresses from os.networkInterfaces() output. */
export function hostFactsFromInterfaces(ifaces: Record<string, NetworkInterfaceInfo[] | undefined>): HostFacts {
  const addresses = new Set<string>();
  const broadcasts = new Set<string>();
  const macs: Record<string, string> = {};
  for (const [name, list] of Object.entries(ifaces)) {
    if (!list) continue;
    for (const info of list) {
      if (info.internal) continue;
      const addr = info.address.split('%')[0]!;
      addresses.add(addr);
      if (info.mac && info.mac !== '00:00:00:00:00:00') macs[name] = info.mac;
      if (info.family === 'IPv4' && info.cidr) {
        const len = Number(info.cidr.slice(info.cidr.indexOf('/') + 1));
        if (len < 31) {
          const a = parseIp(addr).bytes;
          const host = len === 0 ? 0xffffffff : (0xffffffff >>> len);
          const bc = (word(a, 0) | host) >>> 0;
          const out = new Uint8Array(4);
          out[0] = bc >>> 24; out[1] = (bc >>> 16) & 0xff; out[2] = (bc >>> 8) & 0xff; out[3] = bc & 0xff;
          broadcasts.add(formatIpv4(out));
        }
      }
    }
  }
  return { addresses: [...addresses], directedBroadcasts: [...broadcasts], macs };
}
