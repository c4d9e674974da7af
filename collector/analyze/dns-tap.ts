// Hands the DNS messages of captured payload to the analyzers' DNS-name hook. Dumps are
// header-only by default, so this only finds names where payload was captured (hybrid
// capture raised the snap length). Wire it where packet records are available before
// they reach the flow engine (DumpIngest / importCapture):
//   const tap = dnsPayloadTap(host);  ...  tap(rec, agentId);   // per packet record
// The port check is the only per-packet cost for non-DNS packets.
import { formatIp } from '../../shared/net/ip-address.js';
import { RecordFlag, type PacketRecord } from '../../shared/packet/packet-record.js';
import type { AnalyzerHost } from './analyzer-host.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../shared/packet/packet-record.js';

export function dnsPayloadTap(host: AnalyzerHost): (rec: PacketRecord, agentId: string) => number {
  return (rec, agentId) => {
    if (rec.payload.length === 0 || (rec.proto !== IPPROTO_UDP && rec.proto !== IPPROTO_TCP)) return 0;
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
