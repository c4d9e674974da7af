// Live capture: which capture sessions exist (the Linux "any" device, or one per interface),
// with which filter, and keeping that right while the host roams - interfaces appearing and
// vanishing, the collector's address changing. Frames go synchronously to one FrameSink
// (the agent pipeline). Timers are unref'd; the open libpcap handles keep the process alive.
//
// Sessions are never closed and reopened to change them (a new filter when the collector's
// address changes, a new snap length when hybrid capture needs payload): the new session is
// opened first, and a cut time T splits the packets between the two - the old one delivers
// what the kernel stamped before T, the new one what it stamped from T on, and the packets
// stamped around T are matched by content between the two (agent/capture/handover-merge.ts),
// so that a change loses and duplicates nothing even where the two handles' stamps of a packet
// differ (docs/capture.md, "Changing sessions").
//
// Interface modes (docs/capture.md, "Interfaces"):
//   'any'  (Linux default) one session on the "any" pseudo-device (cooked SLL frames): every
//          interface, including ones that appear later (VPN up, Wi-Fi roam), one ring buffer,
//          no promiscuous mode, the kernel's own sent/received verdict per packet.
//   'all'  one session per up interface (the only choice where there is no "any", e.g.
//          Windows/Npcap), rescanned periodically. A session whose interface goes down fails
//          (an 'error' from the patched binding; unpatched `cap` aborted the process) and is
//          reopened by the rescan when the interface is back.
//   [names] those interfaces, one session each.
import { isIP } from 'node:net';
import type { Logger } from '../../shared/log.js';
import { buildCaptureFilter, type CollectorEndpoint } from './bpf-filter.js';
import { CaptureSession, CaptureOpenError, type CaptureSessionStats, type FrameSink } from './capture-session.js';
import { HandoverMerge } from './handover-merge.js';
import { readInterfaces, selectCaptureInterfaces, type InterfaceInfo } from './interface-scan.js';

export type InterfaceSpec = 'any' | 'all' | readonly string[];

/** An excluded endpoint; `observed` marks addresses learned from the shipper's connections. */
interface ObservedEndpoint extends CollectorEndpoint {
  observed?: boolean;
}

/** A collector as configured: host name or address, TCP port. */
export interface CollectorAddress {
  host: string;
  port: number;
}

export interface LiveCaptureOptions {
  /** default 'any' on Linux, 'all' elsewhere */
  interfaces?: InterfaceSpec;
  /** the operator's extra BPF filter */
  bpf?: string;
  /** libpcap ring request per session for header capture, bytes (default DEFAULT_BUFFER_BYTES) */
  bufferBytes?: number;
  /** payload bytes the pipeline may keep per packet at start (sets the snap length; default 0) */
  payloadBytes?: number;
  /** the agent's collectors: their traffic is never captured */
  collectors?: readonly CollectorAddress[];
  /** capture loopback traffic too (default false) */
  includeLoopback?: boolean;
  /** ms a session waits after a small drain before draining again (default HOLD_MS; 0: wake for every packet) */
  holdMs?: number;
  /** interface / collector address rescan period (default 10 s) */
  rescanSeconds?: number;
  onFrame: FrameSink;
  log?: Logger;
  /** interface lister (tests inject one); default: /sys/class/net or libpcap's list */
  listInterfaces?: () => InterfaceInfo[];
  /** collector name resolver (tests inject one); default: DNS, all addresses */
  resolve?: (host: string) => Promise<string[]>;
}

/**
 * 2 MiB: at the header snap length libpcap's immediate mode (TPACKET_V2, fixed slots) cuts it
 * into about 6,000 slots of ~340 bytes, 2.1 MB resident. Measurements: docs/capture.md, "Ring".
 */
const DEFAULT_BUFFER_BYTES = 2 << 20;

/**
 * Bytes captured per packet when no payload is kept: room for the link header, outer and
 * inner IP headers with options or extension headers, tunnel headers and a full TCP header.
 */
