// The packet pipeline shared by live capture and replay:
//   frame -> decode -> capture scope (live: loopback / other hosts' frames) -> noise filter
//         -> direction -> anonymize -> snap policy -> metadata extraction -> dump rotator -> onDump
// One reused DecodedPacket flows through every stage; nothing is allocated per packet here:
// frames arrive as (buffer, offset, length) - a capture batch, a file reader's window - and
// are decoded in place, with no view object per frame (except cooked frames at an offset, see
// handleFrame). Also owns the capture health counters.
import { decodeFrame, decoderInternalErrors, DecodedPacket, type DecodeOptions } from '../../shared/decode/index.js';
import { decodeFastLane } from '../../shared/decode/fast-lane.js';
import { Direction, EMPTY_BYTES, IPPROTO_TCP, RecordFlag } from '../../shared/packet/packet-record.js';
import type { AddressAnonymizer } from '../../shared/anonymize/address-anonymizer.js';
import { DumpRotator, DumpWriter, type DumpHeader, type DumpWriterOptions } from '../../shared/dump/index.js';
import { NoiseFilter, type NoiseReasonName } from '../capture/noise-filter.js';
import { ARPHRD_LOOPBACK, PACKET_OTHERHOST, PACKET_OUTGOING, linuxDeviceType, linuxPacketType } from '../capture/link-meta.js';
import { HostAddressTable } from './host-addresses.js';
import { PairMemo } from './pair-memo.js';
import { SnapPolicy, type PeerCaptureRule } from './snap-policy.js';
import type { AppMetaExtractor, AppMetaStats, MetaSink } from '../../shared/appmeta/app-meta-extractor.js';
import type { AppMeta } from '../../shared/appmeta/meta-record.js';
import { ETHERTYPE_ARP, ETHERTYPE_RARP } from '../../shared/decode/protocol-numbers.js';
import { LinkType } from '../../shared/decode/link-types.js';

const DEFAULT_PACKETS_PER_DUMP = 20_000;
const DEFAULT_DUMP_SECONDS = 120;


/** The snap policy picks the kept payload bytes itself: the decoder's payload view would go unread. */
const DECODE_OPTIONS: DecodeOptions = { payloadView: false };
/** bit positions of the two counted record flags (handleFrame adds them as 0 or 1, without a branch) */
const MALFORMED_BIT = 31 - Math.clz32(RecordFlag.Malformed);
const TRUNCATED_BIT = 31 - Math.clz32(RecordFlag.Truncated);

/** Reasons a packet did not reach a dump: the noise reasons plus the live capture scope. */
export type ExclusionReason = NoiseReasonName | 'loopback' | 'otherHost';

export interface CaptureStats {
  /** frames handed to the pipeline */
  packetsSeen: number;
  /** records handed to the dump writer */
  packetsKept: number;
  /** frames not kept, per reason (noise reasons, loopback, otherHost) */
  excluded: Record<ExclusionReason, number>;
  excludedTotal: number;
  /** noise let through by the sampling window, per reason */
  noiseSampled: Record<NoiseReasonName, number>;
  /** end of the noise sampling window (µs since the epoch), 0 = closed */
  noiseSamplingUntilUs: number;
  /** frames whose headers contradicted themselves / ended early (kept, flagged in the record) */
  malformed: number;
  truncated: number;
  /** frames dropped by an agent-side queue: always 0, the pipeline runs in the capture callback */
  queueDrops: number;
  /** kernel ring counters of live capture (null: replay, or not learnable here) */
  kernelPackets: number | null;
  kernelDrops: number | null;
  /** dumps emitted and their bytes */
  dumps: number;
  dumpBytes: number;
  /** packets waiting in the open dump */
  pendingPackets: number;
  /** time of the oldest packet in the open dump (0 = none open) */
  pendingSinceUs: number;
  snapLen: number;
  peerRules: number;
  anonymizedAddresses: number;
  /** exceptions caught inside the decoder (a decoder bug if not 0) */
  decoderInternalErrors: number;
  /** application metadata extracted (null: extraction off) */
  metadata: AppMetaStats | null;
}

