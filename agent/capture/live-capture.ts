// Live capture: which capture sessions exist (the Linux "any" device, or one per interface),
// with which filter, and keeping that right while the host roams - interfaces appearing and
// vanishing, the collector's address changing. Frames go synchronously to one FrameSink
// (the agent pipeline). Timers are unref'd; the open libpcap handles keep the process alive.
//
// Interface modes (docs/capture.md, "Interfaces"):
//   'any'  (Linux default) one session on the "any" pseudo-device (cooked SLL frames): every
//          interface, including ones that appear later (VPN up, Wi-Fi roam), one ring buffer,
//          no promiscuous mode, the kernel's own sent/received verdict per packet.
//   'all'  one session per up interface (the only choice where there is no "any", e.g.
//          Windows/Npcap), rescanned periodically. On Linux `cap` aborts the process when a
//          captured interface goes down (an assert on the poll error), so this mode is for
//          fixed interfaces only there.
//   [names] those interfaces, one session each (same caveat).
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from '../../shared/log.js';
import { buildCaptureFilter, type CollectorEndpoint } from './bpf-filter.js';
import { CaptureClock } from './capture-clock.js';
import { CaptureSession, CaptureOpenError, type CaptureSessionStats, type FrameSink } from './capture-session.js';
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
  /** libpcap ring request per session, bytes (default DEFAULT_BUFFER_BYTES) */
  bufferBytes?: number;
  /** the agent's collectors: their traffic is never captured */
  collectors?: readonly CollectorAddress[];
  /** capture loopback traffic too (default false) */
  includeLoopback?: boolean;
  /** interface / collector address rescan period (default 10 s) */
  rescanSeconds?: number;
  /** kernel drop counter read period (default 30 s; 0 = never) */
  kernelStatsSeconds?: number;
  onFrame: FrameSink;
  log?: Logger;
  clock?: CaptureClock;
  /** interface lister (tests inject one); default: /sys/class/net or libpcap's list */
  listInterfaces?: () => InterfaceInfo[];
  /** collector name resolver (tests inject one); default: DNS, all addresses */
  resolve?: (host: string) => Promise<string[]>;
}

/**
 * 8 MiB: 128 ring slots of 64 KiB each (cap fixes snaplen at 65535, and libpcap's immediate
 * mode sizes every slot for that), about 17 MB resident. Measurements and the trade-off
 * against the agent's memory target: docs/capture.md, "Buffer".
 */
export const DEFAULT_BUFFER_BYTES = 8 << 20;

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
  /** frames delivered to the sink / cut to the packet buffer / whose sink threw, all sessions since start */
  packets: number;
  truncated: number;
  sinkErrors: number;
  /** kernel counters summed over all sessions, null when none could be learned */
  kernelPackets: number | null;
  kernelDrops: number | null;
  /** interfaces up at the last scan */
  interfaces: string[];
  /** resolved collector addresses excluded by the filter */
  collectorAddresses: string[];
  clockResyncs: number;
}

async function defaultResolve(host: string): Promise<string[]> {
  const all = await lookup(host, { all: true, verbatim: true });
  return all.map((a) => a.address);
}

export class LiveCapture {
  private readonly opts: LiveCaptureOptions;
  private readonly spec: InterfaceSpec;
  readonly clock: CaptureClock;
  private readonly sessions = new Map<string, CaptureSession>();
  private endpoints: ObservedEndpoint[] = [];
  /** last good resolution per collector host name */
  private readonly resolved = new Map<string, string[]>();
  /** addresses the shipper actually connected to, per port (see excludeConnection) */
  private readonly observed = new Map<number, Set<string>>();
  private knownInterfaces: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private seconds = 0;
  private rescanning = false;
  private polling = false;
  private running = false;
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
  private sinkErrorLogged = 0;

