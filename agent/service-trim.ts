// The service's working-set trim (`meerkat-agent run`): once the agent has loaded, warmed up
// and connected, the pages only start-up touched are dropped from its resident set. Linux keeps
// every file page a process read (the node binary's symbol table, the built-in modules'
// sources and code cache, ICU tables) resident for the process's life unless memory runs
// short; the patched cap addon's trimStartupPages() unmaps the read-only, never-written file
// mappings (they stay in the page cache and fault back when used: docs/agent-memory.md, fifth
// round). It runs 2 s after the first connection and once more half a minute later. Windows:
// the addon releases the same kind of regions (read-only image and mapped-file pages) from the
// working set with VirtualUnlock. Off with MEERKAT_AGENT_TRIM=off; a missing or failing
// trim is logged and the agent runs on.
//
// Code stays mapped (sixth round): trimming the executable mappings too (node's text, libpcap,
// the addon: MEERKAT_AGENT_TRIM=all, the fifth round's trim) made the capture path fault its
// code back in during the first burst of traffic after each trim, and on an overloaded CPU
// the ring overflowed meanwhile.
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { capTrimStartupPages, type CapTrimKeep, type CapTrimResult } from './capture/cap-binding.js';

/** after the first connection: the TLS handshake and first heartbeat are done by then */
const FIRST_TRIM_DELAY_MS = 2_000;
/**
 * once more half a minute later: the optimizing JIT's first compilations of what the traffic
 * needs (code the warm-up did not reach) touch compiler and start-up pages that are not needed
 * again; at 20,000 packets/s the RSS no longer grows after ~30 s (docs/agent-memory.md)
 */
const SECOND_TRIM_DELAY_MS = 30_000;

/** without a connection by then, the trim starts anyway */
const UNCONNECTED_TRIM_MS = 30_000;

export type TrimFunction = (keep?: CapTrimKeep) => CapTrimResult;

/**
 * What the default trim leaves mapped: all code (node's text with the interpreter, the
 * compilers, libuv and OpenSSL; libc; libpcap; the addon) and every mapping of libpcap and of
 * the cap addon (on Windows Npcap's wpcap.dll and Packet.dll; the addon matches Windows paths
 * without regard to case). Only read-only data goes: the symbol tables, the built-in modules'
 * sources and code cache, ICU tables (docs/agent-memory.md, sixth round).
 */
export const TRIM_KEEP: CapTrimKeep = { keepExecutable: true, keepPaths: ['libpcap', 'cap.node', 'wpcap.dll', 'packet.dll'] };

export interface TrimScheduleOptions {
  /** the trim to call (default: the cap addon's); undefined when the platform has none */
  trim?: TrimFunction | undefined;
  /** MEERKAT_AGENT_TRIM: 'off' disables it; 'all' trims code too (the fifth round's trim, for comparison) */
  setting?: string | undefined;
  firstDelayMs?: number;
  secondDelayMs?: number;
  unconnectedMs?: number;
}

/** The addon's trim, or undefined (logged) when the addon cannot be loaded or lacks one. */
function addonTrim(log: Logger): TrimFunction | undefined {
  try {
    const t = capTrimStartupPages();
    if (!t) log.info('working-set trim: not offered by this platform\'s cap addon');
    return t;
  } catch (e) {
    log.warn({ err: (e as Error).message }, 'working-set trim unavailable');
    return undefined;
  }
}

/** Runs the trim once; a failure is logged, never thrown. */
export function runTrim(trim: TrimFunction, log: Logger, when: string, keep: CapTrimKeep | undefined = TRIM_KEEP): CapTrimResult | undefined {
  const mb = (b: number): number => Math.round((b / (1024 * 1024)) * 10) / 10;
  try {
    const t0 = process.hrtime.bigint();
    const r = trim(keep);
    // the call blocks the event loop (and so the capture's drain): its duration is logged
    const ms = Math.round(Number(process.hrtime.bigint() - t0) / 1e5) / 10;
    log.info({ when, mappings: r.mappings, mb: mb(r.bytes), keptMb: mb(r.keptBytes ?? 0), ms }, 'working-set trim: start-up pages unmapped');
    return r;
  } catch (e) {
    log.warn({ when, err: (e as Error).message }, 'working-set trim failed; the agent runs on without it');
    return undefined;
  }
}

/**
 * Trims once FIRST_TRIM_DELAY_MS after the first 'connected' of `connection` (the shipper), or
 * after UNCONNECTED_TRIM_MS without one, and again SECOND_TRIM_DELAY_MS later. Returns a stop
 * function (clears pending timers).
 */
export function scheduleStartupTrim(connection: EventEmitter, log: Logger, o: TrimScheduleOptions = {}): () => void {
  const setting = (o.setting ?? process.env.MEERKAT_AGENT_TRIM ?? 'on').toLowerCase();
  if (setting === 'off' || setting === '0' || setting === 'no') {
    log.info('working-set trim: off (MEERKAT_AGENT_TRIM)');
    return () => {};
  }
  const keep = setting === 'all' ? {} : TRIM_KEEP;
  const trim = 'trim' in o ? o.trim : addonTrim(log);
  if (!trim) return () => {};
  const timers: NodeJS.Timeout[] = [];
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(fn, ms);
    t.unref();
    timers.push(t);
  };
  let started = false;
  const start = (): void => {
    if (started) return;
    started = true;
    connection.off('connected', start);
    later(o.firstDelayMs ?? FIRST_TRIM_DELAY_MS, () => {
      runTrim(trim, log, 'after start-up', keep);
      later(o.secondDelayMs ?? SECOND_TRIM_DELAY_MS, () => { runTrim(trim, log, 'half a minute later', keep); });
    });
  };
  connection.on('connected', start);
  // a collector out of reach at start does not keep the start-up pages resident until it is back
  later(o.unconnectedMs ?? UNCONNECTED_TRIM_MS, start);
  return () => {
    connection.off('connected', start);
    for (const t of timers) clearTimeout(t);
  };
}