const HEADER_SNAP_LEN = 256;
const MAX_CAPTURE_SNAP_LEN = 65535;
/** a session whose snap length needs payload keeps at least this many ring slots */
const MIN_RING_SLOTS = 128;
/** per-slot overhead of a TPACKET_V2 frame (header, sockaddr_ll, alignment), bytes */
const SLOT_OVERHEAD = 96;
/** how long a replaced session keeps delivering the packets stamped before the cut, µs */
const HANDOVER_DRAIN_US = 1_000_000;
/**
 * Around the cut, packets whose two stamps (one per handle) differ by less than this are matched
 * by content instead of cut by time, µs. The kernel stamps a packet once for every handle when
 * it can (the patch's SO_TIMESTAMP: measured equal on 59,980 of 59,980 packets); where a
 * handle stamps it itself the two stamps are microseconds apart, more when the CPU is busy.
 */
const HANDOVER_GUARD_US = 5_000;
/**
 * Wakeups: after a drain that found fewer than a quarter of the ring's slots, the session waits
 * this long before draining again. Each wakeup costs the kernel, libuv and a native-to-JS call
 * (at 20,000 packets/s that was most of the agent's CPU, docs/agent-memory.md); 10 ms is at most
 * 100 wakeups a second, and a quarter of the ring stays free for the rate to double meanwhile.
 * A drain that finds more switches back to waking at once (high rates).
 */
const HOLD_MS = 10;
const HOLD_RING_SHARE = 4;

/**
 * The capture snap length for a payload length: the header room plus the payload, rounded up to
 * a power of two minus the slot overhead, so that small changes of the payload length do not swap
 * sessions, and so that libpcap's fixed-size ring slots (snap length + overhead) fill the
 * page-sized blocks they are packed into: a snap length of 2048 made 2,144-byte slots, one per
 * 4 KiB page, and the ring twice as large as asked (measured, docs/pcap.md "Cost").
 */
function captureSnapLen(payloadBytes: number): number {
  if (payloadBytes <= 0) return HEADER_SNAP_LEN;
  const need = HEADER_SNAP_LEN + payloadBytes;
  let slot = 2 * HEADER_SNAP_LEN;
  while (slot - SLOT_OVERHEAD < need && slot <= MAX_CAPTURE_SNAP_LEN) slot *= 2;
  return slot > MAX_CAPTURE_SNAP_LEN ? MAX_CAPTURE_SNAP_LEN : slot - SLOT_OVERHEAD;
}

/** The ring request for a snap length: the configured bytes, or enough for MIN_RING_SLOTS. */
function ringBytesFor(snapLen: number, bufferBytes: number): number {
  return Math.max(bufferBytes, MIN_RING_SLOTS * (snapLen + SLOT_OVERHEAD));
}

/** addresses remembered per collector name (the most recent ones) */
const MAX_ADDRESSES_PER_COLLECTOR = 32;

export interface LiveCaptureStats {
  mode: 'any' | 'per-interface';
  sessions: CaptureSessionStats[];
  /** sessions opened / closed since start, and failed opens */
  opened: number;
  closed: number;
  openErrors: number;
  lastOpenError: string;
  /** frames delivered to the sink / cut at the snap length / whose sink threw, all sessions since start */
  packets: number;
  truncated: number;
  sinkErrors: number;
  /** packets held around a swap's cut and delivered by its merge (included in `packets`) */
  handoverPackets: number;
  /** the longest a packet waited in a ring before the pipeline got it, ms (all sessions since start) */
  maxRingWaitMs: number;
  /** session swaps (filter or snap length changed) and sessions that failed (interface down) */
  swaps: number;
  failures: number;
  /** the current capture snap length */
  snapLen: number;
  /** libpcap's counters summed over all sessions, null when none could be learned */
  kernelPackets: number | null;
  kernelDrops: number | null;
  /** interfaces up at the last scan */
  interfaces: string[];
  /** resolved collector addresses excluded by the filter */
  collectorAddresses: string[];
}

async function defaultResolve(host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  // dns loaded only for a collector given by name (the usual enrolment gives an address)
  const { lookup } = await import('node:dns/promises');
  const all = await lookup(host, { all: true, verbatim: true });
  return all.map((a) => a.address);
}

