// Link-layer facts the capture stage reads straight from a frame: pcap LINKTYPE numbers and
// the Linux cooked headers (SLL, SLL2), whose packet type says whether the kernel saw the
// packet as sent by this host, addressed to it, or to another host, and whose ARPHRD type
// identifies loopback. Link type numbers are shared/decode/link-types.ts. Pure and
// allocation-free; returns -1 when a fact is not available.
import { LinkType } from '../../shared/decode/link-types.js';

/** Linux sll_pkttype values (linux/if_packet.h). */
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
export const PACKET_OUTGOING = 4;

/** ARPHRD_LOOPBACK (linux/if_arp.h) */
export const ARPHRD_LOOPBACK = 772;

const SLL_HEADER = 16;
const SLL2_HEADER = 20;

/**
 * The Linux packet type of a cooked (SLL/SLL2) frame at buf[off, off + capLen), or -1 for other
 * link types or short frames.
 */
export function linuxPacketType(linkType: number, buf: Uint8Array, capLen: number, off = 0): number {
  if (linkType === LinkType.LinuxSll) return capLen >= SLL_HEADER ? (buf[off]! << 8) | buf[off + 1]! : -1;
  if (linkType === LinkType.LinuxSll2) return capLen >= SLL2_HEADER ? buf[off + 10]! : -1;
  return -1;
}

/** The ARPHRD_* device type of a cooked frame at buf[off, off + capLen), or -1. */
export function linuxDeviceType(linkType: number, buf: Uint8Array, capLen: number, off = 0): number {
  if (linkType === LinkType.LinuxSll) return capLen >= SLL_HEADER ? (buf[off + 2]! << 8) | buf[off + 3]! : -1;
  if (linkType === LinkType.LinuxSll2) return capLen >= SLL2_HEADER ? (buf[off + 8]! << 8) | buf[off + 9]! : -1;
  return -1;
}

/**
 * The `cap` binding names a handful of link types and reports the rest as "Unknown linktype N"
 * with N a DLT_* value. DLT and LINKTYPE numbers agree except for the few remapped below.
 */
export function linkTypeFromCapName(name: string): number {
  switch (name) {
    case 'ETHERNET': return LinkType.Ethernet;
    case 'NULL': return LinkType.Null;
    case 'RAW': return LinkType.Raw;
    case 'LINKTYPE_LINUX_SLL': return LinkType.LinuxSll;
    case 'IEEE802_11_RADIO': return LinkType.Ieee80211Radiotap;
    default: break;
  }
  const m = /^Unknown linktype (\d+)$/.exec(name);
  if (!m) return -1;
  const dlt = Number(m[1]);
  // DLT_RAW is 12 (14 on OpenBSD); DLT_LOOP is 108 everywhere but OpenBSD (12)
  if (dlt === 12 || dlt === 14) return LinkType.Raw;
  return dlt;
}