export interface AgentPipelineOptions {
  /** agent id (UUID) written into dump headers */
  agentId: string;
  anonymizer: AddressAnonymizer;
  /** receives every finished dump (live: the agent puts it into the spool) */
  onDump: (bytes: Uint8Array, header: DumpHeader) => void;
  /** sequence number for the next dump (live: the spool's) */
  nextSequence: () => number;
  /** payload bytes kept per packet (default 0) */
  snapLen?: number;
  packetsPerDump?: number;
  dumpSeconds?: number;
  /** pcap LINKTYPE_* recorded in dump headers (default Ethernet) */
  dumpLinkType?: number;
  compression?: DumpWriterOptions['compression'];
  /** compressor level (default the writer's: brotli quality 2) */
  compressionLevel?: number;
  /** the host's own addresses (direction; also handed to the anonymizer) */
  hostAddresses?: readonly string[];
  /** subnet-directed broadcast addresses of the host's networks (noise) */
  directedBroadcasts?: readonly string[];
  /** local-scope prefixes for the noise port rules (default: noise-filter's) */
  localPrefixes?: readonly string[];
  /** let noise through for this many seconds from the first packet (0 = never) */
  noiseSampleSeconds?: number;
  /**
   * Live capture on Linux: trust the kernel's packet type in cooked (SLL) frames for
   * direction, and drop loopback-device and other-host frames. Off for replay.
   */
  liveLinkScope?: boolean;
  /** keep loopback-device frames (with liveLinkScope) */
  includeLoopback?: boolean;
  /** recover wireLen from the IP header (live: the binding reports captured length only) */
  wireLenFromIp?: boolean;
  /** kernel ring counters, read when stats() is called */
  kernelCounters?: () => { packets: number | null; drops: number | null };
  /** application metadata extraction (DNS, TLS, HTTP, QUIC) into the dumps; absent: off */
  metadata?: AppMetaExtractor;
  /** payload bytes live capture must see for extraction (the capture snap length covers them; default 1500 with metadata) */
  metadataCaptureBytes?: number;
  /**
   * The common frame's fused path (default true): an Ethernet/IPv4/TCP frame that repeats the
   * previous one's address pair takes its noise verdict, direction and pseudonyms from it
   * (PairMemo). false: every frame the general way; the same dumps (tests compare the two).
   */
  fusedPath?: boolean;
}

/** A full-size Ethernet payload: hellos and DNS answers span whole segments (docs/capture.md, "Application metadata"). */
export const DEFAULT_METADATA_CAPTURE_BYTES = 1500;

/** The frame handleFrameAt reads: buf[offset, offset + capLen), as CapturedFrame (shared/capture-file) has it. */
export interface FrameAt {
  readonly linkType: number;
  readonly buf: Uint8Array;
  readonly offset: number;
  readonly capLen: number;
  readonly wireLen: number;
  /** µs since the epoch */
  readonly tsUs: number;
}

/**
 * The retro ring (agent/retro): every kept packet's frame as captured, with its time, wire length
 * and direction (a pull decodes, anonymizes and cuts it as this pipeline does); tick() drives its
 * time; `snapLen` raises the capture's snap length.
 */
export interface RetroTap {
  readonly snapLen: number;
  add(linkType: number, frame: Uint8Array, off: number, len: number, tsUs: number, wireLen: number, direction: number): void;
  tick(nowUs: number): void;
}

/**
 * Per-packet watch (agent/watchlist): matches() after anonymization, matchesMeta() for each
 * metadata record extracted from the packet (names as shipped, under the name policy);
 * hit() after the packet is in the open dump.
 */
export interface PacketWatch {
  matches(d: DecodedPacket): boolean;
  matchesMeta?(m: AppMeta): boolean;
  hit(): void;
}

export class AgentPipeline {
  private readonly pkt = new DecodedPacket();
  /** null when the fused path is off */
  private readonly pair: PairMemo | null;
  /** handleFrame's arguments, for handleFrameAt (tsUs starts as a double: PacketRecord's AS_DOUBLE says why) */
  private readonly frameIn = { linkType: 0, buf: EMPTY_BYTES, offset: 0, capLen: 0, wireLen: 0, tsUs: 0.5 };
  /** null while the watchlist is empty: one null check per packet */
  private watch: PacketWatch | null = null;
  /** null while the retro ring is off: one null check per packet */
  private retro: RetroTap | null = null;
  private readonly anonymizer: AddressAnonymizer;
  private readonly noise: NoiseFilter;
  private readonly hosts: HostAddressTable;
  private readonly snap: SnapPolicy;
  private readonly writer: DumpWriter;
  private readonly rotator: DumpRotator;
  private readonly liveScope: boolean;
  private readonly includeLoopback: boolean;
  private readonly wireLenFromIp: boolean;
  private readonly kernelCounters: AgentPipelineOptions['kernelCounters'];
  /** null when extraction is off: one null check per packet */
  private readonly meta: AppMetaExtractor | null;
  /** where metadata records go: the dump writer, or through the watch's matchesMeta to it */
  private metaSink: MetaSink;
  private metaHit = false;
  private readonly metaCaptureBytes: number;
  private seen = 0;
  private kept = 0;
  private malformed = 0;
  private truncated = 0;
  private loopback = 0;
  private otherHost = 0;
  private dumps = 0;
  private dumpBytes = 0;