export class LiveCapture {
  private readonly opts: LiveCaptureOptions;
  private readonly spec: InterfaceSpec;
  private readonly sessions = new Map<string, CaptureSession>();
  /** replaced sessions still delivering packets stamped before their cut: when to close them, their handover */
  private readonly retiring = new Map<CaptureSession, { closeAt: number; merge: HandoverMerge; next: CaptureSession }>();
  private snapLen: number;
  private lastInterfaces: InterfaceInfo[] = [];
  private endpoints: ObservedEndpoint[] = [];
  /** last good resolution per collector host name */
  private readonly resolved = new Map<string, string[]>();
  /** addresses the shipper actually connected to, per port (see excludeConnection) */
  private readonly observed = new Map<number, Set<string>>();
  private knownInterfaces: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private seconds = 0;
  private rescanning = false;
  private running = false;
  private swaps = 0;
  private failures = 0;
  private opened = 0;
  private closed = 0;
  private openErrors = 0;
  private lastOpenError = '';
  /** counters of sessions already closed, so totals survive reopen */
  private retiredKernelPackets: number | null = null;
  private retiredKernelDrops: number | null = null;
  private retiredPackets = 0;
  private retiredTruncated = 0;
  private retiredSinkErrors = 0;
  /** packets the handover merges delivered (held around a cut, then delivered once) */
  private mergedPackets = 0;
  private mergedTruncated = 0;
  private mergedSinkErrors = 0;
  private retiredMaxRingWaitMs = 0;
  private sinkErrorLogged = 0;

  constructor(opts: LiveCaptureOptions) {
    this.opts = opts;
    this.spec = opts.interfaces ?? (process.platform === 'linux' ? 'any' : 'all');
    this.snapLen = captureSnapLen(opts.payloadBytes ?? 0);
  }

  /** The capture snap length now in force. */
  get currentSnapLen(): number {
    return this.snapLen;
  }

  /**
   * The pipeline may now keep up to `payloadBytes` per packet: when that needs another snap
   * length, every session is swapped for one with it (without a gap). Returns the snap length.
   */
  setPayloadBytes(payloadBytes: number): number {
    const next = captureSnapLen(payloadBytes);
    if (next === this.snapLen) return next;
    this.opts.log?.info({ from: this.snapLen, to: next, payloadBytes }, 'capture snap length changes');
    this.snapLen = next;
    if (this.running) this.syncSessions(this.lastInterfaces);
    return next;
  }

  get mode(): 'any' | 'per-interface' {
    return this.spec === 'any' ? 'any' : 'per-interface';
  }

  /**
   * Resolves the collectors, opens the sessions and starts the periodic work.
   * @throws CaptureOpenError when not a single session could be opened
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.resolveCollectors();
    this.syncSessions(this.scanInterfaces());
    if (this.sessions.size === 0) {
      this.running = false;
      throw new CaptureOpenError(this.spec === 'any' ? 'any' : String(this.spec), this.lastOpenError || 'no interface to capture on');
    }
    this.timer = setInterval(() => this.everySecond(), 1000);
    this.timer.unref();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const s of [...this.retiring.keys()]) this.retire(s);
    for (const s of [...this.sessions.values()]) this.closeSession(s);
  }

  /** Re-resolves collectors and re-reads interfaces now (also runs every rescanSeconds). */
  async rescan(): Promise<void> {
    if (this.rescanning || !this.running) return;
    this.rescanning = true;
    try {
      await this.resolveCollectors();
      if (!this.running) return;
      this.syncSessions(this.scanInterfaces());
    } finally {
      this.rescanning = false;
    }
  }

  /**
   * The shipper connected to `address`:`port` (socket.remoteAddress): make sure that exact
   * address is excluded, even if DNS gave this process other answers (round robin, geo DNS,
   * a lookup that failed at start). Reopens the sessions when the address is new.
   */
  excludeConnection(address: string, port: number): void {
    if (!isIP(address)) return;
    let set = this.observed.get(port);
    if (!set) this.observed.set(port, (set = new Set()));
    const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    if (set.has(plain)) return;
    set.add(plain);
    if (!this.running) return;
    this.endpoints = this.mergeObserved(this.endpoints.filter((e) => !e.observed));
    this.opts.log?.info({ address: plain, port }, 'collector connection excluded from capture');
    this.syncSessions(this.scanInterfaces());
  }

