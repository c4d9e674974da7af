// The packet record: one captured packet reduced to what flows and forensics need.
// It is the hand-off between every stage (decode -> anonymize -> dump -> flows).
// Hot path contract: a producer fills ONE reused instance per packet; a consumer
// that keeps anything must copy it (addresses are reused Uint8Arrays).

/** Direction relative to the capturing host. */
export const enum Direction {
  Unknown = 0,
  /** sent by this host */
  Out = 1,
  /** received by this host */
  In = 2,
}

/** Bits of PacketRecord.flags. */
export const enum RecordFlag {
  /** the capture ended before the headers did (decoded as far as it went) */
  Truncated = 1 << 0,
  /** a header contradicted itself (bad length, bad version, ...) */
  Malformed = 1 << 1,
  /** IPv4/IPv6 fragment (first or later); later fragments carry no ports */
  Fragment = 1 << 2,
  /** src address is a pseudonym (anonymized by the agent) */
  SrcAnon = 1 << 3,
  /** dst address is a pseudonym (anonymized by the agent) */
  DstAnon = 1 << 4,
  /** addresses/ports are those of a packet inside a tunnel (see `tunnel`) */
  Inner = 1 << 5,
  /**
   * the IP header itself is unusable: cut short inside its fixed part, a version that is not
   * the one the link layer announced, a header length below the minimum, or a total length
   * below the header length. ipVersion is the announced version; each address is kept only if
   * the header held it whole (else zeros); nothing beyond the header was decoded. Set with
   * Malformed, or with Truncated when the capture cut the header. Flows are not built from
   * such records: their addresses and protocol are not trustworthy.
   */
  BadIpHeader = 1 << 6,
}

/** Bits of PacketRecord.fragFlags. */
export const enum FragFlag {
  MoreFragments = 1 << 0,
  DontFragment = 1 << 1,
}

/** Bits of PacketRecord.tcpOptFlags. */
export const enum TcpOpt {
  Mss = 1 << 0,
  WindowScale = 1 << 1,
  SackPermitted = 1 << 2,
  Sack = 1 << 3,
  Timestamps = 1 << 4,
}

/** Tunnel kinds recognised around the (inner) packet. */
export const enum TunnelKind {
  None = 0,
  Gre = 1,
  Vxlan = 2,
  Geneve = 3,
  SixInFour = 4,
  Teredo = 5,
  Gtp = 6,
  IpInIp = 7,
  Ayiya = 8,
  /** MPLS in IP (protocol 137) or in UDP (port 6635) */
  Mpls = 9,
  VxlanGpe = 10,
  /** Ethernet in IP: EtherIP (protocol 97) or protocol 143 */
  EtherIp = 11,
}

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/**
 * First value of the fields that can hold numbers beyond V8's small integers (time, unsigned
 * 32-bit TCP and IP id fields). V8 keeps a field's representation from its first value; were
 * it 0, the first value past 2^31 (any timestamp, half of all sequence numbers) would change
 * every record's hidden class and deoptimize each function that had handled records. The
 * constructor then stores the real initial value, 0.
 */
const AS_DOUBLE = 0.5;

export class PacketRecord {
  /** capture time, microseconds since the Unix epoch */
  tsUs = AS_DOUBLE;
  direction: Direction = Direction.Unknown;
  /** 4 or 6; 0 when the packet is not IP (ARP, unknown ethertype) */
  ipVersion = 0;
  /**
   * src then dst as 8 int32 words in platform byte order: the same 32 bytes, for code that
   * compares or hashes whole addresses (dump tuples) with 8 reads instead of 32.
   */
  readonly addrWords: Int32Array = new Int32Array(8);
  /** source address; IPv4 uses bytes 0..3, the rest stay 0 */
  readonly src: Uint8Array = new Uint8Array(this.addrWords.buffer, 0, 16);
  readonly dst: Uint8Array = new Uint8Array(this.addrWords.buffer, 16, 16);
  /** IP protocol number (after IPv6 extension headers); for non-IP: 0 */
  proto = 0;
  /** TCP/UDP/SCTP ports; ICMP/ICMPv6: sport = type, dport = code */
  sport = 0;
  dport = 0;
  /** innermost 802.1Q VLAN id, 0 when untagged */
  vlan = 0;
  /** length of the frame on the wire (pcap orig_len) */
  wireLen = 0;
  /** IP total length as the header declares it (IPv6: 40 + payload length) */
  ipLen = 0;
  /** IPv4 identification, or the IPv6 fragment header's identification (low 32 bits) */
  ipId = AS_DOUBLE;
  /** IPv4 TTL / IPv6 hop limit */
  ttl = 0;
  /** FragFlag bits */
  fragFlags = 0;
  /** fragment offset in bytes */
  fragOffset = 0;
  tcpFlags = 0;
  /** unsigned 32-bit values stored as numbers */
  tcpSeq = AS_DOUBLE;
  tcpAck = AS_DOUBLE;
  /** raw (unscaled) window */
  tcpWindow = 0;
  /** TcpOpt bits present in this segment */
  tcpOptFlags = 0;
  tcpMss = 0;
  tcpWscale = 0;
  tcpTsVal = AS_DOUBLE;
  tcpTsEcr = AS_DOUBLE;
  /** transport payload length as the headers declare it (not limited by capture) */
  payloadLen = 0;
  /** captured payload bytes kept by the snap policy (length <= payloadLen); often a view into the frame */
  payload: Uint8Array = EMPTY_BYTES;
  /** RecordFlag bits */
  flags = 0;
  /** TunnelKind around this packet when `flags & Inner` */
  tunnel: TunnelKind = TunnelKind.None;

