// Wires live capture to the pipeline: frames from LiveCapture go straight into
// AgentPipeline.handleFrame (inside the capture callback, no queue), a 1-second timer drives
// time-based dump rotation and window expiry, and the host's addresses are re-read from
// os.networkInterfaces() periodically (DHCP renewals, roaming, VPNs) for direction, the
// anonymizer's host set and the directed-broadcast noise rule. The agent supplies onDump
// (put the dump into the spool) and nextSequence (the spool's).
// Hybrid capture goes through here (setSnapLen, addPeerRule) and not straight to the pipeline:
// libpcap only captures HEADER_SNAP_LEN bytes per packet until some payload is wanted, so the
// capture's snap length follows the largest payload length in force (global or per peer),
// or what metadata extraction reads, whichever is larger (AgentPipeline.capturePayloadBytes).
import { networkInterfaces } from 'node:os';
import type { Logger } from '../../shared/log.js';
import { LiveCapture, type LiveCaptureOptions, type LiveCaptureStats } from '../capture/live-capture.js';
import { AgentPipeline, type AgentPipelineOptions, type CaptureStats } from './agent-pipeline.js';
import type { PeerCaptureRule } from './snap-policy.js';
import { hostFactsFromInterfaces, type HostFacts } from './host-addresses.js';
import { warmUpPipeline } from './pipeline-warmup.js';
import { runtimeProfile } from '../runtime-profile.js';
import { LinkType } from '../../shared/decode/link-types.js';

export interface LivePipelineOptions {
  capture: Omit<LiveCaptureOptions, 'onFrame' | 'log'>;
  pipeline: Omit<AgentPipelineOptions, 'liveLinkScope' | 'wireLenFromIp' | 'kernelCounters' | 'hostAddresses' | 'directedBroadcasts' | 'includeLoopback'>;
  /** host address refresh period (default 30 s) */
  hostRefreshSeconds?: number;
  log?: Logger;
  /** os.networkInterfaces replacement (tests) */
  interfaces?: typeof networkInterfaces;
  /** run synthetic packets through the code first so a burst at start-up meets optimized code (default: when the JIT is on) */
  warmUp?: boolean;
}

export interface LiveCaptureHealth extends CaptureStats {
  capture: LiveCaptureStats;
  hostAddresses: readonly string[];
}

export interface LivePipeline {
  readonly pipeline: AgentPipeline;
  readonly capture: LiveCapture;
  stats(): LiveCaptureHealth;
  /** Re-reads the host's addresses now (also periodic). */
  refreshHostAddresses(): void;
  /** Payload bytes kept per packet from now on (the capture's snap length follows). */
  setSnapLen(n: number): void;
  /** Keeps more payload for one peer until rule.untilUs (the capture's snap length follows). */
  addPeerRule(rule: PeerCaptureRule): void;
  /** Stops capturing and emits the open dump. */
  stop(): void;
}

function sameFacts(a: HostFacts, b: HostFacts): boolean {
  const k = (f: HostFacts): string => JSON.stringify([[...f.addresses].sort(), [...f.directedBroadcasts].sort()]);
  return k(a) === k(b);
}

/** @throws CaptureOpenError when no capture session could be opened */
export async function startLivePipeline(opts: LivePipelineOptions): Promise<LivePipeline> {
  const log = opts.log;
  const readIfaces = opts.interfaces ?? networkInterfaces;
  let facts = hostFactsFromInterfaces(readIfaces());
  const anyMode = (opts.capture.interfaces ?? (process.platform === 'linux' ? 'any' : 'all')) === 'any';
  let capture: LiveCapture | undefined;
  const pipeline = new AgentPipeline({
    ...opts.pipeline,
    dumpLinkType: opts.pipeline.dumpLinkType ?? (anyMode ? LinkType.LinuxSll : LinkType.Ethernet),
    hostAddresses: facts.addresses,
    directedBroadcasts: facts.directedBroadcasts,
    liveLinkScope: true,
    includeLoopback: opts.capture.includeLoopback ?? false,
    wireLenFromIp: true,
    kernelCounters: () => {
      const s = capture?.stats();
      return { packets: s?.kernelPackets ?? null, drops: s?.kernelDrops ?? null };
    },
  });
  // the warm-up is for the optimizing JIT; without one it would only cost start-up CPU
  if (opts.warmUp ?? runtimeProfile() === 'fast') {
    const ms = warmUpPipeline({ linkType: anyMode ? LinkType.LinuxSll : LinkType.Ethernet, policy: opts.pipeline.anonymizer.policy });
    log?.debug({ ms: Math.round(ms) }, 'pipeline warmed up');
  }
  capture = new LiveCapture({
    ...opts.capture,
    log,
    payloadBytes: opts.capture.payloadBytes ?? pipeline.capturePayloadBytes(Date.now() * 1000),
    onFrame: (linkType, buf, offset, capLen, wireLen, tsUs) => pipeline.handleFrame(linkType, buf, offset, capLen, wireLen, tsUs),
  });
  await capture.start();
  const cap = capture;

  const refreshHostAddresses = (): void => {
    let next: HostFacts;
    try {
      next = hostFactsFromInterfaces(readIfaces());
    } catch (e) {
      log?.warn({ err: (e as Error).message }, 'cannot read host addresses');
      return;
    }
    if (sameFacts(next, facts)) return;
    facts = next;
    pipeline.setHostAddresses(facts.addresses, facts.directedBroadcasts);
    log?.info({ addresses: facts.addresses.length }, 'host addresses changed');
  };

  // the capture's snap length follows the payload the pipeline may keep (rules lapse by time)
  const fitCaptureSnap = (nowUs: number): void => {
    cap.setPayloadBytes(pipeline.capturePayloadBytes(nowUs));
  };

  let seconds = 0;
  const refreshEvery = opts.hostRefreshSeconds ?? 30;
  const timer = setInterval(() => {
    seconds++;
    const now = Date.now() * 1000;
    pipeline.tick(now);
    fitCaptureSnap(now);
    if (refreshEvery > 0 && seconds % refreshEvery === 0) refreshHostAddresses();
  }, 1000);
  timer.unref();

  return {
    pipeline,
    capture: cap,
    stats: () => ({ ...pipeline.stats(), capture: cap.stats(), hostAddresses: pipeline.hostAddresses }),
    refreshHostAddresses,
    setSnapLen: (n) => {
      pipeline.setSnapLen(n);
      fitCaptureSnap(Date.now() * 1000);
    },
    addPeerRule: (rule) => {
      pipeline.addPeerRule(rule);
      fitCaptureSnap(Date.now() * 1000);
    },
    stop: () => {
      clearInterval(timer);
      cap.stop();
      pipeline.flush();
    },
  };
}