  stats(): LiveCaptureStats {
    const sessions = [...this.sessions.values(), ...this.retiring.keys()].map((s) => s.stats());
    let kp = this.retiredKernelPackets;
    let kd = this.retiredKernelDrops;
    let packets = this.retiredPackets + this.mergedPackets;
    let truncated = this.retiredTruncated + this.mergedTruncated;
    let sinkErrors = this.retiredSinkErrors + this.mergedSinkErrors;
    let maxRingWaitMs = this.retiredMaxRingWaitMs;
    for (const s of sessions) {
      packets += s.packets;
      truncated += s.truncated;
      sinkErrors += s.sinkErrors;
      maxRingWaitMs = Math.max(maxRingWaitMs, s.maxRingWaitMs);
      if (s.kernelPackets !== null) kp = (kp ?? 0) + s.kernelPackets;
      if (s.kernelDrops !== null) kd = (kd ?? 0) + s.kernelDrops;
    }
    return {
      mode: this.mode,
      sessions,
      opened: this.opened,
      closed: this.closed,
      openErrors: this.openErrors,
      lastOpenError: this.lastOpenError,
      packets,
      truncated,
      sinkErrors,
      handoverPackets: this.mergedPackets,
      maxRingWaitMs,
      swaps: this.swaps,
      failures: this.failures,
      snapLen: this.snapLen,
      kernelPackets: kp,
      kernelDrops: kd,
      interfaces: [...this.knownInterfaces],
      collectorAddresses: this.endpoints.flatMap((e) => e.addresses.map((a) => `${a}:${e.port}`)),
    };
  }

  private everySecond(): void {
    this.seconds++;
    const now = Date.now() * 1000;
    for (const [s, h] of this.retiring) if (now >= h.closeAt) this.retire(s);
    const rescan = this.opts.rescanSeconds ?? 10;
    if (rescan > 0 && this.seconds % rescan === 0) {
      this.rescan().catch((e: unknown) => this.opts.log?.error({ err: e }, 'capture rescan failed'));
    }
  }

  /** Resolves collector names into the excluded endpoints (the sessions follow at the next sync). */
  private async resolveCollectors(): Promise<void> {
    const resolve = this.opts.resolve ?? defaultResolve;
    const next: CollectorEndpoint[] = [];
    for (const c of this.opts.collectors ?? []) {
      let addresses: string[];
      if (isIP(c.host)) addresses = [c.host];
      else {
        try {
          // accumulate: round-robin / geo DNS answers vary, and excluding an address the
          // collector had a minute ago is harmless, while flapping would reopen the sessions
          const all = [...new Set([...(this.resolved.get(c.host) ?? []), ...(await resolve(c.host))])];
          addresses = all.slice(-MAX_ADDRESSES_PER_COLLECTOR);
          this.resolved.set(c.host, addresses);
        } catch (e) {
          // keep what we knew: a DNS hiccup must not start capturing the agent's own traffic
          addresses = this.resolved.get(c.host) ?? [];
          this.opts.log?.warn({ host: c.host, err: (e as Error).message }, 'cannot resolve collector; keeping previous addresses');
        }
      }
      next.push({ addresses: [...new Set(addresses)].sort(), port: c.port });
    }
    const merged = this.mergeObserved(next);
    const key = (eps: CollectorEndpoint[]): string => JSON.stringify(eps.map((e) => [e.addresses, e.port]));
    const changed = key(merged) !== key(this.endpoints);
    this.endpoints = merged;
    if (changed) this.opts.log?.info({ collectors: merged.map((e) => ({ addresses: e.addresses, port: e.port })) }, 'collector traffic excluded from capture');
  }