  constructor() {
    this.tsUs = 0;
    this.ipId = 0;
    this.tcpSeq = 0;
    this.tcpAck = 0;
    this.tcpTsVal = 0;
    this.tcpTsEcr = 0;
  }

  /** Back to a blank record (cheap; keeps the address buffers). */
  reset(): void {
    this.tsUs = 0;
    this.direction = Direction.Unknown;
    this.ipVersion = 0;
    // plain stores: TypedArray.prototype.fill is a runtime call, several times the cost per packet
    const a = this.addrWords;
    for (let i = 0; i < 8; i++) a[i] = 0;
    this.proto = 0;
    this.sport = 0;
    this.dport = 0;
    this.vlan = 0;
    this.wireLen = 0;
    this.ipLen = 0;
    this.ipId = 0;
    this.ttl = 0;
    this.fragFlags = 0;
    this.fragOffset = 0;
    this.tcpFlags = 0;
    this.tcpSeq = 0;
    this.tcpAck = 0;
    this.tcpWindow = 0;
    this.tcpOptFlags = 0;
    this.tcpMss = 0;
    this.tcpWscale = 0;
    this.tcpTsVal = 0;
    this.tcpTsEcr = 0;
    this.payloadLen = 0;
    this.payload = EMPTY_BYTES;
    this.flags = 0;
    this.tunnel = TunnelKind.None;
  }

  /** Field-by-field copy (payload is copied into a fresh array). */
  copyFrom(o: PacketRecord): this {
    this.tsUs = o.tsUs;
    this.direction = o.direction;
    this.ipVersion = o.ipVersion;
    const a = this.addrWords;
    const b = o.addrWords;
    for (let i = 0; i < 8; i++) a[i] = b[i]!;
    this.proto = o.proto;
    this.sport = o.sport;
    this.dport = o.dport;
    this.vlan = o.vlan;
    this.wireLen = o.wireLen;
    this.ipLen = o.ipLen;
    this.ipId = o.ipId;
    this.ttl = o.ttl;
    this.fragFlags = o.fragFlags;
    this.fragOffset = o.fragOffset;
    this.tcpFlags = o.tcpFlags;
    this.tcpSeq = o.tcpSeq;
    this.tcpAck = o.tcpAck;
    this.tcpWindow = o.tcpWindow;
    this.tcpOptFlags = o.tcpOptFlags;
    this.tcpMss = o.tcpMss;
    this.tcpWscale = o.tcpWscale;
    this.tcpTsVal = o.tcpTsVal;
    this.tcpTsEcr = o.tcpTsEcr;
    this.payloadLen = o.payloadLen;
    this.payload = o.payload.length === 0 ? EMPTY_BYTES : o.payload.slice();
    this.flags = o.flags;
    this.tunnel = o.tunnel;
    return this;
  }
}

/** TCP flag bits as on the wire. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export const IPPROTO_ICMP = 1;
/** IPv4 inside IP (IP-in-IP) */
export const IPPROTO_IPIP = 4;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
/** IPv6 inside IP (6in4) */
export const IPPROTO_IPV6 = 41;
export const IPPROTO_GRE = 47;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;
