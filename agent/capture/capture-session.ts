// One libpcap handle through the (patched) `cap` binding: opens a device with a filter, a
// snap length and a ring size, and hands every packet to the frame sink synchronously, in
// batches: the binding packs records [tv_sec, tv_usec, caplen, len, frame bytes] into this
// session's batch buffer and emits once per drained ring (or full buffer). The kernel ring is
// the only queue between the wire and the pipeline; timestamps and original lengths are
// libpcap's. During a swap (new filter, new snap length) a session takes part in a handover:
// it delivers the packets on its side of the cut, holds back those around the cut for the
// merge (agent/capture/handover-merge.ts) and skips those the other session delivers, so that a
// swap loses and duplicates nothing.
import { newCapHandle, type CapHandle } from './cap-binding.js';
import type { HandoverMerge, HandoverSide } from './handover-merge.js';
import { linkTypeFromCapName } from './link-meta.js';
import { MeerkatError } from '../../shared/errors.js';

/**
 * Receives every captured frame: buf[offset .. offset+capLen) is the frame, valid only until
 * the call returns. wireLen is the length on the wire as libpcap reports it.
 */
export type FrameSink = (linkType: number, buf: Uint8Array, offset: number, capLen: number, wireLen: number, tsUs: number) => void;

export class CaptureOpenError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_CAPTURE_OPEN';
  readonly device: string;
  constructor(device: string, reason: string) {
    super(`cannot capture on ${JSON.stringify(device)}: ${reason}`);
    this.name = 'CaptureOpenError';
    this.device = device;
  }
}

/** bytes before each record's frame in a batch (the patch's MEERKAT_RECORD_HEADER) */
const RECORD_HEADER = 16;
/** batch buffer: many small records per native-to-JS call; at least one maximal record */
const MIN_BATCH_BYTES = 256 * 1024;

export interface CaptureSessionOptions {
  device: string;
  filter: string;
  /** bytes kept per packet by libpcap (64..262144) */
  snapLen: number;
  /** libpcap ring request in bytes (docs/capture.md, "Ring") */
  bufferBytes: number;
  /** promiscuous mode (per-interface sessions on a shared segment; never on "any") */
  promiscuous?: boolean;
  /**
   * Linux: after a drain of fewer than `holdPackets` packets, wait this long before draining
   * again instead of waking for the next packet (the ring holds them meanwhile). Default 0.
   */
  holdMs?: number;
  holdPackets?: number;
  sink: FrameSink;
  /** called when the sink throws (the session keeps running) */
  onSinkError?: (err: unknown) => void;
  /** the handle failed (interface gone or down): the session is closed when this runs */
  onFailure?: (err: Error) => void;
}

export interface CaptureSessionStats {
  device: string;
  /** pcap LINKTYPE_* (-1 before open) */
  linkType: number;
  filter: string;
  snapLen: number;
  bufferBytes: number;
  openedAtUs: number;
  /** frames delivered to the sink */
  packets: number;
  /** frames shorter than on the wire (cut at the snap length) */
  truncated: number;
  /** frames outside this session's delivery window (the other session of a swap had them) */
  handedOver: number;
  /** frames held back around a swap's cut for its merge */
  held: number;
  /**
   * the longest a packet waited in the ring before its batch reached JavaScript, ms (from its
   * kernel stamp to the batch; the first packet of each batch is the oldest): how long the
   * event loop left the ring alone at its worst, what the ring has to hold
   */
  maxRingWaitMs: number;
  /** sink exceptions caught */
  sinkErrors: number;
  /** libpcap's counters since open (pcap_stats): null when the platform gives none */
  kernelPackets: number | null;
  kernelDrops: number | null;
}

export class CaptureSession {
  readonly device: string;
  readonly filter: string;
  readonly snapLen: number;
  readonly bufferBytes: number;
  private readonly opts: CaptureSessionOptions;
  private handle: CapHandle | undefined;
  /** must stay referenced while open: the binding writes into it without holding it (see docs) */
  private readonly buffer: Buffer;
  private readonly words: Uint32Array;
  /** deliver directly only packets with fromUs <= ts < untilUs (a swap narrows these) */
  private fromUs = 0;
  private untilUs = Number.POSITIVE_INFINITY;
  /** the handovers this session takes part in: packets outside [fromUs, untilUs) are theirs */
  private handovers: { merge: HandoverMerge; side: HandoverSide }[] = [];
  linkType = -1;
  linkTypeName = '';
  openedAtUs = 0;
  packets = 0;
  truncated = 0;
  handedOver = 0;
  held = 0;
  sinkErrors = 0;
  private maxWaitUs = 0;
  /** last counters read from the handle (kept after close) */
  private kernel: { packets: number; drops: number } | null = null;

  constructor(opts: CaptureSessionOptions) {
    this.opts = opts;
    this.device = opts.device;
    this.filter = opts.filter;
    this.snapLen = opts.snapLen;
    this.bufferBytes = opts.bufferBytes;
    const bytes = Math.max(MIN_BATCH_BYTES, 4 * (opts.snapLen + RECORD_HEADER + 4));
    const ab = new ArrayBuffer(bytes);
    this.buffer = Buffer.from(ab);
    this.words = new Uint32Array(ab);
  }

  get isOpen(): boolean {
    return this.handle !== undefined;
  }

  /**
   * Joins a handover as the session being replaced ('old') or the replacement ('new'): from now
   * on this session delivers directly only what the merge gives it and holds the packets around
   * the cut for it (HandoverMerge.action).
   */
  joinHandover(merge: HandoverMerge, side: HandoverSide): void {
    if (side === 'old') this.untilUs = Math.min(this.untilUs, merge.cutUs - 3 * merge.guardUs);
    else this.fromUs = Math.max(this.fromUs, merge.cutUs + 3 * merge.guardUs);
    this.handovers.push({ merge, side });
  }