  constructor(opts: LiveCaptureOptions) {
    this.opts = opts;
    this.spec = opts.interfaces ?? (process.platform === 'linux' ? 'any' : 'all');
    this.clock = opts.clock ?? new CaptureClock();
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
    this.syncSessions(this.scanInterfaces(), true);
    if (this.sessions.size === 0) {
      this.running = false;
      throw new CaptureOpenError(this.spec === 'any' ? 'any' : String(this.spec), this.lastOpenError || 'no interface to capture on');
    }
    if (this.mode === 'per-interface' && process.platform === 'linux') {
      this.opts.log?.warn('per-interface capture: the cap binding aborts the process if a captured interface goes down; prefer "any" on Linux');
    }
    this.timer = setInterval(() => this.everySecond(), 1000);
    this.timer.unref();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const s of [...this.sessions.values()]) this.closeSession(s);
  }

  /** Re-resolves collectors and re-reads interfaces now (also runs every rescanSeconds). */
  async rescan(): Promise<void> {
    if (this.rescanning || !this.running) return;
    this.rescanning = true;
    try {
      const changed = await this.resolveCollectors();
      if (!this.running) return;
      this.syncSessions(this.scanInterfaces(), changed);
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
    this.syncSessions(this.scanInterfaces(), true);
  }

  /** Reads the kernel counters of every session now (also runs every kernelStatsSeconds). */
  async pollKernelStats(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const s of this.sessions.values()) await s.pollKernelStats();
    } finally {
      this.polling = false;
    }
  }

  stats(): LiveCaptureStats {
    const sessions = [...this.sessions.values()].map((s) => s.stats());
    let kp = this.retiredKernelPackets;
    let kd = this.retiredKernelDrops;
    let packets = this.retiredPackets;
    let truncated = this.retiredTruncated;
    let sinkErrors = this.retiredSinkErrors;
    for (const s of sessions) {
      packets += s.packets;
      truncated += s.truncated;
      sinkErrors += s.sinkErrors;
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
      kernelPackets: kp,
      kernelDrops: kd,
      interfaces: [...this.knownInterfaces],
      collectorAddresses: this.endpoints.flatMap((e) => e.addresses.map((a) => `${a}:${e.port}`)),
      clockResyncs: this.clock.resyncs,
    };
  }

  private everySecond(): void {
    this.seconds++;
    const corr = this.clock.check();
    if (corr !== 0) this.opts.log?.info({ correctionUs: corr }, 'capture clock re-anchored to the wall clock');
    const rescan = this.opts.rescanSeconds ?? 10;
    if (rescan > 0 && this.seconds % rescan === 0) {
      this.rescan().catch((e: unknown) => this.opts.log?.error({ err: e }, 'capture rescan failed'));
    }
    const ks = this.opts.kernelStatsSeconds ?? 30;
    if (ks > 0 && this.seconds % ks === 0) {
      this.pollKernelStats().catch((e: unknown) => this.opts.log?.warn({ err: e }, 'reading kernel capture counters failed'));
    }
  }

  /** Resolves collector names; true when the set of excluded endpoints changed. */
  private async resolveCollectors(): Promise<boolean> {
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
    return changed;
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

  /** Opens missing sessions, closes unwanted ones, reopens all when the filter must change. */
  private syncSessions(list: InterfaceInfo[], filterChanged: boolean): void {
    const wanted = this.spec === 'any'
      ? ['any']
      : selectCaptureInterfaces(list, this.spec, this.opts.includeLoopback ?? false);
    const byName = new Map(list.map((i) => [i.name, i]));
    for (const [name, s] of [...this.sessions]) {
      const f = this.filterFor(byName.get(name));
      if (!wanted.includes(name) || (filterChanged && f !== s.filter)) {
        this.closeSession(s);
        this.opts.log?.info({ device: name }, wanted.includes(name) ? 'capture filter changed; reopening' : 'interface gone; capture closed');
      }
    }
    for (const name of wanted) {
      if (this.sessions.has(name)) continue;
      const s = new CaptureSession({
        device: name,
        filter: this.filterFor(byName.get(name)),
        bufferBytes: this.opts.bufferBytes ?? DEFAULT_BUFFER_BYTES,
        sink: this.opts.onFrame,
        clock: this.clock,
        onSinkError: (e) => this.onSinkError(name, e),
      });
      try {
        s.open();
      } catch (e) {
        this.openErrors++;
        this.lastOpenError = (e as Error).message;
        this.opts.log?.error({ device: name, err: this.lastOpenError }, 'cannot open capture');
        continue;
      }
      this.sessions.set(name, s);
      this.opened++;
      this.opts.log?.info({ device: name, linkType: s.linkType, filter: s.filter, bufferBytes: s.bufferBytes }, 'capture opened');
    }
  }

  private closeSession(s: CaptureSession): void {
    const st = s.stats();
    if (st.kernelPackets !== null) this.retiredKernelPackets = (this.retiredKernelPackets ?? 0) + st.kernelPackets;
    if (st.kernelDrops !== null) this.retiredKernelDrops = (this.retiredKernelDrops ?? 0) + st.kernelDrops;
    this.retiredPackets += st.packets;
    this.retiredTruncated += st.truncated;
    this.retiredSinkErrors += st.sinkErrors;
    s.close();
    this.sessions.delete(s.device);
    this.closed++;
  }

  private onSinkError(device: string, e: unknown): void {
    // rate-limited: a bug that throws per packet must not flood the log
    if (this.sinkErrorLogged < 10) {
      this.sinkErrorLogged++;
      this.opts.log?.error({ device, err: e }, 'packet pipeline threw; packet dropped');
    }
  }
}