  constructor(opts: AgentPipelineOptions) {
    this.anonymizer = opts.anonymizer;
    this.noise = new NoiseFilter({ localPrefixes: opts.localPrefixes, directedBroadcasts: opts.directedBroadcasts });
    if (opts.noiseSampleSeconds) this.noise.allowNoiseFor(opts.noiseSampleSeconds);
    this.hosts = new HostAddressTable(opts.hostAddresses ?? []);
    if (opts.hostAddresses) this.anonymizer.setHostAddresses([...opts.hostAddresses]);
    const snapLen = opts.snapLen ?? 0;
    this.snap = new SnapPolicy({ snapLen, keepIcmpErrorPayload: opts.anonymizer.policy === 'none' });
    this.writer = new DumpWriter({
      agentId: opts.agentId,
      anonKeyId: opts.anonymizer.keyId,
      snapLen,
      linkType: opts.dumpLinkType ?? LinkType.Ethernet,
      compression: opts.compression,
      level: opts.compressionLevel,
    });
    const onDump = opts.onDump;
    this.rotator = new DumpRotator({
      maxPackets: opts.packetsPerDump ?? DEFAULT_PACKETS_PER_DUMP,
      maxSeconds: opts.dumpSeconds ?? DEFAULT_DUMP_SECONDS,
      writer: this.writer,
      nextSequence: opts.nextSequence,
      onDump: (bytes, header) => {
        this.dumps++;
        this.dumpBytes += bytes.length;
        onDump(bytes, header);
      },
    });
    this.liveScope = opts.liveLinkScope ?? false;
    this.includeLoopback = opts.includeLoopback ?? false;
    this.wireLenFromIp = opts.wireLenFromIp ?? false;
    this.kernelCounters = opts.kernelCounters;
    this.meta = opts.metadata ?? null;
    this.metaSink = this.writer;
    this.metaCaptureBytes = this.meta === null ? 0 : opts.metadataCaptureBytes ?? DEFAULT_METADATA_CAPTURE_BYTES;
    this.pair = opts.fusedPath === false ? null : new PairMemo();
  }

  /**
   * One captured frame: buf[offset, offset + capLen). buf may hold more (a capture batch, a
   * file reader's window); it is only read, and only during this call.
   */
  handleFrame(linkType: number, buf: Uint8Array, offset: number, capLen: number, wireLen: number, tsUs: number): void {
    const f = this.frameIn;
    f.linkType = linkType;
    f.buf = buf;
    f.offset = offset;
    f.capLen = capLen;
    f.wireLen = wireLen;
    f.tsUs = tsUs;
    this.handleFrameAt(f);
  }

