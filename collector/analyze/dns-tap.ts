// Hands the DNS messages of captured payload to the analyzers' DNS-name hook (an
// AnalyzerHost in-process, or the analyzer pool, which parses them in its workers). Dumps
// are header-only by default, so this only finds names where payload was captured (hybrid
// capture raised the snap length). Wire it where packet records are available before
// they reach the flow engine (DumpIngest / importCapture):
//   const tap = dnsPayloadTap(host);  ...  tap(rec, agentId);   // per packet record
// The port check is the only per-packet cost for non-DNS packets.
import { formatIp } from '../../shared/net/ip-address.js';
import { IPPROTO_TCP, IPPROTO_UDP, RecordFlag, type PacketRecord } from '../../shared/packet/packet-record.js';

/** Where DNS payloads go; returns the names handed on (0 when that happens elsewhere, e.g. in a worker). */
export interface DnsPayloadSink {
  onDnsPayload(payload: Uint8Array, info: { agentId: string; tsUs: number; client: string; server: string; clientAnon: boolean; tcp: boolean }): number;
}

export function dnsPayloadTap(host: DnsPayloadSink): (rec: PacketRecord, agentId: string, hasMeta?: boolean) => number {
  // hasMeta: the agent extracted metadata from this packet; its DNS names reach the analyzers
  // through the DNS transaction (onDns, onDnsName) and must not be handed on twice
  return (rec, agentId, hasMeta) => {
    if (hasMeta === true || rec.payload.length === 0 || (rec.proto !== IPPROTO_UDP && rec.proto !== IPPROTO_TCP)) return 0;
    const toServer = rec.dport === 53;
    if (!toServer && rec.sport !== 53) return 0;
    const src = formatIp(rec.ipVersion, rec.src);
    const dst = formatIp(rec.ipVersion, rec.dst);
    return host.onDnsPayload(rec.payload, {
      agentId,
      tsUs: rec.tsUs,
      client: toServer ? src : dst,
      server: toServer ? dst : src,
      clientAnon: (rec.flags & (toServer ? RecordFlag.SrcAnon : RecordFlag.DstAnon)) !== 0,
      tcp: rec.proto === IPPROTO_TCP,
    });
  };
}
