// One libpcap handle through the (patched) `cap` binding: opens a device with a filter, a
// snap length and a ring size, and hands every packet to the frame sink synchronously, in
// batches: the binding packs records [tv_sec, tv_usec, caplen, len, frame bytes] into this
// session's batch buffer and emits once per drained ring (or full buffer). The kernel ring is
// the only queue between the wire and the pipeline; timestamps and original lengths are
// libpcap's. A session can be told to deliver only packets stamped inside a time window: that
// is how LiveCapture swaps sessions (new filter, new snap length) without a gap or a duplicate.
import { newCapHandle, type CapHandle } from './cap-binding.js';
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
  /** deliver only packets with fromUs <= ts < untilUs (a swap narrows these) */
  private fromUs = 0;
  private untilUs = Number.POSITIVE_INFINITY;
  linkType = -1;
  linkTypeName = '';
  openedAtUs = 0;
  packets = 0;
  truncated = 0;
  handedOver = 0;
  sinkErrors = 0;
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

  /** Packets stamped before `us` are left to the session this one replaces. */
  deliverFrom(us: number): void {
    this.fromUs = us;
  }

  /** Packets stamped at or after `us` are left to the session that replaces this one. */
  deliverUntil(us: number): void {
    this.untilUs = us;
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
      let off = 0;
      for (let i = 0; i < count && off + RECORD_HEADER <= used; i++) {
        const w = off >>> 2;
        const tsUs = words[w]! * 1_000_000 + words[w + 1]!;
        const capLen = words[w + 2]!;
        const wireLen = words[w + 3]!;
        if (tsUs >= this.fromUs && tsUs < this.untilUs) {
          this.packets++;
          if (capLen < wireLen) this.truncated++;
          try {
            sink(lt, buf, off + RECORD_HEADER, capLen, wireLen, tsUs);
          } catch (e) {
            this.sinkErrors++;
            if (onErr) onErr(e);
          }
        } else {
          this.handedOver++;
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
      sinkErrors: this.sinkErrors,
      kernelPackets: this.kernel?.packets ?? null,
      kernelDrops: this.kernel?.drops ?? null,
    };
  }
}