  /**
   * handleFrame for a frame the caller holds as an object (a capture file reader's frame):
   * the same work. Replay's entry: the timestamp, a double, is then copied from field to
   * field; handed over as an argument of a call V8 does not inline (handleFrame, the
   * decoder) it was boxed into a new heap number per packet (~31 MB of garbage on the
   * 2,000,000-packet bench capture, docs/benchmarks.md).
   */
  handleFrameAt(f: FrameAt): void {
    const linkType = f.linkType;
    const buf = f.buf;
    const offset = f.offset;
    const capLen = f.capLen;
    this.seen++;
    const d = this.pkt;
    // decodeFrameFast, unfolded: whether the fast lane took the frame says it is the common kind
    const common = linkType === LinkType.Ethernet && decodeFastLane(buf, offset, capLen, f.wireLen, 0, d, DECODE_OPTIONS);
    // the first frame also takes the rare paths below (decodeFrame, which decodes it from
    // scratch into the same record, and the general path without the pair memo): their call
    // sites then have type feedback when V8 optimizes this function, and the first frame that
    // needs them later (one the fast lane declines, the first UDP datagram) does not
    // deoptimize it (docs/benchmarks.md, eighth round)
    const first = this.seen === 1;
    if (!common || first) decodeFrame(linkType, buf, offset, capLen, f.wireLen, 0, d, DECODE_OPTIONS);
    d.tsUs = f.tsUs; // the decoders only store the time they are given
    const flags = d.flags;
    // added on every frame, not under a branch: the branch first taken after V8 optimized this
    // function (the first malformed frame of the bench capture) deoptimized it for want of feedback
    this.malformed += (flags >>> MALFORMED_BIT) & 1;
    this.truncated += (flags >>> TRUNCATED_BIT) & 1;

    let pktType = -1;
    if (this.liveScope) {
      pktType = linuxPacketType(linkType, buf, capLen, offset);
      if (pktType === PACKET_OTHERHOST) {
        this.otherHost++;
        return;
      }
      if (!this.includeLoopback && linuxDeviceType(linkType, buf, capLen, offset) === ARPHRD_LOOPBACK) {
        this.loopback++;
        return;
      }
    }
    // the fast lane's frames are Ethernet/IPv4 without a tunnel; for TCP the noise verdict, the
    // direction and the pseudonyms depend only on the address pair and the L2 flags (pair-memo.ts)
    const pair = common && !first && pktType < 0 && d.proto === IPPROTO_TCP ? this.pair : null;
    if (pair !== null && pair.apply(d)) {
      // passKept's own test, here: V8 does not inline it, and it nearly always has nothing to do
      const noise = this.noise;
      if (noise.pendingUs > 0 || noise.lastSampled) noise.passKept(d);
      this.anonymizer.stats.lookups += pair.lookups;
      if (this.wireLenFromIp) this.widenWireLen(d, flags);
    } else {
      if (this.noise.filter(d) !== 0) return;

      if (pktType >= 0) d.direction = pktType === PACKET_OUTGOING ? Direction.Out : Direction.In;
      else d.direction = this.hosts.directionOf(d);

      if (this.wireLenFromIp) this.widenWireLen(d, flags);
      if (d.ipVersion === 0) this.anonymizeArp(d);
      else if (pair === null) this.anonymizer.anonymizeRecord(d);
      else this.anonymizeAndRemember(d, pair);
    }
    if (this.noise.lastSampled) d.payload = EMPTY_BYTES; // sampled noise: identities, not data
    else {
      const retro = this.retro;
      if (retro !== null) retro.add(linkType, d.frame, d.frameOff, d.capLen, d.tsUs, d.wireLen, d.direction);
      this.snap.apply(d);
      // reads the payload in the capture buffer; what it finds is queued for this packet
      if (this.meta !== null) this.meta.inspect(d, this.metaSink);
    }
    const watch = this.watch;
    const hit = watch !== null && (this.metaHit || watch.matches(d));
    this.metaHit = false;
    this.rotator.add(d);
    this.kept++;
    if (hit && watch !== null) watch.hit();
  }

  /**
   * Live capture reports the captured length only: the wire length from the IP header. (Called
   * only with wireLenFromIp: V8 does not inline this into handleFrameAt, and replay paid the call
   * for nothing on every packet.)
   */
  private widenWireLen(d: DecodedPacket, flags: number): void {
    if (d.l3Off >= 0 && d.ipLen > 0 && (flags & RecordFlag.Inner) === 0) {
      const w = d.l3Off - d.frameOff + d.ipLen;
      if (w > d.wireLen) d.wireLen = w;
    }
  }

  /** anonymizeRecord for a common TCP frame, its outcome remembered unless it is sampled noise. */
  private anonymizeAndRemember(d: DecodedPacket, pair: PairMemo): void {
    const a = d.addrWords;
    const rawSrc = a[0]!;
    const rawDst = a[4]!;
    const flagsBefore = d.flags;
    const st = this.anonymizer.stats;
    const lookupsBefore = st.lookups;
    this.anonymizer.anonymizeRecord(d);
    if (!this.noise.lastSampled) pair.store(d, rawSrc, rawDst, d.flags & ~flagsBefore, st.lookups - lookupsBefore);
  }

  /** Installs (or with null removes) the retro ring: it gets every kept packet's frame. */
  setRetroTap(t: RetroTap | null): void {
    this.retro = t;
  }

  /** Installs (or with null removes) the watchlist check (near-real-time shipping of listed peers, names, fingerprints). */
  setPacketWatch(w: PacketWatch | null): void {
    this.watch = w;
    const writer = this.writer;
    const matchesMeta = w?.matchesMeta?.bind(w);
    this.metaSink = matchesMeta === undefined ? writer : {
      queueMeta: (m: AppMeta): void => {
        if (matchesMeta(m)) this.metaHit = true;
        writer.queueMeta(m);
      },
    };
  }

