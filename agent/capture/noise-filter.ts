// Link-local noise exclusion (pure, allocation-free per packet): ARP, IPv6 neighbour discovery,
// L2 broadcast/multicast, IP multicast and broadcast, and the local discovery/configuration
// protocols (DHCP, DHCPv6, mDNS, LLMNR, NetBIOS name/datagram, SSDP). None of these says
// anything about a host's conversations, yet on a busy LAN they outnumber them.
//
// Port rules (DHCP, mDNS, ...) apply only when the packet stays in local scope: its
// destination is multicast/broadcast, or both addresses are local (private, link-local,
// ULA, loopback, unspecified). A unicast exchange with an Internet address on UDP 5353 or
// 1900 is kept: it is not link-local chatter, and dropping it would hide a C2 channel.
// NetBIOS: UDP 137 (name) and 138 (datagram) are noise; TCP 139 is the NetBIOS session
// service (SMB) - real conversations, often lateral movement - and is kept.
//
// A sampling window lets noise through for a while and closes by itself: it is timed on
// packet timestamps (or an injected clock), so replays and live capture behave alike.
// Sampled noise is flagged (lastSampled) so the pipeline keeps none of its payload: DHCP,
// mDNS, LLMNR and NetBIOS payloads are little but host names and MAC addresses.
import { L2Flag, type DecodedPacket } from '../../shared/decode/decoded-packet.js';
import { DEFAULT_INTERNAL_PREFIXES } from '../../shared/anonymize/address-anonymizer.js';
import { IPPROTO_ICMPV6, IPPROTO_UDP } from '../../shared/packet/packet-record.js';
import { PrefixSet } from './prefix-set.js';
import { linuxPacketType, PACKET_BROADCAST, PACKET_MULTICAST } from './link-meta.js';
import { ETHERTYPE_ARP, ETHERTYPE_RARP } from '../../shared/decode/protocol-numbers.js';

/** Why a packet was excluded; 0 = kept. Indexes NOISE_REASONS. */
export const enum NoiseReason {
  Kept = 0,
  Arp = 1,
  Ndp = 2,
  Dhcp = 3,
  Dhcpv6 = 4,
  Mdns = 5,
  Llmnr = 6,
  NetBios = 7,
  Ssdp = 8,
  IpBroadcast = 9,
  IpMulticast = 10,
  L2Broadcast = 11,
  L2Multicast = 12,
  NonIp = 13,
}

/** Counter names, indexed by NoiseReason (index 0 unused). */
export const NOISE_REASONS = [
  'kept', 'arp', 'ndp', 'dhcp', 'dhcpv6', 'mdns', 'llmnr', 'netbios', 'ssdp',
  'ipBroadcast', 'ipMulticast', 'l2Broadcast', 'l2Multicast', 'nonIp',
] as const;
export type NoiseReasonName = Exclude<(typeof NOISE_REASONS)[number], 'kept'>;

/** Local scope for the port rules: the anonymizer's internal set plus loopback and unspecified. */
const DEFAULT_LOCAL_PREFIXES: readonly string[] = [...DEFAULT_INTERNAL_PREFIXES, '127.0.0.0/8', '0.0.0.0/32', '::1/128', '::/128'];

export interface NoiseFilterOptions {
  /** prefixes counted as local scope for the port rules (default DEFAULT_LOCAL_PREFIXES) */
  localPrefixes?: readonly string[];
  /** subnet-directed broadcast addresses of the host's IPv4 networks (e.g. 192.168.1.255) */
  directedBroadcasts?: readonly string[];
  /** time source in µs for the sampling window; default: the packet's own timestamp */
  clock?: () => number;
}

export interface NoiseCounts {
  /** packets excluded, per reason */
  excluded: Record<NoiseReasonName, number>;
  /** noise packets let through by the sampling window, per reason */
  sampled: Record<NoiseReasonName, number>;
  /** whether the sampling window is open, and until when (µs, 0 = closed) */
  samplingUntilUs: number;
}


export class NoiseFilter {
  private readonly local: PrefixSet;
  private readonly broadcasts: PrefixSet;
  private readonly clock: (() => number) | undefined;
  private readonly excluded = new Float64Array(NOISE_REASONS.length);
  private readonly sampled = new Float64Array(NOISE_REASONS.length);
  /** end of the sampling window (µs); 0 = closed */
  private untilUs = 0;
  /**
   * a window requested without a start time: opens at the next packet (read by the pipeline,
   * which calls passKept only when this or lastSampled gives it something to do)
   */
  pendingUs = 0;
  /** whether the last packet given to filter() was noise let through by the window */
  lastSampled = false;

  constructor(opts: NoiseFilterOptions = {}) {
    this.local = new PrefixSet(opts.localPrefixes ?? DEFAULT_LOCAL_PREFIXES);
    this.broadcasts = new PrefixSet(opts.directedBroadcasts ?? []);
    this.clock = opts.clock;
  }

  /** Replaces the host's subnet-directed broadcast addresses (interfaces change). */
  setDirectedBroadcasts(addresses: readonly string[]): void {
    this.broadcasts.set(addresses);
  }

