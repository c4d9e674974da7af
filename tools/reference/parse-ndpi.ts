// ndpiReader result files: the flow lines "PROTO a:port <-> b:port ...
// [N pkts/B bytes <-> M pkts/C bytes]". Bytes there are captured frame lengths
// (link header included), so only packets are comparable. nDPI keys ICMP by
// addresses alone (ports 0).
import { IPPROTO, normAddr, type ComparableFlow } from './reference-flow.js';

const PROTOS: Record<string, number> = { TCP: IPPROTO.tcp, UDP: IPPROTO.udp, ICMP: IPPROTO.icmp, ICMPV6: IPPROTO.icmpv6, IGMP: IPPROTO.igmp, SCTP: IPPROTO.sctp };
const LINE = /^\s+\d+\s+([A-Z0-9]+)\s+(\S+)\s+(?:<->|->)\s+(\S+)\s+\[/;
const STATS = /\[(\d+) pkts\/(\d+) bytes (?:<->|->) (\d+) pkts\/(\d+) bytes\]/;

function endpoint(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  return [normAddr(s.slice(0, i).replace(/^\[|\]$/g, '')), Number(s.slice(i + 1))];
}

export function parseNdpiOut(text: string): ComparableFlow[] {
  const out: ComparableFlow[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const s = STATS.exec(line);
    if (s === null) continue;
    const ipProto = PROTOS[m[1]!];
    if (ipProto === undefined) continue;
    const [aAddr, aPort] = endpoint(m[2]!);
    const [bAddr, bPort] = endpoint(m[3]!);
    out.push({
      ipProto, aAddr, aPort, bAddr, bPort,
      aPkts: Number(s[1]), bPkts: Number(s[3]), aBytes: null, bBytes: null,
      label: line.trim().slice(0, 120),
    });
  }
  return out;
}
