// What the decoder knows about one frame: the PacketRecord fields plus the
// link-layer facts that later stages need (exclusion of link-local noise, MAC
// pseudonyms) but that never leave the agent as such. Reused per packet.
import { PacketRecord } from '../packet/packet-record.js';

/** Bits of DecodedPacket.l2Flags. */
export const enum L2Flag {
  /** destination MAC is ff:ff:ff:ff:ff:ff */
  Broadcast = 1 << 0,
  /** destination MAC has the group bit set (includes broadcast) */
  Multicast = 1 << 1,
}

/** Where decoding stopped early; '' when it did not. */
export type DecodeIssue = string;

export class DecodedPacket extends PacketRecord {
  /** pcap LINKTYPE_* of the frame */
  linkType = 0;
  /**
   * The buffer the frame lies in (valid only until the next packet): the captured bytes
   * are frame[frameOff, frameOff + capLen). decodePacket: the frame itself, frameOff 0;
   * decodeFrame: the caller's buffer (a capture batch, a file reader's window).
   */
  frame: Uint8Array = new Uint8Array(0);
  /** index in `frame` of the frame's first byte */
  frameOff = 0;
  /** bytes captured */
  capLen = 0;
  /** innermost EtherType / SLL protocol seen (0x0800, 0x86dd, 0x0806, ...), 0 if none */
  etherType = 0;
  /** indexes into `frame` (so frame-relative = x - frameOff), -1 when absent */
  srcMacOff = -1;
  dstMacOff = -1;
  l3Off = -1;
  l4Off = -1;
  payloadOff = -1;
  /** L2Flag bits */
  l2Flags = 0;
  /** number of VLAN tags and MPLS labels crossed */
  vlanDepth = 0;
  mplsDepth = 0;
  /** ARP opcode when etherType is ARP (1 request, 2 reply), else 0 */
  arpOp = 0;
  /** tunnels decoded around the packet the record describes (0 = not inside a tunnel) */
  tunnelDepth = 0;
  /** why the packet is marked Truncated/Malformed ('' when clean); static strings, no allocation */
  issue: DecodeIssue = '';

  override reset(): void {
    super.reset();
    this.linkType = 0;
    this.frameOff = 0;
    this.capLen = 0;
    this.etherType = 0;
    this.srcMacOff = -1;
    this.dstMacOff = -1;
    this.l3Off = -1;
    this.l4Off = -1;
    this.payloadOff = -1;
    this.l2Flags = 0;
    this.vlanDepth = 0;
    this.mplsDepth = 0;
    this.arpOp = 0;
    this.tunnelDepth = 0;
    this.issue = '';
  }
}