  /**
   * Lets noise through for `seconds`, starting at nowUs (same time base as the packets or
   * the injected clock); without nowUs the window starts at the next packet. 0 closes it.
   */
  allowNoiseFor(seconds: number, nowUs?: number): void {
    if (!(seconds > 0)) {
      this.untilUs = 0;
      this.pendingUs = 0;
      return;
    }
    const start = nowUs ?? (this.clock ? this.clock() : undefined);
    if (start === undefined) {
      this.pendingUs = seconds * 1e6;
    } else {
      this.untilUs = start + seconds * 1e6;
      this.pendingUs = 0;
    }
  }

  /** Whether noise is being let through at nowUs. */
  samplingAt(nowUs: number): boolean {
    return this.untilUs > 0 && nowUs < this.untilUs;
  }

  /** Closes the window once nowUs has passed its end (called from periodic ticks). */
  expire(nowUs: number): void {
    if (this.untilUs > 0 && nowUs >= this.untilUs) this.untilUs = 0;
  }

  /**
   * Classifies one decoded packet. Returns the NoiseReason that excludes it, or Kept (0):
   * noise inside the sampling window is counted as sampled and kept.
   */
  filter(p: DecodedPacket): NoiseReason {
    this.passKept(p);
    const reason = this.classify(p);
    if (reason === NoiseReason.Kept) return NoiseReason.Kept;
    if (this.untilUs > 0) {
      const now = this.clock ? this.clock() : p.tsUs;
      if (now < this.untilUs) {
        this.sampled[reason]++;
        this.lastSampled = true;
        return NoiseReason.Kept;
      }
      this.untilUs = 0; // the window closed by itself
    }
    this.excluded[reason]++;
    return reason;
  }

  /**
   * filter() for a packet whose noise facts (L2 flags, addresses, protocol and ports) are
   * those of one filter() kept (the pipeline's PairMemo): only the window's bookkeeping.
   */
  passKept(p: DecodedPacket): void {
    if (this.pendingUs > 0) {
      this.untilUs = (this.clock ? this.clock() : p.tsUs) + this.pendingUs;
      this.pendingUs = 0;
    }
    this.lastSampled = false;
  }

  /** The noise category of a packet (no counting, no window). */
  classify(p: DecodedPacket): NoiseReason {
    let l2 = p.l2Flags;
    if (l2 === 0) {
      // cooked captures carry the kernel's verdict instead of a destination MAC
      const pt = linuxPacketType(p.linkType, p.frame, p.capLen, p.frameOff);
      if (pt === PACKET_BROADCAST) l2 = L2Flag.Broadcast | L2Flag.Multicast;
      else if (pt === PACKET_MULTICAST) l2 = L2Flag.Multicast;
    }
    const v = p.ipVersion;
    if (v !== 4 && v !== 6) {
      const et = p.etherType;
      if (et === ETHERTYPE_ARP || et === ETHERTYPE_RARP) return NoiseReason.Arp;
      if (l2 & L2Flag.Broadcast) return NoiseReason.L2Broadcast;
      if (l2 & L2Flag.Multicast) return NoiseReason.L2Multicast;
      return NoiseReason.NonIp;
    }
    const dst = p.dst;
    const dstMulti = v === 4 ? (dst[0]! & 0xf0) === 0xe0 : dst[0] === 0xff;
    const dstBroad = v === 4 && ((dst[0] === 255 && dst[1] === 255 && dst[2] === 255 && dst[3] === 255) || this.broadcasts.contains(4, dst));
    if (v === 6 && p.proto === IPPROTO_ICMPV6) {
      // ICMPv6 type sits in sport: router/neighbour solicitation/advertisement, redirect
      const t = p.sport;
      if (t >= 133 && t <= 137) return NoiseReason.Ndp;
    }
    if (p.proto === IPPROTO_UDP && (dstMulti || dstBroad || (this.local.contains(v, p.src) && this.local.contains(v, dst)))) {
      const s = p.sport;
      const d = p.dport;
      if (v === 4 && (s === 67 || s === 68) && (d === 67 || d === 68)) return NoiseReason.Dhcp;
      if (v === 6 && (s === 546 || s === 547) && (d === 546 || d === 547)) return NoiseReason.Dhcpv6;
      if (s === 5353 || d === 5353) return NoiseReason.Mdns;
      if (s === 5355 || d === 5355) return NoiseReason.Llmnr;
      if (v === 4 && (s === 137 || s === 138 || d === 137 || d === 138)) return NoiseReason.NetBios;
      if (s === 1900 || d === 1900) return NoiseReason.Ssdp;
    }
    if (dstBroad) return NoiseReason.IpBroadcast;
    if (dstMulti) return NoiseReason.IpMulticast;
    if (l2 & L2Flag.Broadcast) return NoiseReason.L2Broadcast;
    if (l2 & L2Flag.Multicast) return NoiseReason.L2Multicast;
    return NoiseReason.Kept;
  }

  /** Counters (allocates; call from stats/health paths, not per packet). */
  counts(): NoiseCounts {
    const excluded = {} as Record<NoiseReasonName, number>;
    const sampled = {} as Record<NoiseReasonName, number>;
    for (let i = 1; i < NOISE_REASONS.length; i++) {
      const name = NOISE_REASONS[i] as NoiseReasonName;
      excluded[name] = this.excluded[i]!;
      sampled[name] = this.sampled[i]!;
    }
    return { excluded, sampled, samplingUntilUs: this.untilUs };
  }

  /** Packets excluded so far (all reasons). */
  get excludedTotal(): number {
    let n = 0;
    for (let i = 1; i < this.excluded.length; i++) n += this.excluded[i]!;
    return n;
  }
}