  /** Resolved endpoints plus the observed connection addresses (as extra endpoints). */
  private mergeObserved(resolved: CollectorEndpoint[]): ObservedEndpoint[] {
    const out: ObservedEndpoint[] = resolved.map((e) => ({ addresses: e.addresses, port: e.port }));
    for (const [port, set] of this.observed) {
      const known = new Set(out.filter((e) => e.port === port).flatMap((e) => e.addresses));
      const extra = [...set].filter((a) => !known.has(a)).sort();
      if (extra.length > 0) out.push({ addresses: extra, port, observed: true });
    }
    return out;
  }

  private scanInterfaces(): InterfaceInfo[] {
    let list: InterfaceInfo[];
    try {
      list = (this.opts.listInterfaces ?? readInterfaces)();
    } catch (e) {
      this.opts.log?.warn({ err: (e as Error).message }, 'cannot list interfaces');
      return [];
    }
    const up = list.filter((i) => i.up).map((i) => i.name);
    const before = new Set(this.knownInterfaces);
    const now = new Set(up);
    const appeared = up.filter((n) => !before.has(n));
    const gone = this.knownInterfaces.filter((n) => !now.has(n));
    if (this.knownInterfaces.length > 0 && (appeared.length > 0 || gone.length > 0)) {
      this.opts.log?.info({ appeared, gone }, 'network interfaces changed');
    }
    this.knownInterfaces = up;
    this.lastInterfaces = list;
    return list;
  }

  private filterFor(iface: InterfaceInfo | undefined): string {
    const anyMode = this.spec === 'any';
    return buildCaptureFilter({
      userFilter: this.opts.bpf ?? '',
      collectors: this.endpoints,
      // promiscuous per-interface Ethernet sessions: only this host's frames (and group ones)
      ownMac: !anyMode && iface && iface.arpType === 1 && iface.mac ? iface.mac : undefined,
      excludeLoopbackNets: anyMode && !this.opts.includeLoopback,
    });
  }

  /**
   * Opens missing sessions, closes those of interfaces that are gone, and swaps every session
   * whose filter or snap length is no longer the wanted one.
   */
  private syncSessions(list: InterfaceInfo[]): void {
    const wanted = this.spec === 'any'
      ? ['any']
      : selectCaptureInterfaces(list, this.spec, this.opts.includeLoopback ?? false);
    const byName = new Map(list.map((i) => [i.name, i]));
    for (const [name, s] of [...this.sessions]) {
      if (!wanted.includes(name)) {
        this.closeSession(s);
        this.opts.log?.info({ device: name }, 'interface gone; capture closed');
      }
    }
    for (const name of wanted) {
      const iface = byName.get(name);
      const filter = this.filterFor(iface);
      const current = this.sessions.get(name);
      if (current && current.filter === filter && current.snapLen === this.snapLen) continue;
      const bufferBytes = ringBytesFor(this.snapLen, this.opts.bufferBytes ?? DEFAULT_BUFFER_BYTES);
      const s = new CaptureSession({
        device: name,
        filter,
        snapLen: this.snapLen,
        bufferBytes,
        holdMs: this.opts.holdMs ?? HOLD_MS,
        holdPackets: Math.max(1, Math.floor(bufferBytes / (this.snapLen + SLOT_OVERHEAD) / HOLD_RING_SHARE)),
        sink: this.opts.onFrame,
        onSinkError: (e) => this.onSinkError(name, e),
        onFailure: (e) => this.onFailure(s, e),
      });
      try {
        s.open();
      } catch (e) {
        this.openErrors++;
        this.lastOpenError = (e as Error).message;
        // a failed swap keeps the current session: capturing with the old settings beats a gap
        this.opts.log?.error({ device: name, err: this.lastOpenError }, current ? 'cannot open the replacement capture; keeping the current one' : 'cannot open capture');
        continue;
      }
      this.opened++;
      if (current) this.handOver(current, s);
      this.sessions.set(name, s);
      this.opts.log?.info({ device: name, linkType: s.linkType, filter: s.filter, snapLen: s.snapLen, bufferBytes: s.bufferBytes }, current ? 'capture swapped' : 'capture opened');
    }
  }

