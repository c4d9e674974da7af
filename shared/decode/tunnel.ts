// Decapsulation: decode the packet inside a tunnel into the same record, and fall
// back to the outer packet when the inside is not an IP packet. The outer state is
// saved in preallocated records, so tunnels cost copies, not allocations.
import { EMPTY_BYTES, FragFlag, RecordFlag, type TunnelKind } from '../packet/packet-record.js';
import { DecodedPacket } from './decoded-packet.js';
import { MAX_TUNNEL_DEPTH, UNKNOWN_END, type DecodeState } from './decode-state.js';
import type { LayerDecoder } from './dispatch-table.js';
import { decodeEtherType } from './dispatch.js';

const saved: DecodedPacket[] = [];
for (let i = 0; i < MAX_TUNNEL_DEPTH; i++) saved.push(new DecodedPacket());

/**
 * Decodes the tunnel payload at off as the packet announced by `etherType`
 * (0x0800, 0x86dd, 0x6558 for Ethernet, ...). On success the record describes the
 * inner packet, flagged Inner with `tunnel = kind` (the innermost tunnel when
 * nested). MAC offsets and l2Flags stay those of the outer frame; `vlan` is the
 * innermost tag seen anywhere in it.
 * If the inside yields no usable IP header (not IP at all, or a BadIpHeader) the record
 * is restored to the outer packet: the tunnel packet itself is sound and forms a flow.
 */
export function enterTunnel(kind: TunnelKind, etherType: number, f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  const save = beginTunnel(off, end, out, st);
  if (save === null) return;
  const declEnd = st.declEnd;
  const capShort = st.capShort;
  if ((save.fragFlags & FragFlag.MoreFragments) !== 0) cutByFragmentation(st);
  decodeEtherType(etherType, f, off, end, out, st);
  endTunnel(kind, save, declEnd, capShort, out, st);
}

/** enterTunnel for a payload that is not named by an EtherType (an 802.11 frame, a GRE header...). */
export function enterTunnelWith(kind: TunnelKind, decode: LayerDecoder, f: Uint8Array, off: number, end: number, out: DecodedPacket, st: DecodeState): void {
  const save = beginTunnel(off, end, out, st);
  if (save === null) return;
  const declEnd = st.declEnd;
  const capShort = st.capShort;
  if ((save.fragFlags & FragFlag.MoreFragments) !== 0) cutByFragmentation(st);
  decode(f, off, end, out, st);
  endTunnel(kind, save, declEnd, capShort, out, st);
}

/** Saves the outer record and clears its network fields; null when no (deeper) tunnel is decoded. */
function beginTunnel(off: number, end: number, out: DecodedPacket, st: DecodeState): DecodedPacket | null {
  if (st.tunnelDepth >= st.maxTunnelDepth || off >= end) return null;
  const save = saved[st.tunnelDepth]!;
  copyDecodeFields(out, save);
  clearNetworkFields(out);
  st.tunnelDepth++;
  return save;
}

/**
 * Inside the first fragment of a fragmented outer packet the inner packet is cut short by
 * fragmentation: treat that like capture truncation.
 */
function cutByFragmentation(st: DecodeState): void {
  st.capShort = true;
  st.declEnd = UNKNOWN_END;
}

function endTunnel(kind: TunnelKind, save: DecodedPacket, declEnd: number, capShort: boolean, out: DecodedPacket, st: DecodeState): void {
  st.tunnelDepth--;
  st.declEnd = declEnd;
  st.capShort = capShort;
  if (out.ipVersion === 0 || (out.flags & RecordFlag.BadIpHeader) !== 0) {
    copyDecodeFields(save, out);
    return;
  }
  if ((out.flags & RecordFlag.Inner) === 0) out.tunnel = kind;
  out.flags |= RecordFlag.Inner;
  if (st.tunnelDepth >= out.tunnelDepth) out.tunnelDepth = st.tunnelDepth + 1;
}

function clearNetworkFields(o: DecodedPacket): void {
  o.ipVersion = 0;
  o.src.fill(0);
  o.dst.fill(0);
  o.proto = 0;
  o.sport = 0;
  o.dport = 0;
  o.ipLen = 0;
  o.ipId = 0;
  o.ttl = 0;
  o.fragFlags = 0;
  o.fragOffset = 0;
  o.tcpFlags = 0;
  o.tcpSeq = 0;
  o.tcpAck = 0;
  o.tcpWindow = 0;
  o.tcpOptFlags = 0;
  o.tcpMss = 0;
  o.tcpWscale = 0;
  o.tcpTsVal = 0;
  o.tcpTsEcr = 0;
  o.payloadLen = 0;
  o.payload = EMPTY_BYTES;
  o.l3Off = -1;
  o.l4Off = -1;
  o.payloadOff = -1;
  o.arpOp = 0;
}

/** Every field a layer may change (not the frame-level ones decodePacket sets once). */
function copyDecodeFields(a: DecodedPacket, b: DecodedPacket): void {
  b.ipVersion = a.ipVersion;
  b.src.set(a.src);
  b.dst.set(a.dst);
  b.proto = a.proto;
  b.sport = a.sport;
  b.dport = a.dport;
  b.vlan = a.vlan;
  b.ipLen = a.ipLen;
  b.ipId = a.ipId;
  b.ttl = a.ttl;
  b.fragFlags = a.fragFlags;
  b.fragOffset = a.fragOffset;
  b.tcpFlags = a.tcpFlags;
  b.tcpSeq = a.tcpSeq;
  b.tcpAck = a.tcpAck;
  b.tcpWindow = a.tcpWindow;
  b.tcpOptFlags = a.tcpOptFlags;
  b.tcpMss = a.tcpMss;
  b.tcpWscale = a.tcpWscale;
  b.tcpTsVal = a.tcpTsVal;
  b.tcpTsEcr = a.tcpTsEcr;
  b.payloadLen = a.payloadLen;
  b.payload = a.payload;
  b.flags = a.flags;
  b.tunnel = a.tunnel;
  b.etherType = a.etherType;
  b.srcMacOff = a.srcMacOff;
  b.dstMacOff = a.dstMacOff;
  b.l3Off = a.l3Off;
  b.l4Off = a.l4Off;
  b.payloadOff = a.payloadOff;
  b.l2Flags = a.l2Flags;
  b.vlanDepth = a.vlanDepth;
  b.mplsDepth = a.mplsDepth;
  b.arpOp = a.arpOp;
  b.tunnelDepth = a.tunnelDepth;
  b.issue = a.issue;
}