  /**
   * ARP records carry the sender/target IPv4 addresses in src/dst with ipVersion 0 (decoder
   * contract), which AddressAnonymizer.anonymizeRecord skips as "not IP"; they reach a dump
   * only through the noise sampling window, and must not carry real internal addresses.
   */
  private anonymizeArp(d: DecodedPacket): void {
    if (d.etherType !== ETHERTYPE_ARP && d.etherType !== ETHERTYPE_RARP) return;
    if ((d.flags & RecordFlag.SrcAnon) === 0 && this.anonymizer.anonymize(4, d.src)) d.flags |= RecordFlag.SrcAnon;
    if ((d.flags & RecordFlag.DstAnon) === 0 && this.anonymizer.anonymize(4, d.dst)) d.flags |= RecordFlag.DstAnon;
  }

  /** Emits the open dump now (shutdown, "ship now"). */
  flush(): void {
    this.rotator.flush();
  }

  /** Time passes without packets: time-based rotation, expiry of windows and peer rules. */
  tick(nowUs: number): void {
    this.noise.expire(nowUs);
    this.snap.expire(nowUs);
    this.meta?.expire(nowUs);
    this.rotator.tick(nowUs);
    this.retro?.tick(nowUs);
  }

  /**
   * Payload bytes the capture must deliver per packet at `nowUs`: the most any packet may keep
   * (global or per-peer), what metadata extraction reads, or what the retro ring keeps.
   */
  capturePayloadBytes(nowUs: number): number {
    let n = this.snap.maxSnapLen(nowUs);
    if (this.metaCaptureBytes > n) n = this.metaCaptureBytes;
    if (this.retro !== null && this.retro.snapLen > n) n = this.retro.snapLen;
    return n;
  }

  setSnapLen(n: number): void {
    this.snap.setSnapLen(n);
    this.writer.snapLen = n;
  }

  /** Raises the snap length for one peer until rule.untilUs (targeted capture hook). */
  addPeerRule(rule: PeerCaptureRule): void {
    this.snap.addPeerRule(rule);
    if (rule.snapLen > this.writer.snapLen) this.writer.snapLen = rule.snapLen;
  }

  setDumpLimits(packets: number, seconds: number): void {
    this.rotator.setLimits(packets, seconds);
  }

  /** Lets link-local noise through for `seconds` (from nowUs, or from the next packet). */
  allowNoiseFor(seconds: number, nowUs?: number): void {
    this.noise.allowNoiseFor(seconds, nowUs);
  }

  /** New host addresses (interfaces changed): direction, anonymizer host set, broadcasts. */
  setHostAddresses(addresses: readonly string[], directedBroadcasts?: readonly string[]): void {
    this.hosts.set(addresses);
    this.anonymizer.setHostAddresses([...addresses]);
    if (directedBroadcasts) this.noise.setDirectedBroadcasts(directedBroadcasts);
    this.pair?.clear(); // direction, pseudonyms and broadcast verdicts may change
  }

  get hostAddresses(): readonly string[] {
    return this.hosts.addresses;
  }

  stats(): CaptureStats {
    const n = this.noise.counts();
    const excluded = { ...n.excluded, loopback: this.loopback, otherHost: this.otherHost } as Record<ExclusionReason, number>;
    let excludedTotal = 0;
    for (const v of Object.values(excluded)) excludedTotal += v;
    const k = this.kernelCounters ? this.kernelCounters() : { packets: null, drops: null };
    return {
      packetsSeen: this.seen,
      packetsKept: this.kept,
      excluded,
      excludedTotal,
      noiseSampled: n.sampled,
      noiseSamplingUntilUs: n.samplingUntilUs,
      malformed: this.malformed,
      truncated: this.truncated,
      queueDrops: 0,
      kernelPackets: k.packets,
      kernelDrops: k.drops,
      dumps: this.dumps,
      dumpBytes: this.dumpBytes,
      pendingPackets: this.rotator.pending,
      pendingSinceUs: this.rotator.pendingSinceUs,
      snapLen: this.snap.snapLen,
      peerRules: this.snap.peerRules,
      anonymizedAddresses: this.anonymizer.stats.lookups,
      decoderInternalErrors: decoderInternalErrors(),
      metadata: this.meta === null ? null : this.meta.stats(),
    };
  }
}