  /**
   * `next` is open, so the kernel stamps every packet from now on for it too. The cut T lies
   * just after now (Date.now() truncates to the ms, hence +1 ms): `old` keeps what was stamped
   * before T, `next` what was stamped from T on, and both hold what was stamped around T for
   * the merge (HandoverMerge), which runs when `old` is closed, once it had time to deliver the
   * rest of its ring. Kernel stamps and Date.now() are both CLOCK_REALTIME.
   */
  private handOver(old: CaptureSession, next: CaptureSession): void {
    const cut = (Date.now() + 1) * 1000;
    const merge = new HandoverMerge(cut, HANDOVER_GUARD_US, Math.min(old.snapLen, next.snapLen));
    old.joinHandover(merge, 'old');
    next.joinHandover(merge, 'new');
    this.sessions.delete(old.device);
    this.retiring.set(old, { closeAt: cut + HANDOVER_DRAIN_US, merge, next });
    this.swaps++;
    this.opts.log?.debug({ device: old.device, cutUs: cut, guardUs: HANDOVER_GUARD_US }, 'capture handover cut');
  }

  private retire(s: CaptureSession): void {
    const h = this.retiring.get(s);
    this.retiring.delete(s);
    // the replacement's ring first, so that its copies of the packets around the cut are held
    if (h) h.next.flush();
    s.close();
    this.account(s);
    this.closed++;
    if (h) this.resolveHandover(h.merge, h.next);
  }

  /** Delivers the packets held around a cut, each once (HandoverMerge.resolve). */
  private resolveHandover(merge: HandoverMerge, next: CaptureSession): void {
    next.leaveHandover(merge);
    const held = merge.heldCount;
    const out = merge.resolve();
    this.opts.log?.debug({ device: next.device, cutUs: merge.cutUs, held, delivered: out.length }, 'capture handover merged');
    for (const p of out) {
      this.mergedPackets++;
      if (p.data.length < p.wireLen) this.mergedTruncated++;
      try {
        this.opts.onFrame(p.linkType, p.data, 0, p.data.length, p.wireLen, p.tsUs);
      } catch (e) {
        this.mergedSinkErrors++;
        this.onSinkError(next.device, e);
      }
    }
  }

  /** Adds a closing session's counters to the totals that survive it. */
  private account(s: CaptureSession): void {
    const st = s.stats();
    if (st.kernelPackets !== null) this.retiredKernelPackets = (this.retiredKernelPackets ?? 0) + st.kernelPackets;
    if (st.kernelDrops !== null) this.retiredKernelDrops = (this.retiredKernelDrops ?? 0) + st.kernelDrops;
    this.retiredPackets += st.packets;
    this.retiredTruncated += st.truncated;
    this.retiredSinkErrors += st.sinkErrors;
    this.retiredMaxRingWaitMs = Math.max(this.retiredMaxRingWaitMs, st.maxRingWaitMs);
  }

  private closeSession(s: CaptureSession): void {
    // closed first: its final flush delivers packets the counters must include
    s.close();
    this.account(s);
    this.sessions.delete(s.device);
    this.closed++;
  }

  /** The handle failed (its interface went down or vanished): the next rescan reopens it. */
  private onFailure(s: CaptureSession, e: Error): void {
    this.failures++;
    this.closed++;
    this.account(s);
    if (this.sessions.get(s.device) === s) this.sessions.delete(s.device);
    const h = this.retiring.get(s);
    this.retiring.delete(s);
    // a replaced session that failed before its close: its merge delivers what both held
    if (h) this.resolveHandover(h.merge, h.next);
    this.opts.log?.warn({ device: s.device, err: e.message }, 'capture failed (interface down or gone); reopening at the next rescan');
  }

  private onSinkError(device: string, e: unknown): void {
    // rate-limited: a bug that throws per packet must not flood the log
    if (this.sinkErrorLogged < 10) {
      this.sinkErrorLogged++;
      this.opts.log?.error({ device, err: e }, 'packet pipeline threw; packet dropped');
    }
  }
}