  /** The merge is resolved: this session no longer holds packets for it. */
  leaveHandover(merge: HandoverMerge): void {
    this.handovers = this.handovers.filter((h) => h.merge !== merge);
  }

  /** Delivers (or holds) what the ring holds now, synchronously. */
  flush(): void {
    this.handle?.flush();
  }

  /**
   * A packet outside the direct window, decided by the handovers this session is in
   * (HandoverMerge.action): left to the other session when one of them says so, else held or
   * delivered and noted. Returns true when it is to be delivered now.
   */
  private handOverPacket(lt: number, buf: Uint8Array, off: number, capLen: number, wireLen: number, tsUs: number): boolean {
    // runs for every packet of a replaced session's last second: no array per packet
    const hs = this.handovers;
    let skip = hs.length === 0;
    let hold = -1;
    for (let i = 0; i < hs.length && !skip; i++) {
      const a = hs[i]!.merge.action(hs[i]!.side, tsUs);
      if (a === 'skip') skip = true;
      else if (a === 'hold' && hold < 0) hold = i;
    }
    if (skip) {
      this.handedOver++;
      return false;
    }
    if (hold >= 0) {
      hs[hold]!.merge.hold(hs[hold]!.side, lt, buf, off, capLen, wireLen, tsUs);
      this.held++;
      return false;
    }
    for (const h of hs) if (h.merge.action(h.side, tsUs) === 'note') h.merge.hold(h.side, lt, buf, off, capLen, wireLen, tsUs, true);
    return true;
  }

  /** @throws CaptureOpenError naming the device and libpcap's reason */
  open(): void {
    if (this.handle) return;
    const handle = newCapHandle();
    let name: string;
    try {
      name = handle.open(this.device, this.filter, this.bufferBytes, this.buffer, this.snapLen, this.opts.promiscuous ?? false, true,
        this.opts.holdMs ?? 0, this.opts.holdPackets ?? 0);
    } catch (e) {
      throw new CaptureOpenError(this.device, (e as Error).message);
    }
    const lt = linkTypeFromCapName(name);
    if (lt < 0) {
      handle.close();
      throw new CaptureOpenError(this.device, `unsupported link type ${name}`);
    }
    this.linkType = lt;
    this.linkTypeName = name;
    this.openedAtUs = Date.now() * 1000;
    if (typeof handle.setMinBytes === 'function') handle.setMinBytes(0); // Npcap: deliver at once
    const sink = this.opts.sink;
    const buf = this.buffer;
    const words = this.words;
    const onErr = this.opts.onSinkError;
    // one closure per session, not per packet
    handle.on('packets', (used: number, count: number) => {
      if (count > 0 && used >= RECORD_HEADER) {
        // one clock read per batch, not per packet
        const wait = Date.now() * 1000 - (words[0]! * 1_000_000 + words[1]!);
        if (wait > this.maxWaitUs) this.maxWaitUs = wait;
      }
      let off = 0;
      for (let i = 0; i < count && off + RECORD_HEADER <= used; i++) {
        const w = off >>> 2;
        const tsUs = words[w]! * 1_000_000 + words[w + 1]!;
        const capLen = words[w + 2]!;
        const wireLen = words[w + 3]!;
        if ((tsUs >= this.fromUs && tsUs < this.untilUs) || this.handOverPacket(lt, buf, off + RECORD_HEADER, capLen, wireLen, tsUs)) {
          this.packets++;
          if (capLen < wireLen) this.truncated++;
          try {
            sink(lt, buf, off + RECORD_HEADER, capLen, wireLen, tsUs);
          } catch (e) {
            this.sinkErrors++;
            if (onErr) onErr(e);
          }
        }
        off += (RECORD_HEADER + capLen + 3) & ~3;
      }
    });
    handle.on('error', (err: Error) => {
      // an error while this session is already closing (its final flush) is not news
      if (this.handle !== handle) return;
      this.close();
      this.opts.onFailure?.(err);
    });
    this.handle = handle;
  }

  close(): void {
    const h = this.handle;
    if (!h) return;
    // cleared first: anything the final flush triggers (an 'error') sees a closed session
    this.handle = undefined;
    // what the kernel already counted reaches the sink instead of vanishing with the ring
    h.flush();
    this.readKernelStats(h);
    h.close();
    h.removeAllListeners('packets');
  }

  /** Refreshes the libpcap counters (cheap: one getsockopt on Linux). */
  private readKernelStats(h: CapHandle | undefined = this.handle): void {
    if (!h) return;
    try {
      const s = h.stats();
      this.kernel = { packets: s.received, drops: s.dropped };
    } catch {
      /* the handle failed; keep the last counters */
    }
  }

  stats(): CaptureSessionStats {
    this.readKernelStats();
    return {
      device: this.device,
      linkType: this.linkType,
      filter: this.filter,
      snapLen: this.snapLen,
      bufferBytes: this.bufferBytes,
      openedAtUs: this.openedAtUs,
      packets: this.packets,
      truncated: this.truncated,
      handedOver: this.handedOver,
      held: this.held,
      maxRingWaitMs: Math.round(this.maxWaitUs / 100) / 10,
      sinkErrors: this.sinkErrors,
      kernelPackets: this.kernel?.packets ?? null,
      kernelDrops: this.kernel?.drops ?? null,
    };
  }
}
