// Selected packet records -> a pcapng stream for Wireshark: one interface per agent (raw IP, its
// name carries the agent id), each record rebuilt into an IP packet (packet-rebuild.ts) with its
// direction in epb_flags and what the analyst should know in the packet comment (retro capture,
// pseudonymous sides, VLAN, tunnel, decoder flags). Yields chunks of about CHUNK bytes; the
// caller writes them (file, HTTP response). Bounded by a packet count and an output size: the
// summary says when a bound cut the export short.
import { EpbDirection, PcapngWriter } from '../capture-file/pcapng-writer.js';
import { Direction, RecordFlag, TunnelKind, type PacketRecord } from '../packet/packet-record.js';
import { MEERKAT_VERSION } from '../version.js';
import { LINKTYPE_RAW, PacketRebuilder } from './packet-rebuild.js';
import type { RecordDeanonymizer } from './record-deanonymizer.js';
import type { SelectedRecord } from './select-records.js';

const CHUNK = 256 * 1024;

export interface PcapngExportOptions {
  /** stop after this many packets */
  maxPackets?: number;
  /** stop before the output passes this many bytes */
  maxBytes?: number;
  /** the owner's key: real addresses instead of pseudonyms */
  deanonymize?: RecordDeanonymizer;
  /** section comment (what was selected, by whom) */
  comment?: string;
}

export interface PcapngExportSummary {
  packets: number;
  /** packets whose payload was not kept at all (headers only) */
  headerOnly: number;
  /** packets with every payload byte (checksums computed) */
  complete: number;
  /** packets from retro dumps */
  retro: number;
  /** records that are not IP (not exported) */
  nonIp: number;
  /** packets whose header lengths could only be approximated */
  approximate: number;
  bytes: number;
  /** why the export stopped early, or null */
  truncated: 'packets' | 'bytes' | null;
}

export function newPcapngSummary(): PcapngExportSummary {
  return { packets: 0, headerOnly: 0, complete: 0, retro: 0, nonIp: 0, approximate: 0, bytes: 0, truncated: null };
}

const TUNNEL_NAMES: Record<number, string> = {
  [TunnelKind.Gre]: 'gre', [TunnelKind.Vxlan]: 'vxlan', [TunnelKind.Geneve]: 'geneve', [TunnelKind.SixInFour]: '6in4',
  [TunnelKind.Teredo]: 'teredo', [TunnelKind.Gtp]: 'gtp', [TunnelKind.IpInIp]: 'ipip',
};

function packetComment(r: PacketRecord, retro: boolean, approximate: boolean): string | undefined {
  const parts: string[] = [];
  if (retro) parts.push('retro capture');
  const src = (r.flags & RecordFlag.SrcAnon) !== 0;
  const dst = (r.flags & RecordFlag.DstAnon) !== 0;
  if (src || dst) parts.push(`pseudonym: ${src && dst ? 'src, dst' : src ? 'src' : 'dst'}`);
  if (r.vlan !== 0) parts.push(`vlan ${r.vlan}`);
  if ((r.flags & RecordFlag.Inner) !== 0) parts.push(`inside ${TUNNEL_NAMES[r.tunnel] ?? 'a tunnel'}`);
  if ((r.flags & RecordFlag.Malformed) !== 0) parts.push('agent decoder: malformed');
  if ((r.flags & RecordFlag.Truncated) !== 0) parts.push('agent decoder: truncated');
  if (approximate) parts.push('header lengths approximate');
  return parts.length > 0 ? `meerkat: ${parts.join('; ')}` : undefined;
}

/** Interface name and description naming the agent (and the key its pseudonyms were made with). */
export function agentInterface(agentId: string, anonKeyId: string | undefined, deanonymized: boolean): { name: string; description: string } {
  return {
    name: `meerkat-agent-${agentId}`,
    description: `Meerkat agent ${agentId}: IP packets rebuilt from dump records` +
      (deanonymized ? '; pseudonyms turned back with the owner key' : anonKeyId ? `; internal addresses are pseudonyms (key ${anonKeyId})` : ''),
  };
}

/** `agentId` names the interface of an export without packets (otherwise the dumps name it). */
export async function* exportPcapng(records: AsyncIterable<SelectedRecord>, agentId: string, summary: PcapngExportSummary, opts: PcapngExportOptions = {}): AsyncGenerator<Uint8Array> {
  const w = new PcapngWriter({ application: `Meerkat ${MEERKAT_VERSION}`, ...(opts.comment ? { comment: opts.comment } : {}) });
  const rb = new PacketRebuilder();
  const maxPackets = opts.maxPackets ?? Infinity;
  const maxBytes = opts.maxBytes ?? Infinity;
  let iface = -1;
  for await (const s of records) {
    const r = s.rec;
    if (summary.packets >= maxPackets) { summary.truncated = 'packets'; break; }
    if (opts.deanonymize) opts.deanonymize.apply(r);
    const p = rb.rebuild(r);
    if (p === null) { summary.nonIp++; continue; }
    if (summary.bytes + w.pendingBytes + p.data.length + 64 > maxBytes) { summary.truncated = 'bytes'; break; }
    if (iface < 0) iface = w.addInterface({ linkType: LINKTYPE_RAW, ...agentInterface(s.dump.agentId, s.dump.anonKeyId, opts.deanonymize !== undefined) });
    const comment = packetComment(r, s.retro, p.approximate);
    w.addPacket({
      interfaceId: iface, tsUs: r.tsUs, data: p.data, origLen: p.origLen,
      direction: r.direction === Direction.In ? EpbDirection.Inbound : r.direction === Direction.Out ? EpbDirection.Outbound : EpbDirection.Unknown,
      ...(comment ? { comment } : {}),
    });
    summary.packets++;
    if (r.payload.length === 0 && r.payloadLen > 0) summary.headerOnly++;
    if (p.complete) summary.complete++;
    if (s.retro) summary.retro++;
    if (p.approximate) summary.approximate++;
    if (w.pendingBytes >= CHUNK) {
      const c = w.drain();
      summary.bytes += c.length;
      yield c;
    }
  }
  // a file without packets still names its interface, so Wireshark shows what was asked for
  if (iface < 0) w.addInterface({ linkType: LINKTYPE_RAW, ...agentInterface(agentId, undefined, opts.deanonymize !== undefined) });
  const c = w.drain();
  summary.bytes += c.length;
  yield c;
}
