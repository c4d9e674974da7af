// Argus CSV (ra -c , -s stime ltime proto saddr sport dir daddr dport spkts dpkts
// sbytes dbytes state) -> comparable flows. Argus bytes include the link header and
// ICMP "ports" are type/code in hex, so packets are compared and ICMP is keyed by
// addresses. Non-IP records (arp, llc, ...) have no counterpart here and are skipped.
import { IPPROTO, normAddr, type ComparableFlow } from './reference-flow.js';

const PROTOS: Record<string, number> = {
  tcp: IPPROTO.tcp, udp: IPPROTO.udp, icmp: IPPROTO.icmp, 'ipv6-icmp': IPPROTO.icmpv6, igmp: IPPROTO.igmp,
  sctp: IPPROTO.sctp, gre: 47, ipv6: 41, esp: 50, ospf: 89, pim: 103, vrrp: 112,
};

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;

export function parseArgusCsv(text: string): ComparableFlow[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  const head = lines[0]!.split(',');
  const col = (name: string): number => head.indexOf(name);
  const out: ComparableFlow[] = [];
  for (const line of lines.slice(1)) {
    const c = line.split(',');
    const protoName = c[col('Proto')] ?? '';
    // numeric "protocols" of records between MAC addresses are EtherTypes, not IP protocols
    if (MAC.test(c[col('SrcAddr')] ?? '')) continue;
    const ipProto = PROTOS[protoName] ?? (/^\d+$/.test(protoName) ? Number(protoName) : undefined);
    if (ipProto === undefined) continue;
    const port = (v: string | undefined): number => (v === undefined || v === '' ? 0 : v.startsWith('0x') ? 0 : Number(v));
    out.push({
      ipProto,
      aAddr: normAddr(c[col('SrcAddr')] ?? ''),
      aPort: port(c[col('Sport')]),
      bAddr: normAddr(c[col('DstAddr')] ?? ''),
      bPort: port(c[col('Dport')]),
      aPkts: Number(c[col('SrcPkts')] ?? 0),
      bPkts: Number(c[col('DstPkts')] ?? 0),
      aBytes: null,
      bBytes: null,
      label: line.slice(0, 120),
    });
  }
  return out;
}
