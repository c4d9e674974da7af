// One libpcap handle through `cap`: opens a device with a filter and ring size, stamps each
// packet (CaptureClock) and hands it to the frame sink synchronously, inside the binding's
// callback - the frame is a view of this session's one packet buffer, valid only until the
// sink returns. The kernel ring is the only queue between the wire and the pipeline.
// Also owns the session's counters, including kernel drops where they can be learned.
import type { CaptureClock } from './capture-clock.js';
import { newCapHandle, type CapHandle } from './cap-binding.js';
import { linkTypeFromCapName } from './link-meta.js';
import { packetSocketFds, readPacketSocketStats } from './kernel-drop-stats.js';

/** Receives every captured frame: data[0..capLen) is the frame, valid until the call returns. */
export type FrameSink = (linkType: number, data: Uint8Array, capLen: number, wireLen: number, tsUs: number) => void;

export class CaptureOpenError extends Error {
  readonly device: string;
  constructor(device: string, reason: string) {
    super(`cannot capture on ${JSON.stringify(device)}: ${reason}`);
    this.name = 'CaptureOpenError';
    this.device = device;
  }
}

/** `cap` always sets snaplen 65535; its packet buffer only needs to hold that. */
const PACKET_BUFFER_BYTES = 65535;

export interface CaptureSessionOptions {
  device: string;
  filter: string;
  /** libpcap ring request in bytes (resident memory is about twice this; docs/capture.md) */
  bufferBytes: number;
  sink: FrameSink;
  clock: CaptureClock;
  /** called when the sink throws (the session keeps running) */
  onSinkError?: (err: unknown) => void;
}

export interface CaptureSessionStats {
  device: string;
  /** pcap LINKTYPE_* (-1 before open) */
  linkType: number;
  filter: string;
  bufferBytes: number;
  openedAtUs: number;
  /** frames delivered to the sink */
  packets: number;
  /** frames cut because they did not fit the packet buffer */
  truncated: number;
  /** sink exceptions caught */
  sinkErrors: number;
  /** kernel counters summed over reads; null while unknown */
  kernelPackets: number | null;
  kernelDrops: number | null;
}

export class CaptureSession {
  readonly device: string;
  readonly filter: string;
  readonly bufferBytes: number;
  private readonly opts: CaptureSessionOptions;
  private handle: CapHandle | undefined;
  /** must stay referenced while open: the binding writes into it without holding it (see docs) */
  private readonly buffer = Buffer.alloc(PACKET_BUFFER_BYTES);
  private fd = -1;
  linkType = -1;
  linkTypeName = '';
  openedAtUs = 0;
  packets = 0;
  truncated = 0;
  sinkErrors = 0;
  kernelPackets: number | null = null;
  kernelDrops: number | null = null;

  constructor(opts: CaptureSessionOptions) {
    this.opts = opts;
    this.device = opts.device;
    this.filter = opts.filter;
    this.bufferBytes = opts.bufferBytes;
  }

  get isOpen(): boolean {
    return this.handle !== undefined;
  }

  /** @throws CaptureOpenError naming the device and libpcap's reason */
  open(): void {
    if (this.handle) return;
    const handle = newCapHandle();
    const before = packetSocketFds();
    let name: string;
    try {
      name = handle.open(this.device, this.filter, this.bufferBytes, this.buffer);
    } catch (e) {
      try { handle.close(); } catch { /* the binding may not have a pcap handle to close */ }
      throw new CaptureOpenError(this.device, (e as Error).message);
    }
    const lt = linkTypeFromCapName(name);
    if (lt < 0) {
      handle.close();
      throw new CaptureOpenError(this.device, `unsupported link type ${name}`);
    }
    this.linkType = lt;
    this.linkTypeName = name;
    this.openedAtUs = this.opts.clock.nowUs();
    // the descriptor that appeared with this open is libpcap's packet socket
    const fresh = [...packetSocketFds()].filter((fd) => !before.has(fd));
    this.fd = fresh.length === 1 ? fresh[0]! : -1;
    if (typeof handle.setMinBytes === 'function') handle.setMinBytes(0); // Npcap: deliver at once
    const sink = this.opts.sink;
    const clock = this.opts.clock;
    const buf = this.buffer;
    const onErr = this.opts.onSinkError;
    // one closure per session, not per packet
    handle.on('packet', (nbytes: number, truncated: boolean) => {
      this.packets++;
      if (truncated) this.truncated++;
      try {
        // cap does not report the original length; the pipeline recovers it from the IP header
        sink(lt, buf, nbytes, nbytes, clock.nowUs());
      } catch (e) {
        this.sinkErrors++;
        if (onErr) onErr(e);
      }
    });
    this.handle = handle;
  }

  close(): void {
    const h = this.handle;
    if (!h) return;
    this.handle = undefined;
    this.fd = -1;
    h.close();
    h.removeAllListeners('packet');
  }

  /** Adds the kernel's counters since the last read (no-op when they cannot be learned). */
  async pollKernelStats(): Promise<void> {
    if (this.fd < 0 || !this.handle) return;
    const s = await readPacketSocketStats(this.fd);
    if (!s) return;
    this.kernelPackets = (this.kernelPackets ?? 0) + s.packets;
    this.kernelDrops = (this.kernelDrops ?? 0) + s.drops;
  }

  stats(): CaptureSessionStats {
    return {
      device: this.device,
      linkType: this.linkType,
      filter: this.filter,
      bufferBytes: this.bufferBytes,
      openedAtUs: this.openedAtUs,
      packets: this.packets,
      truncated: this.truncated,
      sinkErrors: this.sinkErrors,
      kernelPackets: this.kernelPackets,
      kernelDrops: this.kernelDrops,
    };
  }
}
